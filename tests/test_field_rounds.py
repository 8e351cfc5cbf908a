"""Planning a round from the pages, lines due, the distance guard, amendments, both sides'
sign-off, the report under a strict CSP, and the offline base map (issue 14)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from boundary_helpers import (
    INSPECTOR_A,
    INSPECTOR_B,
    OFFICER,
    OFFICER_B,
    inspection_record,
    register_staff,
)
from helpers import login

from boundaries import inspections as inspection_service
from boundaries.lines import find_line
from boundaries.markers import list_markers
from gazetteer.core.actors import Actor
from gazetteer.core.errors import IllegalTransition, InvalidInput
from gazetteer.core.geodesy import destination
from gazetteer.core.mbtiles import MBTiles, tile_xy, tiles_in_bbox, write_package

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


ADMIN = Actor("system-test", frozenset({"admin"}))


def sign_in(client, actor):
    login(client, actor.username, *sorted(actor.roles))


def plan_body(line, **extra):
    return {
        "line_id": line["id"],
        "round_no": 5,
        "plan": "全线逐桩检查。",
        "planned_start": "2026-11-01",
        "planned_end": "2026-12-31",
        "teams": [
            {"side_code": line["side_a_code"], "organisation": "甲方", "members": ["inspector_a"]},
            {"side_code": line["side_b_code"], "organisation": "乙方", "members": ["inspector_b"]},
        ],
        **extra,
    }


@pytest.fixture
def shaohui(bstore):
    line = find_line(bstore, "韶惠线")
    register_staff(bstore, line)
    return line


def test_lines_due_puts_never_inspected_and_overdue_lines_first(bstore, shaohui):
    today = dt.date(2026, 11, 28)
    rows = inspection_service.lines_due(bstore, today)
    assert rows and all(r["overdue"] for r in rows)  # nothing on record: every line is due
    rnd = inspection_service.create_round(
        bstore, {**plan_body(shaohui), "section_to_seq": 2}, OFFICER
    )
    inspection_service.start_round(bstore, rnd["id"], OFFICER)
    markers = list_markers(bstore, line_id=shaohui["id"])[:2]
    for m in markers:
        record, _ = inspection_service.record_inspection(
            bstore,
            inspection_record(rnd["id"], marker_id=m["id"]),
            INSPECTOR_A,
        )
        inspection_service.sign_inspection(
            bstore, record["id"], shaohui["side_a_code"], INSPECTOR_A
        )
        inspection_service.sign_inspection(
            bstore, record["id"], shaohui["side_b_code"], INSPECTOR_B
        )
    text = {"conclusion": "区段内界桩完好。"}
    inspection_service.sign_conclusion(
        bstore, rnd["id"], {**text, "side_code": shaohui["side_a_code"]}, OFFICER
    )
    inspection_service.sign_conclusion(
        bstore, rnd["id"], {**text, "side_code": shaohui["side_b_code"]}, OFFICER_B
    )
    done = inspection_service.complete_round(bstore, rnd["id"], OFFICER)
    assert done["status"] == "completed"
    # the second action, on the completed round: a wrong side is told as such (400) before
    # the round's state (409), and the right side learns that the round is closed
    with pytest.raises(InvalidInput, match="签署方应为界线两侧之一"):
        inspection_service.sign_conclusion(bstore, rnd["id"], {**text, "side_code": "9"}, OFFICER)
    with pytest.raises(IllegalTransition, match="只有进行中的联检可以签署结论"):
        inspection_service.sign_conclusion(
            bstore, rnd["id"], {**text, "side_code": shaohui["side_a_code"]}, OFFICER
        )
    rows = inspection_service.lines_due(bstore, today)
    row = next(r for r in rows if r["line_name"] == "韶惠线")
    assert row["next_due_on"] == row["last_inspected_on"].replace(
        year=row["last_inspected_on"].year + 5
    )
    assert not row["overdue"] and rows[-1]["line_name"] == "韶惠线"
    assert row["next_round_no"] == 6


def test_a_team_takes_only_accounts_of_its_side(bstore, shaohui):
    body = plan_body(shaohui)
    body["teams"][0]["members"] = ["inspector_b"]  # side B's inspector in side A's team
    with pytest.raises(Exception, match="属于"):
        inspection_service.create_round(bstore, body, OFFICER)


def test_planning_pages_walk_from_due_to_a_started_round(bclient, bstore, shaohui):
    sign_in(bclient, OFFICER)
    due = bclient.get("/boundaries/due").get_data(as_text=True)
    assert "韶惠线" in due and f"/boundaries/rounds/new?line_id={shaohui['id']}" in due
    assert "韶关市" in due and shaohui["side_a_code"] not in re.sub(r'href="[^"]*"', "", due)
    form = bclient.get(f"/boundaries/rounds/new?line_id={shaohui['id']}").get_data(as_text=True)
    assert "王强（甲方民政局" in form and "陈静（乙方民政局" in form
    created = bclient.post("/api/boundaries/rounds", json=plan_body(shaohui))
    assert created.status_code == 201, created.get_json()
    round_id = created.get_json()["id"]
    page = bclient.get(f"/boundaries/rounds/{round_id}").get_data(as_text=True)
    assert "开始联检" in page and "王强（甲方民政局）" in page and "inspector_a" not in page
    assert bclient.post(f"/api/boundaries/rounds/{round_id}/start", json={}).status_code == 200
    page = bclient.get(f"/boundaries/rounds/{round_id}").get_data(as_text=True)
    assert f"/inspect?round={round_id}" in page and "以韶关市一方签署结论" in page


def test_an_empty_install_offers_the_next_action(bclient):
    sign_in(bclient, OFFICER)
    rounds = bclient.get("/boundaries/rounds").get_data(as_text=True)
    assert "尚无联检计划" in rounds and "/boundaries/due" in rounds
    inspect = bclient.get("/inspect").get_data(as_text=True)
    assert "/boundaries/due" in inspect


@pytest.fixture
def api_round(bclient, bstore, shaohui):
    rnd = inspection_service.create_round(bstore, plan_body(shaohui), OFFICER)
    inspection_service.start_round(bstore, rnd["id"], OFFICER)
    sign_in(bclient, INSPECTOR_A)
    return rnd, list_markers(bstore, line_id=shaohui["id"])


def test_the_round_page_offers_each_side_its_own_record_sign_off(bclient, bstore, api_round):
    rnd, markers = api_round
    record, _ = inspection_service.record_inspection(
        bstore,
        {"id": str(uuid.uuid4()), "round_id": rnd["id"], "marker_id": markers[0]["id"]}
        | {"found_state": "intact"},
        INSPECTOR_A,
    )
    side_a, side_b = rnd["side_a_code"], rnd["side_b_code"]
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    assert f'data-inspection-id="{record["id"]}"' in page and "以韶关市一方签认" in page
    assert "以惠州市一方签认" not in page  # A's inspector is offered A's side only
    signed = bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": side_a}
    )
    assert signed.status_code == 200 and signed.get_json()["signed_a_by"] == "inspector_a"
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    assert "王强（甲方民政局）" in page and "sign-record" not in page  # nothing left to sign
    # The other side's inspector, for the wrong side: refused with names, not codes.
    sign_in(bclient, INSPECTOR_B)
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    assert f'data-side="{side_b}"' in page and f'data-side="{side_a}"' not in page
    wrong = bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": side_a}
    )
    message = wrong.get_json()["error"]["message"]
    assert wrong.status_code == 403 and "韶关市一方" in message and side_a not in message
    own = bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": side_b}
    )
    assert own.status_code == 200 and own.get_json()["signed_b_by"] == "inspector_b"
    again = bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": side_b}
    )
    assert again.status_code == 409 and "惠州市一方已签认" in again.get_json()["error"]["message"]
    # An officer who is on no team sees the sign-offs but no button.
    sign_in(bclient, OFFICER)
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    assert "陈静（乙方民政局）" in page and "sign-record" not in page and "不在本轮联检队伍" in page


def test_a_position_33_m_off_needs_the_moved_confirmation(bclient, api_round):
    rnd, markers = api_round
    lon, lat = destination(markers[0]["lon"], markers[0]["lat"], 45.0, 33.0)
    record = inspection_record(
        rnd["id"],
        marker_id=markers[0]["id"],
        at=(lon, lat),
        method="gnss_handheld",
        measurement_accuracy_m=0,
    )
    refused = bclient.post("/api/boundaries/inspections", json=record)
    error = refused.get_json()["error"]
    assert refused.status_code == 409 and error["code"] == "confirmation_required"
    assert error["details"]["distance_m"] == pytest.approx(33.0, abs=0.2)
    assert error["details"]["guard_m"] == 10.0 and "33.0 米" in error["message"]
    again = bclient.post("/api/boundaries/inspections", json={**record, "moved_confirmed": True})
    stored = again.get_json()
    assert again.status_code == 201 and stored["moved_confirmed"] and stored["flagged_moved"]
    assert stored["measurement_accuracy_m"] == 0  # as the device gave it, not 0.1


def test_accuracy_not_given_is_stored_as_unknown(bclient, api_round):
    rnd, markers = api_round
    lon, lat = destination(markers[1]["lon"], markers[1]["lat"], 90.0, 0.3)
    r = bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(rnd["id"], marker_id=markers[1]["id"], at=(lon, lat), method="rtk"),
    )
    assert r.status_code == 201 and r.get_json()["measurement_accuracy_m"] is None
    bad = bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(
            rnd["id"],
            marker_id=markers[2]["id"],
            at=(lon, lat),
            method="rtk",
            measurement_accuracy_m=True,
        ),
    )
    assert bad.status_code == 400


def test_a_second_visit_becomes_an_amendment_and_keeps_the_first(bclient, api_round):
    rnd, markers = api_round
    first = inspection_record(rnd["id"], "faded", marker_id=markers[3]["id"])
    assert bclient.post("/api/boundaries/inspections", json=first).status_code == 201
    duplicate = bclient.post(
        "/api/boundaries/inspections",
        json={**first, "id": str(uuid.uuid4()), "found_state": "intact"},
    )
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["details"]["inspection_id"] == first["id"]
    amendment = {"id": str(uuid.uuid4()), "kind": "reinspection", "found_state": "intact"}
    url = f"/api/boundaries/inspections/{first['id']}/amendments"
    made = bclient.post(url, json=amendment)
    assert made.status_code == 201 and made.get_json()["found_state"] == "intact"
    assert bclient.post(url, json=amendment).status_code == 200  # sent twice, stored once
    history = bclient.get(url).get_json()["amendments"]
    assert len(history) == 1 and history[0]["previous"]["found_state"] == "faded"
    cached = bclient.get(f"/api/boundaries/rounds/{rnd['id']}/markers").get_json()["markers"]
    mine = next(m for m in cached if m["marker_id"] == markers[3]["id"])
    assert mine["inspection"]["id"] == first["id"] and mine["inspection"]["found_state"] == "intact"
    assert sum(1 for m in cached if m["inspection"]) == 1
    # whose record it is, as pages name people (a device shows it before a second record)
    recorder = mine["inspection"]["inspected_by"]
    assert mine["inspection"]["inspected_by_label"] not in ("", recorder, None)


def test_the_report_draws_its_map_under_a_nonce_and_shows_human_labels(bclient, bstore, api_round):
    rnd, markers = api_round
    lon, lat = destination(markers[0]["lon"], markers[0]["lat"], 10.0, 0.4)
    bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(
            rnd["id"],
            "faded",
            marker_id=markers[0]["id"],
            at=(lon, lat),
            method="gnss_handheld",
            measurement_accuracy_m=5,
        ),
    )
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}/report")
    csp = page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp
    inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
    executable = [attrs for _tag, attrs in inline if "application/json" not in attrs]
    assert executable and all(f'nonce="{nonce}"' in attrs for attrs in executable)
    assert "L.circleMarker" in html and "html, body" not in html
    article = html[html.index("<article") : html.index("</article>")]
    shown = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", article, flags=re.S)  # the report itself
    assert "手持 GNSS 定位，精度 5 米" in shown and "gnss_handheld" not in shown
    assert "GMT" not in shown and re.search(r"\d{4}-\d{2}-\d{2}", shown)
    assert "王强（甲方民政局）" in shown and "韶关市" in shown and "inspector_a" not in shown
    assert ">演示数据</span></h1>" not in shown  # a real round is not labelled demonstration
    other = bclient.get(f"/boundaries/rounds/{rnd['id']}/report").headers["Content-Security-Policy"]
    assert other != csp  # a fresh nonce per response


def test_settings_validate_the_guard_and_the_basemap(tmp_path):
    from gazetteer.core.settings import SettingsError, load_settings

    settings = load_settings({"MARKER_DISTANCE_GUARD_M": "rtk=0.5,gnss_handheld=12"})
    assert settings["MARKER_DISTANCE_GUARD_M"] == {"rtk": 0.5, "gnss_handheld": 12.0}
    for bad in (
        {"MARKER_DISTANCE_GUARD_M": "rtk"},
        {"BASEMAP": "google"},
        {"OFFLINE_BASEMAP": "x.zip"},
    ):
        with pytest.raises(SettingsError):
            load_settings(bad)


def test_the_app_keeps_unnamed_methods_guarded_and_refuses_an_unknown_one(bstore, tmp_path):
    """A guard setting that names some survey methods keeps the defaults of the others
    (served to the tablet's page too); a method that is not one (a typo) stops the app in
    one line naming the variable, rather than changing nothing and saying nothing."""
    from gazetteer.core.settings import SettingsError
    from webmap import create_app

    config = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}
    app = create_app({**config, "MARKER_DISTANCE_GUARD_M": "rtk=0.5"}, store=bstore)
    assert app.config["MARKER_DISTANCE_GUARD_M"] == {
        "rtk": 0.5,
        "total_station": 1.0,
        "gnss_handheld": 10.0,
    }
    with pytest.raises(SettingsError, match="GDGIS_MARKER_DISTANCE_GUARD_M: unknown survey"):
        create_app({**config, "MARKER_DISTANCE_GUARD_M": "rtkk=2"}, store=bstore)


def test_tianditu_preset_uses_the_key_and_the_csp_allows_its_host(bstore, tmp_path):
    from webmap import create_app

    app = create_app(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k",
            "BASEMAP": "tianditu_vector",
            "TIANDITU_KEY": "abc123",
        },
        store=bstore,
    )
    page = app.test_client().get("/")
    html = page.get_data(as_text=True)
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tk=abc123" in html and "cva_w" in html
    assert "https://*.tianditu.gov.cn" in page.headers["Content-Security-Policy"]


def small_package(path):
    """A generated package: a few PNG tiles over 韶惠线's area at zooms 8-10."""
    tiles = {}
    for z in (8, 9, 10):
        for t in tiles_in_bbox(113.5, 23.8, 114.5, 24.6, [z]):
            tiles[t] = PNG + bytes([z])
    return write_package(path, tiles, "test basemap")


def test_the_offline_package_is_served_and_sized_for_a_round(bstore, tmp_path, shaohui):
    from webmap import create_app

    package = small_package(tmp_path / "base.mbtiles")
    app = create_app(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k",
            "BASEMAP": "offline",
            "OFFLINE_BASEMAP": str(package),
            "OFFLINE_TILES_MAX_MB": 1,
        },
        store=bstore,
    )
    client = app.test_client()
    x, y = tile_xy(114.0, 24.2, 9)
    tile = client.get(f"/basemap/tiles/9/{x}/{y}.png")
    assert tile.status_code == 200 and tile.data == PNG + bytes([9])
    assert client.get("/basemap/tiles/3/0/0.png").status_code == 204  # outside the package
    assert client.get("/basemap/tiles/30/0/0.png").status_code == 404
    rnd = inspection_service.create_round(bstore, plan_body(shaohui), OFFICER)
    plan = client.get(f"/basemap/round-tiles?round_id={rnd['id']}").get_json()
    assert plan["tiles"] and plan["bytes"] <= plan["limit_bytes"] == 1024 * 1024
    assert all(u.startswith("/basemap/tiles/") for u in plan["tiles"])
    assert client.get("/basemap/round-tiles?round_id=x").status_code == 400
    assert MBTiles(package).zoom_range() == (8, 10)
    html = client.get("/inspect").get_data(as_text=True)
    assert "/basemap/tiles/{z}/{x}/{y}.png" in html


