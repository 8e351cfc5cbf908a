"""Search on PostgreSQL (gazetteer.search_postgres over gazetteer.search_keys) answers as the
in-memory index does, and follows every write at once with nothing built in the worker.

Runs on the PostgreSQL pass (GDGIS_TEST_DATABASE_URL, see scripts/ci_postgres.sh); on SQLite
these tests are skipped, as SQLite searches with the in-memory index only.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from registry_helpers import LUHU, name_place, rename_place, retire_place
from test_index_updates import place_id, unplaced_village_in_tianhe

from gazetteer import placement
from gazetteer.chains import ChainLexicon, ChainSearch
from gazetteer.core.actors import Actor
from gazetteer.core.errors import InvalidInput
from gazetteer.lookup import LookupService, former_names
from gazetteer.reverse import NearestPlaces
from gazetteer.search import SearchIndex, keys_fingerprint
from gazetteer.search_keys import place_search_keys, place_search_terms
from gazetteer.search_postgres import SQLNearest, SQLSearch
from gazetteer.tables import places

OFFICER = Actor("officer1", frozenset({"officer", "approver"}))
NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
PANYU, TIANHE = "440113", "440106"

# Every search form, with and without filters (name, filters).
QUERIES = [
    ("番禺区", {}),  # exact
    ("番禺", {}),  # prefix, specific term
    ("沙湾", {}),
    ("石", {}),  # a very common one-character prefix
    ("廣州", {}),  # traditional
    ("番禺區", {}),
    ("panyu", {}),  # pinyin
    ("pan yu", {}),
    ("Pānyú", {}),
    ("gz", {}),  # initials
    ("pyq", {}),
    ("广zhou", {}),  # mixed
    ("翠洲社区居民委员会", {}),  # a former name (renamed in the fixture)
    ("翠", {"division": TIANHE}),
    ("沙", {"division": PANYU}),
    ("石", {"division": TIANHE}),
    ("石牌", {"division": TIANHE, "feature_class": "群众自治组织"}),
    ("鹭湖", {"status": "retired"}),
    ("鹭湖", {"status": ["in_force", "historical"]}),
    ("番禺", {"limit": 3, "offset": 2}),
    ("广州天河", {}),  # chains of names
    ("广州市天河区石牌街道", {}),
    ("gz th", {}),
    ("guangzhou tianhe", {}),
    ("深圳天河", {}),  # a chain that does not nest
    ("广州天河石牌街到", {}),  # a misspelt last part whose start names a level (石牌街道)
    ("广州天河石牌街到", {"division": TIANHE}),
]
# One typo: the whole lists agree (both look up the specific terms one edit from each split
# of the query, then the names that start with them; 南源街道 for fanyu).
TYPOS = [
    "番禹区",
    "番禹",
    "天河去",
    "天区",
    "panyy",
    "fanyu",
    "天河区石牌街到",
    "富涌村",
    "翠州社区",
    "石牌街到",
    "番愚",
    "tianhequ",
    "guangzou",
    "猎德村民委员",
    "造村和委会",  # two neighbours swapped across the middle
    "富涌村民委员会",  # the slip in the specific term: its tail fits (term_lengths_that_fit)
    "福涌村民委员金",  # the slip in the generic term: the short heads' tails do not fit
    # Right after a term shorter than the first half: the names after it that end with
    # the query's second half (东郊 + 寸民委员会, 扬仁东 + 杜区居民委员会).
    "东郊寸民委员会",
    "扬仁东杜区居民委员会",
    "门鮜镇",  # a character the simplifier changes (鮜门镇): looked for as typed too
]
SUGGESTIONS = ["番", "番禺", "gz", "广州天", "广州天河石", "shenzhen n", "廣"]


@pytest.fixture
def pg_store(store):
    if store.dialect != "postgresql":
        pytest.skip("PostgreSQL search: run with GDGIS_TEST_DATABASE_URL")
    return store


def shown(hit) -> tuple:
    """What a user sees of a hit, in order."""
    return (
        hit.id,
        hit.name,
        hit.matched_form,
        hit.score,
        hit.matched_former_name,
        tuple(hit.division_chain),
        hit.status,
    )


def both(store) -> tuple[ChainSearch, ChainSearch]:
    """(in-memory, PostgreSQL) chain search over the same store and division lexicon."""
    former = former_names(store)
    lexicon = ChainLexicon.from_store(store, former_names=former)
    memory = ChainSearch(SearchIndex.from_store(store, former_names=former), lexicon)
    return memory, ChainSearch(SQLSearch(store), lexicon)


def test_every_search_form_agrees_with_the_in_memory_index(pg_store):
    old = place_id(pg_store, "翠洲社区居民委员会")
    rename_place(pg_store, old, "翠湾社区居民委员会", OFFICER, NOW)
    named = name_place(pg_store, LUHU, OFFICER, NOW)
    retire_place(pg_store, named, OFFICER, NOW)
    # found by its own romanization too (a confirmed heteronym): both stores alike
    own = {**LUHU, "name": "长乐新村", "romanized": "Changyue Xincun"}
    changyue = name_place(pg_store, own, OFFICER, NOW)
    memory, sql = both(pg_store)
    for q in ("changyue", "changyuexincun", "cyxc", "changlexincun", "changyeuxincun"):
        expected, found = memory.search(q)[0], sql.search(q)[0]
        assert changyue in [h.id for h in expected], q
        assert [shown(h) for h in found] == [shown(h) for h in expected], q
    for q, filters in QUERIES:
        expected, reading = memory.search(q, **filters)
        found, sql_reading = sql.search(q, **filters)
        assert expected, q
        assert [shown(h) for h in found] == [shown(h) for h in expected], (q, filters)
        assert (reading and reading.as_dict()) == (sql_reading and sql_reading.as_dict())
    for q in TYPOS:
        expected, found = memory.search(q)[0], sql.search(q)[0]
        assert expected, q
        assert [shown(h) for h in found] == [shown(h) for h in expected], q
    for q, filters in [
        ("番禹", {"division": PANYU}),
        ("石牌街到", {"feature_class": "街道"}),
        # Prefix matches and typos of the same places: still ``limit`` distinct places,
        # and the next page goes on where this one stopped.
        ("dongguna", {}),
        ("dongguna", {"limit": 20}),
        ("dongguna", {"offset": 10}),
    ]:
        expected, found = memory.search(q, **filters)[0], sql.search(q, **filters)[0]
        assert [shown(h) for h in found] == [shown(h) for h in expected], (q, filters)
        assert len(found) == filters.get("limit", 10) or q != "dongguna", (q, filters)
    for q in SUGGESTIONS:
        expected = [(shown(h), c) for h, c in memory.suggest(q, 10)]
        assert [(shown(h), c) for h, c in sql.suggest(q, 10)] == expected, q


def test_filtered_ranges_are_read_from_the_index_alone(pg_store):
    """The name, pinyin and initials indexes hold every column a filter reads (migration
    0038): a filtered prefix range or typo range is filtered and ranked without reading the
    table. The columns are those ``_filters`` reads, named once in ``_FILTER_COLUMNS``."""
    from gazetteer.search_postgres import _FILTER_COLUMNS

    with pg_store.read() as conn:
        definitions = dict(
            conn.execute(
                sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = 'place_search_keys'"
                )
            ).all()
        )
        for column in ("chars", "py", "ini"):
            keys, included = (
                definitions[f"ix_psk_{column}"].split(" USING btree ")[1].split(" INCLUDE ")
            )
            assert keys == f"({column} text_pattern_ops, rank, place_id)", column  # 0042
            assert included == f"(aux, {_FILTER_COLUMNS})", column
    # Every filter at once: the SQL reads only those columns, and answers as in memory.
    street = SQLSearch(pg_store).search("石牌街道")[0]
    filters = {
        "division": street.division_code,
        "feature_class": street.feature_class,
        "status": "in_force",
    }
    memory, sql = both(pg_store)
    for q in ("石牌", "shipai", "sp", "石排街道"):  # prefix, pinyin, initials, one typo
        expected = memory.search(q, **filters)[0]
        assert street.id in [h.id for h in expected], q
        assert [shown(h) for h in sql.search(q, **filters)[0]] == [shown(h) for h in expected]
    guangzhou = (113.0, 22.5, 114.1, 23.9)  # degrees: min lon, min lat, max lon, max lat
    for q in ("石", "shi", "s", "石排"):
        expected = memory.search(q, bbox=guangzhou)[0]
        assert expected, q
        assert [shown(h) for h in sql.search(q, bbox=guangzhou)[0]] == [shown(h) for h in expected]


def _index_scans(plan: dict):
    """Every node of an EXPLAIN (FORMAT JSON) plan that scans an index, depth first."""
    if "Index Name" in plan:
        yield plan
    for child in plan.get("Plans", ()):
        yield from _index_scans(child)


def test_an_exact_key_many_places_share_is_read_best_first_up_to_the_limit(pg_store):
    """Initials such as slcwh are shared by tens of thousands of village committees
    nationally: the exact match reads its best rows in rank order from the key's index
    (migration 0042) and stops at the statement's limit, instead of reading the whole range
    and sorting it. The answer stays the in-memory index's."""
    with pg_store.read() as conn:
        key, shared = conn.execute(
            sa.text(
                "SELECT ini, count(*) FROM place_search_keys WHERE ini ~ '^[a-z]{3,}$' "
                "GROUP BY ini ORDER BY count(*) DESC, ini LIMIT 1"
            )
        ).one()
    assert shared > 60, (key, shared)  # more than the statement's limit (2 x 10 + slack)
    with pg_store.engine.connect() as conn:  # what autovacuum does after a load
        conn.exec_driver_sql("ANALYZE place_search_keys")
        conn.commit()
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "place_search_keys" in statement and "ini = " in statement:
            statements.append((statement, parameters))

    sa.event.listen(pg_store.engine, "before_cursor_execute", seen)
    try:
        memory, sql = both(pg_store)
        assert [shown(h) for h in sql.search(key)[0]] == [shown(h) for h in memory.search(key)[0]]
    finally:
        sa.event.remove(pg_store.engine, "before_cursor_execute", seen)
    assert statements, "no exact initials statement"
    statement, parameters = statements[0]
    with pg_store.engine.connect() as conn:
        explained = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        ).scalar()
    exact = [
        node
        for node in _index_scans(explained[0]["Plan"])
        if node["Index Name"] == "ix_psk_ini"
        and f"= '{key}'" in node.get("Index Cond", "")
        and "~" not in node["Index Cond"]  # the exact match, not the prefix range
    ]
    assert exact, [
        (n.get("Index Name"), n.get("Index Cond"), n.get("Actual Rows"))
        for n in _index_scans(explained[0]["Plan"])
    ]
    assert all(node["Actual Rows"] <= 2 * 10 + 1 for node in exact), [
        node["Actual Rows"] for node in exact
    ]


