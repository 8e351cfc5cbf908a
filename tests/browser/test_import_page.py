"""The import page end to end in headless Chromium, with GENERATED files: an officer
uploads a census sheet, checks the column mapping and the coordinate system on the map,
previews, writes; then a file with bad rows is refused until the rows are skipped with a
reason. No request leaves 127.0.0.1."""

from __future__ import annotations

import pytest

from tests import office_files as of
from tests.browser.conftest import screenshot, sign_in
from tests.test_office_import import bad_rows_csv

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _upload(page, base, path, source):
    page.goto(base + "/officer/imports")
    page.set_input_files("#upload-file", str(path))
    page.fill("#upload-source", source)
    page.fill("#upload-office", "天河区民政局（测试）")
    page.click("#upload-button")
    page.wait_for_url("**/officer/imports/*")
    page.wait_for_selector("#crs-reason:has-text('：')", timeout=20000)


def test_import_page_end_to_end(live_server, open_context, tmp_path):
    context, watch = open_context()
    page = context.new_page()
    base = live_server["url"]
    sign_in(page, base, "officer1", "/officer/imports")
    screenshot(page, "import-list")

    _upload(page, base, of.census_xlsx(tmp_path), "普查成果（生成）")
    # The census columns were recognised without help, the CRS guessed from the degrees.
    assert page.locator("select[data-field=name]").input_value() == "标准名称"
    assert page.locator("select[data-field=x]").input_value() == "东经"
    assert page.locator("select[data-field=division]").input_value() == "所在（跨）行政区"
    assert page.locator("#crs").input_value() == "CGCS2000"
    assert "无法从数值区分" in page.locator("#crs-reason").inner_text()
    page.click("#show-sample")
    page.wait_for_selector("#sample-summary:has-text('样本 6 点')")
    assert "落入广东 6 点" in page.locator("#sample-summary").inner_text()
    assert page.locator("#sample-map canvas").count() >= 1  # points drawn (canvas renderer)
    # The county outlines under the points: fitting the view to the sample changes the zoom,
    # and the outlines are fetched again at that zoom's simplification.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    page.wait_for_load_state("networkidle")
    page.locator("#step-crs").scroll_into_view_if_needed()
    screenshot(page, "import-mapping-crs")

    # Offline: the page says so in Chinese (not the browser's "Failed to fetch"), then
    # back online the same button works.
    context.set_offline(True)
    page.click("#save-config")
    page.wait_for_selector("#config-status:has-text('无法连接服务器')")
    assert "Failed" not in page.locator("#config-status").inner_text()
    context.set_offline(False)
    # The browser logs the request it could not send: expected here, and only here.
    offline = [e for e in watch.errors if "ERR_INTERNET_DISCONNECTED" in e]
    assert offline and len(offline) == len(watch.errors), watch.errors
    watch.errors.clear()
    page.click("#save-config")
    page.wait_for_selector("#config-status:has-text('已保存')")
    page.click("#start-preview")
    page.wait_for_selector("#preview-status:has-text('预览完成')", timeout=60000)
    assert page.locator("[data-count=insert]").inner_text() == "6"
    assert page.locator("[data-count=error]").inner_text() == "0"
    assert page.locator("#preview-rows tbody tr").count() == 6
    page.locator("#step-preview").scroll_into_view_if_needed()
    screenshot(page, "import-preview")
    with page.expect_download() as download:
        page.click("#report-link")
    assert download.value.suggested_filename.endswith("-report.csv")

    page.click("#start-write")
    page.wait_for_selector("#write-status:has-text('已写入登记册')", timeout=60000)
    assert "新增 6" in page.locator("#write-status").inner_text()
    assert page.locator("#run-state").inner_text() == "已写入"
    screenshot(page, "import-written")
    # The names are found by the public search right away.
    hits = page.evaluate("fetch('/api/search?q=测试甲路').then(r => r.json())")
    assert any(h["name"] == "测试甲路" for h in hits["results"])

    # A file with bad rows: the write is refused, then skipped by an explicit choice.
    _upload(page, base, bad_rows_csv(tmp_path), "有错误的表（生成）")
    page.click("#start-preview")
    page.wait_for_selector("#preview-status:has-text('预览完成')", timeout=60000)
    assert page.locator("[data-count=error]").inner_text() == "5"
    assert page.locator("#error-rows tbody tr").count() == 5
    page.click("#start-write")
    page.wait_for_selector("#write-status:has-text('存在错误')")
    screenshot(page, "import-errors-refused")
    page.check("#skip-errors")
    page.fill("#skip-reason", "错误行由普查办另行核实")
    page.click("#start-write")
    page.wait_for_selector("#write-status:has-text('跳过 5 行')", timeout=60000)
    screenshot(page, "import-errors-skipped")

    # On a phone the page still works (one column, the map above the tables).
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(page.url)
    phone.wait_for_selector("#crs-reason:has-text('：')", timeout=20000)
    screenshot(phone, "import-run-390x844")
    # The one failed request is the refused write (400), which the page reported above.
    assert [e for e in watch.errors if "status of 400" not in e] == []
    assert len(watch.errors) == 1
    assert watch.blocked == []


def test_import_page_refuses_other_roles(live_server, open_context):
    context, watch = open_context()
    page = context.new_page()
    sign_in(page, live_server["url"], "inspector_a", "/officer/imports")
    response = page.goto(live_server["url"] + "/officer/imports")
    assert response.status == 403
    assert "仅限审核人员" in page.content()