def test_witness_and_approvals_take_accounts_of_the_right_side(bclient, bstore, shaohui):
    from boundaries import tasks as task_service

    marker = list_markers(bstore, line_id=shaohui["id"])[0]
    task = task_service.create_task(
        bstore, {"marker_id": marker["id"], "kind": "relocate", "note": "道路改线"}, OFFICER
    )
    sign_in(bclient, OFFICER)
    url = f"/api/boundaries/tasks/{task['id']}/approve"
    assert bclient.post(url, json={"side_code": shaohui["side_a_code"]}).status_code == 200
    refused = bclient.post(url, json={"side_code": shaohui["side_b_code"]})
    assert refused.status_code == 403
    sign_in(bclient, OFFICER_B)
    assert bclient.post(url, json={"side_code": shaohui["side_b_code"]}).status_code == 200


# ---- a field tester's findings on main (fresh clone, tablet and phone) ---------------------


def test_a_round_needs_its_plan_and_period_and_says_so_in_chinese(bclient, bstore, shaohui):
    sign_in(bclient, OFFICER)
    for missing, word in (("planned_start", "日期"), ("planned_end", "日期"), ("plan", "检查方案")):
        body = plan_body(shaohui)
        body.pop(missing)
        refused = bclient.post("/api/boundaries/rounds", json=body)
        assert refused.status_code == 400, missing
        assert word in refused.get_json()["error"]["message"]
    blank = bclient.post("/api/boundaries/rounds", json=plan_body(shaohui, plan="  "))
    assert blank.status_code == 400 and blank.get_json()["error"]["details"]["field"] == "plan"
    assert inspection_service.list_rounds(bstore) == []  # nothing half-made
    assert bclient.post("/api/boundaries/rounds", json=plan_body(shaohui)).status_code == 201


