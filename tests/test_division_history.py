"""Historical divisions (data/division_changes.csv) imported as history: every shipped
change's former name is found as a former name, generated from the table itself."""

import datetime as dt

import pytest
import sqlalchemy as sa
from proposal_helpers import place_id_of

from gazetteer import importer
from gazetteer.core.errors import InvalidInput
from gazetteer.division_history import (
    DATA_FILE,
    SOURCE_PREFIX,
    divisions_as_of,
    import_division_changes,
    plan,
    read_changes,
)
from gazetteer.lookup import LookupService
from gazetteer.place_view import place_view
from gazetteer.tables import division_changes, divisions, places

ROWS = read_changes(DATA_FILE)
RENAMES = [r for r in ROWS if r["old_name"] and r["old_name"] != r["new_name"]]


@pytest.fixture(scope="module")
def history_store(store_templates, seeded_template, tmp_path_factory):
    with store_templates.copy(seeded_template, tmp_path_factory.mktemp("hist")) as s:
        yield s


@pytest.fixture(scope="module")
def lookup(history_store):
    return LookupService(history_store)


@pytest.fixture(scope="module")
def current_names(history_store):
    with history_store.read() as conn:
        return dict(conn.execute(sa.select(divisions.c.code, divisions.c.name)).all())


@pytest.fixture(scope="module")
def former(history_store):
    with history_store.read() as conn:
        current = dict(
            conn.execute(
                sa.select(divisions.c.code, divisions.c.name).where(
                    divisions.c.level.in_(("province", "city", "county"))
                )
            ).all()
        )
    return {f.change["change_id"]: f for f in plan(ROWS, current)}


def test_the_shipped_import_loads_the_table(history_store):
    with history_store.read() as conn:
        assert conn.execute(
            sa.select(sa.func.count()).select_from(division_changes)
        ).scalar() == len(ROWS)
        records = conn.execute(
            sa.select(sa.func.count()).where(places.c.source_key.like(SOURCE_PREFIX + "%"))
        ).scalar()
    assert records == len(RENAMES)
    # Again: nothing new (idempotent), and the shipped import runs it without error.
    assert import_division_changes(history_store) == {"changes": 0, "records": 0, "links": 0}
    assert importer.import_shipped_data(history_store).history == {
        "changes": 0,
        "records": 0,
        "links": 0,
    }


def line_end(former, f):
    """The current division code at the end of a former name's line, or None."""
    for _ in range(50):
        if f.successor is None:
            return f.current_code
        f = former[f.successor]
    raise AssertionError("line does not end")


@pytest.mark.parametrize("row", RENAMES, ids=[f"{r['change_id']}-{r['old_name']}" for r in RENAMES])
def test_every_former_name_is_found_as_a_former_name(lookup, former, current_names, row):
    """The former name finds the division at the end of its line, as a former name with
    its period. A name shared by many (郊区, 城区) may need the city as a filter, as a
    person would narrow it; a name that is the current name again (阳东区 → 阳东县 → 阳东区)
    finds the division itself."""
    current = line_end(former, former[row["change_id"]])
    if current is not None:
        found = None
        for narrow in (None, current[:4] + "00"):
            hits = lookup.search(row["old_name"], division=narrow, limit=20)
            ends_here = [h for h in hits if h["division_path"][-1:] == [current]]
            if ends_here:
                found = ends_here[0]
                break
        assert found, (row, hits[:3])
        if current_names[current] == row["old_name"]:
            assert found["matched_form"] == "exact"
            return
        assert found["matched_form"] == "former_name", found
        assert found["matched_former_name"] == row["old_name"]
        period = found["matched_former_name_period"]
        assert period is not None and period["until"] is not None
        return
    # No current successor (abolished, or the line ends elsewhere): its own historical
    # record is found, with the date it ended.
    hits = lookup.search(row["old_name"], limit=20, status="historical")
    assert any(h["name"] == row["old_name"] for h in hits), (row, hits[:3])


def test_panyu_history(lookup, history_store):
    hits = lookup.search("番禺县")
    assert hits[0]["name"] == "番禺区" and hits[0]["matched_form"] == "former_name"
    assert hits[0]["matched_former_name_period"] == {"since": None, "until": "1992"}
    hit = lookup.search("番禺市")[0]
    assert hit["name"] == "番禺区" and hit["matched_former_name_period"] == {
        "since": "1992",
        "until": "2000",
    }
    view = place_view(history_store, hit["id"])
    listed = [c["former_name"] for c in view["division_changes"]]
    assert listed == ["番禺县", "番禺市"]


def test_divisions_as_of_a_past_date(history_store):
    def names(day):
        return {d["name"] for d in divisions_as_of(history_store, day)}

    assert "番禺市" in names(dt.date(1995, 6, 1)) and "番禺区" not in names(dt.date(1995, 6, 1))
    assert "番禺县" in names(dt.date(1990, 6, 1))
    today = names(dt.date.today())
    assert "番禺区" in today and "番禺市" not in today
    for r in ROWS:  # every change: the new name after it, the old name before it
        if r["change_type"] in (
            "rename",
            "county_to_city",
            "city_to_district",
            "county_to_district",
        ):
            before = names(r["effective_date"] - dt.timedelta(days=1))
            assert r["old_name"] in before, r
    with pytest.raises(InvalidInput):
        divisions_as_of(history_store, dt.date(1970, 1, 1))


def test_as_of_api_and_place_page(client, store):
    r = client.get("/api/divisions/as-of?date=1995-06-01")
    assert r.status_code == 200
    assert "番禺市" in [d["name"] for d in r.get_json()["divisions"]]
    assert client.get("/api/divisions/as-of?date=1970-01-01").status_code == 400
    assert client.get("/api/divisions/as-of?date=nope").status_code == 400
    pid = place_id_of(store, "440113")
    page = client.get(f"/place/{pid}").get_data(as_text=True)
    assert "番禺县" in page and "番禺市" in page and "撤市设区" in page
