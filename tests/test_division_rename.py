"""Division changes by their own path (《地名管理条例》 Art. 12; 《行政区划管理条例》): the place
workflow refuses divisions; a division-change record renames the division, its registry
record (history kept), its romanization and the boundary line names together."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import login
from proposal_helpers import CLERK, OFFICER, propose

from boundaries import division_changes as service
from boundaries.tables import boundary_lines
from gazetteer import registry
from gazetteer.core.errors import Forbidden, InvalidInput
from gazetteer.tables import divisions, places

PANYU = "440113"
APPROVAL = {
    "code": PANYU,
    "new_name": "番山区",
    "approving_body": "国务院",
    "document_number": "国函〔2024〕99号（测试用，非真实文件）",
    "approval_date": "2024-05-01",
    "effective_date": "2024-05-06",
    "reason": "测试：区划更名经国务院批准",
}


def clock():
    return dt.datetime(2024, 5, 6, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def bclient(bclient):
    """The shared ``bclient`` with the app's clock on 2024-05-06."""
    bclient.application.extensions["gdgis.clock"] = clock
    return bclient


def division_record(store, code):
    with store.read() as conn:
        return conn.execute(sa.select(places).where(places.c.own_division_code == code)).first()


def snapshot(store):
    with store.read() as conn:
        return (
            conn.execute(sa.select(divisions.c.name).where(divisions.c.code == PANYU)).scalar(),
            conn.execute(sa.select(sa.func.count()).select_from(places)).scalar(),
            sorted(conn.execute(sa.select(boundary_lines.c.name)).scalars()),
        )


def test_the_place_workflow_refuses_a_division(bstore):
    panyu = division_record(bstore, PANYU)
    with pytest.raises(InvalidInput, match="行政区划管理条例"):
        propose(
            bstore, "renaming", "某区民政局", "更名", proposed={"name": "番山区"}, place_id=panyu.id
        )
    with pytest.raises(InvalidInput, match="行政区划管理条例"):
        propose(
            bstore,
            "naming",
            "某区民政局",
            "新设",
            proposed={"name": "云涛区", "feature_class": "行政区域", "division_code": "440100"},
        )
    town = division_record(bstore, "440113007")  # 市桥街道: a township is a division too
    with pytest.raises(InvalidInput, match="行政区划"):
        propose(bstore, "retirement", "a", "撤并", place_id=town.id)


def test_rename_division_changes_everything_together(bstore):
    before_lines = [n for n in snapshot(bstore)[2] if "番禺" in n]
    assert before_lines, "番禺区 has county lines"
    old = division_record(bstore, PANYU)
    change = service.rename_division(bstore, OFFICER, clock=clock, **APPROVAL)
    assert (change["old_name"], change["new_name"]) == ("番禺区", "番山区")
    assert change["document_number"].startswith("国函") and change["approval_date"] == "2024-05-01"
    name, _count, lines = snapshot(bstore)
    assert name == "番山区"
    assert not [n for n in lines if "番禺" in n] and [n for n in lines if "番山" in n]
    assert {r["old"] for r in change["lines_renamed"]} == set(before_lines)
    # The registry: the old record is history, the new one in force with its romanization.
    new = registry.get_place(bstore, change["new_place_id"])
    assert new["name"] == "番山区" and new["status"] == "in_force"
    assert new["named_date"] == "2024-05-06" and new["romanized"].endswith("shan Qu")
    # 番 is a heteronym (pān only in 番禺): the generated form waits for an officer.
    assert new["heteronyms_confirmed"] is False
    assert registry.get_place(bstore, old.id)["status"] == "historical"
    history = registry.place_history(bstore, change["new_place_id"])
    assert "番禺区" in str(history)
    # A place below the division now lies in 番山区.
    with bstore.read() as conn:
        assert registry.division_info(conn, "440113007")["full_name"].find("番山区") >= 0
    # Names as they stood before the change stay findable.
    then = registry.find_places(bstore, name="番禺区", as_of=dt.date(2024, 5, 1))
    assert [p["id"] for p in then["items"]] == [old.id]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"document_number": ""}, "批准文号"),
        ({"approving_body": None}, "批准机关"),
        ({"approval_date": "2024-13-01"}, "批准日期"),
        ({"effective_date": "2024-04-01"}, "生效日期"),
        ({"new_name": "番禺区"}, "相同"),
        ({"new_name": "天河区"}, "已有"),
        ({"code": "440113007003"}, "村级"),
        ({"code": "999999"}, "没有代码"),
    ],
)
def test_bad_division_changes_change_nothing(bstore, change, message):
    before = snapshot(bstore)
    with pytest.raises((InvalidInput, Exception), match=message):
        service.rename_division(bstore, OFFICER, clock=clock, **{**APPROVAL, **change})
    assert snapshot(bstore) == before


def test_only_officers_record_division_changes(bstore):
    with pytest.raises(Forbidden):
        service.rename_division(bstore, CLERK, clock=clock, **APPROVAL)