def test_one_round_in_progress_per_line_and_only_its_sides_officers_plan(bclient, bstore, shaohui):
    from helpers import ensure_user

    from boundaries.staff import set_profile

    first = inspection_service.create_round(bstore, plan_body(shaohui), OFFICER)
    second = inspection_service.create_round(bstore, plan_body(shaohui, round_no=6), OFFICER_B)
    inspection_service.start_round(bstore, first["id"], OFFICER)
    sign_in(bclient, OFFICER_B)
    started = bclient.post(f"/api/boundaries/rounds/{second['id']}/start", json={})
    assert started.status_code == 409 and "进行中" in started.get_json()["error"]["message"]
    again = bclient.post("/api/boundaries/rounds", json=plan_body(shaohui, round_no=7))
    assert again.status_code == 409
    assert again.get_json()["error"]["details"]["round_id"] == first["id"]
    # An officer of neither side (广州市) can neither plan nor start this line's rounds.
    ensure_user(bstore, "gz_officer", "officer")
    set_profile(
        bstore,
        "gz_officer",
        {"full_name": "赵六", "organisation": "广州市民政局", "side_code": "440100"},
        ADMIN,
    )
    from gazetteer.core.actors import Actor

    outsider = Actor("gz_officer", frozenset({"officer"}))
    sign_in(bclient, outsider)
    refused = bclient.post("/api/boundaries/rounds", json=plan_body(shaohui, round_no=8))
    assert refused.status_code == 403 and "赵六" in refused.get_json()["error"]["message"]
    refused = bclient.post(f"/api/boundaries/rounds/{second['id']}/start", json={})
    assert refused.status_code == 403
    assert inspection_service.get_round(bstore, second["id"])["status"] == "planned"


