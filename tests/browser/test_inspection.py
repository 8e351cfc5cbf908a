"""Inspection mode on a tablet: record one inspection online, one offline, and see the
offline one reach the server exactly once when the network returns."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from boundaries.tables import inspections
from gazetteer.core.store import read_all
from tests.browser.conftest import TABLET_PORTRAIT, screenshot, sign_in, wait_for_service_worker
from tests.browser.pages import png, select_marker
from tests.helpers import ensure_user

pytestmark = pytest.mark.browser


def stored(store, record_id=None) -> list[dict]:
    """The inspection rows in the store (one record's when ``record_id`` is given)."""
    query = sa.select(
        inspections.c.id,
        inspections.c.found_state,
        inspections.c.marker_id,
        inspections.c.measurement_method,
    )
    return read_all(store, query, inspections.c.id, where={inspections.c.id: record_id})


def inspect_as(live_server, open_context, username: str = "inspector_a"):
    """(page, watch, the round line's marker numbers): ``username`` signed in on /inspect
    on a tablet in portrait, the round loaded."""
    context, watch = open_context(TABLET_PORTRAIT)
    page = context.new_page()
    sign_in(page, live_server["url"], username, "/inspect")
    page.wait_for_selector("#map[data-ready='1']")
    numbers = page.evaluate(
        f"fetch('/api/boundaries/markers?line_id={live_server['line']['id']}')"
        ".then(r => r.json()).then(d => d.features.map(f => f.properties.number))"
    )
    return page, watch, numbers


def sign_out(page, base: str) -> None:
    page.goto(f"{base}/auth/logout")
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")


def answer_error(route, status: int, message: str, headers: dict | None = None) -> None:
    """Answer an intercepted request as the app's JSON error shape would."""
    body = {"error": {"code": f"http_{status}", "message": message, "details": {}}}
    route.fulfill(status=status, headers=headers or {}, json=body)


def open_marker(page, number: str) -> None:
    """Bring a marker of the round into view by its number, then tap it on the map."""
    select_marker(page, number)
    icon = page.locator(f".bm-icon[title='{number}']")
    icon.wait_for()
    icon.tap()
    page.wait_for_selector(f"#current-marker:has-text('{number}')")
    page.wait_for_selector("#marker-facts dd")


def stand_at(page, live_server, number: str) -> dict:
    """Put the device's GPS fix on marker ``number``'s registered position (3 m accuracy),
    so that a position taken there passes the distance guard; returns the marker."""
    from boundaries.markers import list_markers

    line_id = live_server["line"]["id"]
    (at,) = [
        m for m in list_markers(live_server["store"], line_id=line_id) if m["number"] == number
    ]
    page.context.set_geolocation({"longitude": at["lon"], "latitude": at["lat"], "accuracy": 3})
    return at


def test_record_online_then_offline_and_sync_exactly_once(live_server, open_context):
    base, store = live_server["url"], live_server["store"]
    context, watch = open_context(
        TABLET_PORTRAIT, geolocation={"longitude": 109.6, "latitude": 21.9, "accuracy": 6}
    )
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, base, "inspector_a", "/inspect")
    page.wait_for_selector("#map[data-ready='1']")
    wait_for_service_worker(page)
    page.wait_for_selector("#round-info[data-cached='1']", timeout=30000)
    markers = page.evaluate(
        f"fetch('/api/boundaries/markers?line_id={live_server['line']['id']}')"
        ".then(r => r.json()).then(d => d.features.map(f => f.properties.number))"
    )
    first, second = markers[0], markers[1]

    # Online: locate, open a marker, record it with the GPS position.
    page.click("#locate")
    page.wait_for_selector("#position:has-text('我的位置')")
    open_marker(page, first)
    assert "距离约" in page.inner_text("#marker-nav") and "°" in page.inner_text("#marker-nav")
    assert "演示数据" in page.inner_text("#marker-demo")
    page.check("input[name=found_state][value=faded]")
    page.fill("textarea[name=notes]", "注记模糊 <b>需描红</b>")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('已同步到服务器')")
    rows = stored(store)
    assert len(rows) == 1 and rows[0]["found_state"] == "faded"
    screenshot(page, "inspect-online-768x1024")

    # Offline: the record waits on the device and the queue shows it.
    context.set_offline(True)
    page.wait_for_selector("#net-status.offline")
    open_marker(page, second)
    page.check("input[name=found_state][value=tilted]")
    page.fill("textarea[name=notes]", "界桩向南倾斜")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('离线')")
    page.click("#queue-toggle")
    page.wait_for_selector("#queue-count:has-text('1')")
    assert "待发送" in page.inner_text("#queue-list")
    record_id = page.get_attribute("#queue-list li.status-pending", "data-id")
    assert len(stored(store)) == 1

    # Still offline, the app shell and the round come from the service worker's cache.
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector("#queue-count:has-text('1')")
    page.wait_for_selector(".bm-icon, .marker-cluster")
    screenshot(page, "inspect-offline-queue-768x1024")
    # each marker's history is the copy kept when the round opened (no record then): the
    # round's record as the device knows it heads it (user test: it read 尚无检查记录)
    open_marker(page, second)
    page.wait_for_selector("#marker-history li:has-text('本轮 · 倾斜')")
    assert "在本设备待同步" in page.inner_text("#marker-history")
    assert "尚无检查记录" not in page.inner_text("#marker-history")
    open_marker(page, first)
    page.wait_for_selector("#marker-history li:has-text('字迹模糊')")
    assert "尚无检查记录" not in page.inner_text("#marker-history")

    # Back online: the queue flushes by itself, once.
    context.set_offline(False)
    page.wait_for_selector("#queue-count:has-text('0')", timeout=15000)
    assert [r["found_state"] for r in stored(store, record_id)] == ["tilted"]
    page.click("#queue-toggle") if page.is_hidden("#queue") else None
    page.click("#queue-flush")
    again = page.evaluate(
        """(body) => fetch('/api/boundaries/inspections', {method: 'POST',
        headers: {'Content-Type': 'application/json',
                  'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
        body: JSON.stringify(body)}).then(r => r.status)""",
        {
            "id": record_id,
            "round_id": live_server["round"]["id"],
            "marker": second,
            "found_state": "tilted",
        },
    )
    assert again == 200  # the same client id again: a no-op
    assert len(stored(store, record_id)) == 1 and len(stored(store)) == 2
    screenshot(page, "inspect-synced-768x1024")
    assert watch.errors == [] and watch.blocked == []


