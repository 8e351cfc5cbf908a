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
* one typo, when those found no whole name or specific term, as the in-memory index finds
  it: for every split of the query into head + tail, the specific terms one edit from the
  head (``place_search_terms``, two ranges per head: its first half intact, its second half
  intact; OSA distance checked in Python), then the names starting with term + tail, best
  first per term (index-only); and the names starting with an intact head or first half
  that are one edit from the whole query (only those of a length one edit can reach,
  checked in Python). The full rows of the best few are read last.

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
from rapidfuzz import process
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
    _TYPO_MAX_TERMS,
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
# The one-typo search's reads: terms per range of a head's half (a head of two characters
# has a few thousand terms starting with its first), and names checked whole per prefix
# (after the length filter; the in-memory index checks up to _TYPO_VERIFY_BUDGET).
_TYPO_TERM_ROWS = 20_000
_TYPO_VERIFY_ROWS = 5_000
_TYPO_MIN_LATIN = 3


def _keep(found: dict, ident: tuple[int, int], tier_rank: tuple[int, int]) -> None:
    """Keep the best (tier, rank) of a key row found more than once."""
    if ident not in found or tier_rank < found[ident]:
        found[ident] = tier_rank


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
                self._collect(
                    best,
                    self._typo_rows(conn, typo_query, typo_column, min_typo, where, params, want),
                )
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

    def _typo_rows(self, conn, q: str, column: str, min_len: int, where: str, params: dict, want):
        """Rows (with tier and form) of the names one edit from ``q`` in ``column`` (chars
        or py), found as :meth:`gazetteer.search.SearchIndex._collect_typos` finds them:

        1. every split q = head + tail: the specific terms one edit from head
           (:meth:`_terms_within_one_edit`), then the names starting with term + tail, read
           best first per term (番禹 -> 番禺区; the homophone tier when term and head read
           the same);
        2. when head is itself a term: names starting with it that are one edit from q
           whole (杉树寸民委员会 -> 杉树村民委员会);
        3. names starting with q's intact first half that are one edit from q whole.

        The ranges of 1 are read from the covering index (place, rank) and cut at
        ``want`` per term; the names of 2 and 3 (only those of a length one edit can reach)
        are checked in Python; then the full rows of the best are read."""
        heads = [q[:k] for k in range(len(q), min_len - 1, -1)]
        readings = (
            {head: "".join(_syllable_key(x) for x in syllables(head)) for head in heads}
            if column == "chars"
            else {}
        )
        terms_of = self._terms_within_one_edit(conn, column, heads)
        ranges: dict[str, int] = {}  # term + tail -> best tier
        verify = []  # prefixes whose names are checked whole
        for head in heads:
            tail, terms = q[len(head) :], terms_of[head]
            if len(terms) > _TYPO_MAX_TERMS:  # a very short head: the homophones first
                same = sorted(t for t, r in terms.items() if r and r == readings.get(head))
                rest = sorted(set(terms).difference(same))
                terms = {t: terms[t] for t in (same + rest)[:_TYPO_MAX_TERMS]}
            for term, reading in terms.items():
                tier = (
                    _TIER_TYPO_HOMOPHONE
                    if reading is not None and reading == readings.get(head)
                    else _TIER_TYPO
                )
                key = term + tail
                ranges[key] = min(tier, ranges.get(key, tier))
            if tail and head in terms:
                verify.append(head)
        if len(q) // 2 >= min_len:
            verify.append(q[: len(q) // 2])
        found: dict[tuple[int, int], tuple[int, int]] = {}  # (place, aux) -> (tier, rank)
        filtered = where != "TRUE"
        if ranges:
            keys = sorted(ranges)
            rows = conn.execute(
                sa.text(
                    "SELECT r.key, k.place_id, k.aux, k.rank "
                    "FROM unnest(CAST(:keys AS text[])) AS r(key) CROSS JOIN LATERAL ("
                    f"SELECT place_id, aux, rank FROM place_search_keys "
                    f"WHERE {column} ~>=~ r.key AND {column} ~<~ (r.key || :top) "
                    f"{'AND ' + where if filtered else ''} "
                    "ORDER BY rank, place_id LIMIT :want) AS k"
                ),
                dict(params, keys=keys, top=_TOP, want=want),
            ).all()
            for key, place, aux, rank in rows:
                _keep(found, (place, aux), (ranges[key], rank))
        if verify:
            branches, vparams = [], dict(params, n=len(q), budget=_TYPO_VERIFY_ROWS)
            for i, prefix in enumerate(dict.fromkeys(verify)):
                vparams |= {f"v{i}": prefix, f"v{i}hi": prefix + _TOP}
                branches.append(
                    f"(SELECT place_id, aux, rank, {column} AS key FROM place_search_keys "
                    f"WHERE {column} ~>=~ :v{i} AND {column} ~<~ :v{i}hi "
                    f"AND char_length({column}) BETWEEN :n - 1 AND :n + 1 LIMIT :budget)"
                )
            rows = conn.execute(sa.text(" UNION ALL ".join(branches)), vparams).all()
            if rows:
                near = process.cdist(
                    [q],
                    [r.key for r in rows],
                    scorer=OSA.distance,
                    score_cutoff=1,
                    dtype=np.int32,
                    workers=1,
                )[0]
                for i in np.flatnonzero(near <= 1):
                    r = rows[i]
                    _keep(found, (r.place_id, r.aux), (_TIER_TYPO, r.rank))
        if not found:
            return []
        # The best few per place, then their rows (the filters checked here for names
        # found whole, which were read without them).
        best: dict[int, tuple] = {}
        for (place, aux), (tier, rank) in found.items():
            if place not in best or (tier, rank, aux) < best[place][:3]:
                best[place] = (tier, rank, aux)
        order = sorted(best.items(), key=lambda item: (item[1][:2], item[0]))
        chosen = order if filtered else order[:want]
        tiers = {(place, aux): tier for place, (tier, _, aux) in chosen}
        rows = conn.execute(
            sa.text(
                f"SELECT {_COLUMNS} FROM place_search_keys "
                "WHERE (place_id, aux) IN (SELECT * FROM unnest("
                "CAST(:places AS integer[]), CAST(:auxs AS smallint[]))) "
                f"AND {where}"
            ),
            dict(params, places=[p for p, _ in tiers], auxs=[a for _, a in tiers]),
        ).mappings()
        return [{**row, "tier": tiers[row["place_id"], row["aux"]], "form": "typo"} for row in rows]

    @staticmethod
    def _terms_within_one_edit(conn, kind: str, heads: list[str]) -> dict[str, dict]:
        """{head: {term: its reading (None for pinyin)}}: the distinct specific terms
        within OSA distance 1 of each head (itself included), as
        :meth:`gazetteer.search._TypoBuckets.within_one_edit` finds them: terms of length
        len(head) - 1 .. + 1 that start with the head's first half or end with its second
        half (one index range each), checked in Python; a swap across the middle looked up
        directly."""
        branches, params = [], {"kind": kind, "lim": _TYPO_TERM_ROWS}
        for i, head in enumerate(heads):
            h = len(head) // 2
            params |= {f"n{i}": [len(head) - 1, len(head), len(head) + 1]}
            for side, column, probe in (
                ("f", "term", head[:h]),
                ("r", "term_rev", head[h:][::-1]),
            ):
                if not probe:
                    continue
                params |= {f"{side}{i}": probe, f"{side}{i}hi": probe + _TOP}
                branches.append(
                    f"(SELECT {i} AS head, term, reading FROM place_search_terms "
                    f"WHERE kind = :kind AND term_len = ANY(:n{i}) "
                    f"AND {column} ~>=~ :{side}{i} AND {column} ~<~ :{side}{i}hi LIMIT :lim)"
                )
            if h >= 1:
                params[f"s{i}"] = head[: h - 1] + head[h] + head[h - 1] + head[h + 1 :]
                branches.append(
                    f"(SELECT {i} AS head, term, reading FROM place_search_terms "
                    f"WHERE kind = :kind AND term = :s{i})"
                )
        found: dict[str, dict] = {head: {} for head in heads}
        if not branches:
            return found
        candidates_of: dict[int, dict[str, str | None]] = {}
        for i, term, reading in conn.execute(sa.text(" UNION ALL ".join(branches)), params):
            candidates_of.setdefault(i, {})[term] = reading
        for i, candidates in candidates_of.items():
            head, terms = heads[i], list(candidates)
            near = process.cdist(
                [head], terms, scorer=OSA.distance, score_cutoff=1, dtype=np.int32, workers=1
            )[0]
            found[head] = {terms[j]: candidates[terms[j]] for j in np.flatnonzero(near <= 1)}
        return found

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