def test_signing_checks_the_inspectors_current_side(bstore, api_round, shaohui):
    from boundaries.staff import set_profile
    from gazetteer.core.errors import Forbidden

    rnd, markers = api_round
    record, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], marker_id=markers[0]["id"]), INSPECTOR_A
    )
    # 王强 moved to the other side after the team was formed: he no longer signs for side A.
    set_profile(
        bstore,
        INSPECTOR_A.username,
        {"full_name": "王强", "organisation": "乙方民政局", "side_code": shaohui["side_b_code"]},
        ADMIN,
    )
    with pytest.raises(Forbidden, match="王强"):
        inspection_service.sign_inspection(
            bstore, record["id"], shaohui["side_a_code"], INSPECTOR_A
        )
    # 陈静 is on side B's team only: the refusal names her, not her account.
    with pytest.raises(Forbidden, match="陈静 不是"):
        inspection_service.sign_inspection(
            bstore, record["id"], shaohui["side_a_code"], INSPECTOR_B
        )
    assert inspection_service.list_inspections(bstore, round_id=rnd["id"])[0]["signed_a_by"] is None


def test_request_errors_are_in_chinese_and_name_states_by_label(bclient, api_round):
    from boundaries.vocabulary import NOTES_MAX_CHARS

    rnd, markers = api_round
    long_notes = inspection_record(
        rnd["id"], marker_id=markers[0]["id"], notes="桩" * (NOTES_MAX_CHARS + 1)
    )
    refused = bclient.post("/api/boundaries/inspections", json=long_notes).get_json()["error"]
    assert refused["message"] == f"字段 备注（notes） 有误：最多 {NOTES_MAX_CHARS} 个字符"
    assert refused["details"]["errors"][0]["message"] == f"最多 {NOTES_MAX_CHARS} 个字符"
    wrong = {**inspection_record(rnd["id"], marker_id=markers[0]["id"]), "measured_lon": "x"}
    message = bclient.post("/api/boundaries/inspections", json=wrong).get_json()["error"]["message"]
    assert message == "字段 实测经度（measured_lon） 有误：应为数字"
    broken = inspection_record(rnd["id"], "broken", marker_id=markers[0]["id"])
    message = bclient.post("/api/boundaries/inspections", json=broken).get_json()["error"][
        "message"
    ]
    assert "完好（intact）" in message and "字迹模糊（faded）" in message
    sign_in(bclient, OFFICER)
    one_team = bclient.post(
        "/api/boundaries/rounds",
        json={
            **plan_body(find_line_dict(bclient)),
            "teams": plan_body(find_line_dict(bclient))["teams"][:1],
        },
    ).get_json()["error"]
    assert one_team["message"] == "字段 联检队伍（teams） 有误：至少 2 项"
    assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", one_team["message"])


def find_line_dict(client) -> dict:
    lines = client.get("/api/boundaries/lines?kind=city").get_json()["lines"]
    return next(x for x in lines if x["name"] == "韶惠线")


OFFSET = re.compile(r"(\+\d\d:\d\d|Z)$")


def test_stored_instants_carry_their_offset_everywhere(bclient, bstore, api_round, tmp_path):
    import pyogrio

    from boundaries.report import export_round

    rnd, markers = api_round
    first = inspection_record(rnd["id"], "faded", marker_id=markers[1]["id"])
    assert bclient.post("/api/boundaries/inspections", json=first).status_code == 201
    url = f"/api/boundaries/inspections/{first['id']}/amendments"
    amendment = {"id": str(uuid.uuid4()), "kind": "reinspection", "found_state": "intact"}
    assert bclient.post(url, json=amendment).status_code == 201
    cached = bclient.get(f"/api/boundaries/rounds/{rnd['id']}/markers").get_json()["markers"]
    mine = next(m for m in cached if m["inspection"])
    assert OFFSET.search(mine["inspection"]["inspected_at"]), mine["inspection"]["inspected_at"]
    previous = bclient.get(url).get_json()["amendments"][0]["previous"]
    assert OFFSET.search(previous["inspected_at"]), previous["inspected_at"]
    frame = pyogrio.read_dataframe(
        export_round(bstore, rnd["id"], tmp_path / "round.gpkg"), layer="inspections"
    )
    assert all(OFFSET.search(str(v)) for v in frame["inspected_at"]), list(frame["inspected_at"])