def test_a_record_the_server_was_too_busy_for_is_sent_again_by_itself(live_server, open_context):
    """Online, the server answers the first send with 503: the record waits on the device,
    says it will be sent again, and goes through a few seconds later with nothing pressed
    (the "online" event came long before; a field network that drops requests stays online)."""
    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    number = numbers[2]
    refused = []

    def busy_once(route):
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            answer_error(route, 503, "服务器繁忙", {"Retry-After": "1"})
        else:
            route.fallback()

    page.route("**/api/boundaries/inspections", busy_once)
    open_marker(page, number)
    page.check("input[name=found_state][value=damaged]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('稍后自动同步')")
    assert len(refused) == 1 and stored(store) == []
    page.click("#queue-toggle")
    page.wait_for_selector("#queue-list li.status-pending:has-text('稍后自动重发')")

    # Nothing pressed: the outbox tries again by itself.
    page.wait_for_selector("#queue-count:has-text('0')", timeout=30000)
    assert [r["found_state"] for r in stored(store)] == ["damaged"]
    # and the form, which said it would be sent later, says it went
    page.wait_for_selector("#form-message:has-text('已自动同步到服务器')")
    assert number in page.inner_text("#form-message")
    assert [e for e in watch.errors if "503" not in e] == [] and watch.blocked == []


