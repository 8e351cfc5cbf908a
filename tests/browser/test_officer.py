"""Officer pages in headless Chromium at tablet size: sign-in offered where a page needs it,
the layout (one username, margins, no stray bullets), the dashboard of what is due, name
reservation and the division refusal walked through the forms, the division-change page."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import ensure_user
from proposal_helpers import Clock, new_naming, step, walk

from gazetteer import registry, workflow
from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, screenshot, sign_in

pytestmark = pytest.mark.browser


def users(store):
    ensure_user(store, "li", "clerk")
    ensure_user(store, "wang", "officer")
    ensure_user(store, "chen", "approver")


def due_work(store):
    """One proposal whose notice ends in two days, one approved 20 days ago and neither
    filed nor announced (both overdue). Walked with an injected clock."""
    today = registry.civil_date(registry.utcnow())
    start = dt.datetime.combine(today, dt.time(2), tzinfo=dt.UTC)
    corpus = workflow._rules()[0].from_store(store)
    clock = Clock(start - dt.timedelta(days=28))
    ending = walk(store, clock, corpus, new_naming(store, clock, "云涛路"), "on_notice")
    clock = Clock(start - dt.timedelta(days=50))
    late = walk(store, clock, corpus, new_naming(store, clock, "翠湾路"), "on_notice")
    clock.now = start - dt.timedelta(days=20)
    late = workflow.perform(
        store,
        late["id"],
        "approve",
        workflow_actor("approver"),
        version=late["version"],
        clock=clock,
        approving_body="广州市天河区人民政府",
    )
    return ending, late


def workflow_actor(role):
    from gazetteer.core.actors import Actor

    return Actor(f"seed_{role}", frozenset({role}))


@pytest.mark.parametrize(
    "viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT], ids=["1024x768", "768x1024"]
)
def test_officer_pages_layout_dashboard_and_sign_in(live_server, open_context, viewport):
    store, url = live_server["store"], live_server["url"]
    users(store)
    ending, late = due_work(store)
    size = f"{viewport['width']}x{viewport['height']}"
    context, watch = open_context(viewport)
    page = context.new_page()
    # Signed out, /compliance offers the sign-in form and comes back after it.
    page.goto(url + "/compliance")
    assert "/auth/login" in page.url and page.locator("input[name=password]").count() == 1
    page.fill("input[name=username]", "wang")
    from helpers import TEST_PASSWORD

    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.url.endswith("/compliance")
    page.goto(url + "/officer/")
    header = page.locator(".topbar").inner_text()
    assert header.count("wang") == 1, header  # the username once, not twice
    # Nothing overlaps: the user box and the nav do not intersect (side by side in
    # landscape, the nav on its own row in portrait), and both stay inside the window.
    nav, who = page.locator(".topbar nav").bounding_box(), page.locator(".user-nav").bounding_box()
    apart = (
        nav["x"] + nav["width"] <= who["x"] + 1
        or who["y"] + who["height"] <= nav["y"] + 1
        or nav["y"] + nav["height"] <= who["y"] + 1
    )
    assert apart, (nav, who)
    assert who["x"] + who["width"] <= viewport["width"]
    # Every section link is in sight (none scrolled out under the user box).
    for link in page.locator(".topbar nav a").all():
        box = link.bounding_box()
        assert box["x"] + box["width"] <= nav["x"] + nav["width"] + 1, link.inner_text()
        assert (
            box["x"] + box["width"] <= who["x"] + 1
            or box["y"] >= who["y"] + who["height"] - 1
            or box["y"] + box["height"] <= who["y"] + 1
        ), link.inner_text()
        # a finger's target on the tablet's touch screen (user test: 35 px at 1024 px)
        assert box["height"] >= 44, (link.inner_text(), box)
    # A long announcement line wraps inside the page instead of running off its edge.
    overflow = page.evaluate(
        """() => { const pre = document.createElement('pre');
        pre.className = 'announcement'; pre.textContent = '广'.repeat(200) + 'x'.repeat(300);
        document.querySelector('.officer').appendChild(pre);
        const out = [pre.scrollWidth - pre.clientWidth, pre.getBoundingClientRect().right];
        pre.remove(); return out; }"""
    )
    assert overflow[0] <= 1 and overflow[1] <= viewport["width"], overflow
    # Content has margins, and no list bullets outside lists meant as lists.
    h1 = page.locator(".officer h1").first.bounding_box()
    assert h1["x"] >= 12, h1
    assert page.locator(".officer > ul, .topbar li").count() == 0
    # The dashboard: the notice ending and the overdue filing and announcement.
    rows = page.locator("table.due tbody tr").all_inner_texts()
    assert any("公示即将结束" in r and "云涛路" in r for r in rows), rows
    assert any("备案" in r and "翠湾路" in r and "已逾期" in r for r in rows), rows
    assert any("公告" in r and "翠湾路" in r and "已逾期" in r for r in rows), rows
    screenshot(page, f"officer-dashboard-{size}")
    page.click(f"table.due a[href$='/proposals/{late['id']}']")
    page.wait_for_selector("text=备案与公告")
    screenshot(page, f"officer-proposal-{size}")
    # Filing through the form clears it from the dashboard.
    form = page.locator("form.action:has(input[value=file])")
    form.locator("input[name=filed_with]").fill("广州市民政局")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已报送备案")
    page.goto(url + "/officer/")
    rows = page.locator("table.due tbody tr").all_inner_texts()
    assert not any("备案" in r and "翠湾路" in r for r in rows), rows
    page.goto(url + "/officer/statistics?division=广州市")
    assert "按地名类别" in page.content() and "备案与公告" in page.content()
    screenshot(page, f"officer-statistics-{size}")
    page.goto(url + "/officer/divisions/changes")
    screenshot(page, f"officer-division-changes-{size}")
    context.clear_cookies()
    sign_in(page, url, "li", "/officer/proposals/new")
    page.wait_for_selector("input[name=division]")
    screenshot(page, f"officer-new-proposal-{size}")
    assert watch.errors == [] and watch.blocked == []


def draft(page, url, name, division):
    page.goto(url + "/officer/proposals/new")
    page.fill("input[name=applicant]", "天河区住房和城乡建设局")
    page.fill("textarea[name=reasons]", "新建道路")
    page.fill("input[name=name]", name)
    page.select_option("select[name=feature_class]", "交通运输设施")
    page.fill("input[name=division]", division)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state("load")
    return int(page.url.rstrip("/").split("/")[-1])


def act(page, url, pid, action):
    page.goto(f"{url}/officer/proposals/{pid}")
    page.locator(f"form.action:has(input[value={action}]) button[type=submit]").click()
    page.wait_for_load_state("load")


def test_reservation_and_division_changes_through_the_pages(live_server, open_context):
    store, url = live_server["store"], live_server["url"]
    users(store)
    context, watch = open_context(TABLET_LANDSCAPE)
    page = context.new_page()
    sign_in(page, url, "li", "/officer/")
    # The division picker searches by name: the list offers 天河区 with its code.
    page.goto(url + "/officer/proposals/new")
    options = page.locator("#division-choices option").evaluate_all(
        "os => os.map(o => o.value).filter(v => v.includes('天河区'))"
    )
    assert "广州市天河区（440106）" in options
    first = draft(page, url, "凤翔路", "广州市天河区（440106）")
    act(page, url, first, "submit")
    second = draft(page, url, "凤翔路", "天河区")  # a name typed by hand also resolves
    act(page, url, second, "submit")
    # 番禺区 -> 番山区 through the place workflow is refused with the reason.
    panyu = registry.find_places(store, name="番禺区", status="in_force")["items"][0]["id"]
    page.goto(f"{url}/officer/proposals/new?kind=renaming&place_id={panyu}")
    page.fill("input[name=applicant]", "某区民政局")
    page.fill("textarea[name=reasons]", "更名")
    page.fill("input[name=name]", "番山区")
    page.click("form.form button[type=submit]")
    assert "行政区划管理条例" in page.locator(".flashes").inner_text()
    context.clear_cookies()
    sign_in(page, url, "wang", f"/officer/proposals/{second}")
    act(page, url, second, "check")
    findings = page.locator("ul.findings").inner_text()
    assert "另一项在办申请" in findings and f"申请 {first}" in findings, findings
    screenshot(page, "officer-reserved-1024x768")
    # The division change by its own path, on its page.
    page.goto(url + "/officer/divisions/changes")
    page.fill("input[name=division]", "番禺区")
    page.fill("input[name=new_name]", "番山区")
    page.fill("input[name=approving_body]", "国务院")
    page.fill("input[name=document_number]", "国函〔2026〕1号（浏览器测试，非真实文件）")
    today = registry.civil_date(registry.utcnow()).isoformat()
    page.fill("input[name=approval_date]", today)
    page.fill("textarea[name=reason]", "浏览器测试")
    page.click("form.form button[type=submit]")
    message = page.locator(".flashes").inner_text()
    assert "番禺区 更名为 番山区" in message and "番山" in message.split("界线名称")[1]
    assert "番山区" in page.locator("table.grid").inner_text()
    # A second submission of the same change is refused and changes nothing.
    page.fill("input[name=division]", "番山区")
    page.fill("input[name=new_name]", "番山区")
    page.fill("input[name=approving_body]", "国务院")
    page.fill("input[name=document_number]", "国函〔2026〕1号")
    page.fill("input[name=approval_date]", today)
    page.fill("textarea[name=reason]", "再次提交")
    page.click("form.form button[type=submit]")
    assert "相同" in page.locator(".flashes").inner_text()
    assert watch.errors == [] and watch.blocked == []


def test_the_sign_in_page_keeps_a_margin_on_a_phone(live_server, open_context):
    """At 390x844 the heading, the fields and the button of the sign-in page stay clear of
    the screen's edges (user test, 2026-11-30: they touched both)."""
    width = 390
    context, _ = open_context({"width": width, "height": 844})
    page = context.new_page()
    page.goto(live_server["url"] + "/auth/login")
    for selector in ("h1", "input[name=username]", "input[name=password]", "form button"):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 8 and box["x"] + box["width"] <= width - 8, (selector, box)
    screenshot(page, "login-390x844")