def test_the_conclusion_takes_a_numeric_side_code_and_refuses_overlong_text(
    bclient, api_round, shaohui
):
    from boundaries.vocabulary import CONCLUSION_MAX_CHARS

    rnd, _ = api_round
    sign_in(bclient, OFFICER)
    url = f"/api/boundaries/rounds/{rnd['id']}/conclusion"
    side = int(shaohui["side_a_code"])
    too_long = bclient.post(
        url, json={"side_code": side, "conclusion": "好" * (CONCLUSION_MAX_CHARS + 1)}
    )
    assert (
        too_long.status_code == 400
        and str(CONCLUSION_MAX_CHARS) in too_long.get_json()["error"]["message"]
    )
    signed = bclient.post(url, json={"side_code": side, "conclusion": "区段内界桩完好。"})
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["concluded_a_by"] == OFFICER.username


def test_an_amendment_takes_notes_up_to_the_same_limit(bclient, api_round):
    from boundaries.vocabulary import NOTES_MAX_CHARS

    rnd, markers = api_round
    first = inspection_record(rnd["id"], "faded", marker_id=markers[2]["id"])
    assert bclient.post("/api/boundaries/inspections", json=first).status_code == 201
    url = f"/api/boundaries/inspections/{first['id']}/amendments"
    body = {"id": str(uuid.uuid4()), "kind": "reinspection", "found_state": "intact"}
    refused = bclient.post(url, json={**body, "notes": "桩" * (NOTES_MAX_CHARS + 1)})
    assert refused.status_code == 400 and refused.get_json()["error"]["details"]["field"] == "notes"
    assert bclient.get(url).get_json()["amendments"] == []
    made = bclient.post(url, json={**body, "notes": "桩" * NOTES_MAX_CHARS})
    assert made.status_code == 201


def test_two_witnesses_at_once_are_refused_not_one_dropped(bclient, bstore, shaohui):
    """A task closed with both an account witness and an external witness is a 400 naming
    the field; nothing changes, and closing with one of them then works."""
    from boundaries import tasks as task_service

    marker = list_markers(bstore, line_id=shaohui["id"])[0]
    task = task_service.create_task(
        bstore, {"marker_id": marker["id"], "kind": "repair", "note": "补漆"}, OFFICER
    )
    sign_in(bclient, OFFICER)
    url = f"/api/boundaries/tasks/{task['id']}"
    external = {"name": "李四", "organisation": "惠州市民政局", "role": "科员"}
    both = bclient.post(
        url,
        json={
            "status": "done",
            "result": "已补漆",
            "witness_other_side": OFFICER_B.username,
            "witness": external,
        },
    )
    assert both.status_code == 400, both.get_json()
    assert both.get_json()["error"]["details"]["field"] == "witness"
    assert task_service.get_task(bstore, task["id"])["status"] == "open"
    one = bclient.post(url, json={"status": "done", "result": "已补漆", "witness": external})
    assert one.status_code == 200, one.get_json()


def test_an_officer_cannot_move_anyone_to_another_side(bclient, bstore, shaohui):
    """Staff profiles decide who approves for a side: an officer keeps profiles of their
    own side only (never themselves or another to the other side, never the other side's
    people); an admin may move anyone. A refused change leaves the profile as it was."""
    from boundaries.staff import profiles

    a, b = shaohui["side_a_code"], shaohui["side_b_code"]
    sign_in(bclient, OFFICER)
    me = {"full_name": "张伟", "organisation": "甲方民政局"}
    for username, side in (
        (OFFICER.username, b),  # themselves to the other side
        (INSPECTOR_A.username, b),  # a colleague to the other side
        (OFFICER_B.username, a),  # the other side's officer to theirs
        (OFFICER_B.username, b),  # the other side's officer, kept there
    ):
        r = bclient.post(f"/api/boundaries/staff/{username}", json={**me, "side_code": side})
        assert r.status_code == 403, (username, side, r.get_json())
    assert profiles(bstore, [OFFICER.username])[OFFICER.username]["side_code"] == a
    assert profiles(bstore, [OFFICER_B.username])[OFFICER_B.username]["side_code"] == b
    fine = bclient.post(
        f"/api/boundaries/staff/{INSPECTOR_A.username}",
        json={"full_name": "王强", "organisation": "甲方自然资源局", "side_code": a},
    )
    assert fine.status_code == 200, fine.get_json()
    # The approval for side B stays out of reach of side A's officer.
    from boundaries import tasks as task_service

    marker = list_markers(bstore, line_id=shaohui["id"])[0]
    task = task_service.create_task(
        bstore, {"marker_id": marker["id"], "kind": "relocate", "note": "道路改线"}, OFFICER
    )
    url = f"/api/boundaries/tasks/{task['id']}/approve"
    assert bclient.post(url, json={"side_code": b}).status_code == 403