def test_picking_the_next_marker_while_a_slow_save_is_sent(live_server, open_context):
    """A slow network: the inspector saves one marker and, while it is still being sent,
    picks the next and starts its record. The answer must leave them on the next marker
    with what they typed (user test, 2026-11-30: the page went back to the first marker,
    keeping the form, and the next save amended the first marker's record)."""
    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    first, second, third = numbers[3], numbers[4], numbers[5]
    held = []

    def hold_first(route):
        if route.request.method == "POST" and not held:
            held.append(route)  # answered below, after the inspector moved on
        elif route.request.method == "POST" and "refuse" in (route.request.post_data or ""):
            answer_error(route, 400, "测试拒绝")
        else:
            route.fallback()

    page.route("**/api/boundaries/inspections", hold_first)
    open_marker(page, first)
    page.check("input[name=found_state][value=intact]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('正在同步')")
    while not held:
        page.wait_for_timeout(50)
    open_marker(page, second)
    page.check("input[name=found_state][value=buried]")
    page.fill("textarea[name=notes]", "第二颗：被掩埋")
    held[0].fallback()  # the first record's answer arrives now
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    assert page.inner_text("#current-marker") == second
    assert page.input_value("textarea[name=notes]") == "第二颗：被掩埋"
    assert page.is_checked("input[name=found_state][value=buried]")
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {second}')")
    by_marker = {r["marker_id"]: r["found_state"] for r in stored(store)}
    assert sorted(by_marker.values()) == ["buried", "intact"] and len(by_marker) == 2
    # a second tap on the reset form (完好, no note) saves nothing over what was recorded:
    # saving waits for a change, and the box above the form tells the recorded state
    assert page.is_disabled("#record-submit")
    assert "掩埋）" in page.inner_text("#existing-record")  # with whose, once known
    assert page.is_checked("input[name=found_state][value=buried]")  # from the record
    page.fill("textarea[name=notes]", "复查")
    assert page.is_enabled("#record-submit")
    # reopened later, the marker's form again starts from its record and waits for a change
    open_marker(page, first)
    assert page.is_disabled("#record-submit")
    assert page.is_checked("input[name=found_state][value=intact]")

    # A refusal is not promised a resend: it waits for the inspector's choice.
    open_marker(page, third)
    page.check("input[name=found_state][value=faded]")
    page.fill("textarea[name=notes]", "refuse")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('服务器未接受')")
    page.wait_for_selector("#queue-list li.status-failed")  # the outbox opens by itself
    failed = page.inner_text("#queue-list li.status-failed")
    assert "测试拒绝" in failed and "自动重发" not in failed
    assert [e for e in watch.errors if "400" not in e] == [] and watch.blocked == []


def test_a_record_held_back_by_its_photo_or_note_is_mended_on_the_device(live_server, open_context):
    """A note with half a character pair is refused at the form, before it is queued; a
    'photo' that is not an image is refused by the server, and the inspector sends the
    findings without it rather than typing them again (user test, 2026-11-30: the only
    choices were to move, export, retry or discard the whole record)."""
    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    number = numbers[6]
    open_marker(page, number)
    page.check("input[name=found_state][value=tilted]")
    page.evaluate("document.querySelector('textarea[name=notes]').value = '倾斜\\ud800约十度'")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('不成对的代理项')")
    assert page.inner_text("#queue-count") == "0" and stored(store) == []
    # an escape character pasted in: the server's rule for text, said at the form
    page.evaluate("document.querySelector('textarea[name=notes]').value = '倾斜\x1b[31m'")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('控制字符')")
    assert page.inner_text("#queue-count") == "0" and stored(store) == []

    # the second try: the note mended, a text file named like a photo attached
    page.fill("textarea[name=notes]", "倾斜约十度")
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "fake.jpg", "mimeType": "image/jpeg", "buffer": b"not an image"}],
    )
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('服务器未接受')")
    page.wait_for_selector("#queue-list li.status-failed")  # the outbox opens by itself
    failed = page.inner_text("#queue-list li.status-failed")
    assert "只接受 JPEG、PNG 或 WebP" in failed and "（photo）" not in failed
    page.click("#queue-list li.status-failed button:has-text('去掉照片，只发送检查记录')")
    page.wait_for_selector("#queue-count:has-text('0')")
    assert [(r["found_state"]) for r in stored(store)] == ["tilted"]
    # an accuracy without a position is said, not dropped
    open_marker(page, number)
    page.fill("input[name=measurement_accuracy_m]", "0")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('请同时填写实测经纬度')")
    # a position a degree away is refused at the form, as the server would refuse it
    # (a user test: it was offered as 界桩确已移位, then refused at sync for good)
    page.fill("input[name=measured_lat]", "21.9")  # a latitude alone: the longitude is asked for
    page.check("input[name=amend_kind][value=reinspection]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('实测位置请同时填写经度和纬度')")
    page.fill("input[name=measured_lon]", "21.9")  # the two swapped
    page.fill("input[name=measured_lat]", "109.5")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('疑似经纬度颠倒')")
    page.fill("input[name=measured_lat]", "21.9")
    page.fill("input[name=measured_lon]", "111.0")
    page.select_option("select[name=measurement_method]", "rtk")
    page.check("input[name=amend_kind][value=reinspection]")  # (the marker has its record)
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('超过 300 米：请核对界桩编号')")
    assert page.is_hidden("#guard") and page.inner_text("#queue-count") == "0"
    page.fill("input[name=measured_lon]", "")
    page.fill("input[name=measured_lat]", "")
    page.select_option("select[name=measurement_method]", "none")
    # 使用当前 GPS 位置 before 定位我: one tap locates and fills the position in
    page.click("#use-gps")
    page.wait_for_selector("#form-message:has-text('已填入当前 GPS 位置')")
    assert page.input_value("input[name=measured_lon]") == "109.5000000"
    assert page.input_value("input[name=measurement_accuracy_m]") == "8"
    assert [e for e in watch.errors if "400" not in e] == [] and watch.blocked == []


