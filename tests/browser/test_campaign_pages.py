"""The campaign pages in headless Chromium at tablet size (every request outside the app
refused): the 大洋怪重 clean-up worklist (build, filter, keep with a reason, a clerk only
reads), fast 上图 one name after another by map click and keyboard (a wrong point refused,
the retry placed, S skips), bulk placement from a CSV with a broken row, and a division
rename refused by the naming rules on its page."""

from __future__ import annotations

import pytest
from helpers import ensure_user

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, screenshot, sign_in

pytestmark = pytest.mark.browser

HUADU = "440114"
TIANHE = "440106"


def size_of(viewport) -> str:
    return f"{viewport['width']}x{viewport['height']}"


@pytest.mark.parametrize(
    "viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT], ids=["1024x768", "768x1024"]
)
def test_cleanup_worklist_page(live_server, open_context, viewport):
    store, url = live_server["store"], live_server["url"]
    ensure_user(store, "wang", "officer")
    ensure_user(store, "li", "clerk")
    context, watch = open_context(viewport)
    page = context.new_page()
    sign_in(page, url, "wang", "/officer/cleanup")
    assert page.url.endswith("/officer/cleanup")
    assert "清单为空" in page.locator("table.progress-table").inner_text()
    page.fill("#build-form input[name=division]", HUADU)
    page.click("#build-form button[type=submit]")
    page.wait_for_selector(".flashes")
    assert "不规范" in page.locator(".flashes").inner_text()
    progress = page.locator("table.progress-table tbody tr").first.inner_text()
    assert "广州市" in progress and "0.0%" in progress
    # Filter to 怪 and find the name with a rare character.
    page.select_option("select[name=kind]", "怪")
    page.fill("#cleanup-filters input[name=q]", "岗村委会")
    page.click("#cleanup-filters button[type=submit]")
    row = page.locator("table.cleanup-table tr", has_text="㘵岗村委会")
    assert "通用规范汉字表" in row.inner_text()
    # Keep without a reason: the browser asks for it (required); then with a reason.
    row.locator("button", has_text="保留").click()
    assert row.locator("input[name=reason]").evaluate("e => !e.validity.valid")
    row.locator("input[name=reason]").fill("村名沿用已久（测试）")
    row.locator("button", has_text="保留").click()
    page.wait_for_selector(".flashes")
    assert "保留" in page.locator(".flashes").inner_text()
    kept = page.locator("table.cleanup-table tr", has_text="㘵岗村委会")
    assert (
        "村名沿用已久" in kept.inner_text() and kept.locator("button", has_text="重新审查").count()
    )
    assert page.url.count("kind=") == 1  # back on the same filtered list
    screenshot(page, f"officer-cleanup-{size_of(viewport)}")
    # The CSV export link carries the filter.
    assert "kind=" in page.locator("a", has_text="导出 CSV").get_attribute("href")
    # A clerk sees the list and the progress, with no decision buttons.
    context.clear_cookies()
    sign_in(page, url, "li", "/officer/cleanup")
    assert page.locator("table.cleanup-table tbody tr").count() > 1
    assert page.locator("table.cleanup-table button").count() == 0
    assert page.locator("#build-form").count() == 0
    box = page.locator("table.progress-table").bounding_box()
    assert box["x"] >= 12 and box["x"] + box["width"] <= viewport["width"]
    assert watch.errors == [] and watch.blocked == []


def current_name(page) -> str:
    return page.locator("#current .name").inner_text()


