"""Every page at tablet size, landscape and portrait: loads, draws, logs no console error
and asks nothing of the internet."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, screenshot, sign_in

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    ("map", "/", "#map[data-ready='1']"),
    ("map-en", "/?lang=en", "#map[data-ready='1']"),
    ("search", "/search?q=天河", "main"),
    ("boundaries", "/boundaries/", "main"),
    ("inspect-public", "/inspect", "#map[data-ready='1']"),
]


@pytest.mark.parametrize(
    "viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT], ids=["1024x768", "768x1024"]
)
def test_pages_load_cleanly_at_tablet_size(live_server, open_context, viewport):
    context, watch = open_context(viewport)
    page = context.new_page()
    size = f"{viewport['width']}x{viewport['height']}"
    for name, path, ready in PUBLIC_PAGES:
        response = page.goto(live_server["url"] + path)
        assert response.status == 200, path
        page.wait_for_selector(ready, timeout=15000)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"{name}-{size}")
    # The map page draws the divisions and shows the legend and the layer switcher.
    page.goto(live_server["url"] + "/")
    page.wait_for_selector("#map[data-ready='1']")
    if viewport["width"] < 1024:  # folded at first where it would cover the map
        assert page.locator(".legend.collapsed").count() == 1
        page.click(".legend-toggle")
    assert page.locator(".legend").inner_text().count("演示数据") == 1
    assert page.locator(".leaflet-control-layers").count() == 1
    page.wait_for_selector(
        ".leaflet-marker-icon"
    )  # markers (or their clusters) follow the first view
    place = page.evaluate(
        "fetch('/ogc/collections/places/items?has_geometry=true&limit=1')"
        ".then(r => r.json()).then(d => d.features[0].id)"
    )
    page.goto(f"{live_server['url']}/place/{place}")
    page.wait_for_load_state("networkidle")
    screenshot(page, f"place-{size}")
    sign_in(page, live_server["url"], "officer1", "/compliance")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_load_state("networkidle")
    screenshot(page, f"compliance-empty-{size}")
    assert watch.errors == []
    assert watch.blocked == []


def test_map_popups_escape_data_and_label_demonstration_markers(live_server, open_context):
    context, watch = open_context()
    page = context.new_page()
    page.goto(live_server["url"] + "/")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector(".bm-icon, .marker-cluster")
    # Click clusters open (each click zooms in) until single markers show.
    for _ in range(10):
        if page.locator(".bm-icon").count():
            break
        page.locator(".marker-cluster").last.dispatch_event("click")
        page.wait_for_timeout(700)
    page.locator(".bm-icon").last.dispatch_event("click")
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert "演示数据" in popup.inner_text()
    assert watch.errors == [] and watch.blocked == []


def test_map_draws_lines_places_and_counties_from_vector_tiles(live_server, open_context):
    context, watch = open_context()
    page = context.new_page()
    tiles = []
    page.on(
        "response",
        lambda r: tiles.append((r.url, r.status)) if "/tiles/WebMercatorQuad/" in r.url else None,
    )
    page.goto(live_server["url"] + "/")
    page.wait_for_selector("#map[data-ready='1']")
    page.locator(".leaflet-control-layers").hover()
    for label in ("行政区域界线", "地名"):
        page.locator(".leaflet-control-layers-overlays label", has_text=label).locator(
            "input"
        ).check()

    # Zoom in to county level (zoom >= 9, a view under ~2.5 degrees wide): county tiles
    # join. The first view fits the province to the screen, so the clicks needed vary.
    def view_width() -> float:
        west, _, east, _ = map(float, page.locator("#map").get_attribute("data-view").split(","))
        return east - west

    for _ in range(6):
        if view_width() < 2.5:
            break
        page.locator(".leaflet-control-zoom-in").click()
        page.wait_for_timeout(600)
    assert view_width() < 2.5
    wanted = {"boundary_lines", "places", "divisions"}
    for _ in range(60):  # tiles arrive one by one from the test server
        kinds = {url.split("/collections/")[1].split("/")[0] for url, _ in tiles}
        if wanted <= kinds:
            break
        page.wait_for_timeout(500)
    assert wanted <= kinds
    assert all(status == 200 for _, status in tiles)
    assert page.locator(".leaflet-tile-container canvas").count() > 0
    screenshot(page, "map-tiles")
    assert watch.errors == [] and watch.blocked == []


def test_ogc_html_tables_scroll_on_a_phone_instead_of_breaking_words(live_server, open_context):
    """A GIS user opening the OGC API's HTML on a phone (390×844): the items table keeps each
    property name and value on one line and scrolls sideways inside its box; the page itself
    is no wider than the screen; the collections' ids are not broken mid-word."""
    context, watch = open_context({"width": 390, "height": 844})
    page = context.new_page()
    line_too_tall = """sel => [...document.querySelectorAll(sel)].filter(
        c => c.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(c).lineHeight || 20)
    ).map(c => c.textContent)"""
    for path, cells in (
        ("/ogc/collections/places/items?f=html&limit=10", ".ogc-items th, .ogc-items td"),
        ("/ogc/collections?f=html", ".ogc-table td:first-child"),
    ):
        assert page.goto(live_server["url"] + path).status == 200, path
        assert page.evaluate(line_too_tall, cells) == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(page, "ogc-" + path.split("?")[0].rsplit("/", 1)[-1] + "-390x844")
    wrap = page.goto(live_server["url"] + "/ogc/collections/places/items?f=html&limit=10")
    assert wrap.status == 200
    assert page.evaluate(
        "(() => { const w = document.querySelector('.table-wrap');"
        " return w.scrollWidth > w.clientWidth; })()"
    )  # the wide table scrolls inside its box
    assert watch.errors == [] and watch.blocked == []


@pytest.mark.parametrize("path", ["/inspect", "/boundaries/rounds", "/officer/"])
def test_a_staff_menu_shows_every_section_at_1024(live_server, open_context, path):
    """A staff member's menu is longer than one line on a landscape tablet: every link is on
    screen and clickable, none under the signed-in name (user test, 2026-12-01: on /inspect
    合规审查 and OGC API were hidden under 「insa（检查人员）」)."""
    from helpers import ensure_user

    ensure_user(live_server["store"], "officer_wide", "officer", "inspector")
    context, watch = open_context(TABLET_LANDSCAPE)
    page = context.new_page()
    sign_in(page, live_server["url"], "officer_wide", path)
    hidden = page.evaluate(
        """() => [...document.querySelectorAll('header nav a')].filter(a => {
            const r = a.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return r.right > window.innerWidth || r.left < 0 || !(hit === a || a.contains(hit));
        }).map(a => a.textContent)"""
    )
    assert hidden == [] and page.locator("header nav a").count() >= 6
    assert watch.blocked == []