def test_a_note_the_server_refused_is_mended_in_the_outbox(live_server, open_context):
    """The server refuses a record's note for a rule the page does not know (an older page
    in the device's cache, a rule changed since): the outbox offers a text box with the
    note to mend, held to the form's rules, and sends the record again (it was a browser
    prompt: a one-line box on a tablet, and the typing lost on any redraw)."""
    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    number = numbers[5]
    refused = []

    def refuse_once(route):
        if refused:
            return route.continue_()
        refused.append(route.request.post_data_json["notes"])
        body = {
            "error": {
                "code": "invalid",
                "message": "备注不符合要求：请写明界桩现状",
                "details": {"field": "notes"},
            }
        }
        route.fulfill(status=400, json=body)

    page.route("**/api/boundaries/inspections", refuse_once)
    open_marker(page, number)
    page.check("input[name=found_state][value=tilted]")
    page.fill("textarea[name=notes]", "见照片")
    page.click("#record-submit")
    page.wait_for_selector("#queue-list li.status-failed")
    mend = page.locator("#queue-list li.status-failed .queue-mend textarea")
    assert mend.input_value() == "见照片" and refused == ["见照片"]
    mend.fill("向南倾斜约十度\x1b")
    page.click("#queue-list li.status-failed button:has-text('修改备注后重新发送')")
    page.wait_for_selector(".queue-mend .error:has-text('控制字符')")
    assert stored(store) == []
    # the second try, after another marker's record redrew the outbox: the typing is there
    mend.fill("向南倾斜约十度")
    open_marker(page, numbers[7])
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {numbers[7]}')")
    assert len(stored(store)) == 1
    assert mend.input_value() == "向南倾斜约十度"
    page.click("#queue-list li.status-failed button:has-text('修改备注后重新发送')")
    page.wait_for_selector("#queue-count:has-text('0')")
    with store.read() as conn:
        notes = conn.execute(sa.select(inspections.c.notes)).all()
    assert sorted(n or "" for (n,) in notes) == ["", "向南倾斜约十度"]  # (either store's order)
    assert [e for e in watch.errors if "400" not in e] == [] and watch.blocked == []


def test_an_inspector_not_on_the_team_is_told_before_typing_a_record(live_server, open_context):
    """Picking, by hand, a round whose teams do not list them, an inspector sees its
    markers and is told at once that they cannot record there; a save is refused at the
    form, nothing is queued and no marker changes colour (user test, 2026-11-30: the whole
    form filled in, the refusal came after the save and the marker was recoloured)."""
    base, store = live_server["url"], live_server["store"]
    ensure_user(store, "inspector_x", "inspector")
    context, watch = open_context(TABLET_PORTRAIT)
    page = context.new_page()
    sign_in(page, base, "inspector_x", "/inspect")
    page.wait_for_selector(
        "#round-select option:has-text('您不在本轮联检队伍中')", state="attached"
    )
    page.select_option("#round-select", str(live_server["round"]["id"]))
    page.wait_for_selector("#round-info:has-text('不能录入')")
    number = page.evaluate(
        f"fetch('/api/boundaries/markers?line_id={live_server['line']['id']}')"
        ".then(r => r.json()).then(d => d.features[8].properties.number)"
    )
    open_marker(page, number)
    page.check("input[name=found_state][value=damaged]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('您不在本轮联检队伍中，不能录入')")
    assert page.inner_text("#queue-count") == "0" and stored(store) == []
    assert watch.errors == [] and watch.blocked == []


def test_a_tablet_handed_over_sends_each_record_only_as_its_inspector(live_server, open_context):
    """Side A's inspector records offline and signs out before it is sent; side B's signs
    in on the same tablet. The record is not sent in B's session (it would be stored as
    B's finding): it waits, saying whose it is, until A signs in again (user test,
    2026-11-30: the record was stored as inspected by the other side's inspector)."""
    base, store = live_server["url"], live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    number = numbers[7]
    # the server is busy while A records: the record waits on the tablet
    page.route(
        "**/api/boundaries/inspections",
        lambda route: (
            answer_error(route, 503, "服务器繁忙")
            if route.request.method == "POST"
            else route.fallback()
        ),
    )
    open_marker(page, number)
    page.check("input[name=found_state][value=faded]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('稍后自动同步')")
    page.unroute("**/api/boundaries/inspections")
    sign_out(page, base)  # the handover, before the outbox drained
    sign_in(page, base, "inspector_b", "/inspect")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector(
        "#queue-list li:has-text('由 王强（甲方民政局） 录入')", state="attached"
    )
    assert stored(store) == [] and page.inner_text("#queue-count") == "1"
    # the second action: A signs in again on the tablet, and it goes, as A's
    sign_out(page, base)
    sign_in(page, base, "inspector_a", "/inspect")
    page.wait_for_selector("#queue-count:has-text('0')")
    with store.read() as conn:
        by = conn.execute(sa.select(inspections.c.inspected_by)).scalars().all()
    assert by == ["inspector_a"]
    assert watch.blocked == []


