"""Place-name search and nearest places answered by PostgreSQL: no per-name memory in workers.

:class:`SQLSearch` has the query methods of :class:`gazetteer.search.SearchIndex`
(``search``, ``suggest``) with the same arguments, errors and ``Hit`` results, so that the
chain reader (``gazetteer.chains.ChainSearch``) and the lookup service use either. It
reads the key rows that the writers keep (``gazetteer.search_keys``: name, pinyin and
initials, their natural forms and specific terms, reversed keys), through
``text_pattern_ops`` B-tree indexes:

* exact, specific-term and prefix matches of the name (and of its simplified form for
  traditional input), or of the pinyin and initials for Latin input: one statement of up to
  six ``UNION ALL`` branches, each index range read best first (``ORDER BY rank``) and cut
  at the number of answers wanted;
* one typo, when those found no whole name or specific term: candidates whose first half
  is intact (prefix range), whose second half is intact (range on the reversed key), with
  two neighbours swapped across the middle, and for characters the names that sound the
  same (pinyin range: the commonest slip of an input method); each candidate is then
  checked in Python with the same rule as the in-memory index (OSA distance 1 on the whole
  name, or on its specific term followed by the start of its generic term).

Ranking is the in-memory index's: tier (exact > specific term > prefix > homophone typo >
typo), then level (province first), status (in force first), form (name before pinyin,
initials, former names), length, id; the score is computed by the same formula.

:class:`SQLNearest` answers nearest named places with the GiST index on ``places.geom``
(KNN ``<->``), then measures geodesic distances (metres, CGCS2000 ellipsoid) to each
place's point as :class:`gazetteer.reverse.NearestPlaces` does.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from rapidfuzz.distance import OSA

from gazetteer.core import crs
from gazetteer.core.geodesy import cgcs2000_geod
from gazetteer.core.store import SRID, Store
from gazetteer.pinyin import syllables
from gazetteer.search import (
    _FORM_PENALTY,
    _HAN,
    _LATIN,
    _TIER_EXACT,
    _TIER_PREFIX,
    _TIER_SPECIFIC,
    _TIER_TYPO,
    _TIER_TYPO_HOMOPHONE,
    MIN_SPECIFIC_CHARS,
    STATUS_RANK,
    Hit,
    SearchMethods,
    _syllable_key,
    check_bbox,
    check_query,
    check_status,
    normalise_latin,
    normalise_text,
    to_simplified,
)

_COLUMNS = (
    "place_id, aux, name, chars, py, spec_len, py_spec_len, level_rank, status, "
    "feature_class, division_code, division_path"
)
_TOP = "\U0010ffff"  # above every character: key ~<~ prefix || _TOP ends a prefix range
# Typo candidates read per probe of the whole query, and per probe of one split of it (a
# short head such as 新 or pa names thousands): a probe stops there.
_TYPO_PROBE_ROWS = 1000
_TYPO_SPLIT_ROWS = 200
_TYPO_MIN_LATIN = 3


def _typo_tier(
    q: str, key: str, spec_len: int, min_len: int, term_reading: str | None, readings: dict
) -> int | None:
    """The typo tier of ``key`` for ``q`` as the in-memory index counts it, or None when it
    is not one edit away: a split q = head + tail with head within OSA distance 1 of the
    key's specific term and the rest of the key starting with tail (番禹 -> 番禺区; the
    homophone tier when head and term read the same), else the whole key within distance 1.
    ``readings``: {head: its toneless pinyin} for character queries (None for Latin)."""
    spec = key[:spec_len]
    found = None
    for k in range(len(q), min_len - 1, -1):
        if key.startswith(q[k:], spec_len) and OSA.distance(q[:k], spec, score_cutoff=1) <= 1:
            if term_reading is not None and readings.get(q[:k]) == term_reading:
                return _TIER_TYPO_HOMOPHONE
            found = _TIER_TYPO
    if found is None and OSA.distance(q, key, score_cutoff=1) <= 1:
        found = _TIER_TYPO
    return found


class SQLSearch(SearchMethods):
    """Search over a PostgreSQL store's ``place_search_keys`` (see the module docstring)."""

    def __init__(self, store: Store):
        if store.dialect != "postgresql":
            raise ValueError("SQLSearch needs a PostgreSQL store")
        self.store = store

    # The lookup service applies each committed change to its indexes; here the writers
    # already did (gazetteer.search_keys), so there is nothing to apply.
    def replace(self, record_id, record: dict | None) -> None:
        """Nothing to do: the writer rewrote the place's keys in its transaction."""

    # ------------------------------------------------------------------ the query

    def _query(
        self, q, division, feature_class, status, bbox, limit, offset, *, typos: bool
    ) -> list[Hit]:
        check_query(q, limit, offset)
        statuses = check_status(status) if status is not None else None
        box = check_bbox(bbox) if bbox is not None else None
        want = offset + limit
        text = normalise_text(q)
        has_han, has_latin = bool(_HAN.search(text)), bool(_LATIN.search(text))
        if has_han and has_latin:  # 广zhou: read the characters as pinyin
            text = "".join(syllables(text))
        with self.store.read() as conn:
            where, params = self._filters(conn, division, feature_class, statuses, box)
            if where is None:
                return []
            if has_latin:
                latin = normalise_latin(text)
                if not latin:
                    return []
                forms = [("py", latin, "pinyin"), ("ini", latin, "initials")]
                typo_query, typo_column, min_typo = latin, "py", _TYPO_MIN_LATIN
            else:
                forms = [("chars", text, "exact")]
                simplified = to_simplified(text)
                if simplified != text:
                    forms.append(("chars", simplified, "traditional"))
                typo_query, typo_column, min_typo = simplified, "chars", MIN_SPECIFIC_CHARS
            best: dict[int, tuple] = {}
            self._collect(best, self._matches(conn, forms, where, params, want))
            ranked = sorted(best.values())[:want]
            if (
                typos
                and len(ranked) < want
                and len(typo_query) >= min_typo
                and not any(r[0] <= _TIER_SPECIFIC for r in ranked)
            ):
                rows = self._typo_rows(conn, typo_query, typo_column, min_typo, where, params)
                self._collect(best, self._typos(rows, typo_query, typo_column, min_typo))
                ranked = sorted(best.values())[:want]
            ranked = ranked[offset:want]
            names = self._division_names(conn, ranked)
        return [self._hit(r, names) for r in ranked]

    def _filters(self, conn, division, feature_class, statuses, box):
        """(SQL condition, parameters) of the filters; (None, None) when nothing can match."""
        where, params = ["TRUE"], {}
        if division is not None:
            path = conn.execute(
                sa.text("SELECT path FROM divisions WHERE code = :code"), {"code": str(division)}
            ).scalar()
            if path is None:
                return None, None
            # The division itself and everything under it: its path, or its path + '/…'
            # ('0' follows '/' in byte order).
            where.append(
                "(division_path = :dpath OR (division_path ~>=~ :dlo AND division_path ~<~ :dhi))"
            )
            params |= {"dpath": path, "dlo": path + "/", "dhi": path + "0"}
        if feature_class is not None:
            where.append("feature_class = :fclass")
            params["fclass"] = feature_class
        if statuses is not None:
            where.append("status = ANY(:statuses)")
            params["statuses"] = list(statuses)
        if box is not None:
            where.append("minx <= :bmaxx AND maxx >= :bminx AND miny <= :bmaxy AND maxy >= :bminy")
            params |= dict(zip(("bminx", "bminy", "bmaxx", "bmaxy"), box))
        return " AND ".join(where), params

    def _matches(self, conn, forms, where: str, params: dict, want: int):
        """Rows (with tier and form) of the exact, specific-term and prefix matches."""
        branches, params = [], dict(params, lim=want * 2)
        for i, (column, key, form) in enumerate(forms):
            params |= {f"k{i}": key, f"k{i}hi": key + _TOP}
            prefix = f"{column} ~>=~ :k{i} AND {column} ~<~ :k{i}hi AND {column} <> :k{i}"
            # Each tier's conditions (a specific term: either of two columns, each read
            # through its own index).
            conditions = (
                (_TIER_EXACT, [f"{column} = :k{i}"]),
                (_TIER_SPECIFIC, [f"{column}_spec = :k{i}", f"{column}_nat = :k{i}"]),
                (_TIER_PREFIX, [prefix]),
            )
            for tier, parts in conditions:
                # Read in rank order (ix_psk_rank) only for a one-character prefix, which
                # matches so many rows that the best come soon; otherwise the matches sit
                # far down the rank order (villages), and the key's range, sorted, is
                # cheaper: ``rank + 0`` keeps the planner off the rank index.
                order = "rank" if tier == _TIER_PREFIX and len(key) <= 1 else "rank + 0"
                if where == "TRUE":
                    # Rank from the covering indexes (index-only), then read the best rows.
                    ranked = " UNION ALL ".join(
                        f"(SELECT place_id, aux, rank FROM place_search_keys WHERE {part})"
                        for part in parts
                    )
                    if len(parts) == 1:
                        ranked = (
                            f"SELECT place_id, aux, rank FROM place_search_keys WHERE {parts[0]}"
                        )
                    branches.append(
                        f"(SELECT {_COLUMNS}, {tier} AS tier, '{form}' AS form FROM "
                        f"(SELECT place_id, aux FROM ({ranked}) AS m "
                        f"ORDER BY {order}, place_id LIMIT :lim) AS best "
                        "JOIN place_search_keys USING (place_id, aux))"
                    )
                    continue
                branches.append(
                    f"(SELECT {_COLUMNS}, {tier} AS tier, '{form}' AS form "
                    f"FROM place_search_keys WHERE ({' OR '.join(parts)}) AND {where} "
                    f"ORDER BY {order}, place_id LIMIT :lim)"
                )
        return conn.execute(sa.text(" UNION ALL ".join(branches)), params).mappings().all()

    def _typo_rows(self, conn, q: str, column: str, min_len: int, where: str, params: dict):
        """Candidate rows for a one-edit match of ``q`` in ``column`` (chars or py)."""
        n, h = len(q), max(len(q) // 2, 1)
        params = dict(params, lim=_TYPO_PROBE_ROWS, split_lim=_TYPO_SPLIT_ROWS, n=n)
        probes = {
            # The edit is in the second half: the first half is intact.
            "ta": (f"{column} ~>=~ :ta AND {column} ~<~ :tahi", q[:h]),
            # The edit is in the first half: the second half ends the key.
            "tb": (
                f"{column}_rev ~>=~ :tb AND {column}_rev ~<~ :tbhi "
                f"AND char_length({column}) BETWEEN :n - 1 AND :n + 1",
                q[h:][::-1],
            ),
        }
        if n >= 2:  # two neighbours swapped across the middle
            swapped = q[: h - 1] + q[h] + q[h - 1] + q[h + 1 :]
            probes["ts"] = (f"{column} ~>=~ :ts AND {column} ~<~ :tshi", swapped)
        # The edit is in the specific term, the query going on into the generic term
        # (番禹区, panyy): every split q = head + tail, as the in-memory index tries them,
        # with the head's first or second half intact in a specific term of about its length.
        length = "spec_len" if column == "chars" else "py_spec_len"
        for k in range(n, max(min_len, 1) - 1, -1):
            head, hh = q[:k], max(k // 2, 1)
            span = f"{length} IN ({k - 1}, {k}, {k + 1})"  # three descents of one index
            probes[f"tf{k}"] = (
                f"{column}_term ~>=~ :tf{k} AND {column}_term ~<~ :tf{k}hi AND {span}",
                head[:hh],
            )
            probes[f"tr{k}"] = (
                f"{column}_term_rev ~>=~ :tr{k} AND {column}_term_rev ~<~ :tr{k}hi AND {span}",
                head[hh:][::-1],
            )
        if column == "chars":  # same sound (an input method's slip): 富涌村 for 福涌村
            reading = "".join(_syllable_key(s) for s in syllables(q))
            probes["tc"] = ("py ~>=~ :tc AND py ~<~ :tchi", reading)
        branches = []
        for name, (condition, key) in probes.items():
            if not key:
                continue
            params |= {name: key, f"{name}hi": key + _TOP}
            limit = "split_lim" if name.startswith(("tf", "tr")) else "lim"
            branches.append(
                f"(SELECT {_COLUMNS} FROM place_search_keys WHERE {condition} AND {where} "
                f"LIMIT :{limit})"
            )
        # Every probe is an index range cut by LIMIT; the planner, misjudging how many rows
        # a range of reversed keys holds, would otherwise scan the table for a rare one.
        # (SET LOCAL: the read's transaction ends when the connection goes back.)
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return conn.execute(sa.text(" UNION ALL ".join(branches)), params).mappings().all()

    @staticmethod
    def _typos(rows, q: str, column: str, min_len: int):
        """The candidate rows that are one edit from ``q``, with their typo tier."""
        readings = (
            {
                q[:k]: "".join(_syllable_key(x) for x in syllables(q[:k]))
                for k in range(1, len(q) + 1)
            }
            if column == "chars"
            else {}
        )
        seen = set()
        for row in rows:
            ident = (row["place_id"], row["aux"])
            if ident in seen:
                continue
            seen.add(ident)
            if column == "chars":
                key, spec = row["chars"], row["spec_len"]
                term_reading = row["py"][: row["py_spec_len"]]
            else:
                key, spec, term_reading = row["py"], row["py_spec_len"], None
            tier = _typo_tier(q, key, spec, min_len, term_reading, readings)
            if tier is not None:
                yield {**row, "tier": tier, "form": "typo"}

    @staticmethod
    def _collect(best: dict[int, tuple], rows) -> None:
        """Keep each place's best match: (sort key..., row) by place id."""
        for row in rows:
            former = row["aux"] >= 0
            form = row["form"]
            if former and form != "typo":  # a misspelt former name is labelled a typo
                label = "former_name"
            elif form == "exact" and row["tier"] != _TIER_EXACT:
                label = "prefix"
            else:
                label = form
            penalty = _FORM_PENALTY["former_name"] if former else _FORM_PENALTY[form]
            key = (
                row["tier"],
                row["level_rank"],
                STATUS_RANK[row["status"]],
                penalty,
                min(len(row["name"]), 255),
                row["place_id"],
                label,
                row["chars"] if former else None,
                row,
            )
            pid = row["place_id"]
            if pid not in best or key[:6] < best[pid][:6]:
                best[pid] = key

    @staticmethod
    def _division_names(conn, ranked) -> dict[str, str]:
        codes = {
            c for r in ranked if r[-1]["division_path"] for c in r[-1]["division_path"].split("/")
        }
        if not codes:
            return {}
        return dict(
            conn.execute(
                sa.text("SELECT code, name FROM divisions WHERE code = ANY(:codes)"),
                {"codes": sorted(codes)},
            ).all()
        )

    @staticmethod
    def _hit(ranked: tuple, names: dict[str, str]) -> Hit:
        tier, level, status, penalty, length, pid, label, former, row = ranked
        score = 1.0 - (
            tier * 0.2 + level * 0.03 + status * 0.01 + penalty * 0.002 + min(length, 19) * 0.0001
        )
        path = row["division_path"].split("/") if row["division_path"] else []
        return Hit(
            id=pid,
            name=row["name"],
            matched_form=label,
            score=round(score, 4),
            division_chain=[names.get(c, c) for c in path],
            matched_former_name=former,
            division_code=row["division_code"],
            feature_class=row["feature_class"] or "",
            status=row["status"],
            level_rank=level,
            division_path=path,
        )


_NEAREST_SQL = sa.text(f"""
    SELECT id, name, feature_class, status, division_code, ST_X(pt) AS lon, ST_Y(pt) AS lat
    FROM (
        SELECT id, name, feature_class, status, division_code,
               CASE WHEN GeometryType(geom) = 'POINT' THEN geom
                    ELSE ST_PointOnSurface(geom) END AS pt
        FROM places
        WHERE status = 'in_force' AND geom IS NOT NULL
        ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID})
        LIMIT :n
    ) AS near
""")


class SQLNearest:
    """Nearest in-force named places, answered by PostGIS (see the module docstring)."""

    def __init__(self, store: Store):
        if store.dialect != "postgresql":
            raise ValueError("SQLNearest needs a PostgreSQL + PostGIS store")
        self.store = store

    def add(self, record: dict) -> None:
        """Nothing to do: PostGIS reads the places table itself."""

    def discard(self, record_id) -> None:
        """Nothing to do: PostGIS reads the places table itself."""

    def nearest(self, lon: float, lat: float, k: int = 5) -> list[dict]:
        """The ``k`` places nearest (lon, lat) CGCS2000 degrees, nearest first, as
        :meth:`gazetteer.reverse.NearestPlaces.nearest`: fields, ``distance_m`` (geodesic,
        metres, to the place's point) and that point's ``lon``/``lat``. The GiST index
        picks the 4k + 20 nearest by planar distance in degrees, which holds the k nearest
        by geodesic distance at Guangdong's latitudes."""
        crs.validate_lon_lat(lon, lat)
        if k <= 0:
            return []
        with self.store.read() as conn:
            rows = conn.execute(_NEAREST_SQL, {"lon": lon, "lat": lat, "n": 4 * k + 20}).mappings()
            rows = [dict(r) for r in rows]
        if not rows:
            return []
        lons = np.array([r["lon"] for r in rows], float)
        lats = np.array([r["lat"] for r in rows], float)
        _, _, dist = cgcs2000_geod().inv(
            np.full(len(rows), lon), np.full(len(rows), lat), lons, lats
        )
        order = sorted(range(len(rows)), key=lambda i: (float(dist[i]), rows[i]["id"]))[:k]
        return [rows[i] | {"distance_m": float(dist[i])} for i in order]
