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

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import sqlalchemy as sa

from gazetteer.core import crs
from gazetteer.core.geodesy import cgcs2000_geod
from gazetteer.core.store import SRID, Store
from gazetteer.pinyin import syllables
from gazetteer.search import (
    _FORM_PENALTY,
    _TIER_EXACT,
    _TIER_PREFIX,
    _TIER_SPECIFIC,
    _TIER_TYPO,
    _TIER_TYPO_LIKELY,
    MIN_SPECIFIC_CHARS,
    STATUS_RANK,
    Hit,
    SearchMethods,
    _syllable_key,
    check_bbox,
    check_query,
    check_status,
    likely_slips,
    normalise_latin,
    one_edit_from,
    query_text,
    swap_across_middle,
    term_lengths_that_fit,
    the_likeliest_terms,
    to_simplified,
    typo_texts,
)

_COLUMNS = (
    "place_id, aux, name, chars, py, spec_len, py_spec_len, level_rank, status, "
    "feature_class, division_code, division_path"
)
# The columns _filters() reads: also held by the name, pinyin and initials indexes
# (migration 0038), so that a filtered range is read from the index alone.
_FILTER_COLUMNS = "division_path, status, feature_class, minx, miny, maxx, maxy"
_TOP = "\U0010ffff"  # above every character: key ~<~ prefix || _TOP ends a prefix range
# The one-typo search's reads: terms per range of a head's half (a head of two characters
# has a few thousand terms starting with its first), and names checked whole per prefix
# (after the length filter; the in-memory index checks up to _TYPO_VERIFY_BUDGET), and
# with filters, names read in all before they are filtered (at least 40 per range).
_TYPO_TERM_ROWS = 20_000
_TYPO_VERIFY_ROWS = 5_000
_TYPO_FILTERED_ROWS = 12_000
_TYPO_FILTERED_MIN_ROWS = 40
_TYPO_DIVISION_ROWS = 20_000  # a division with at most this many names is read whole
# The division itself and everything under it: its path, or its path + '/…' ('0' follows
# '/' in byte order).
_IN_DIVISION = "(division_path = :dpath OR (division_path ~>=~ :dlo AND division_path ~<~ :dhi))"
_TYPO_MIN_LATIN = 3
_JUST_THIS = "\x01"  # key ~<~ name || _JUST_THIS: the name itself (names hold no U+0001)
_SHORT_STATEMENTS = sa.text(
    "SELECT set_config('jit', 'off', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)


def _typo_candidates_sql(kind: str) -> sa.TextClause:
    """The statement of :meth:`SQLSearch._typo_candidates` for the ``kind`` (chars or py)
    key column: per head (``i``), the terms of each forward probe (a length and the range of
    the head's first half), of each reverse probe (its second half, reversed) and the
    swapped heads; with head -1, the names of the name ranges (``w``: the prefix; whether
    it must itself be a term; a suffix the names must end with, or '')."""
    per_probe = (
        "SELECT p.i, t.term, t.reading FROM unnest(CAST(:{s}i AS integer[]), "
        "CAST(:{s}n AS integer[]), CAST(:{s}lo AS text[]), CAST(:{s}hi AS text[])) "
        "AS p(i, n, lo, hi) CROSS JOIN LATERAL (SELECT term, reading FROM place_search_terms "
        "WHERE kind = :kind AND term_len = p.n AND {column} ~>=~ p.lo AND {column} ~<~ p.hi "
        "LIMIT :lim) AS t"
    )
    return sa.text(
        "SELECT c.i AS head, array_agg(c.term) AS keys, array_agg(c.reading) AS readings "
        "FROM ("
        + per_probe.format(s="f", column="term")
        + " UNION ALL "
        + per_probe.format(s="r", column="term_rev")
        + " UNION ALL SELECT s.i, t.term, t.reading FROM unnest(CAST(:si AS integer[]), "
        "CAST(:sterm AS text[])) AS s(i, term) JOIN place_search_terms AS t "
        "ON t.kind = :kind AND t.term = s.term"
        ") AS c GROUP BY c.i "
        "UNION ALL SELECT -1, array_agg(DISTINCT k.key), CAST(NULL AS text[]) FROM ("
        "SELECT * FROM unnest(CAST(:wlo AS text[]), CAST(:whi AS text[]), "
        "CAST(:wterm AS boolean[]), CAST(:wsuffix AS text[])) AS w(lo, hi, term, suffix) "
        "WHERE NOT w.term OR EXISTS (SELECT 1 FROM place_search_terms "
        "WHERE kind = :kind AND term = w.lo)) AS w "
        f"CROSS JOIN LATERAL (SELECT {kind} AS key FROM place_search_keys "
        f"WHERE char_length({kind}) = ANY(:lens) AND {kind} ~>=~ w.lo AND {kind} ~<~ w.hi "
        "LIMIT :budget) AS k "
        "WHERE w.suffix = '' OR right(k.key, char_length(w.suffix)) = w.suffix"
    )


_TYPO_CANDIDATES = {kind: _typo_candidates_sql(kind) for kind in ("chars", "py")}


def _within_one_edit(q: str, candidates: dict) -> dict:
    """The candidates (keys of a dict, values kept) within OSA distance 1 of ``q``."""
    keys = list(candidates)
    return {keys[i]: candidates[keys[i]] for i in one_edit_from(q, keys)}


class SQLSearch(SearchMethods):
    """Search over a PostgreSQL store's ``place_search_keys`` (see the module docstring)."""

    def __init__(self, store: Store):
        if store.dialect != "postgresql":
            raise ValueError("SQLSearch needs a PostgreSQL store")
        self.store = store
        self._reading = threading.local()  # .conn: this thread's open one_read()

    # The lookup service applies each committed change to its indexes; here the writers
    # already did (gazetteer.search_keys), so there is nothing to apply.
    def replace(self, record_id, record: dict | None) -> None:
        """Nothing to do: the writer rewrote the place's keys in its transaction."""

    @contextlib.contextmanager
    def one_read(self) -> Iterator[None]:
        """This thread's searches inside share one read transaction: a chain of names is
        up to a dozen searches, and each of its own would cost three more round trips
        (BEGIN, the planner settings, ROLLBACK). Reentrant."""
        if getattr(self._reading, "conn", None) is not None:
            yield
            return
        with self.store.read() as conn:
            # Each statement is a few index ranges: compiling it (JIT, about 70 ms when the
            # planner overestimates a range) or starting parallel workers costs more than
            # it saves. (Local to the read's transaction.)
            conn.execute(_SHORT_STATEMENTS)
            self._reading.conn = conn
            try:
                yield
            finally:
                self._reading.conn = None

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """The thread's open :meth:`one_read` connection, or one of its own."""
        with self.one_read():
            yield self._reading.conn

    # ------------------------------------------------------------------ the query

    def _query(
        self, q, division, feature_class, status, bbox, limit, offset, *, typos: bool
    ) -> list[Hit]:
        check_query(q, limit, offset)
        statuses = check_status(status) if status is not None else None
        box = check_bbox(bbox) if bbox is not None else None
        want = offset + limit
        text, has_latin = query_text(q)
        with self._read() as conn:
            where, params = self._filters(conn, division, feature_class, statuses, box)
            if where is None:
                return []
            if has_latin:
                latin = normalise_latin(text)
                if not latin:
                    return []
                forms = [("py", latin, "pinyin"), ("ini", latin, "initials")]
                typo_queries, typo_column, min_typo = [latin], "py", _TYPO_MIN_LATIN
            else:
                forms = [("chars", text, "exact")]
                simplified = to_simplified(text)
                if simplified != text:
                    forms.append(("chars", simplified, "traditional"))
                typo_queries, typo_column, min_typo = typo_texts(text), "chars", MIN_SPECIFIC_CHARS
            best: dict[int, tuple] = {}
            self._collect(best, self._matches(conn, forms, where, params, want))
            ranked = sorted(best.values())[:want]
            if (
                typos
                and len(ranked) < want
                and len(typo_queries[0]) >= min_typo
                and not any(r[0] <= _TIER_SPECIFIC for r in ranked)
            ):
                # Places found above may be among the best typos too: ask for enough more
                # that ``want`` distinct places can be filled.
                more = want + len(best)
                for typo_query in typo_queries:
                    self._collect(
                        best,
                        self._typo_rows(
                            conn, typo_query, typo_column, min_typo, where, params, more
                        ),
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
            where.append(_IN_DIVISION)
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
                # An exact key is read in rank order from its own index (key, rank,
                # place_id: migration 0042), stopping at the limit however many places
                # share it. A range is read in rank order (ix_psk_rank) only for a
                # one-character prefix, which matches so many rows that the best come
                # soon; otherwise the matches sit far down the rank order (villages), and
                # the key's range, sorted, is cheaper: ``rank + 0`` keeps the planner off
                # the rank index.
                ordered = tier == _TIER_EXACT or (tier == _TIER_PREFIX and len(key) <= 1)
                order = "rank" if ordered else "rank + 0"
                # Rank from the covering indexes (index-only: the name, pinyin and
                # initials indexes also hold the filter columns), then read the best rows.
                selects = [
                    f"SELECT place_id, aux, rank FROM place_search_keys WHERE {part} AND {where}"
                    for part in parts
                ]
                ranked = " UNION ALL ".join(f"({sel})" for sel in selects)
                if len(parts) == 1:
                    ranked = selects[0]
                branches.append(
                    f"(SELECT {_COLUMNS}, {tier} AS tier, '{form}' AS form FROM "
                    f"(SELECT place_id, aux FROM ({ranked}) AS m "
                    f"ORDER BY {order}, place_id LIMIT :lim) AS best "
                    "JOIN place_search_keys USING (place_id, aux))"
                )
        return conn.execute(sa.text(" UNION ALL ".join(branches)), params).mappings().all()

    def _typo_rows(self, conn, q: str, column: str, min_len: int, where: str, params: dict, want):
        """Rows (with tier and form) of the names one edit from ``q`` in ``column`` (chars
        or py), found as :meth:`gazetteer.search.SearchIndex._collect_typos` finds them:

        1. every split q = head + tail: the specific terms one edit from head, then the
           names starting with term + tail (番禹 -> 番禺区; the homophone tier when term and
           head read the same);
        2. when head is itself a term: names starting with it that are one edit from q
           whole (杉树寸民委员会 -> 杉树村民委员会);
        3. names starting with q's intact first half that are one edit from q whole.

        Four statements: the positional grams of the tails (``place_search_grams``: the
        splits whose tail no key holds after a term are not looked up); the candidate terms
        and whole names (:meth:`_typo_candidates`, checked here with the OSA distance); the
        best rows of every name range they give, from the covering index; the full rows of
        the best few."""
        heads = [q[:k] for k in range(len(q), min_len - 1, -1)]
        # The lengths of each head's terms after which some key can hold its tail (as in
        # memory: the chars keys' positional grams; pinyin keeps none, so every length).
        lengths = (
            term_lengths_that_fit(q, heads, self._grams_present(conn))
            if column == "chars"
            else [(len(h) - 1, len(h), len(h) + 1) for h in heads]
        )
        # The readings of the heads looked up (homophones rank first), not of skipped ones.
        readings = (
            {
                head: "".join(_syllable_key(x) for x in syllables(head))
                for head, fit in zip(heads, lengths)
                if fit
            }
            if column == "chars"
            else {}
        )
        terms_of, whole = self._typo_candidates(conn, column, q, heads, min_len, lengths)
        ranges: dict[tuple[str, str], int] = {}  # (low, high) key bounds -> best tier
        for head in heads:
            tail, terms = q[len(head) :], _within_one_edit(head, terms_of.get(head, {}))
            same = {t for t, r in terms.items() if r is not None and r == readings.get(head)}
            terms = the_likeliest_terms(head, terms, same)
            likely = likely_slips(head, same)
            for term in terms:
                tier = _TIER_TYPO_LIKELY if term in likely else _TIER_TYPO
                bounds = (term + tail, term + tail + _TOP)  # names starting with it
                ranges[bounds] = min(tier, ranges.get(bounds, tier))
        swapped = swap_across_middle(q)  # neither half intact: 造村和委会 for 造和村委会
        for key in [*_within_one_edit(q, dict.fromkeys(whole)), *([swapped] if swapped else [])]:
            bounds = (key, key + _JUST_THIS)  # the name itself
            ranges[bounds] = min(_TIER_TYPO, ranges.get(bounds, _TIER_TYPO))
        if not ranges:
            return []
        filtered = where != "TRUE"
        found = (
            self._typo_rows_in_division(conn, column, ranges, where, params)
            if ("dpath" in params)
            else None
        )
        if found is not None:
            return self._best_typo_rows(conn, found, want)
        in_range = f"{column} ~>=~ r.lo AND {column} ~<~ r.hi"
        bounds = sorted(ranges)
        pools = None
        if filtered:
            # The filters are columns of the row, not of the index: each range is read in
            # key order up to its share of _TYPO_FILTERED_ROWS, which is then filtered (a
            # short term starts thousands of names: 300 terms would read them all). The
            # share goes to the ranges that hold names (counted from the index).
            held = (
                conn.execute(
                    sa.text(
                        "SELECT r.i FROM unnest(CAST(:los AS text[]), CAST(:his AS text[])) "
                        "WITH ORDINALITY AS r(lo, hi, i) "
                        f"WHERE EXISTS (SELECT 1 FROM place_search_keys WHERE {in_range})"
                    ),
                    {"los": [lo for lo, _ in bounds], "his": [hi for _, hi in bounds]},
                )
                .scalars()
                .all()
            )
            bounds = [bounds[i - 1] for i in held]
            share = max(_TYPO_FILTERED_ROWS // max(len(bounds), 1), _TYPO_FILTERED_MIN_ROWS)
            pools = [share] * len(bounds)
            if not bounds:
                return []
            # Index-only: the name and pinyin indexes hold the filter columns.
            rows_of_range = (
                f"(SELECT place_id, aux, rank, {_FILTER_COLUMNS} FROM place_search_keys "
                f"WHERE {in_range} LIMIT r.pool) AS c WHERE {where}"
            )
        else:
            rows_of_range = f"place_search_keys WHERE {in_range}"
        per_range = f"SELECT place_id, aux, rank FROM {rows_of_range}"
        rows = conn.execute(
            sa.text(
                # The best ``want`` places overall, each at its best (several ranges find
                # the same place: 东莞市 by dongguan and by donggua + n).
                "SELECT tier, place_id, aux, rank FROM (SELECT DISTINCT ON (k.place_id) "
                "r.tier, k.place_id, k.aux, k.rank FROM unnest(CAST(:los AS text[]), "
                "CAST(:his AS text[]), CAST(:tiers AS integer[]), CAST(:pools AS integer[])) "
                "AS r(lo, hi, tier, pool) CROSS JOIN LATERAL ("
                # rank + 0: the range, sorted, not the whole rank index filtered (the
                # planner cannot size a range whose bounds come from the arrays).
                # Four rows a place wanted: a place's former names are rows of their own.
                f"{per_range} ORDER BY rank + 0, place_id LIMIT :range_rows) AS k "
                "ORDER BY k.place_id, r.tier, k.rank, k.aux) AS best "
                "ORDER BY tier, rank, place_id LIMIT :want"
            ),
            dict(
                params,
                los=[lo for lo, _ in bounds],
                his=[hi for _, hi in bounds],
                tiers=[ranges[b] for b in bounds],
                pools=pools or [0] * len(bounds),
                want=want,
                range_rows=want * 4,
            ),
        ).all()
        return self._best_typo_rows(conn, rows, want)

    @staticmethod
    def _typo_rows_in_division(conn, column, ranges, where, params):
        """With a division filter, the typo candidates read from the division's own key
        rows, when it has at most _TYPO_DIVISION_ROWS of them (a county): (tier, place,
        aux, rank) of those whose key starts with a range's prefix (or is its name). The
        ranges' own reads would stop at a pool of rows before the filter, and a common name
        (三星村) fills any pool with rows of other counties. None for a larger division."""
        # Counted on the division-path index alone (index-only), each side of its OR.
        size = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM place_search_keys "
                "WHERE division_path = :dpath LIMIT :cap) AS d) + (SELECT count(*) FROM ("
                "SELECT 1 FROM place_search_keys WHERE division_path ~>=~ :dlo "
                "AND division_path ~<~ :dhi LIMIT :cap) AS u)"
            ),
            dict(params, cap=_TYPO_DIVISION_ROWS + 1),
        ).scalar()
        if size > _TYPO_DIVISION_ROWS:
            return None
        prefix_tier = {lo: t for (lo, hi), t in ranges.items() if hi == lo + _TOP}
        name_tier = {lo: t for (lo, hi), t in ranges.items() if hi == lo + _JUST_THIS}
        # Only the division's rows that start with a prefix or are a name come back: the
        # arrays are hashed by the server (a county has up to 20,000 rows, a query a few
        # hundred prefixes), where a loop over every row here took milliseconds.
        starts: dict[int, list[str]] = {}
        for prefix in prefix_tier:
            starts.setdefault(len(prefix), []).append(prefix)
        wanted = [f"{column} = ANY(CAST(:names AS text[]))"] + [
            f"left({column}, {n}) = ANY(CAST(:p{n} AS text[]))" for n in starts
        ]
        rows = conn.execute(
            sa.text(
                f"SELECT place_id, aux, rank, {column} AS key FROM place_search_keys "
                f"WHERE {where} AND ({' OR '.join(wanted)})"
            ),
            dict(params, names=list(name_tier), **{f"p{n}": p for n, p in starts.items()}),
        ).all()
        found = []
        for place, aux, rank, key in rows:
            tiers = [prefix_tier[key[:j]] for j in range(1, len(key) + 1) if key[:j] in prefix_tier]
            if key in name_tier:
                tiers.append(name_tier[key])
            if tiers:
                found.append((min(tiers), place, aux, rank))
        return found

    @staticmethod
    def _best_typo_rows(conn, rows, want: int) -> list[dict]:
        """The full rows (tier and form added) of the best ``want`` places of ``rows``
        ((tier, place, aux, rank) each; a place's best counts)."""
        best: dict[int, tuple[int, int, int]] = {}  # place -> (tier, rank, aux), its best
        for tier, place, aux, rank in rows:
            if place not in best or (tier, rank, aux) < best[place]:
                best[place] = (tier, rank, aux)
        order = sorted(best.items(), key=lambda item: (item[1][:2], item[0]))[:want]
        tiers = {(place, aux): tier for place, (tier, _, aux) in order}
        if not tiers:
            return []
        rows = conn.execute(
            sa.text(
                f"SELECT {_COLUMNS} FROM place_search_keys "
                "WHERE (place_id, aux) IN (SELECT * FROM unnest("
                "CAST(:places AS integer[]), CAST(:auxs AS smallint[])))"
            ),
            {"places": [p for p, _ in tiers], "auxs": [a for _, a in tiers]},
        ).mappings()
        return [{**row, "tier": tiers[row["place_id"], row["aux"]], "form": "typo"} for row in rows]

    @staticmethod
    def _grams_present(conn):
        def present(codes: list[int]) -> set[int]:
            return set(
                conn.execute(
                    sa.text("SELECT code FROM place_search_grams WHERE code = ANY(:codes)"),
                    {"codes": codes},
                ).scalars()
            )

        return present

    @staticmethod
    def _typo_candidates(conn, kind: str, q: str, heads: list[str], min_len: int, lengths):
        """({head: {candidate term: its reading}}, [distinct names to check whole]) in one
        statement, each part an index range cut by LIMIT:

        * for each head, the terms that could be one edit from it, as
          :meth:`gazetteer.search._TypoBuckets.within_one_edit` reads them: of each of its
          ``lengths`` (:func:`gazetteer.search.term_lengths_that_fit`), starting with the
          head's first half or ending with its second half; and the head with the
          neighbours across its middle swapped;
        * the names n - 1 .. n + 1 long (n = len(q)) starting with a head that is itself a
          term and has a tail, or with q's first half (``ix_psk_{kind}_len``).

        The ranges are arrays, so the statement's text is the same for every query: the
        driver prepares it once per connection, and it is not planned again (a query of a
        dozen heads was a union of some forty branches, about 1 ms to plan)."""
        n = len(q)
        probes: dict[str, list] = {
            key: [] for key in ("fi", "fn", "flo", "ri", "rn", "rlo", "si", "sterm")
        }
        for i, head in enumerate(heads):
            h = len(head) // 2
            for length in lengths[i]:  # none: no term + tail starts a name
                for side, probe in (("f", head[:h]), ("r", head[h:][::-1])):
                    if probe:
                        probes[side + "i"].append(i)
                        probes[side + "n"].append(length)
                        probes[side + "lo"].append(probe)
            swapped = swap_across_middle(head)
            if swapped is not None and len(head) in lengths[i]:
                probes["si"].append(i)
                probes["sterm"].append(swapped)
        first_half = q[: n // 2] if n // 2 >= min_len else None
        names: dict[str, list] = {"wlo": [], "wterm": [], "wsuffix": []}
        if first_half:
            names["wlo"].append(first_half)
            names["wterm"].append(False)
            names["wsuffix"].append("")
        for head in heads:
            if len(head) < n and head != first_half:  # a tail, and not read just above
                # A name one edit from q starts with q's first half (read just above), is
                # q with the neighbours across its middle swapped (a range of its own), or
                # ends with q's second half: after a head shorter than the first half, only
                # those are kept (王家 + 岗村民委会 reads thousands of 王家… names).
                short = first_half is not None and len(head) < len(first_half)
                names["wlo"].append(head)
                names["wterm"].append(True)
                names["wsuffix"].append(q[n // 2 :] if short else "")
        params = {
            **probes,
            **names,
            "fhi": [p + _TOP for p in probes["flo"]],
            "rhi": [p + _TOP for p in probes["rlo"]],
            "whi": [p + _TOP for p in names["wlo"]],
            "kind": kind,
            "lim": _TYPO_TERM_ROWS,
            "budget": _TYPO_VERIFY_ROWS,
            "lens": [n - 1, n, n + 1],
        }
        terms_of: dict[str, dict[str, str | None]] = {}
        whole: set[str] = set()
        for i, keys, readings in conn.execute(_TYPO_CANDIDATES[kind], params):
            if not keys:
                continue
            if i < 0:
                whole.update(keys)
            else:
                found = terms_of.setdefault(heads[i], {})
                for term, reading in zip(keys, readings or [None] * len(keys)):
                    found.setdefault(term, reading)
        return terms_of, sorted(whole)

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