def test_division_changes_through_the_api(bclient, bstore):
    # The place workflow refuses 番禺区 -> 番山区 ...
    login(bclient, "li", "clerk")
    panyu = division_record(bstore, PANYU)
    refused = bclient.post(
        "/api/proposals",
        json={
            "kind": "renaming",
            "applicant": "某区民政局",
            "reasons": "更名",
            "proposed": {"name": "番山区"},
            "place_id": panyu.id,
        },
    )
    assert (
        refused.status_code == 400 and "行政区划管理条例" in refused.get_json()["error"]["message"]
    )
    # ... a clerk cannot record a division change, an officer can, with its approval.
    assert bclient.post("/api/boundaries/division-changes", json=APPROVAL).status_code == 403
    login(bclient, "wang", "officer")
    missing = bclient.post(
        "/api/boundaries/division-changes", json={**APPROVAL, "document_number": 7.5}
    )
    assert missing.status_code == 400
    assert (
        bclient.post("/api/boundaries/division-changes", json={**APPROVAL, "evil": 1}).status_code
        == 400
    )
    r = bclient.post("/api/boundaries/division-changes", json=APPROVAL)
    assert r.status_code == 201, r.get_json()
    assert bclient.get(f"/api/divisions/{PANYU}").get_json()["name"] == "番山区"
    listed = bclient.get("/api/boundaries/division-changes").get_json()["items"]
    assert listed[0]["new_name"] == "番山区" and listed[0]["lines_renamed"]
    # Doing it again is refused: the name is already 番山区.
    again = bclient.post("/api/boundaries/division-changes", json=APPROVAL)
    assert again.status_code == 400


def test_a_division_rename_passes_the_naming_rules(bclient, bstore):
    """A tester's finding: the division-change path skipped the naming rules. The new name
    now goes through the same checker as a place name (《地名管理条例》 Art. 9): a blocking
    finding refuses the change (422, nothing written) until the officer records why the
    approval stands; the findings stay on the change record."""
    login(bclient, "wang", "officer")
    before = snapshot(bstore)
    url = "/api/boundaries/division-changes"
    for name, rule in (("中华区", "big.exaggerated"), ("朝阳区", "duplicate.national")):
        refused = bclient.post(url, json={**APPROVAL, "new_name": name})
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "rule_violation" and "豁免理由" in error["message"]
        assert rule in {f["rule_id"] for f in error["details"]["findings"]}
        assert snapshot(bstore) == before
    # Retry with the approval's reason for the exception: recorded with the findings.
    accepted = bclient.post(
        url,
        json={
            **APPROVAL,
            "new_name": "中华区",
            "rules_override_reason": "国务院批复明确同意使用该名称（测试）",
        },
    )
    assert accepted.status_code == 201, accepted.get_json()
    change = accepted.get_json()
    assert change["rules_override_reason"].startswith("国务院批复")
    assert "big.exaggerated" in {f["rule_id"] for f in change["findings"]}
    assert bclient.get(f"/api/divisions/{PANYU}").get_json()["name"] == "中华区"
    listed = bclient.get(url).get_json()["items"][0]
    assert listed["findings"] == change["findings"]


def test_the_division_change_page_shows_the_findings(bclient, bstore):
    login(bclient, "wang", "officer")
    form = {**APPROVAL, "division": "番禺区（440113）", "new_name": "维也纳区"}
    del form["code"]
    page = bclient.post("/officer/divisions/changes", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "新名称未通过命名规则审查" in text
    assert "维也纳" in text and "阻断" in text and "民发〔2018〕146号" in text
    assert division_record(bstore, PANYU).name == "番禺区"
    # A clean name passes; its record shows 无问题.
    form["new_name"] = "番山区"
    done = bclient.post("/officer/divisions/changes", data=form, follow_redirects=True)
    assert "已登记：番禺区 更名为 番山区" in done.get_data(as_text=True)


def test_a_rename_renames_the_tri_junctions_and_changes_their_etag(bclient, bstore):
    """荔湾海珠番禺三交点 follows 番禺区 → 番山区 in the same write, and the tri_junctions
    layer's validator changes with it, so a client's cached copy is refreshed."""
    url = "/ogc/collections/tri_junctions/items?limit=1000"
    before = bclient.get(url)
    old_names = [f["properties"]["name"] for f in before.get_json()["features"]]
    assert [n for n in old_names if "番禺" in n], "番禺区 meets two other divisions"
    login(bclient, "wang", "officer")
    assert bclient.post("/api/boundaries/division-changes", json=APPROVAL).status_code == 201
    after = bclient.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    new_names = [f["properties"]["name"] for f in after.get_json()["features"]]
    assert not [n for n in new_names if "番禺" in n]
    assert sorted(n.replace("番禺", "番山") for n in old_names) == sorted(new_names)


def test_a_forced_reimport_keeps_a_recorded_rename(bstore):
    """``gdgis import-data --force`` compares the shipped rows again; the shipped 番禺区
    predates the recorded rename and would put the old name back in force (it failed on
    the unique division holder, with a traceback: a user test). The renamed division and
    its records stay as the change made them, and the import says how many it kept."""
    from gazetteer import importer

    change = service.rename_division(bstore, OFFICER, clock=clock, **APPROVAL)
    before = snapshot(bstore)
    result = importer.import_shipped_data(bstore, force=True)
    assert result.superseded == {"divisions": 1, "places": 1}
    assert snapshot(bstore) == before
    assert division_record(bstore, PANYU).id == change["new_place_id"]
    assert registry.get_place(bstore, change["old_place_id"])["status"] == "historical"
    # A second forced import finds the same, and the plain one nothing to do.
    assert importer.import_shipped_data(bstore, force=True).superseded["divisions"] == 1
    assert not importer.import_shipped_data(bstore).changed