def test_a_signature_keeps_the_signer_as_they_were_when_signing(bclient, bstore, api_round):
    """Signed records are legal records: a later change of the signer's profile (name,
    organisation) does not rewrite who signed them, on the page, in the report and in the
    API; a record or conclusion signed after the change shows the new profile."""
    rnd, markers = api_round
    side_a = rnd["side_a_code"]
    record, _ = inspection_service.record_inspection(
        bstore,
        inspection_record(rnd["id"], "intact", marker_id=markers[0]["id"]),
        INSPECTOR_A,
    )
    url = f"/api/boundaries/inspections/{record['id']}/sign"
    signed = bclient.post(url, json={"side_code": side_a})
    assert signed.get_json()["signed_a_label"] == "王强（甲方民政局）"
    sign_in(bclient, OFFICER)
    conclusion = bclient.post(
        f"/api/boundaries/rounds/{rnd['id']}/conclusion",
        json={"side_code": side_a, "conclusion": "区段内界桩完好。"},
    )
    assert conclusion.get_json()["concluded_a_label"] == "张伟（甲方民政局）"
    # Both people change organisation (and one the name) after signing.
    for username, name in (("inspector_a", "王强强"), ("officer1", "张伟")):
        changed = bclient.post(
            f"/api/boundaries/staff/{username}",
            json={"full_name": name, "organisation": "甲方自然资源局", "side_code": side_a},
        )
        assert changed.status_code == 200, changed.get_json()
    # A retry of the same sign-off (a double tap, a resend) does not re-sign with the new
    # profile: the signature keeps its time and label.
    again = bclient.post(
        f"/api/boundaries/rounds/{rnd['id']}/conclusion",
        json={"side_code": side_a, "conclusion": "区段内界桩完好。"},
    )
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["concluded_a_label"] == "张伟（甲方民政局）"
    assert again.get_json()["concluded_a_at"] == conclusion.get_json()["concluded_a_at"]
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    report = bclient.get(f"/boundaries/rounds/{rnd['id']}/report").get_data(as_text=True)
    # The teams list people as they are now; the signatures as they were.
    assert 'class="signed-a">王强（甲方民政局）</td>' in page
    assert 'id="signed-a">张伟（甲方民政局）</td>' in page
    assert '签认">王强（甲方民政局）</td>' in report
    assert "<td>张伟（甲方民政局）</td>" in report and "王强强（甲方自然资源局）" in report
    stored = bclient.get(f"/api/boundaries/inspections?round_id={rnd['id']}").get_json()
    assert stored["inspections"][0]["signed_a_label"] == "王强（甲方民政局）"
    # Then a second record signed now carries the new profile, the first still the old one.
    second, _ = inspection_service.record_inspection(
        bstore,
        inspection_record(rnd["id"], "intact", marker_id=markers[1]["id"]),
        INSPECTOR_A,
    )
    sign_in(bclient, INSPECTOR_A)
    again = bclient.post(
        f"/api/boundaries/inspections/{second['id']}/sign", json={"side_code": side_a}
    )
    assert again.get_json()["signed_a_label"] == "王强强（甲方自然资源局）"
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    assert 'class="signed-a">王强（甲方民政局）</td>' in page
    assert 'class="signed-a">王强强（甲方自然资源局）</td>' in page


def test_team_leaders_are_shown_with_their_labels_like_members(bclient, bstore, shaohui):
    """A leader with an account is shown as 姓名（单位） on the round page and the report,
    as members are; a leader written as a plain name stays as written."""
    body = plan_body(shaohui)
    body["teams"][0]["leader"] = OFFICER.username
    body["teams"][1]["leader"] = "李工"
    rnd = inspection_service.create_round(bstore, body, OFFICER)
    sign_in(bclient, OFFICER)
    for url in (f"/boundaries/rounds/{rnd['id']}", f"/boundaries/rounds/{rnd['id']}/report"):
        page = bclient.get(url).get_data(as_text=True)
        assert 'data-label="组长">张伟（甲方民政局）</td>' in page, url
        assert 'data-label="组长">李工</td>' in page and ">officer1<" not in page, url


def test_a_tasks_note_is_its_note_and_never_its_result(bclient, bstore, api_round):
    """The note written when a task is opened comes back as ``note``; ``result`` stays empty
    until the task moves on, and the report shows each in its own column."""
    rnd, markers = api_round
    sign_in(bclient, OFFICER)
    opened = bclient.post(
        "/api/boundaries/tasks",
        json={"marker_id": markers[2]["id"], "kind": "relocate", "note": "move"},
    )
    assert opened.status_code == 201, opened.get_json()
    task = opened.get_json()
    assert task["note"] == "move" and task["result"] is None
    moved_on = bclient.post(
        f"/api/boundaries/tasks/{task['id']}", json={"status": "in_progress", "result": "已约乙方"}
    ).get_json()
    assert moved_on["note"] == "move" and moved_on["result"] == "已约乙方"
    # A task the round's inspection opened shows in the report: 说明 and 结果 apart.
    sign_in(bclient, INSPECTOR_A)
    recorded = bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(rnd["id"], "faded", marker_id=markers[0]["id"]),
    )
    assert recorded.status_code == 201, recorded.get_json()
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}/report").get_data(as_text=True)
    assert "<th>说明</th><th>结果</th>" in page
    assert 'data-label="说明">—</td><td data-label="结果">—</td>' in page


def test_a_future_inspection_date_is_400_naming_the_field(bclient, bstore, api_round):
    """Devices offline send past dates (kept as recorded); a date beyond the clock-skew
    allowance in the future was not made yet."""
    rnd, markers = api_round
    now = dt.datetime.now(dt.UTC)
    for when in ("2099-01-01T00:00:00Z", (now + dt.timedelta(hours=1)).isoformat()):
        r = bclient.post(
            "/api/boundaries/inspections",
            json=inspection_record(
                rnd["id"], "intact", marker_id=markers[0]["id"], inspected_at=when
            ),
        )
        assert r.status_code == 400, (when, r.get_json())
        assert r.get_json()["error"]["details"]["field"] == "inspected_at"
    report = bclient.get(f"/api/boundaries/rounds/{rnd['id']}/report").get_data(as_text=True)
    assert "2099" not in report
    # The second action: a date two days old (a device back online), and one a few minutes
    # ahead (its clock runs fast), are both kept.
    for when, marker in (
        (now - dt.timedelta(days=2), markers[0]),
        (now + dt.timedelta(minutes=3), markers[1]),
    ):
        r = bclient.post(
            "/api/boundaries/inspections",
            json=inspection_record(
                rnd["id"], "intact", marker_id=marker["id"], inspected_at=when.isoformat()
            ),
        )
        assert r.status_code == 201, r.get_json()
        stored = dt.datetime.fromisoformat(r.get_json()["inspected_at"].replace("Z", "+00:00"))
        assert abs(stored - when) < dt.timedelta(seconds=1)