def test_bad_input_is_refused_the_same_way(pg_store):
    memory, sql = both(pg_store)
    for q, filters in [
        ("", {}),
        ("x" * 101, {}),
        ("番禺", {"limit": 0}),
        ("番禺", {"offset": -1}),
        ("番禺", {"status": "abolished"}),
        ("番禺", {"bbox": (114, 23, 113, 24)}),
        ("番禺", {"bbox": ("a", 1, 2, 3)}),
        (None, {}),
    ]:
        with pytest.raises(InvalidInput) as in_memory:
            memory.index.search(q, **filters)
        with pytest.raises(InvalidInput) as in_sql:
            sql.index.search(q, **filters)
        assert str(in_sql.value) == str(in_memory.value)
    assert sql.index.search("番禺", division="999999") == []
    assert sql.index.search("番禺", feature_class="没有这类") == []
    assert sql.index.search("'; DROP TABLE places; --") == []
    assert sql.index.search("50%_") == []


def terms(store) -> dict[str, str]:
    """{chars term: its reading} of place_search_terms."""
    with store.read() as conn:
        return dict(
            conn.execute(
                sa.select(place_search_terms.c.term, place_search_terms.c.reading).where(
                    place_search_terms.c.kind == "chars"
                )
            ).all()
        )


def test_writes_are_searchable_at_commit_with_nothing_built(pg_store):
    sql = SQLSearch(pg_store)  # made before the writes, never told of them
    named = name_place(pg_store, LUHU, OFFICER, NOW)
    assert [h.id for h in sql.search("鹭湖新村")][:1] == [named]
    assert named in [h.id for h in sql.search("luhuxincun")]
    assert named in [h.id for h in sql.search("lhxc")]
    # One typo in a specific term no name had before: the writer added the term.
    assert "鹮汀新" not in terms(pg_store)  # 鹮汀新 + 村
    novel = name_place(pg_store, {**LUHU, "name": "鹮汀新村"}, OFFICER, NOW)
    assert terms(pg_store)["鹮汀新"] == "huantingxin"
    assert [(h.id, h.matched_form) for h in sql.search("鹮丁新村")][:1] == [(novel, "typo")]

    # A slip in the specific term before a tail only a new name holds (its grams added by
    # the writer: without them the split would be skipped).
    odd = name_place(pg_store, {**LUHU, "name": "鹮汀岭公园"}, OFFICER, NOW)
    assert [(h.id, h.matched_form) for h in sql.search("鹮丁岭公园")][:1] == [(odd, "typo")]

    renamed = rename_place(pg_store, named, "鹭岛新村", OFFICER, NOW)
    assert [h.id for h in sql.search("鹭到新村")][:1] == [renamed]
    hit = next(h for h in sql.search("鹭湖新村") if h.id == renamed)
    assert (hit.name, hit.matched_former_name) == ("鹭岛新村", "鹭湖新村")
    assert [h.status for h in sql.search("鹭湖新村") if h.id == named] == ["historical"]

    retire_place(pg_store, renamed, OFFICER, NOW)
    assert renamed not in [h.id for h in sql.search("鹭岛新村", status="in_force")]
    assert [h.status for h in sql.search("鹭岛新村") if h.id == renamed] == ["retired"]

    # 上图: the place gets an extent (bbox filter) and becomes the nearest place
    village = unplaced_village_in_tianhe(pg_store)
    nearest = SQLNearest(pg_store)
    assert village.id not in [p["id"] for p in nearest.nearest(113.33, 23.14, 3)]
    placement.place_on_map(
        pg_store, village.id, 113.33, 23.14, actor=OFFICER, version=village.version
    )
    assert nearest.nearest(113.33, 23.14, 3)[0]["id"] == village.id
    inside = sql.search(village.name, bbox=(113.32, 23.13, 113.34, 23.15))
    assert village.id in [h.id for h in inside]

    # A write that rolls back leaves no keys behind.
    with pytest.raises(RuntimeError), pg_store.write(actor=OFFICER) as conn:
        from gazetteer import registry

        registry.create_place(
            conn, {**LUHU, "name": "回滚新村"}, effective_date=NOW.date(), actor=OFFICER, now=NOW
        )
        raise RuntimeError("rolled back")
    assert sql.search("回滚新村") == [] or all(h.name != "回滚新村" for h in sql.search("回滚新村"))


