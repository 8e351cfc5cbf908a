"""The public lookup on a phone (390×844) and a tablet (768×1024): a former name, a chain of
names, a place page with map and history, a notice answered and seen by an officer, the
announcements feed; no page wider than the screen, touch targets of 44 px, nothing fetched
from outside the app."""

from __future__ import annotations

import datetime as dt

import pytest
from proposal_helpers import Clock, new_naming, step, walk

from gazetteer.registry import utcnow
from tests.browser.conftest import TABLET_PORTRAIT, screenshot, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
VIEWPORTS = [PHONE, TABLET_PORTRAIT]
IDS = ["390x844", "768x1024"]


def proposal(store, clock, name: str, until: str) -> dict:
    reasons = "新建道路，连接石牌与员村，取当地旧地名"
    p = new_naming(store, clock, name, reasons=reasons, meaning=None)
    p = walk(store, clock, None, p, "on_notice")
    if until == "on_notice":
        return p
    for action in ("approve", "announce"):
        p = step(store, clock, None, p, action)
    return p


def province_bounds(store) -> tuple[float, float, float, float]:
    """(west, south, east, north) of Guangdong's cities as stored, CGCS2000 lon/lat."""
    import sqlalchemy as sa

    from gazetteer.tables import divisions

    with store.read() as conn:
        boxes = [
            g.bounds
            for g in conn.execute(
                sa.select(divisions.c.geom).where(
                    divisions.c.level == "city", divisions.c.geom.is_not(None)
                )
            ).scalars()
        ]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url}: {width}px wide"


def tall_enough(page, selector: str) -> None:
    boxes = [b for b in (e.bounding_box() for e in page.query_selector_all(selector)) if b]
    assert boxes, selector
    small = [b["height"] for b in boxes if b["height"] < 44]
    assert not small, f"{selector}: targets of {small} px"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=IDS)