PHONE = {"width": 390, "height": 844}


def test_a_refused_notice_keeps_the_typed_dates_on_a_phone(live_server, open_context):
    """An officer on a phone publishes a too-short notice: refused with the field marked and
    both typed dates kept (user test, 2026-11-30: they were cleared); then corrects the end
    date and publishes. The page names the division, shows Beijing times, scrolls as a
    document and keeps its tables inside the screen."""
    store, url = live_server["store"], live_server["url"]
    users(store)
    clock = Clock(registry.utcnow())
    corpus = workflow._rules()[0].from_store(store)
    p = walk(store, clock, corpus, new_naming(store, clock, "云岭路"), "in_review")
    p = step(store, clock, corpus, p, "add_opinion")
    context, watch = open_context(PHONE)
    page = context.new_page()
    sign_in(page, url, "wang", f"/officer/proposals/{p['id']}")
    page.wait_for_selector("text=可进行的操作")
    assert "天河区（440106）" in page.locator("table.record").inner_text()
    times = page.locator("td.when").all_inner_texts()
    assert times and all(len(t) == 16 and t[10] == " " for t in times), times
    today = registry.civil_date(registry.utcnow())
    start, short_end = today.isoformat(), (today + dt.timedelta(days=9)).isoformat()
    form = page.locator("form.action:has(input[value=publish_notice])")
    form.locator("input[name=notice_start]").fill(start)
    form.locator("input[name=notice_end]").fill(short_end)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "MIN_NOTICE_DAYS" not in page.content()
    form = page.locator("form.action:has(input[value=publish_notice])")
    # said beside the form (the marked field takes the focus, the page scrolls to it), once
    assert "短于规定的最短公示期" in form.locator(".error").inner_text()
    assert page.content().count("短于规定的最短公示期") == 1
    assert form.locator("input[name=notice_start]").input_value() == start
    assert form.locator("input[name=notice_end]").input_value() == short_end
    assert form.locator("input[name=notice_end]").get_attribute("aria-invalid") == "true"
    screenshot(page, "officer-notice-refused-390x844")
    # The document scrolls (not a box inside it), and no table runs off the screen.
    scrolls = page.evaluate(
        """() => [document.scrollingElement.scrollHeight > innerHeight,
                  getComputedStyle(document.querySelector('.officer')).overflowY]"""
    )
    assert scrolls == [True, "visible"], scrolls
    for box in page.locator("table.grid").all():
        assert box.bounding_box()["x"] + box.bounding_box()["width"] <= PHONE["width"] + 1
    # the second action: the end date corrected, the notice is published
    form.locator("input[name=notice_end]").fill((today + dt.timedelta(days=29)).isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已发布公示")
    assert "公示中" in page.locator("p:has-text('状态')").inner_text()
    screenshot(page, "officer-notice-published-390x844")
    # The public notice counts the days left with today: 30 on the first of 30.
    page.goto(f"{url}/notices/{p['id']}")
    assert "剩余 30 天，含今天" in page.locator("table").first.inner_text()
    # The refused form came back with the refusal's status (400), which Chromium logs.
    assert [e for e in watch.errors if "status of 400" not in e] == [], watch.errors
    assert len(watch.errors) <= 1 and watch.blocked == []
