"""Search keys of places, stored beside them: what PostgreSQL searches (``gazetteer.search_postgres``).

One row per place and per name it is found by (its name, and each former name of the
records it superseded): the name as written (``chars``), its toneless pinyin (``py``) and
initials (``ini``), each also cut to its natural form (``*_nat``: 福涌村 of 福涌村民委员会) and
its specific term (``*_spec``: 福涌), with the ranking and filter columns of the place
(level, status, class, division path, extent); and, in ``place_search_terms``, the distinct
specific terms of all those rows, which the one-typo search looks up first. The keys are
computed by :func:`gazetteer.search.name_forms`, the same function the in-memory index
uses, so both stores read a name the same way (a name whose recorded romanization reads it
otherwise has a second row, ``aux`` -2).

**Kept by the writers.** Every domain function that writes places, place links or
divisions calls :func:`gazetteer.changes.places_changed` inside its transaction; that
registers :func:`refresh_transaction`, which runs at the end of the same transaction (before
it commits), finds the places the transaction touched in the audit log (its ``tx``), and
rewrites their key rows (adding any new specific term). A name is therefore searchable on PostgreSQL the moment its
write commits, in every worker, with no index to build; a rolled-back write leaves no keys.

Kept on PostgreSQL only: SQLite serves search from the in-memory index
(``gazetteer.search.SearchIndex``), and there the table stays empty.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from itertools import islice

import sqlalchemy as sa

from gazetteer.core.account_tables import audit_log
from gazetteer.core.store import Store, metadata, transaction_id
from gazetteer.search import (
    OTHER_LEVEL_RANK,
    STATUS_RANK,
    TRIPLE,
    TRIPLE_CHAR_BITS,
    TRIPLE_LAST_POSITION,
    _Readings,
    keys_fingerprint,
    name_forms,
    normalise_text,
    store_records,
)
from gazetteer.tables import DIVISION_CODE, PLACE_NAME

log = logging.getLogger(__name__)

place_search_keys = sa.Table(
    "place_search_keys",
    metadata,
    sa.Column("place_id", sa.Integer, nullable=False, index=True),
    # aux -2 (gazetteer.search.AUX_OWN_READING): the name as its own romanization reads it
    sa.Column("aux", sa.SmallInteger, nullable=False, comment="-1: the name; n: former name n"),
    sa.Column("name", PLACE_NAME, nullable=False, comment="the place's name (normalised)"),
    sa.Column("chars", PLACE_NAME, nullable=False, comment="the name searched (NFKC)"),
    sa.Column("chars_nat", PLACE_NAME, comment="natural form when shorter (福涌村)"),
    sa.Column("chars_spec", PLACE_NAME, comment="specific term when shorter (福涌)"),
    sa.Column("spec_len", sa.SmallInteger, nullable=False, comment="characters of 专名"),
    sa.Column("chars_term", PLACE_NAME, nullable=False, comment="专名 (typo terms)"),
    sa.Column("py", sa.String(800), nullable=False, comment="toneless pinyin, no spaces"),
    sa.Column("py_nat", sa.String(800)),
    sa.Column("py_spec", sa.String(800)),
    sa.Column("py_spec_len", sa.SmallInteger, nullable=False, comment="letters of 专名"),
    sa.Column("py_term", sa.String(800), nullable=False, comment="专名 in pinyin (typos)"),
    sa.Column("ini", sa.String(200), nullable=False, comment="pinyin initials"),
    sa.Column("ini_nat", sa.String(200)),
    sa.Column("ini_spec", sa.String(200)),
    sa.Column(
        "rank",
        sa.BigInteger,
        nullable=False,
        comment="sort key within a tier: level, status, former name, length",
    ),
    sa.Column("level_rank", sa.SmallInteger, nullable=False, comment="0 province .. 5 other"),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("feature_class", sa.String(20)),
    sa.Column("division_code", DIVISION_CODE),
    sa.Column("division_path", sa.String(200), comment="codes province down, '/'-joined"),
    sa.Column("minx", sa.Float),
    sa.Column("miny", sa.Float),
    sa.Column("maxx", sa.Float),
    sa.Column("maxy", sa.Float),
)

# The distinct specific terms of the key rows, by kind (``chars`` or ``py``): what the
# one-typo search looks up first (the in-memory index's typo buckets,
# ``gazetteer.search._TypoBuckets``). A term is added when a key row first carries it and
# never removed: a term no name carries any more costs one empty range probe.
place_search_terms = sa.Table(
    "place_search_terms",
    metadata,
    sa.Column("kind", sa.String(5), nullable=False, comment="chars or py"),
    sa.Column("term", sa.String(800), nullable=False, comment="a specific term (专名)"),
    sa.Column("term_len", sa.SmallInteger, nullable=False, comment="characters of term"),
    sa.Column("term_rev", sa.String(800), nullable=False, comment="term reversed"),
    sa.Column("reading", sa.String(800), comment="toneless pinyin of a chars term"),
    sa.PrimaryKeyConstraint("kind", "term", name="pk_place_search_terms"),
)
# The distinct positional grams of the ``chars`` keys (each pair and each run of three
# neighbouring characters with its position: ``gazetteer.search._positional_grams``), which
# tell the one-typo search which term lengths of a query's splits can be skipped
# (``gazetteer.search.term_lengths_that_fit``), as the in-memory base keeps them. Added
# with the terms, never removed (a superset only skips less).
place_search_grams = sa.Table(
    "place_search_grams",
    metadata,
    sa.Column(
        "code",
        sa.BigInteger,
        nullable=False,
        comment="pair: position << 42 | c1 << 21 | c2; run of three: negative (search.py)",
    ),
    sa.PrimaryKeyConstraint("code", name="pk_place_search_grams"),
)


def _char(i: int, bits: int = 21) -> str:
    """SQL: the code point of the key's character at 0-based position ``g.i + i`` as a
    bigint, its low ``bits`` bits."""
    return f"(CAST(ascii(substr(chars, g.i + {i + 1}, 1)) AS bigint) & {(1 << bits) - 1})"


# The SQL of the codes of the key rows (each a FROM-list item and a code expression), the
# same as gazetteer.search._positional_grams computes in Python. Every operation is in
# brackets: PostgreSQL gives <<, | and & one precedence, left to right.
_GRAMS = (
    (
        "place_search_keys CROSS JOIN LATERAL generate_series(0, char_length(chars) - 2) AS g(i)",
        f"((CAST(g.i AS bigint) << 42) | ({_char(0)} << 21) | {_char(1)})",
    ),
    (
        "place_search_keys CROSS JOIN LATERAL generate_series(0, char_length(chars) - 3) AS g(i)",
        f"(CAST('{TRIPLE}' AS bigint) | (CAST(LEAST(g.i, {TRIPLE_LAST_POSITION}) AS bigint) << 57) "
        f"| ({_char(0, TRIPLE_CHAR_BITS)} << 38) | ({_char(1, TRIPLE_CHAR_BITS)} << 19) "
        f"| {_char(2, TRIPLE_CHAR_BITS)})",
    ),
)
# kind: (the key column of its terms, the SQL of a term's reading)
TERM_KINDS = {"chars": ("chars_term", "left(py, py_spec_len)"), "py": ("py_term", "NULL")}

# Where a name's key rows are refreshed in one statement batch.
_BATCH = 5000


def rank_of(level_rank: int, status: str, former: bool, name: str) -> int:
    """The order within a tier, as ``SearchIndex`` ranks: higher divisions first, in force
    before historical before retired, current names before former names, shorter first."""
    level = min(max(int(level_rank), 0), 7)
    return ((level * 4 + STATUS_RANK[status]) * 2 + int(former)) * 256 + min(len(name), 255)


def _shorter(key: str, n: int) -> str | None:
    return key[:n] if n < len(key) else None


def key_rows(records: Iterable[dict], readings: _Readings | None = None) -> Iterator[dict]:
    """Key rows of search records (``gazetteer.search.store_records``' dicts)."""
    readings = readings or _Readings()
    records = list(records)
    readings.prefetch(
        normalise_text(str(n)) for r in records for n in [r["name"], *r["former_names"]]
    )
    for r in records:
        forms = name_forms(r, readings)
        if not forms:
            continue
        name = forms[0][1].text
        bbox = r.get("bbox") or (None, None, None, None)
        level = r.get("level_rank", OTHER_LEVEL_RANK)
        for aux, k in forms:
            row = {"place_id": r["id"], "aux": aux, "name": name}
            for column, key, natural, spec in (
                ("chars", k.text, k.natural_len, k.spec_len),
                ("py", k.py, k.py_natural_len, k.py_spec_len),
                ("ini", k.ini, k.ini_natural_len, k.ini_spec_len),
            ):
                row[column] = key
                row[f"{column}_nat"] = _shorter(key, natural)
                row[f"{column}_spec"] = _shorter(key, spec)
                if column != "ini":  # the typo search reads characters and pinyin
                    row[f"{column}_term"] = key[:spec]
            yield row | {
                "spec_len": k.spec_len,
                "py_spec_len": k.py_spec_len,
                "rank": rank_of(level, r["status"], aux >= 0, name),
                "level_rank": level,
                "status": r["status"],
                "feature_class": r.get("feature_class"),
                "division_code": r.get("division_code"),
                "division_path": "/".join(r.get("division_path") or []),
                "minx": bbox[0],
                "miny": bbox[1],
                "maxx": bbox[2],
                "maxy": bbox[3],
            }


def kept(conn) -> bool:
    """Whether this store keeps search keys (PostgreSQL)."""
    return conn.dialect.name == "postgresql"


def refresh(conn, place_ids: Iterable[int] | None = None, *, processes: int | None = None) -> int:
    """Rewrite the key rows of ``place_ids`` (every place when None) from the places as
    they stand in ``conn``'s transaction, with the places that carry their names as former
    names. Returns the number of places refreshed. Every place: see :func:`fill`
    (``processes``)."""
    from gazetteer.lookup import _former_names, _successors

    if place_ids is None:
        conn.execute(place_search_keys.delete())
        conn.execute(place_search_terms.delete())
        conn.execute(place_search_grams.delete())
        return fill(conn, processes=processes)
    ids = set(place_ids)
    ids |= _successors(conn, ids)
    if not ids:
        return 0
    id_list = sorted(ids)
    for start in range(0, len(id_list), _BATCH):
        chunk = id_list[start : start + _BATCH]
        conn.execute(place_search_keys.delete().where(place_search_keys.c.place_id.in_(chunk)))
    records = list(store_records(conn, _former_names(conn, ids), ids))
    _copy(conn, _copy_text(records, _Readings()))
    add_terms(conn, id_list)
    return len(records)


def add_terms(conn, place_ids: list[int] | None = None) -> None:
    """Add the specific terms of these places' key rows (every key row's when None) to
    ``place_search_terms``, and their positional grams to ``place_search_grams``, where
    they are not there yet. A chars term's reading is the pinyin its first key row gives
    it, as the in-memory index keeps the first."""
    only = "WHERE place_id = ANY(:ids)" if place_ids is not None else ""
    codes = " UNION ".join(f"SELECT {code} FROM {source} {only}" for source, code in _GRAMS)
    conn.execute(
        sa.text(f"INSERT INTO place_search_grams (code) {codes} ON CONFLICT DO NOTHING"),
        {"ids": place_ids},
    )
    for kind, (term, reading) in TERM_KINDS.items():
        only = "AND place_id = ANY(:ids)" if place_ids is not None else ""
        conn.execute(
            sa.text(
                "INSERT INTO place_search_terms (kind, term, term_len, term_rev, reading) "
                f"SELECT DISTINCT ON ({term}) :kind, {term}, char_length({term}), "
                f"reverse({term}), {reading} FROM place_search_keys "
                f"WHERE {term} <> '' {only} ORDER BY {term}, place_id, aux "
                "ON CONFLICT DO NOTHING"
            ),
            {"kind": kind, "ids": place_ids},
        )


# Places read, computed and written per round by fill(); below _POOL_MIN_PLACES places the
# keys are computed in this process (starting worker processes costs about a second).
_ROUND = 100_000
_POOL_MIN_PLACES = 50_000
KEY_COLUMNS = tuple(c.name for c in place_search_keys.columns)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def fill(conn, *, processes: int | None = None) -> int:
    """Write the key rows of every place into an empty keys table, and their specific terms
    into ``place_search_terms``; returns the number of places. For a whole store (a first
    start, a key fingerprint change, a bulk load): the places are read ``_ROUND`` at a time
    from a server-side cursor, their keys computed by ``processes`` worker processes
    (default: one per core; 1: in this process) while the previous round is written with
    ``COPY``. The rows are those :func:`key_rows` makes for
    each place alone (``tests/test_search_postgres.py`` compares them)."""
    from gazetteer.lookup import _former_names

    processes = processes or os.cpu_count() or 1
    total = conn.execute(sa.text("SELECT count(*) FROM places")).scalar()
    rounds = batched(store_records(conn, _former_names(conn, None), stream=_ROUND), _ROUND)
    if processes == 1 or total < _POOL_MIN_PLACES:
        readings = _Readings()
        for records in rounds:
            _copy(conn, _copy_text(records, readings))
        add_terms(conn)
        return total
    # forkserver, not fork: a web worker that fills has threads and open connections.
    context = multiprocessing.get_context("forkserver")
    size = -(-_ROUND // processes)
    with context.Pool(processes, initializer=_pool_start) as pool:
        pending = None
        for records in rounds:
            parts = pool.map_async(_pool_copy_text, batched(records, size))
            if pending is not None:  # written while this round is computed
                for text in pending.get():
                    _copy(conn, text)
            pending = parts
        for text in pending.get() if pending is not None else ():
            _copy(conn, text)
    add_terms(conn)
    return total


def batched(items: Iterable, n: int) -> Iterator[list]:
    """``items`` in lists of ``n`` (the last shorter); itertools.batched from Python 3.12."""
    items = iter(items)
    while chunk := list(islice(items, n)):
        yield chunk


def _copy(conn, text: str) -> None:
    """``COPY`` key rows (text format, :data:`KEY_COLUMNS` order) into the table, in
    ``conn``'s transaction."""
    if not text:
        return
    raw = conn.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY place_search_keys ({', '.join(KEY_COLUMNS)}) FROM STDIN") as copy,
    ):
        copy.write(text.encode())


def _copy_text(records: Iterable[dict], readings: _Readings) -> str:
    """Key rows of ``records`` in COPY's text format."""
    lines = []
    fields = len(KEY_COLUMNS)
    for row in key_rows(records, readings):
        # NUL stands for NULL (PostgreSQL text never holds it). Names are normalised (no
        # whitespace); a backslash or a tab anywhere is rare: only such a row is escaped
        # value by value.
        line = "\t".join(["\0" if (v := row[c]) is None else str(v) for c in KEY_COLUMNS])
        if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != fields - 1:
            line = "\t".join(
                "\0" if (v := row[c]) is None else str(v).translate(_COPY_ESCAPES)
                for c in KEY_COLUMNS
            )
        lines.append(line.replace("\0", "\\N"))
    if len(readings.cache) > 2_000_000:  # terms differ more than a national registry's
        readings.cache.clear()
    return "\n".join(lines) + "\n" if lines else ""


_pool_readings: _Readings | None = None


def _pool_start() -> None:
    """A fill worker process: one reading cache for its life. Generated and real names
    share their specific and generic terms, so most terms are read once per process."""
    global _pool_readings
    _pool_readings = _Readings()


def _pool_copy_text(records) -> str:
    return _copy_text(records, _pool_readings)


def touched_places(conn, tx: str) -> set[int] | None:
    """Ids of the places whose keys the write transaction ``tx`` may have changed: places
    it wrote, both ends of links it wrote, and the places in or under divisions it wrote.
    None when it wrote so many divisions that every place is refreshed."""
    from gazetteer.registry_tables import place_links
    from gazetteer.tables import divisions, places

    rows = conn.execute(
        sa.select(audit_log.c.table_name, audit_log.c.row_key).where(
            audit_log.c.tx == tx,
            audit_log.c.table_name.in_(("places", "place_links", "divisions")),
        )
    ).all()
    ids = {int(k) for t, k in rows if t == "places"}
    link_ids = [int(k) for t, k in rows if t == "place_links"]
    if link_ids:
        for old, new in conn.execute(
            sa.select(place_links.c.old_place_id, place_links.c.new_place_id).where(
                place_links.c.id.in_(link_ids)
            )
        ):
            ids |= {old, new}
    codes = {k for t, k in rows if t == "divisions"}
    if len(codes) > 1000:
        return None
    if codes:
        paths = conn.execute(sa.select(divisions.c.path).where(divisions.c.code.in_(codes)))
        under = set(codes)
        for (path,) in paths:
            under |= set(
                conn.execute(
                    sa.select(divisions.c.code).where(
                        sa.or_(divisions.c.path == path, divisions.c.path.like(f"{path}/%"))
                    )
                ).scalars()
            )
        ids |= set(
            conn.execute(
                sa.select(places.c.id).where(
                    sa.or_(places.c.division_code.in_(under), places.c.own_division_code.in_(under))
                )
            ).scalars()
        )
    return ids


def refresh_transaction(conn) -> None:
    """Refresh the keys of the places the current ``Store.write()`` transaction touched
    (registered by ``gazetteer.changes.places_changed``; runs just before the commit)."""
    if not kept(conn):
        return
    ids = touched_places(conn, transaction_id(conn))
    refresh(conn, ids)


def ensure_filled(store: Store) -> bool:
    """Fill the keys of every place, for a PostgreSQL store whose places were written
    before this table existed (the migration that made it cannot compute pinyin) or under
    another key fingerprint (``gazetteer.search.keys_fingerprint``: a new generic term,
    reading table or library version changes the keys of names already stored). The
    fingerprint the keys were made under is kept in ``meta`` (``search_keys:fingerprint``);
    concurrent workers wait on one advisory lock. Returns True when this call filled them."""
    from gazetteer.tables import meta

    if store.dialect != "postgresql":
        return False
    marker, fingerprint = "search_keys:fingerprint", keys_fingerprint()
    # Migration 0034p marks a store that had no places (``search_keys:filled``): every key
    # since was written by the writers, under the code and data this first start runs with.
    created_empty = "search_keys:filled"

    def markers(conn) -> dict[str, str]:
        query = sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_((marker, created_empty)))
        return dict(conn.execute(query).all())

    with store.read(primary=True) as conn:
        if markers(conn).get(marker) == fingerprint:
            return False
    with store.write(actor="system:search-keys") as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('gdgis.search_keys'))"))
        found = markers(conn)
        if found.get(marker) == fingerprint:
            return False
        count = 0 if created_empty in found and marker not in found else refresh(conn, None)
        conn.execute(meta.delete().where(meta.c.key.in_((marker, created_empty))))
        conn.execute(meta.insert().values(key=marker, value=fingerprint))
        log.info("search keys of %d places made under fingerprint %s", count, fingerprint)
    return True


def drop_indexes(conn) -> list[str]:
    """Drop the keys table's indexes before a bulk :func:`fill` into an empty table (making
    18 B-trees once afterwards is several times faster than keeping them current row by
    row); returns the statements that make them again. PostgreSQL; the caller's
    transaction holds the table locked until it commits."""
    found = conn.execute(
        sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'place_search_keys'")
    ).all()
    for name, _ in found:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in found]
