"""The whole field path on a tablet (768x1024) and a phone (390x844), every outside request
refused: an officer plans and starts a round from the pages; an inspector selects markers
by list, tap, search and "nearest", records online and offline (a second visit and a
position 33 m off among them), reloads offline, reconnects and resolves a conflict by a
choice; both sides sign; the report draws its map with no console errors and prints to
PDF with map and tables. Screenshots of each step go to docs/screenshots/ when
GDGIS_SCREENSHOT_DIR is set (scripts/screenshots.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, INSPECTOR_B, OFFICER, OFFICER_B, register_staff

from boundaries import inspections as inspection_service
from boundaries.lines import find_line
from boundaries.markers import list_markers
from boundaries.tables import inspection_amendments, inspections
from gazetteer.core.actors import Actor
from gazetteer.core.geodesy import destination, distance_m
from tests.browser.conftest import TABLET_PORTRAIT, screenshot, sign_in, wait_for_service_worker
from tests.browser.pages import select_marker

pytestmark = pytest.mark.browser

ADMIN = Actor("system-test", frozenset({"admin"}))
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(TABLET_PORTRAIT, id="768x1024"), pytest.param(PHONE, id="390x844")]


def shot(page, step: str, viewport: dict, full_page: bool = False) -> None:
    name = f"field-{step}-{viewport['width']}x{viewport['height']}"
    target = os.environ.get("GDGIS_SCREENSHOT_DIR")
    if full_page and target:
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)
    else:
        screenshot(page, name)


def records(store) -> dict:
    with store.read() as conn:
        rows = conn.execute(sa.select(inspections)).all()
        amended = conn.execute(sa.select(inspection_amendments)).all()
    return {r.marker_id: r for r in rows}, amended


def assert_fits(page, viewport: dict) -> None:
    """Nothing wider than the screen: nav links, tables, the page itself."""
    width = viewport["width"]
    overflow = page.evaluate("document.scrollingElement.scrollWidth")
    wide = page.evaluate(
        "(w) => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
        ".right > w + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)",
        width,
    )
    assert overflow <= width + 1, f"{page.url} is {overflow}px wide on a {width}px screen: {wide}"
    rights = page.evaluate(
        "[...document.querySelectorAll('header nav a')].map(a => a.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= width + 1, rights


def unexpected(errors: list[str], *refusals: str) -> list[str]:
    """Console errors other than the refusals the walk provokes on purpose (Chromium logs
    every non-2xx fetch, e.g. "409 (CONFLICT)")."""
    return [e for e in errors if not any(r in e for r in refusals)]


def after_reload(page, selector: str) -> None:
    """Wait for ``selector`` on the reloaded round page, then for its script to be ready (the
    page reloads after each signature; a button pressed before rounds.js ran does nothing)."""
    page.wait_for_selector(selector)
    page.wait_for_selector("#round[data-ready='1']")


def choose_in_list(page, number: str) -> None:
    page.wait_for_function(  # the round's markers are listed (after a reload, a moment later)
        "(n) => [...document.querySelectorAll('#marker-jump option')]"
        ".some(o => o.textContent.split(' ')[0] === n)",
        arg=number,
    )
    select_marker(page, number)
    page.wait_for_selector(f"#current-marker:has-text('{number}')")


def record(page, state: str, note: str) -> None:
    page.check(f"input[name=found_state][value={state}]")
    page.fill("textarea[name=notes]", note)
    page.click("#record-submit")


@pytest.mark.parametrize("viewport", SIZES)
def test_plan_inspect_offline_resolve_sign_and_print(live_server, open_context, viewport):
    base, store = live_server["url"], live_server["store"]
    line = find_line(store, "韶惠线")
    from helpers import ensure_user

    ensure_user(store, OFFICER_B.username, "officer")
    register_staff(store, line)  # the operator registered who works for which side
    markers = list_markers(store, line_id=line["id"])[:4]
    numbers = [m["number"] for m in markers]

    # ---- an officer plans the round for a section (markers 1-4) and starts it ----
    officer_ctx, officer_watch = open_context(viewport)
    officer = officer_ctx.new_page()
    sign_in(officer, base, OFFICER.username, "/boundaries/due")
    officer.wait_for_selector("#due-table")
    assert_fits(officer, viewport)
    shot(officer, "1-due", viewport)
    officer.click("tr[data-line='韶惠线'] a:has-text('制定联检计划')")
    officer.wait_for_selector("#plan-form[data-ready='1']")
    officer.fill("input[name=planned_start]", "2026-11-01")
    officer.fill("input[name=planned_end]", "2026-12-20")
    officer.select_option("select[name=section_to_seq]", str(markers[-1]["seq"]))
    officer.fill("textarea[name=plan]", "第 1 至 4 号界桩实地察看，手持 GNSS 复核位置。")
    assert "王强" in officer.inner_text("#plan-form") and "陈静" in officer.inner_text("#plan-form")
    shot(officer, "2-plan", viewport)
    officer.click("#plan-form button[type=submit]")
    after_reload(officer, "#start-round")
    round_id = int(officer.get_attribute("#round", "data-round-id"))
    officer.click("#start-round")
    officer.wait_for_selector("a:has-text('到现场巡检')")
    shot(officer, "3-round-started", viewport)

    # ---- the inspector of side A, at the first marker ----
    first = markers[0]
    context, watch = open_context(
        viewport, geolocation={"longitude": first["lon"], "latitude": first["lat"], "accuracy": 4}
    )
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, base, INSPECTOR_A.username, f"/inspect?round={round_id}")
    page.wait_for_selector("#map[data-ready='1']")
    wait_for_service_worker(page)
    page.wait_for_selector("#round-info[data-cached='1']", timeout=30000)
    icon_box = page.locator(".bm-icon, .marker-cluster").first.bounding_box()
    assert icon_box["width"] >= 44 and icon_box["height"] >= 44

    # 1. from the list, online; the chosen marker is on screen and not under the legend
    choose_in_list(page, numbers[0])
    page.wait_for_function(  # once the map has panned: on screen, clear of the legend
        """() => { const c = document.querySelector('.bm-selected').getBoundingClientRect(),
            l = document.querySelector('.legend').getBoundingClientRect(),
            m = document.querySelector('#map').getBoundingClientRect();
          return c.top >= m.top && c.bottom <= m.bottom && c.left >= m.left && c.right <= m.right
            && (c.left >= l.right || c.bottom <= l.top || c.top >= l.bottom); }""",
        timeout=5000,
    )
    record(page, "intact", "桩体完好")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {numbers[0]}')")
    shot(page, "4-list-online", viewport)

    # 2. by tapping it on the map, online
    icon = page.locator(f".bm-icon[title='{numbers[1]}']")
    icon.wait_for()
    icon.tap()
    page.wait_for_selector(f"#current-marker:has-text('{numbers[1]}')")
    record(page, "faded", "注记模糊，需描红")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {numbers[1]}')")

    # 3. by searching its number, offline
    context.set_offline(True)
    page.wait_for_selector("#net-status.offline")
    page.fill("#marker-search", numbers[2])
    page.press("#marker-search", "Enter")
    page.wait_for_selector(f"#current-marker:has-text('{numbers[2]}')")
    record(page, "tilted", "向南倾斜")
    page.wait_for_selector("#form-message:has-text('离线')")

    # 4. the nearest marker, with the GPS position 33 m off: the guard asks first
    lon, lat = destination(markers[3]["lon"], markers[3]["lat"], 30.0, 33.0)
    context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 0})
    page.click("#locate")
    page.wait_for_selector("#position:has-text('精度约 0 米')")
    page.click("#nearest")
    page.wait_for_selector(f"#current-marker:has-text('{numbers[3]}')")
    page.click("#use-gps")
    assert page.input_value("input[name=measurement_accuracy_m]") == "0"
    record(page, "intact", "桩位与登记位置不符")
    page.wait_for_selector("#guard:not([hidden])")
    assert "33." in page.inner_text("#guard-text") and "10 米" in page.inner_text("#guard-text")
    shot(page, "5-distance-guard", viewport)
    page.click("#guard-moved")
    page.wait_for_selector("#form-message:has-text('离线')")

    # 5. a second visit to the first marker, offline: offered as a re-inspection
    choose_in_list(page, numbers[0])
    page.wait_for_selector("#existing-record:not([hidden])")
    assert page.inner_text("#record-submit") == "保存为补充记录"
    assert "须重新签认" in page.inner_text("#existing-record")  # an amendment clears them
    page.fill("input[name=reason]", "复查基座")
    record(page, "damaged", "基座开裂")
    # which of the two it is, the inspector says (no default to save under unread)
    page.wait_for_selector("#form-message:has-text('请选择：再次检查（第二次到桩）还是更正原记录')")
    page.check("input[name=amend_kind][value=reinspection]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('离线')")

    # Meanwhile side B's inspector recorded the third marker from their own device.
    inspection_service.record_inspection(
        store,
        {
            "id": str(uuid.uuid4()),
            "round_id": round_id,
            "marker_id": markers[2]["id"],
            "found_state": "intact",
        },
        INSPECTOR_B,
    )

    # Reload with no network: the page, the round and the outbox come back from the device.
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector("#queue-count:has-text('3')")
    page.click("#queue-toggle")
    shot(page, "6-offline-outbox", viewport)
    with page.expect_download() as download:
        page.click("#queue-export")
    assert download.value.suggested_filename.startswith("inspection-outbox-")

    # Reconnect: two records go through; the clash waits for a choice and is kept.
    context.set_offline(False)
    page.wait_for_selector("#queue-list li.status-failed")
    assert "本轮已有界桩" in page.inner_text("#queue-list li.status-failed")
    shot(page, "7-conflict-choice", viewport)
    page.click("#queue-list li.status-failed button:has-text('保留为本轮记录的补充')")
    page.wait_for_selector("#queue-count:has-text('0')")

    rows, amended = records(store)
    assert set(rows) == {m["id"] for m in markers}  # every record on its own marker
    assert rows[markers[0]["id"]].found_state == "damaged"  # the second visit amended it
    assert rows[markers[1]["id"]].found_state == "faded"
    assert rows[markers[2]["id"]].found_state == "tilted"  # kept as B's record's amendment
    moved = rows[markers[3]["id"]]
    assert moved.moved_confirmed and moved.flagged_moved and moved.measurement_accuracy_m == 0
    assert distance_m(markers[3]["lon"], markers[3]["lat"], lon, lat) == pytest.approx(
        moved.displacement_m, abs=0.5
    )
    assert sorted(a.previous["found_state"] for a in amended) == ["intact", "intact"]
    # found intact 33 m away: the device names the record as the round page does (moved)
    choose_in_list(page, numbers[3])
    page.wait_for_selector("#existing-record:has-text('完好，判定为移位')")
    page.wait_for_selector("#marker-history li:has-text('完好，判定为移位')")
    # The one 409 is the refusal the inspector resolved: Chromium logs any non-2xx fetch.
    assert unexpected(watch.errors, "409 (CONFLICT)") == [] and watch.blocked == []

    # ---- both sides sign the records from the round page ----
    side_a, side_b = line["side_a_code"], line["side_b_code"]
    page.goto(f"{base}/boundaries/rounds/{round_id}")
    after_reload(page, "#record-signoffs")
    assert page.locator("#record-signoffs tbody tr").count() == 4
    for number in numbers:
        page.click(f"tr[data-marker='{number}'] button.sign-record")
        after_reload(page, f"tr[data-marker='{number}'] td.signed-a:has-text('王强')")
    assert page.locator("button.sign-record").count() == 0  # side A has signed every record
    assert_fits(page, viewport)
    shot(page, "8-records-signed-a", viewport)

    b_ctx, b_watch = open_context(viewport)
    b_page = b_ctx.new_page()
    sign_in(b_page, base, INSPECTOR_B.username, f"/boundaries/rounds/{round_id}")
    after_reload(b_page, "#record-signoffs")
    first_row = f"tr[data-marker='{numbers[0]}']"
    assert b_page.get_attribute(f"{first_row} button.sign-record", "data-side") == side_b
    # Side B's inspector tries to sign for side A (a tampered button): refused in Chinese,
    # nothing changes; then the retry for the own side goes through.
    b_page.evaluate(
        "([row, side]) => document.querySelector(row + ' button.sign-record').dataset.side = side",
        [first_row, side_a],
    )
    b_page.click(f"{first_row} button.sign-record")
    b_page.wait_for_selector(f"{first_row} .sign-error")
    refusal = b_page.inner_text(f"{first_row} .sign-error")
    assert "不是" in refusal and "联检队伍成员" in refusal and side_a not in refusal, refusal
    shot(b_page, "8-wrong-side-refused", viewport)
    with store.read() as conn:
        assert (
            conn.execute(
                sa.select(inspections.c.signed_a_by).where(
                    inspections.c.marker_id == markers[0]["id"]
                )
            ).scalar()
            == INSPECTOR_A.username
        )
    b_page.reload()
    after_reload(b_page, "#record-signoffs")
    for number in numbers:
        b_page.click(f"tr[data-marker='{number}'] button.sign-record")
        after_reload(b_page, f"tr[data-marker='{number}'] td.signed-b:has-text('陈静')")
    b_page.wait_for_selector("#round-progress:has-text('双方签认 4')")
    # An inspector reads the conclusion, with no box to type one it could not sign
    assert b_page.locator("#conclusion-form textarea").count() == 0
    assert "尚未填写联检结论" in b_page.inner_text("#conclusion-text")
    # ... and cannot sign or complete the joint conclusion for either side.
    refused = b_page.evaluate(
        """([url, side]) => fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({side_code: side, conclusion: '代签'})}).then(r => r.json()
            .then(d => [r.status, d.error.message]))""",
        [f"/api/boundaries/rounds/{round_id}/conclusion", side_a],
    )
    assert refused[0] == 403 and "审核人员" in refused[1], refused

    # ---- the joint conclusion: each side's officer signs; completing waits for both ----
    officer.goto(f"{base}/boundaries/rounds/{round_id}")
    officer.fill(
        "textarea[name=conclusion]", "第 1 至 4 号界桩：1 颗损坏、1 颗移位待恢复，其余完好。"
    )
    officer.click("#conclusion-form button[type=submit]")
    after_reload(officer, "#signed-a:has-text('张伟')")
    officer.click("#complete-round")  # too early: side B has not signed the conclusion
    officer.wait_for_selector("#round-message.error")
    assert "结论" in officer.inner_text("#round-message")
    other_ctx, other_watch = open_context(viewport)
    other = other_ctx.new_page()
    sign_in(other, base, OFFICER_B.username, f"/boundaries/rounds/{round_id}")
    assert side_b in other.input_value("#conclusion-form input[name=side_code]")
    other.click("#conclusion-form button[type=submit]")
    after_reload(other, "#signed-b:has-text('李娜')")
    other.click("#complete-round")
    other.wait_for_selector("#round-status:has-text('已完成')")
    # completed, the page still shows what both signed (a user test: it vanished)
    assert "1 颗损坏" in other.inner_text("#conclusion-text")
    assert "张伟" in other.inner_text("#signed-a") and "李娜" in other.inner_text("#signed-b")
    assert other.locator("#conclusion-form textarea, #complete-round").count() == 0
    shot(other, "9-signed", viewport, full_page=True)

    # ---- the report: map drawn, no console errors, fits the screen, prints to A4 ----
    seen = len(officer_watch.errors)
    officer.goto(f"{base}/boundaries/rounds/{round_id}/report")
    officer.wait_for_selector("#report-map .leaflet-container")
    officer.wait_for_selector("#report-map path.leaflet-interactive")
    assert_fits(officer, viewport)
    spill = officer.evaluate(  # every table inside the report's column, not past it
        """() => { const a = document.querySelector('article'),
            right = a.getBoundingClientRect().right - parseFloat(getComputedStyle(a).paddingRight);
          return [...document.querySelectorAll('article table')]
            .map(t => t.getBoundingClientRect().right - right).filter(d => d > 1); }"""
    )
    assert spill == [], spill
    assert "gnss_handheld" not in officer.inner_text("article")
    assert "李娜（乙方民政局）" in officer.inner_text("article")
    shot(officer, "10-report", viewport, full_page=True)
    pdf = officer.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    officer.emulate_media(media="print")
    assert officer.locator("#report-map path.leaflet-interactive").count() > 0
    assert officer.locator("#report-map").bounding_box()["height"] > 300  # 120 mm
    assert officer.locator("table.bnd-table").count() >= 4
    assert officer.locator("#report-map .leaflet-control-zoom").is_hidden()  # paper: no buttons
    scales = officer.locator("#report-map .leaflet-control-scale-line:visible")
    assert (
        scales.count() == 1 and "mi" not in scales.inner_text() and "ft" not in scales.inner_text()
    )
    officer.emulate_media(media="screen")  # back on the phone's screen for the other pages
    assert officer_watch.errors[seen:] == []  # the report: not one console error
    for path in ("/boundaries/", "/boundaries/markers", "/boundaries/rounds"):
        officer.goto(base + path)
        officer.wait_for_selector("table.bnd-table")
        assert_fits(officer, viewport)  # tables reflow into cards on a phone
    # The refusals provoked above: completing too early (409), signing for the other side
    # and an inspector signing the conclusion (403).
    assert unexpected(officer_watch.errors, "409 (CONFLICT)") == []
    assert unexpected(b_watch.errors, "403 (FORBIDDEN)") == []
    assert other_watch.errors == [] and unexpected(watch.errors, "409 (CONFLICT)") == []
    for w in (officer_watch, other_watch, b_watch, watch):
        assert w.blocked == [], w.blocked


def set_members(store, round_id: int, side_code: str, members: list[str]) -> None:
    """Change a side's team of a round in the store (as an officer's change would)."""

    from boundaries.tables import round_teams

    with store.write(actor="system:test") as conn:
        conn.execute(
            round_teams.update()
            .where(round_teams.c.round_id == round_id, round_teams.c.side_code == side_code)
            .values(members=members)
        )


@pytest.mark.parametrize("viewport", SIZES)
def test_a_refusal_is_decided_and_the_device_remembers_records_offline(
    live_server, open_context, viewport
):
    """A record the server refuses for good (403: taken off the round's team after the page
    had the round) waits for a choice, and once discarded the marker is free again (also
    after a reload); an inspector the page knows is not on the team is told before typing
    a record; a marker
    recorded online is still known after an offline reload, so the second visit is offered
    as a re-inspection and not refused at sync."""
    from helpers import ensure_user

    from boundaries.staff import set_profile
    from gazetteer.core.actors import Actor

    base, store = live_server["url"], live_server["store"]
    line = find_line(store, "韶惠线")
    register_staff(store, line)
    outsider = Actor("inspector_c", frozenset({"inspector"}))
    ensure_user(store, outsider.username, "inspector")
    set_profile(
        store,
        outsider.username,
        {"full_name": "刘洋", "organisation": "甲方民政局", "side_code": line["side_a_code"]},
        ADMIN,
    )
    markers = list_markers(store, line_id=line["id"])[:3]
    plan = {
        "line_id": line["id"], "round_no": 5, "plan": "逐桩检查。", "section_to_seq": markers[-1]["seq"],
        "planned_start": "2026-11-01", "planned_end": "2026-12-31",
        "teams": [
            {"side_code": line["side_a_code"], "members": [INSPECTOR_A.username]},
            {"side_code": line["side_b_code"], "members": [INSPECTOR_B.username]},
        ],
    }  # fmt: skip
    rnd = inspection_service.create_round(store, plan, OFFICER)
    inspection_service.start_round(store, rnd["id"], OFFICER)
    first = markers[0]["number"]

    # ---- 刘洋 is not on the team: the round is marked, and he is told at the form ----
    context, watch = open_context(viewport)
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, base, outsider.username, f"/inspect?round={rnd['id']}")
    option = page.locator(f"#round-select option[value='{rnd['id']}']")
    option.wait_for(state="attached")
    assert "不在本轮联检队伍中" in option.inner_text()
    page.select_option("#round-select", str(rnd["id"]))
    page.wait_for_selector("#map[data-ready='1']")
    choose_in_list(page, first)
    record(page, "intact", "路过顺手记录")
    page.wait_for_selector("#form-message:has-text('您不在本轮联检队伍中，不能录入')")
    assert page.inner_text("#queue-count") == "0"

    # ---- put on the team, he loads the round; taken off again before he saves: 403 ----
    set_members(store, rnd["id"], line["side_a_code"], [INSPECTOR_A.username, outsider.username])
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector(
        f"#round-select option[value='{rnd['id']}'][data-member='1']", state="attached"
    )
    choose_in_list(page, first)
    set_members(store, rnd["id"], line["side_a_code"], [INSPECTOR_A.username])
    record(page, "intact", "路过顺手记录")
    failed = page.locator("#queue-list li.status-failed")
    failed.wait_for(timeout=20000)  # not "待发送" forever: a refusal to decide on
    assert "不是" in failed.inner_text() and "刘洋" in failed.inner_text()
    buttons = [failed.locator(f"button:has-text('{t}')") for t in ("重试", "放弃这条记录")]
    retry_box, drop_box = (b.bounding_box() for b in buttons)
    gap = max(
        drop_box["x"] - (retry_box["x"] + retry_box["width"]),
        drop_box["y"] - (retry_box["y"] + retry_box["height"]),
    )
    assert gap >= 8, (retry_box, drop_box)  # two thumbs' worth apart, not touching
    buttons[1].click()
    page.wait_for_selector("#queue-count:has-text('0')")
    # Discarded: the marker is free again, now and after a reload.
    choose_in_list(page, markers[1]["number"])
    choose_in_list(page, first)
    assert (
        page.is_hidden("#existing-record") and page.inner_text("#record-submit") == "保存检查记录"
    )
    page.reload()
    page.locator(f"#round-select option[value='{rnd['id']}']").wait_for(state="attached")
    page.select_option("#round-select", str(rnd["id"]))
    page.locator("#marker-jump option[value]:not([value=''])").first.wait_for(state="attached")
    choose_in_list(page, first)
    assert (
        page.is_hidden("#existing-record") and page.inner_text("#record-submit") == "保存检查记录"
    )
    kept = page.evaluate(f"localStorage.getItem('gdgis.round.{rnd['id']}.records')")
    assert kept in (None, "{}"), kept
    assert unexpected(watch.errors, "403 (FORBIDDEN)") == [] and watch.blocked == []

    # ---- 王强 records online, goes offline and reloads: the device still knows it ----
    a_ctx, a_watch = open_context(viewport)
    a_page = a_ctx.new_page()
    sign_in(a_page, base, INSPECTOR_A.username, f"/inspect?round={rnd['id']}")
    a_page.wait_for_selector("#map[data-ready='1']")
    wait_for_service_worker(a_page)
    a_page.wait_for_selector("#round-info[data-cached='1']", timeout=30000)
    choose_in_list(a_page, first)
    record(a_page, "faded", "注记模糊")
    a_page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    a_ctx.set_offline(True)
    a_page.reload()
    a_page.wait_for_selector("#map[data-ready='1']")
    choose_in_list(a_page, first)
    a_page.wait_for_selector("#existing-record:not([hidden])")
    assert a_page.inner_text("#record-submit") == "保存为补充记录"
    a_page.fill("input[name=reason]", "复查")
    a_page.check("input[name=amend_kind][value=reinspection]")
    record(a_page, "damaged", "基座开裂")
    a_page.wait_for_selector("#form-message:has-text('离线')")
    a_ctx.set_offline(False)
    a_page.wait_for_selector("#queue-count:has-text('0')")
    rows, amended = records(store)
    assert rows[markers[0]["id"]].found_state == "damaged" and len(amended) == 1
    assert a_watch.errors == [] and a_watch.blocked == []


def test_a_plan_sent_before_the_page_script_ran_is_held_and_sent_on_the_next_press(
    live_server, open_context
):
    """A slow connection: the plan page is drawn, the officer fills it in and presses save
    before rounds.js has arrived. The browser's own submission would reload the page with the
    plan in its address and save nothing (CI, 2026-11-30); it is held and said instead, the
    typing stays, and the next press, once the script is there, saves the plan."""
    from boundaries.tables import inspection_rounds

    base, store = live_server["url"], live_server["store"]
    line = find_line(store, "韶惠线")
    register_staff(store, line)
    held = []

    def plans() -> list[str]:
        with store.read() as conn:
            return conn.execute(sa.select(inspection_rounds.c.plan)).scalars().all()

    before = plans()

    def hold_script(route):
        if held:
            route.fallback()
        else:
            held.append(route)  # let through below, after the first press

    context, watch = open_context(TABLET_PORTRAIT)
    page = context.new_page()
    sign_in(page, base, OFFICER.username, "/boundaries/due")
    page.route("**/static/rounds.js*", hold_script)
    plan_url = f"{base}/boundaries/rounds/new?line_id={line['id']}"
    page.goto(plan_url, wait_until="commit")
    page.wait_for_selector("#plan-form button[type=submit]")
    while not held:
        page.wait_for_timeout(50)
    page.fill("input[name=planned_start]", "2026-11-01")
    page.fill("input[name=planned_end]", "2026-12-20")
    page.fill("textarea[name=plan]", "脚本未到时填写的方案")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#plan-form .form-guard:has-text('页面仍在加载，尚未提交')")
    assert (
        page.url == plan_url and page.input_value("textarea[name=plan]") == "脚本未到时填写的方案"
    )
    assert plans() == before
    held[0].fallback()
    page.wait_for_selector("#plan-form[data-ready='1']")
    page.click("#plan-form button[type=submit]")
    after_reload(page, "#start-round")
    assert plans() == [*before, "脚本未到时填写的方案"]
    assert watch.errors == [] and watch.blocked == []