def test_public_lookup_walk(live_server, open_context, viewport):
    base, store = live_server["url"], live_server["store"]
    clock = Clock(utcnow().replace(microsecond=0))
    on_notice = proposal(store, clock, "石榴岗路", "on_notice")
    announced = proposal(
        store, Clock(utcnow().replace(microsecond=0) - dt.timedelta(days=20)), "云溪路", "announced"
    )
    context, watch = open_context(viewport)
    page = context.new_page()
    page.set_default_timeout(30000)  # a shared 2-core machine can be slow
    size = f"{viewport['width']}x{viewport['height']}"
    phone = viewport["width"] < 600

    # The map: the nav folds behind 菜单 on a phone, the legend folds to a button.
    page.goto(base + "/")
    page.wait_for_selector("#map[data-ready='1']", timeout=20000)
    fits_the_screen(page)
    # Below 1024 px the legend and the layer box start folded, and the whole province is
    # in view (clear of the controls), on the phone as on the tablet.
    assert page.locator(".legend.collapsed").count() == 1
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    west, south, east, north = map(float, page.get_attribute("#map", "data-view").split(","))
    gd_west, gd_south, gd_east, gd_north = province_bounds(store)
    assert west <= gd_west and east >= gd_east and south <= gd_south and north >= gd_north
    if phone:
        assert not page.is_visible("#site-nav")
        tall_enough(page, ".nav-toggle")
        tall_enough(page, ".legend-toggle")
        page.click(".nav-toggle")
        assert page.is_visible("#site-nav")
        tall_enough(page, "#site-nav a")
        screenshot(page, f"public-nav-open-{size}")
        page.click(".nav-toggle")

    # A former name: 番禺市 (1992–2000) finds 番禺区, saying so.
    page.goto(base + "/search?q=番禺市")
    first = page.locator("ol.results li").first
    assert "番禺区" in first.inner_text() and "曾用名：番禺市" in first.inner_text()
    fits_the_screen(page)
    tall_enough(page, "ol.results a")
    screenshot(page, f"public-former-name-{size}")
    first.locator("a").click()
    page.wait_for_selector("#place-map.ready", timeout=15000)
    assert page.locator("h1").inner_text().startswith("番禺区")
    assert "番禺市" in page.locator(".former-names").inner_text()
    assert page.locator("#place-map path.leaflet-interactive").count() >= 1  # the polygon
    assert "变更记录" in page.content()
    # The former names' years as the source has them, never a made-up 1 January.
    assert "1992年" in page.locator(".former-names").inner_text()
    assert "1992-01-01" not in page.content()
    fits_the_screen(page)
    screenshot(page, f"public-place-{size}")

    # A chain typed in the search box: city, district, town -> the town.
    # Suggestions keep up level by level while it is typed.
    page.goto(base + "/search")
    page.click("#q")
    page.keyboard.type("广州天河石", delay=60)
    options: list[str] = []
    for _ in range(100):  # polled from here: the page's CSP forbids wait_for_function's eval
        options = page.eval_on_selector_all("#suggestions option", "els => els.map(e => e.value)")
        if "广州天河石牌街道" in options:
            break
        page.wait_for_timeout(100)
    assert "广州天河石牌街道" in options, options
    # Half a surrogate pair in the box (pasted from a broken source): no suggestions, and
    # no uncaught error (encodeURIComponent would throw "URI malformed").
    page.eval_on_selector(
        "#q", "el => { el.value = '\\uD800石'; el.dispatchEvent(new Event('input')); }"
    )
    page.wait_for_timeout(400)
    assert page.eval_on_selector_all("#suggestions option", "els => els.length") == 0
    assert watch.errors == []
    page.fill("#q", "广州天河石牌")
    page.press("#q", "Enter")
    page.wait_for_selector("ol.results li")
    assert "在广州市 › 天河区内查找" in page.locator(".chain-reading").inner_text()
    page.locator("ol.results li a").first.click()
    page.wait_for_selector("#place-map.ready", timeout=15000)
    assert page.locator("h1").inner_text().startswith("石牌街道")
    assert "地图显示其所在的天河区" in page.content()  # no geometry: its district's map
    fits_the_screen(page)
    screenshot(page, f"public-chain-town-{size}")

    # A notice, and an opinion on it.
    page.goto(base + "/notices")
    page.click(f"a[href='/notices/{on_notice['id']}']")
    page.wait_for_selector("#place-map.ready", timeout=15000)
    assert "新建道路" in page.content() and "公示期" in page.content()
    # The map shows where: the district's outline and its neighbours, named, and the road.
    labels = page.locator("#place-map .map-label").all_inner_texts()
    assert "天河区" in labels and "越秀区" in labels and "石榴岗路" in labels, labels
    # The form is a page route (works without JavaScript), not the JSON API.
    assert "/api/" not in page.get_attribute(".opinion-form", "action")
    fits_the_screen(page)
    page.fill("textarea[name=body]", "赞成。石榴岗是员村一带的老地名，用作路名好记。")
    page.fill("input[name=author]", "员村居民")
    tall_enough(page, ".opinion-form button")
    screenshot(page, f"public-notice-{size}")
    page.click(".opinion-form button[type=submit]")
    page.wait_for_selector("p.ok")
    assert "意见已提交" in page.locator("p.ok").inner_text()
    assert f"/notices/{on_notice['id']}" in page.url
    screenshot(page, f"public-opinion-sent-{size}")
    # ... which an officer then sees on the proposal.
    sign_in(page, base, "officer1", f"/officer/proposals/{on_notice['id']}")
    page.goto(f"{base}/officer/proposals/{on_notice['id']}")
    assert "[公众意见] 员村居民" in page.content() and "石榴岗是员村" in page.content()
    screenshot(page, f"officer-sees-public-opinion-{size}")
    page.context.clear_cookies()

    # Announcements and their Atom feed.
    page.goto(base + "/announcements")
    assert "云溪路" in page.content()
    fits_the_screen(page)
    screenshot(page, f"public-announcements-{size}")
    feed_url = page.get_attribute("link[rel=alternate][type='application/atom+xml']", "href")
    feed = page.request.get(base + feed_url)
    assert feed.ok and feed.headers["content-type"].startswith("application/atom+xml")
    assert "公告：云溪路" in feed.text() and announced["id"]

    assert watch.errors == []
    assert watch.blocked == []