def test_the_grams_are_those_of_the_in_memory_base(pg_store):
    """``place_search_grams`` holds the positional grams the in-memory base computes from
    the same names (the SQL and Python codes agree, astral characters included), and the
    writers add those of new names."""
    from gazetteer.search_keys import place_search_grams

    def stored() -> set[int]:
        with pg_store.read() as conn:
            return set(conn.execute(sa.select(place_search_grams.c.code)).scalars())

    memory = SearchIndex.from_store(pg_store, former_names=former_names(pg_store))
    assert stored() == set(memory._typo_chars.base_grams.tolist())
    name_place(pg_store, {**LUHU, "name": "𠀋鹮汀岭公园"}, OFFICER, NOW)  # U+2000B first
    memory = SearchIndex.from_store(pg_store, former_names=former_names(pg_store))
    assert stored() == set(memory._typo_chars.base_grams.tolist())


def test_a_postgresql_worker_holds_no_search_index(pg_store):
    service = LookupService(pg_store)
    service.warm()
    indexes = service._current()
    assert not isinstance(indexes.search, SearchIndex)
    assert not isinstance(indexes.nearest, NearestPlaces)
    assert service.stats()["search_in"] == "postgresql"
    assert service.search("番禺区")[0]["name"] == "番禺区"
    named = name_place(pg_store, LUHU, OFFICER, NOW)
    # Another worker's service (this one was not told: no listener ran for it) finds it.
    other = LookupService(pg_store, poll_s=3600)
    other.warm()
    name_place(pg_store, {**LUHU, "name": "鹭湖东村"}, OFFICER, NOW)
    assert service.search("鹭湖新村")[0]["id"] == named
    assert other.search("鹭湖东村")[0]["name"] == "鹭湖东村"
    assert service.stats()["full_builds"] == 1