def test_what_was_typed_for_a_marker_waits_while_another_is_looked_at(live_server, open_context):
    """The inspector types a finding for one marker, then looks at the next (to compare, or
    tapped by mistake) and comes back: the finding, the note and the photo are there to save
    (user test, 2026-11-30: switching markers emptied the form). Saved, nothing is kept: the
    marker reopens on its record (its finding, note included), not on a draft."""
    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    first, second = numbers[7], numbers[8]
    open_marker(page, first)
    page.check("input[name=found_state][value=damaged]")
    page.fill("textarea[name=notes]", "桩顶破损，字迹模糊")
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "top.png", "mimeType": "image/png", "buffer": png((200, 40, 40))}],
    )
    open_marker(page, first)  # a second tap on the same marker keeps the typing
    assert page.input_value("textarea[name=notes]") == "桩顶破损，字迹模糊"
    open_marker(page, second)
    assert f"界桩 {first} 的填写尚未保存，已暂存" in page.inner_text("#form-message")
    assert page.input_value("textarea[name=notes]") == ""
    assert page.is_checked("input[name=found_state][value=intact]")
    open_marker(page, first)
    assert f"已恢复此前为界桩 {first} 填写但未保存的内容" in page.inner_text("#form-message")
    assert page.is_checked("input[name=found_state][value=damaged]")
    assert page.input_value("textarea[name=notes]") == "桩顶破损，字迹模糊"
    assert "top.png" in page.inner_text("#photo-names")
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    with store.read() as conn:
        saved = conn.execute(sa.select(inspections)).one()
    assert (saved.found_state, saved.notes, len(saved.photos)) == (
        "damaged",
        "桩顶破损，字迹模糊",
        1,
    )
    # the second action: away and back after the save, the form is the record's, unchanged
    open_marker(page, second)
    assert "已暂存" not in page.inner_text("#form-message")
    open_marker(page, first)
    assert "已恢复" not in page.inner_text("#form-message")
    assert page.input_value("textarea[name=notes]") == "桩顶破损，字迹模糊"  # the record's
    assert page.is_checked("input[name=found_state][value=damaged]")
    assert page.is_disabled("#record-submit")
    assert watch.errors == [] and watch.blocked == []


def test_a_paired_markers_two_icons_are_told_apart_by_a_list(live_server, open_context):
    """A paired number's two markers (同号双立, 10–50 m apart) draw their icons on top of
    each other until the map is zoomed far in: a tap there lists both, and either is
    chosen (user test, 2026-12-01: a tap always picked the top one, and Playwright could
    not tap the other). Zoomed in until they stand apart, a tap picks its own at once."""
    page, watch, numbers = inspect_as(live_server, open_context)
    pair = sorted(n for n in numbers if n.endswith(("A", "B")))[:2]
    assert pair[0][:-1] == pair[1][:-1], pair
    select_marker(page, pair[0])
    page.wait_for_selector(f"#current-marker:has-text('{pair[0]}')")
    page.wait_for_timeout(800)  # the view moves to it
    box = page.locator(f".bm-icon[title='{pair[1]}']").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    chooser = page.locator(".bm-choose")
    chooser.wait_for()
    screenshot(page, "inspect-paired-list")
    assert "此处有 2 个界桩" in chooser.inner_text()
    assert [b.inner_text().split(" ")[0] for b in chooser.locator("button").all()] == pair
    chooser.locator(f"button:has-text('{pair[1]}')").tap()
    page.wait_for_selector(f"#current-marker:has-text('{pair[1]}')")
    page.wait_for_selector(".bm-choose", state="detached")  # the list closes (faded out)
    # the second action: the other one of the pair, from the same spot
    box = page.locator(f".bm-icon[title='{pair[0]}']").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(f".bm-choose button:has-text('{pair[0]}')").tap()
    page.wait_for_selector(f"#current-marker:has-text('{pair[0]}')")
    page.wait_for_selector(".bm-choose", state="detached")
    screenshot(page, "inspect-paired-chosen")
    # zoomed in until the icons stand apart, a tap is no longer asked about
    zoom_in = page.locator(".leaflet-control-zoom-in:not(.leaflet-disabled)")
    while zoom_in.count():  # to the map's last zoom
        zoom_in.click()
        page.wait_for_timeout(400)
    select_marker(page, pair[1])  # brought into view at this zoom
    page.wait_for_selector(f"#current-marker:has-text('{pair[1]}')")
    page.wait_for_timeout(400)
    box = page.locator(f".bm-icon[title='{pair[0]}']").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f"#current-marker:has-text('{pair[0]}')")
    assert page.locator(".bm-choose").count() == 0
    assert watch.errors == [] and watch.blocked == []