def test_an_inspection_time_keeps_its_instant_whatever_offset_it_was_sent_with(bclient, api_round):
    """09:00 in Beijing is 01:00 UTC: the stored and answered instant is the one the device
    meant (it was kept as 09:00 UTC, eight hours later and in the future); the same for an
    amendment, with an offset, with Z and with no offset (Beijing time)."""
    rnd, markers = api_round
    beijing = dt.timezone(dt.timedelta(hours=8))
    sent = (dt.datetime.now(beijing) - dt.timedelta(hours=2)).replace(microsecond=0)
    record = inspection_record(
        rnd["id"], "intact", marker_id=markers[0]["id"], inspected_at=sent.isoformat()
    )
    made = bclient.post("/api/boundaries/inspections", json=record)
    assert made.status_code == 201, made.get_json()

    def instant(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert instant(made.get_json()["inspected_at"]) == sent
    listed = bclient.get(f"/api/boundaries/inspections?round_id={rnd['id']}").get_json()
    assert instant(listed["inspections"][0]["inspected_at"]) == sent
    # The second action: amendments with other spellings of instants.
    url = f"/api/boundaries/inspections/{record['id']}/amendments"
    earlier = sent - dt.timedelta(hours=1)
    for text in (
        earlier.isoformat(),
        earlier.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        earlier.replace(tzinfo=None).isoformat(),  # no offset: Beijing time
        earlier.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
    ):
        amended = bclient.post(
            url,
            json={
                "id": str(uuid.uuid4()),
                "kind": "amendment",
                "reason": "时间更正",
                "found_state": "intact",
                "inspected_at": text,
            },
        )
        assert amended.status_code == 201, (text, amended.get_json())
        assert instant(amended.get_json()["inspected_at"]) == earlier, text


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"measurement_accuracy_m": -5}, "未填写实测坐标"),  # no measurement: nothing to qualify
        ({"measurement_accuracy_m": 3}, "未填写实测坐标"),
        ({"measurement_accuracy_m": -5, "method": "gnss_handheld", "at": True}, "0–100"),
    ],
)
def test_an_accuracy_is_refused_rather_than_dropped(bclient, api_round, fields, expected):
    rnd, markers = api_round
    fields = dict(fields)
    at = (markers[0]["lon"], markers[0]["lat"]) if fields.pop("at", False) else None
    method = fields.pop("method", None)
    r = bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(
            rnd["id"], "intact", marker_id=markers[0]["id"], at=at, method=method, **fields
        ),
    )
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["details"]["field"] == "measurement_accuracy_m" and expected in error["message"]


def test_another_inspectors_replay_is_409_over_the_api_and_shows_nothing_of_the_record(
    bclient, api_round
):
    """Inspector B resending A's record under A's client id was answered 200 with A's
    record ("inspected_by": A): B's device believed its record was stored."""
    rnd, markers = api_round
    record = inspection_record(rnd["id"], "faded", marker_id=markers[0]["id"], notes="甲方记录")
    assert bclient.post("/api/boundaries/inspections", json=record).status_code == 201
    sign_in(bclient, INSPECTOR_B)
    replay = bclient.post("/api/boundaries/inspections", json=record)
    assert replay.status_code == 409, replay.get_json()
    error = replay.get_json()["error"]
    assert error["details"] == {"field": "id", "reason": "id_taken"}
    assert "甲方记录" not in replay.get_data(as_text=True)
    assert INSPECTOR_A.username not in replay.get_data(as_text=True)
    # The second action: B makes a new id; the marker already has A's record, so that is
    # the marker's 409 (a record to amend), not a replay.
    again = bclient.post("/api/boundaries/inspections", json={**record, "id": str(uuid.uuid4())})
    assert again.status_code == 409 and "补充或更正" in again.get_json()["error"]["message"]
    # A missing marker is a 400 naming marker_id, with no Python None in the message.
    unnamed = {k: v for k, v in record.items() if k != "marker_id"} | {"id": str(uuid.uuid4())}
    missing = bclient.post("/api/boundaries/inspections", json=unnamed)
    assert missing.status_code == 400 and missing.get_json()["error"]["details"]["field"] == (
        "marker_id"
    )
    assert "None" not in missing.get_json()["error"]["message"]


def test_a_correction_cancels_the_tasks_its_wrong_finding_opened(bstore, api_round):
    """Recorded 损坏 by mistake (a 修复 task opened), corrected to 字迹模糊: the repair is
    cancelled with the correction as its reason and a 描红注记 task is opened. Work already
    begun stays the task team's; a re-inspection (a second visit) cancels nothing."""
    from boundaries import tasks as task_service

    rnd, markers = api_round

    def tasks_of(record_id):
        return {
            t["kind"]: t
            for t in task_service.list_tasks(bstore, round_id=rnd["id"])
            if t["inspection_id"] == record_id
        }

    def amend(record_id, found_state, kind):
        body = {"id": str(uuid.uuid4()), "found_state": found_state, "kind": kind}
        body["reason"] = "看错了" if kind == "amendment" else None
        inspection_service.amend_inspection(bstore, record_id, body, INSPECTOR_B)

    wrong, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "damaged", marker_id=markers[0]["id"]), INSPECTOR_A
    )
    assert tasks_of(wrong["id"])["repair"]["status"] == "open"
    amend(wrong["id"], "faded", "amendment")
    tasks = tasks_of(wrong["id"])
    assert tasks["repair"]["status"] == "cancelled" and tasks["repaint"]["status"] == "open"
    assert tasks["repair"]["result"] == "检查记录已更正（原为损坏，现为字迹模糊），不再需要此任务"
    assert tasks["repair"]["closed_by"] == "inspector_b"
    # the second action: corrected again, back to 损坏 — the repaint is cancelled in turn
    # and a repair is open again (the cancelled one stays in the history)
    amend(wrong["id"], "damaged", "amendment")
    repairs = [
        t["status"]
        for t in task_service.list_tasks(bstore, round_id=rnd["id"])
        if t["inspection_id"] == wrong["id"] and t["kind"] == "repair"
    ]
    assert sorted(repairs) == ["cancelled", "open"]
    assert tasks_of(wrong["id"])["repaint"]["status"] == "cancelled"

    # begun work stays; a second visit cancels nothing
    lost, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "lost", marker_id=markers[1]["id"]), INSPECTOR_A
    )
    rebuild = tasks_of(lost["id"])["rebuild"]
    task_service.update_task(bstore, rebuild["id"], "in_progress", OFFICER)
    amend(lost["id"], "intact", "amendment")
    assert tasks_of(lost["id"])["rebuild"]["status"] == "in_progress"
    buried, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "buried", marker_id=markers[2]["id"]), INSPECTOR_A
    )
    amend(buried["id"], "intact", "reinspection")
    assert tasks_of(buried["id"])["clear_vegetation"]["status"] == "open"