def test_nearest_places_agree_with_the_in_memory_index(pg_store):
    memory, sql = NearestPlaces.from_store(pg_store), SQLNearest(pg_store)
    for lon, lat in [(113.33, 23.14), (113.26, 23.13), (114.06, 22.54), (110.35, 21.27)]:
        expected = memory.nearest(lon, lat, 5)
        found = sql.nearest(lon, lat, 5)
        assert [p["id"] for p in found] == [p["id"] for p in expected]
        for a, b in zip(found, expected):
            assert abs(a["distance_m"] - b["distance_m"]) < 1.0


def test_keys_are_filled_for_every_place(pg_store):
    with pg_store.read() as conn:
        own = conn.execute(
            sa.select(sa.func.count())
            .select_from(place_search_keys)
            .where(place_search_keys.c.aux == -1)
        ).scalar()
        total = conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
    assert own == total


def test_a_store_older_than_the_keys_is_filled_once_by_the_first_worker(pg_store):
    from gazetteer.tables import meta

    with pg_store.write(actor="system:test") as conn:  # as if migrated onto old places
        conn.execute(place_search_keys.delete())
        conn.execute(meta.delete().where(meta.c.key.like("search_keys:%")))
    assert SQLSearch(pg_store).search("番禺区") == []
    service = LookupService(pg_store)
    service.warm()
    assert service.search("番禺区")[0]["name"] == "番禺区"
    assert LookupService(pg_store).search("panyu")[0]["name"] == "番禺区"
    with pg_store.read() as conn:
        assert (
            conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "search_keys:fingerprint")
            ).scalar()
            == keys_fingerprint()
        )