def test_a_note_pasted_past_the_limit_is_said_to_be_cut(live_server, open_context):
    """The note box stops at the server's limit; a longer text pasted in (a report copied
    from elsewhere) used to be cut there without a word (user test, 2026-11-30)."""
    from boundaries.inspections import NOTES_MAX_CHARS

    page, watch, numbers = inspect_as(live_server, open_context)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_marker(page, numbers[6])
    page.fill("textarea[name=notes]", "开头")
    long_text = "界" * (NOTES_MAX_CHARS + 10)
    page.evaluate("(t) => navigator.clipboard.writeText(t)", long_text)
    page.focus("textarea[name=notes]")
    page.keyboard.press("Control+V")
    said = f"粘贴的文字共 {len(long_text)} 字，备注最多 {NOTES_MAX_CHARS} 字：只粘贴了前 {NOTES_MAX_CHARS - 2} 字"
    page.wait_for_selector(f"#notes-count:has-text('{said}')")
    assert len(page.input_value("textarea[name=notes]")) == NOTES_MAX_CHARS
    # the second action: typing on (here, deleting) shows the count again
    page.keyboard.press("Backspace")
    page.wait_for_selector(f"#notes-count:has-text('{NOTES_MAX_CHARS - 1} / {NOTES_MAX_CHARS} 字')")
    assert watch.errors == [] and watch.blocked == []


def test_a_marker_the_other_side_recorded_meanwhile_opens_on_their_record(
    live_server, open_context
):
    """Side B's inspector loaded the round before side A's inspector recorded a marker.
    Opening it, B sees A's record (who, what) and the form amends it, instead of typing a
    record the server refuses at sync (user test, 2026-11-30). B's finding, saved, is an
    amendment of A's record, which keeps A's earlier finding."""
    import uuid

    from boundaries import inspections as inspection_service
    from boundaries.tables import inspection_amendments
    from tests.boundary_helpers import INSPECTOR_A

    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context, "inspector_b")
    first, second = numbers[3], numbers[4]
    open_marker(page, first)  # B starts typing before A's record reaches the server
    page.fill("textarea[name=notes]", "乙方：桩身倾斜")
    for number in (first, second):
        inspection_service.record_inspection(
            store,
            {
                "id": str(uuid.uuid4()),
                "round_id": live_server["round"]["id"],
                "marker": number,
                "found_state": "buried",
            },
            INSPECTOR_A,
        )
    open_marker(page, second)  # untouched: it opens on A's record, save waits for a change
    page.wait_for_selector("#existing-record:has-text('王强（甲方民政局）：掩埋')")
    assert "本轮已有该界桩的检查记录（王强（甲方民政局）：掩埋）" in page.inner_text(
        "#form-message"
    )
    assert page.inner_text("#form-title") == "补充或更正本轮记录"
    assert page.is_checked("input[name=found_state][value=buried]")
    assert page.is_disabled("#record-submit")
    # the second action: back to the first, where B had typed: the typing stays and
    # becomes an amendment of A's record
    open_marker(page, first)
    page.wait_for_selector("#form-message:has-text('您的填写将作为该记录的补充或更正保存')")
    assert page.input_value("textarea[name=notes]") == "乙方：桩身倾斜"
    page.check("input[name=found_state][value=tilted]")
    page.check("input[name=amend_kind][value=reinspection]")
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    with store.read() as conn:
        rows = conn.execute(sa.select(inspections.c.found_state, inspections.c.notes)).all()
        earlier = conn.execute(sa.select(inspection_amendments.c.previous)).scalars().all()
    assert sorted(tuple(r) for r in rows) == [("buried", None), ("tilted", "乙方：桩身倾斜")]
    assert [e["found_state"] for e in earlier] == ["buried"]
    assert page.inner_text("#queue-count") == "0"
    assert watch.errors == [] and watch.blocked == []