def test_the_sign_offs_an_amendment_withdraws_are_kept_and_shown(bclient, bstore, api_round):
    """Both sides signed a record; a correction withdraws both sign-offs (they must sign the
    corrected finding). Who had signed, and what the record said, stay on record and on the
    round page (user test, 2026-11-30: the signatures were gone without a trace)."""
    rnd, markers = api_round
    side_a, side_b = rnd["side_a_code"], rnd["side_b_code"]
    record, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "buried", marker_id=markers[0]["id"]), INSPECTOR_A
    )
    inspection_service.sign_inspection(bstore, record["id"], side_a, INSPECTOR_A)
    inspection_service.sign_inspection(bstore, record["id"], side_b, INSPECTOR_B)
    url = f"/api/boundaries/inspections/{record['id']}/amendments"
    # a correction without a reason is refused (a second visit needs none)
    bare = {"id": str(uuid.uuid4()), "found_state": "intact", "kind": "amendment"}
    refused = bclient.post(url, json=bare)
    assert (
        refused.status_code == 400 and refused.get_json()["error"]["details"]["field"] == "reason"
    )
    assert "更正原记录须填写原因" in refused.get_json()["error"]["message"]
    # a reason longer than the limit is refused, not cut, and nothing changes
    too_long = {"id": str(uuid.uuid4()), "found_state": "intact", "reason": "长" * 2001}
    refused = bclient.post(url, json=too_long)
    assert (
        refused.status_code == 400 and refused.get_json()["error"]["details"]["field"] == "reason"
    )
    assert "更正原因" in refused.get_json()["error"]["message"]
    assert bclient.get(url).get_json()["amendments"] == []
    # the second try, with a reason: stored, and what it withdrew is kept
    body = {**too_long, "reason": "看错了，是落叶覆盖", "kind": "amendment"}
    assert bclient.post(url, json=body).status_code == 201
    (made,) = bclient.get(url).get_json()["amendments"]
    was = made["previous"]
    assert (was["found_state"], was["signed_a_by"], was["signed_b_by"]) == (
        "buried",
        "inspector_a",
        "inspector_b",
    )
    assert was["signed_a_at"].endswith("+00:00") and was["signed_b_label"]
    page = bclient.get(f"/boundaries/rounds/{rnd['id']}").get_data(as_text=True)
    row = page[page.index(f'data-inspection-id="{record["id"]}"') :].split("</tr>")[0]
    assert "已1次更正或再次检查" in row and "更正（王强（甲方民政局）：看错了，是落叶覆盖）" in row
    assert "此前：掩埋（王强（甲方民政局））" in row and "此前的签认随之撤销" in row
    assert "韶关市 王强（甲方民政局）、惠州市 陈静（乙方民政局）" in row  # as named when signing
    assert row.count("未签认") == 2


def test_the_report_gives_an_urgent_finding_its_hour_to_be_reported_by(bclient, bstore, api_round):
    """A damaged marker is to be reported within 12 hours: the report gives the hour, not
    only the day (user test, 2026-12-01: 报告时限 read 2026-12-01 for a deadline that ended
    at noon)."""
    from boundaries import tasks as task_service
    from gazetteer.core.dates import format_local_time

    rnd, markers = api_round
    inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "damaged", marker_id=markers[0]["id"]), INSPECTOR_A
    )
    (task,) = [
        t for t in task_service.list_tasks(bstore, round_id=rnd["id"]) if t["kind"] == "repair"
    ]
    due = format_local_time(task["report_due_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", due)
    report = bclient.get(f"/boundaries/rounds/{rnd['id']}/report").get_data(as_text=True)
    assert f'data-label="报告时限" class="date">{due}</td>' in report


def test_an_amendment_made_on_an_older_record_is_refused_not_applied(bclient, bstore, api_round):
    """Side A corrects a record as A's device last knew it, after side B corrected it: A's
    correction is refused with B's finding named, instead of replacing a finding A never saw
    (user test, 2026-12-01). A, having looked, may replace it on purpose; a client that does
    not say what it saw is not checked."""
    rnd, markers = api_round
    record, _ = inspection_service.record_inspection(
        bstore, inspection_record(rnd["id"], "faded", marker_id=markers[0]["id"]), INSPECTOR_A
    )
    seen_by_a = bclient.get(f"/api/boundaries/rounds/{rnd['id']}/markers").get_json()["markers"]
    seen_at = next(m for m in seen_by_a if m["inspection"])["inspection"]["inspected_at"]
    b_fix = {"id": str(uuid.uuid4()), "found_state": "damaged", "reason": "实为损坏"}
    inspection_service.amend_inspection(bstore, record["id"], b_fix, INSPECTOR_B)
    url = f"/api/boundaries/inspections/{record['id']}/amendments"
    a_fix = {
        "id": str(uuid.uuid4()),
        "found_state": "tilted",
        "reason": "A 再更正",
        "amends_inspected_at": seen_at,
    }
    refused = bclient.post(url, json=a_fix)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["details"]["changed_since"] and error["details"]["found_state"] == "damaged"
    assert "已由 陈静 改为损坏" in error["message"]
    stored = inspection_service.list_amendments(bstore, record["id"])
    assert len(stored) == 1  # B's only: nothing of A's applied
    # the second action: A, having seen B's finding, replaces it on purpose
    made = bclient.post(
        url, json={**a_fix, "amends_inspected_at": error["details"]["inspected_at"]}
    )
    assert made.status_code == 201 and made.get_json()["found_state"] == "tilted"
    # an older client, saying nothing of what it saw, is not checked
    bare = {"id": str(uuid.uuid4()), "found_state": "intact", "kind": "reinspection"}
    assert bclient.post(url, json=bare).status_code == 201