@pytest.mark.parametrize(
    "viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT], ids=["1024x768", "768x1024"]
)
def test_fast_placement_one_after_another(live_server, open_context, viewport):
    store, url = live_server["store"], live_server["url"]
    ensure_user(store, "wang", "officer")
    context, watch = open_context(viewport)
    page = context.new_page()
    sign_in(page, url, "wang", "/officer/placement?city=440100")
    tianhe = page.locator("table.progress-table tr", has_text="天河区")
    remaining = int(tianhe.locator("td.num").first.inner_text())
    screenshot(page, f"officer-placement-progress-{size_of(viewport)}")
    tianhe.locator("a", has_text="天河区").click()
    page.wait_for_selector("#current .name")
    first = current_name(page)
    first_record = page.locator("#current a").get_attribute("href")
    assert int(page.locator("#remaining").inner_text()) == remaining
    # A wrong point typed by hand (Beijing): refused with the reason, nothing placed.
    page.fill("#lon", "116.397")
    page.fill("#lat", "39.909")
    page.press("#lat", "Enter")
    page.wait_for_selector("#status:has-text('上图失败')")
    assert "广东" in page.locator("#status").inner_text() and current_name(page) == first
    # The retry: a click in the middle of the map (centred on the name's division), Enter.
    page.keyboard.press("Escape")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#status:has-text('按 Enter 确认')")
    page.locator("#map").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#status:has-text('“{first}”已上图')")
    page.wait_for_selector(f"#remaining:text-is('{remaining - 1}')")
    second = current_name(page)
    assert second and page.locator("#lon").input_value() == ""
    screenshot(page, f"officer-placement-next-{size_of(viewport)}")
    # S skips to the one after, without placing.
    page.locator("#map").focus()
    page.keyboard.press("s")
    page.wait_for_selector(f"#status:has-text('已跳过“{second}”')")
    assert int(page.locator("#remaining").inner_text()) == remaining - 1
    # The placement is in the record's history.
    page.goto(url + first_record)
    assert first in page.content() and "无图形地名上图" in page.content()
    # The one console error is the browser noting the refused (400) Beijing point.
    assert len(watch.errors) == 1 and "400" in watch.errors[0], watch.errors
    assert watch.blocked == []


def test_bulk_placement_page_with_a_broken_row(live_server, open_context, tmp_path):
    store, url = live_server["store"], live_server["url"]
    ensure_user(store, "wang", "officer")
    ensure_user(store, "li", "clerk")
    from gazetteer import placement_worklist
    from gazetteer.core.actors import Actor

    items = placement_worklist.unplaced(
        store, Actor("wang", frozenset({"officer"})), TIANHE, limit=1
    )["items"]
    good = items[0]
    csv_path = tmp_path / "实测坐标.csv"
    csv_path.write_text(
        f"编号,经度,纬度\n{good['id']},{good['hint'][0]},{good['hint'][1]}\n{good['id'] + 1},abc,23.1\n",
        encoding="utf-8",
    )
    context, watch = open_context(TABLET_LANDSCAPE)
    page = context.new_page()
    sign_in(page, url, "wang", "/officer/placement/batch")
    page.set_input_files("input[name=file]", str(csv_path))
    page.select_option("select[name=crs]", "CGCS2000")
    page.click("#batch-form button[type=submit]")
    page.wait_for_selector("table.batch-table")
    assert "1 行可上图，1 行有误" in page.locator("h2").inner_text()
    assert "坐标无法识别" in page.locator("tr.row-error").inner_text()
    screenshot(page, "officer-placement-batch-preview-1024x768")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector(".flashes")
    assert "已上图 1 个地名" in page.locator(".flashes").inner_text()
    assert good["name"] in page.locator("table.batch-table").inner_text()
    screenshot(page, "officer-placement-batch-done-1024x768")
    # A clerk is refused the page (with the reason, not a bare error).
    context.clear_cookies()
    sign_in(page, url, "li", "/officer/placement/batch")
    assert "地名管理员" in page.content()
    assert watch.errors == [] or all("403" in e for e in watch.errors)
    assert watch.blocked == []


def test_division_rename_refused_by_the_naming_rules_on_its_page(live_server, open_context):
    store, url = live_server["store"], live_server["url"]
    ensure_user(store, "wang", "officer")
    context, watch = open_context(TABLET_PORTRAIT)
    page = context.new_page()
    sign_in(page, url, "wang", "/officer/divisions/changes")
    page.fill("input[name=division]", "番禺区（440113）")
    page.fill("input[name=new_name]", "维也纳区")
    page.fill("input[name=approving_body]", "国务院")
    page.fill("input[name=document_number]", "国函〔2024〕99号（测试）")
    page.fill("input[name=approval_date]", "2024-05-01")
    page.fill("textarea[name=reason]", "测试")
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".findings-box")
    assert "维也纳" in page.locator(".findings-box").inner_text()
    screenshot(page, "officer-division-rename-refused-768x1024")
    # The officer records why the approval stands: the change goes through.
    page.fill("textarea[name=rules_override_reason]", "国务院批复同意（测试）")
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".flashes:has-text('已登记')")
    assert "国务院批复同意" in page.locator("table.grid").inner_text()
    assert watch.blocked == []