def test_a_correction_starts_from_the_record_as_it_now_stands(live_server, open_context):
    """A record with a position and a note, corrected: the form starts from the whole
    finding, so only what is changed changes (user test, 2026-12-01: the correction stored no
    position and no note). A correction needs its reason; the marker is ticked in the list
    once recorded. Then the other side amends it: reopened, the marker shows their finding,
    not the one this device last knew."""
    import uuid

    from boundaries import inspections as inspection_service
    from tests.boundary_helpers import INSPECTOR_B

    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    first, second = numbers[10], numbers[11]
    at = stand_at(page, live_server, first)
    open_marker(page, first)
    page.check("input[name=found_state][value=faded]")
    page.click("#use-gps")
    page.wait_for_selector("#form-message:has-text('已填入当前 GPS 位置')")
    page.fill("textarea[name=notes]", "字迹模糊，需描红。")
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    jump = page.inner_text(f"#marker-jump option:has-text('{first}')")
    assert jump == f"{first} ✓"
    open_marker(page, second)
    open_marker(page, first)
    assert page.input_value("textarea[name=notes]") == "字迹模糊，需描红。"
    measured_lon = page.input_value("input[name=measured_lon]")
    assert measured_lon and float(measured_lon) == pytest.approx(at["lon"], abs=1e-7)
    assert page.input_value("select[name=measurement_method]") == "gnss_handheld"
    page.check("input[name=found_state][value=buried]")
    assert page.is_hidden("#notes-from-record")
    page.check("input[name=amend_kind][value=amendment]")
    assert page.inner_text("#record-submit") == "保存更正"
    # the note comes from the record: a correction asks for it to be read again
    assert page.is_visible("#notes-from-record")
    page.check("input[name=amend_kind][value=reinspection]")
    assert page.is_hidden("#notes-from-record")
    page.check("input[name=amend_kind][value=amendment]")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('更正原记录请填写原因')")
    # a reason is held to the server's rules at the form, not refused at sync
    page.fill("input[name=reason]", "看错了\x1b[31m")
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('原因中有无法保存的字符')")
    page.fill("input[name=reason]", "长" * 2001)
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('原因最多 2000 字（现为 2001 字）')")
    assert page.inner_text("#queue-count") == "0"
    page.fill("input[name=reason]", "看错了：是落叶覆盖")
    assert page.inner_text("#form-message") == ""  # the refusal goes once it is being mended
    page.click("#record-submit")
    page.wait_for_selector("#form-message:has-text('同步到服务器')")  # at once, or by itself
    page.wait_for_selector("#queue-count:has-text('0')")
    with store.read() as conn:
        row = conn.execute(sa.select(inspections)).one()
    assert (row.found_state, row.notes) == ("buried", "字迹模糊，需描红。")
    assert (
        row.measured_lon == pytest.approx(at["lon"], abs=1e-7) and row.measurement_accuracy_m == 3
    )
    # the second action: side B amends it on their device; reopened here, it is theirs
    watch.settle(page)  # after the page's own requests that follow a save
    inspection_service.amend_inspection(
        store,
        row.id,
        {"id": str(uuid.uuid4()), "found_state": "tilted", "kind": "reinspection"},
        INSPECTOR_B,
    )
    open_marker(page, second)
    open_marker(page, first)
    page.wait_for_selector("#existing-record:has-text('陈静（乙方民政局）：倾斜')")
    assert "本轮该界桩的检查记录已更新（陈静（乙方民政局）：倾斜）" in page.inner_text(
        "#form-message"
    )
    assert page.is_checked("input[name=found_state][value=tilted]")
    assert page.input_value("textarea[name=notes]") == ""
    assert page.is_disabled("#record-submit")
    assert [e for e in watch.errors if "409" not in e] == [] and watch.blocked == []