def test_keys_made_under_another_fingerprint_are_rewritten_at_the_next_start(pg_store, monkeypatch):
    """A new generic term or reading changes the keys of names already stored: the next
    worker to start rewrites them (once), and later workers keep them."""
    from gazetteer import search_keys
    from gazetteer.tables import meta

    LookupService(pg_store).warm()
    with pg_store.write(actor="system:test") as conn:  # stale keys of one place
        conn.execute(place_search_keys.delete().where(place_search_keys.c.name == "番禺区"))
    assert search_keys.ensure_filled(pg_store) is False  # same fingerprint: kept as it is
    assert "番禺区" not in [hit.name for hit in SQLSearch(pg_store).search("番禺区")]
    monkeypatch.setattr(search_keys, "keys_fingerprint", lambda: "new-rule-data")
    assert search_keys.ensure_filled(pg_store) is True
    assert SQLSearch(pg_store).search("番禺区")[0].name == "番禺区"
    assert search_keys.ensure_filled(pg_store) is False
    with pg_store.read() as conn:
        assert (
            conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "search_keys:fingerprint")
            ).scalar()
            == "new-rule-data"
        )


def test_bulk_fill_writes_the_rows_each_place_gets_alone(pg_store, monkeypatch):
    """``search_keys.fill`` (places streamed in rounds, keys computed in worker processes
    that keep one reading cache, written with COPY) stores exactly the rows ``key_rows``
    makes for each place on its own with fresh readings; a name with COPY's special
    characters (a backslash) arrives as written."""
    import random

    from gazetteer import search_keys
    from gazetteer.lookup import _former_names
    from gazetteer.search import _Readings, store_records

    # Several small rounds through the pool (the shipped store is below the pool's size).
    monkeypatch.setattr(search_keys, "_ROUND", 4000)
    monkeypatch.setattr(search_keys, "_POOL_MIN_PLACES", 0)
    columns = search_keys.KEY_COLUMNS
    with pg_store.write(actor="system:test") as conn:
        odd = conn.execute(sa.select(places.c.id).where(places.c.name == "番禺区")).scalar()
        conn.execute(places.update().where(places.c.id == odd).values(name="番禺\\区"))
        conn.execute(place_search_keys.delete())
        total = search_keys.fill(conn, processes=2)
        assert total == conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
        former = _former_names(conn, None)
        ids = set(
            random.Random(17).sample(sorted(conn.execute(sa.select(places.c.id)).scalars()), 1500)
        )
        ids |= set(former) | {odd}
        expected = sorted(
            tuple(row[c] for c in columns)
            for record in store_records(conn, _former_names(conn, ids), ids)
            for row in search_keys.key_rows([record], _Readings())
        )
        stored = sorted(
            tuple(r)
            for r in conn.execute(
                sa.select(*[place_search_keys.c[c] for c in columns]).where(
                    place_search_keys.c.place_id.in_(ids)
                )
            )
        )
        assert len(former) > 0 and len(expected) > len(ids)
        assert stored == expected
        assert ("番禺\\区", "番禺\\区") in {(r[2], r[3]) for r in stored}
        keyed = conn.execute(
            sa.select(sa.func.count(sa.distinct(place_search_keys.c.place_id)))
        ).scalar()
        assert keyed == total
