"""The registry itself: versions, as-of reads, rename chains, nothing lost or half-written."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from gazetteer import registry
from gazetteer.core.actors import Actor
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.registry_tables import place_links, place_versions
from gazetteer.tables import places

OFFICER = Actor("officer_wang", frozenset({"officer"}))
NOW = dt.datetime(2024, 6, 1, 3, 0, tzinfo=dt.UTC)
D = dt.date


def name_road(store, name="长乐路", on=D(2010, 5, 1)) -> int:
    with store.write() as conn:
        return registry.create_place(
            conn,
            {
                "name": name,
                "feature_class": "交通运输设施",
                "feature_type": "路",
                "division_code": "440106",
                "romanized": "Changle Lu",
                "geom": Point(113.36, 23.14),
            },
            effective_date=on,
            actor=OFFICER,
            now=NOW,
        )


def rename(store, place_id, new_name, on) -> int:
    with store.write() as conn:
        return registry.rename_place(
            conn,
            place_id,
            {"name": new_name},
            effective_date=on,
            reason="名实不符",
            actor=OFFICER,
            now=NOW,
        )


def test_read_as_of_any_past_date_through_two_renames_and_retirement(store):
    a = name_road(store)
    b = rename(store, a, "长兴路", D(2015, 1, 1))
    c = rename(store, b, "长盛路", D(2020, 7, 1))
    with store.write() as conn:
        registry.retire_place(
            conn, c, effective_date=D(2023, 3, 1), reason="道路拆除", actor=OFFICER, now=NOW
        )
    assert a < b < c

    def state(pid, day):
        r = registry.get_place(store, pid, as_of=day)
        return r["name"], r["status"], r["supersedes"], r["superseded_by"]

    assert state(a, D(2010, 5, 1)) == ("长乐路", "in_force", [], [])
    assert state(a, D(2014, 12, 31)) == ("长乐路", "in_force", [], [])
    assert state(a, D(2015, 1, 1)) == ("长乐路", "historical", [], [b])
    assert state(b, D(2019, 1, 1)) == ("长兴路", "in_force", [a], [])
    assert state(b, D(2021, 1, 1)) == ("长兴路", "historical", [a], [c])
    assert state(c, D(2022, 1, 1)) == ("长盛路", "in_force", [b], [])
    assert state(c, D(2023, 3, 1)) == ("长盛路", "retired", [b], [])
    for pid, before in ((a, D(2010, 4, 30)), (b, D(2014, 12, 31)), (c, D(2020, 6, 30))):
        with pytest.raises(NotFound):
            registry.get_place(store, pid, as_of=before)
    # The record as it stood carries its geometry and division then.
    assert registry.get_place(store, a, as_of=D(2012, 1, 1))["geometry"]["type"] == "Point"

    chain = registry.place_history(store, b)["name_chain"]
    assert [(x["name"], x["status"]) for x in chain] == [
        ("长乐路", "historical"),
        ("长兴路", "historical"),
        ("长盛路", "retired"),
    ]
    # Each name is found by the name it had on a date.
    for day, name, pid in (
        (D(2012, 1, 1), "长乐路", a),
        (D(2016, 1, 1), "长兴路", b),
        (D(2021, 1, 1), "长盛路", c),
    ):
        assert [i["id"] for i in registry.find_places(store, name=name, as_of=day)["items"]] == [
            pid
        ]
    assert (
        registry.find_places(store, name="长乐路", as_of=D(2016, 1, 1), status="in_force")["total"]
        == 0
    )
    assert (
        registry.find_places(store, name="长乐路", as_of=D(2016, 1, 1), status="historical")[
            "total"
        ]
        == 1
    )


def test_nothing_is_deleted_and_ids_are_never_reused(store):
    a = name_road(store)
    b = rename(store, a, "长兴路", D(2015, 1, 1))
    with store.read() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(places).where(places.c.id.in_([a, b]))
            ).scalar()
            == 2
        )
        top = conn.execute(sa.select(sa.func.max(places.c.id))).scalar()
    # Even if the newest row were removed by hand, SQLite AUTOINCREMENT would not hand its id out again.
    with store.write() as conn:
        conn.execute(place_links.delete().where(place_links.c.new_place_id == top))
        conn.execute(place_versions.delete().where(place_versions.c.place_id == top))
        conn.execute(places.delete().where(places.c.id == top))
    assert name_road(store, "长安路") == top + 1


def test_changes_to_a_historical_record_are_refused_and_roll_back_whole(store):
    a = name_road(store)
    rename(store, a, "长兴路", D(2015, 1, 1))
    with store.read() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in (places, place_versions, place_links)
        ]
    with pytest.raises(Conflict, match="不是现行地名"):
        rename(store, a, "长青路", D(2016, 1, 1))
    with pytest.raises(Conflict):
        with store.write() as conn:
            registry.retire_place(
                conn, a, effective_date=D(2016, 1, 1), reason="x", actor=OFFICER, now=NOW
            )
    with store.read() as conn:
        assert counts == [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in (places, place_versions, place_links)
        ]


def test_imported_record_reads_back_and_gets_a_baseline_when_it_changes(store):
    with store.read() as conn:
        pid = conn.execute(
            sa.select(places.c.id).where(places.c.source_key == "nbs:440113")
        ).scalar_one()
    record = registry.get_place(store, pid)
    assert (
        record["name"] == "番禺区"
        and record["romanized"] == "Panyu Qu"
        and record["status"] == "in_force"
    )
    assert record["division"]["chain"][0]["name"] == "广东省"
    assert (
        registry.get_place(store, pid, as_of=D(1990, 1, 1))["name"] == "番禺区"
    )  # named date unknown
    assert registry.place_history(store, pid)["versions"][0]["change"] == "baseline"
    with store.write() as conn:
        registry.retire_place(
            conn, pid, effective_date=D(2024, 1, 1), reason="演示", actor=OFFICER, now=NOW
        )
    versions = registry.place_history(store, pid)["versions"]
    assert [(v["change"], v["valid_from"], v["valid_to"]) for v in versions] == [
        ("baseline", None, "2024-01-01"),
        ("retired", "2024-01-01", None),
    ]
    assert registry.get_place(store, pid, as_of=D(1990, 1, 1))["status"] == "in_force"


def test_find_places_filters(store):
    name_road(store, "长乐路")
    found = registry.find_places(store, q="长乐", division_code="440106")
    assert "长乐路" in [i["name"] for i in found["items"]]
    assert all(i["division_code"].startswith("440106") for i in found["items"])
    tianhe_villages = registry.find_places(store, q="社区居委会", division_code="440106001")
    assert tianhe_villages["total"] >= 4
    with pytest.raises(InvalidInput):
        registry.find_places(store, q="x", limit=0)
    with pytest.raises(NotFound):
        registry.find_places(store, q="x", division_code="449999")
    with pytest.raises(NotFound):
        registry.get_place(store, 10_000_000)
