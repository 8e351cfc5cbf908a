"""Naming-compliance mode: findings beside a map of conflicts, and 上图 of a name that
has no geometry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gazetteer.tables import places
from tests.browser.conftest import TABLET_LANDSCAPE, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_check_a_name_and_place_a_conflicting_name_on_the_map(live_server, open_context):
    base, store = live_server["url"], live_server["store"]
    context, watch = open_context(TABLET_LANDSCAPE)
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, base, "officer1", "/compliance")
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("#name", "茶山社区居委会")
    page.select_option("#feature_class", "群众自治组织")
    page.select_option("#division_code", "440106")
    page.click("#check-form button[type=submit]")
    page.wait_for_selector("#map[data-checked='1']")
    findings = page.inner_text("#findings")
    assert "duplicate" in findings and "阻断" in findings and "重名" in findings
    assert "《地名管理条例》" in findings
    assert "茶山社区居委会" in page.inner_text(".conflicts")
    screenshot(page, "compliance-findings-1024x768")

    page.click(".conflicts .place-button")
    page.wait_for_selector("#map.placing")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 - 25, box["y"] + box["height"] / 2 - 25)
    page.wait_for_selector("#summary:has-text('已上图')")
    with store.read() as conn:
        geom = conn.execute(
            sa.select(places.c.geom).where(
                places.c.name == "茶山社区居委会", places.c.division_code.startswith("440106")
            )
        ).scalar()
    assert geom is not None and 113.2 < geom.x < 113.5
    page.wait_for_selector(".conflicts .name-item:not(:has(.tag))")
    screenshot(page, "compliance-placed-1024x768")
    assert watch.errors == [] and watch.blocked == []