def test_a_slow_answer_asked_before_the_other_sides_change_does_not_bring_back_the_old(
    live_server, open_context
):
    """After a save the page asks for the round's records again. When that answer is slow
    and the other side amends the record meanwhile, the marker reopened learns their record;
    the slow answer, asked before it, then leaves it as it is (a user test read the other
    side's finding in the message and the form, and this side's in the box above the form)."""
    import uuid

    from boundaries import inspections as inspection_service
    from tests.boundary_helpers import INSPECTOR_B

    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    first, second = numbers[10], numbers[11]
    held = []

    def hold(route):
        held.append((route, route.fetch()))  # the round's records as they are when asked

    open_marker(page, first)
    page.check("input[name=found_state][value=faded]")
    # (on the context: the page's service worker may make the request)
    page.context.route("**/api/boundaries/rounds/*/markers", hold)
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {first}')")
    deadline = time.monotonic() + 60
    while not held:
        assert time.monotonic() < deadline, "the page did not ask for the round's records"
        page.wait_for_timeout(50)
    watch.settle(page, held=[held[0][0].request])
    with store.read() as conn:
        record_id = conn.execute(sa.select(inspections.c.id)).scalar()
    inspection_service.amend_inspection(
        store,
        record_id,
        {"id": str(uuid.uuid4()), "found_state": "tilted", "kind": "reinspection"},
        INSPECTOR_B,
    )
    open_marker(page, second)
    open_marker(page, first)
    page.wait_for_selector("#form-message:has-text('陈静（乙方民政局）：倾斜')")
    assert "陈静（乙方民政局）：倾斜" in page.inner_text("#existing-record")
    route, answer = held[0]
    route.fulfill(response=answer)  # the slow answer, asked before B's change, arrives now
    page.context.unroute("**/api/boundaries/rounds/*/markers")
    watch.settle(page)
    assert "陈静（乙方民政局）：倾斜" in page.inner_text("#existing-record")
    assert page.is_checked("input[name=found_state][value=tilted]")
    # the second action: the marker chosen again still says B's record, and so does a reload
    open_marker(page, second)
    open_marker(page, first)
    assert "陈静（乙方民政局）：倾斜" in page.inner_text("#existing-record")
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    open_marker(page, first)
    page.wait_for_selector("#existing-record:has-text('陈静（乙方民政局）：倾斜')")
    assert [e for e in watch.errors if "409" not in e] == [] and watch.blocked == []


def test_a_correction_of_a_record_the_other_side_changed_meanwhile_waits_for_a_decision(
    live_server, open_context
):
    """A has the marker open on A's own record; side B corrects it from their device; A,
    not having looked again, corrects it too. A's correction is held with B's finding named
    (not silently put over it), and A replaces it only by choosing to (user test,
    2026-12-01: B's correction was overwritten unseen)."""
    import uuid

    from boundaries import inspections as inspection_service
    from tests.boundary_helpers import INSPECTOR_B

    store = live_server["store"]
    page, watch, numbers = inspect_as(live_server, open_context)
    number = numbers[10]
    stand_at(page, live_server, number)
    open_marker(page, number)
    page.check("input[name=found_state][value=faded]")
    page.click("#record-submit")
    page.wait_for_selector(f"#form-message:has-text('已同步到服务器：界桩 {number}')")
    # the page has asked for everything it asks after a save (the marker's history): B's
    # change below is one it has not seen (else it learns it, and A's correction is fine)
    watch.settle(page)
    with store.read() as conn:
        record_id = conn.execute(sa.select(inspections.c.id)).scalar()
    inspection_service.amend_inspection(
        store,
        record_id,
        {"id": str(uuid.uuid4()), "found_state": "damaged", "reason": "实为损坏"},
        INSPECTOR_B,
    )
    page.check("input[name=found_state][value=tilted]")
    page.check("input[name=amend_kind][value=amendment]")
    page.fill("input[name=reason]", "A 再更正")
    page.click("#record-submit")
    page.wait_for_selector("#queue-list li.status-failed")
    failed = page.inner_text("#queue-list li.status-failed")
    assert "已由 陈静 改为损坏" in failed
    with store.read() as conn:
        assert conn.execute(sa.select(inspections.c.found_state)).scalar() == "damaged"
    # the page shows the record as it is (B's), not A's refused correction as its finding
    page.wait_for_selector("#existing-record:has-text('陈静（乙方民政局）：损坏')")
    assert "未被服务器接受" in page.inner_text("#existing-record")
    assert "服务器未接受" in page.inner_text("#form-message")
    assert page.is_checked("input[name=found_state][value=damaged]")
    # the second action: having read it, A replaces B's finding on purpose
    page.click("#queue-list li.status-failed button:has-text('仍以本条替换')")
    page.wait_for_selector("#queue-count:has-text('0')")
    page.wait_for_selector("#form-message:has-text('已按您的选择同步到服务器')")
    # the open form is the record as now stored (it kept B's finding, which a next
    # correction then put back)
    page.wait_for_function(
        "document.querySelector('input[name=found_state][value=tilted]').checked"
    )
    with store.read() as conn:
        assert conn.execute(sa.select(inspections.c.found_state)).scalar() == "tilted"
    # the page says what is stored, not A's first finding still listed as sent in the outbox
    page.wait_for_selector("#existing-record:has-text('倾斜）')")
    assert "字迹模糊" not in page.inner_text("#existing-record")
    assert [e for e in watch.errors if "409" not in e] == [] and watch.blocked == []
