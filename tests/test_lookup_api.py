"""Public lookup over HTTP: every input form, filters, former names, reverse lookup."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from registry_helpers import rename_place

from gazetteer.core import crs
from gazetteer.core.actors import Actor
from gazetteer.tables import divisions, places


def names(client, query: str) -> list[str]:
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 200, response.get_json()
    return [r["name"] for r in response.get_json()["results"]]


def test_every_input_form_finds_the_place(client):
    assert names(client, "番禺区")[0] == "番禺区"  # exact
    assert names(client, "番禺")[0] == "番禺区"  # prefix / specific term
    assert names(client, "廣州市")[0] == "广州市"  # traditional characters
    assert names(client, "panyu")[0] == "番禺区"  # full pinyin
    assert names(client, "pan yu")[0] == "番禺区"  # with a space
    assert names(client, "Pānyú")[0] == "番禺区"  # with tones
    assert "广州市" in names(client, "gz")  # initials
    assert "番禺区" in names(client, "番遇区")  # one wrong character


def test_results_carry_division_chain_and_rank_exact_first(client):
    results = client.get("/api/search?q=番禺区").get_json()["results"]
    assert results[0]["division_chain"] == ["广东省", "广州市", "番禺区"]
    assert results[0]["matched_form"] == "exact"


def test_filters(client):
    under_panyu = client.get("/api/search?q=大&division=440113&limit=20").get_json()["results"]
    assert under_panyu and all("番禺区" in r["division_chain"] for r in under_panyu)
    committees = client.get("/api/search?q=翠洲&feature_class=群众自治组织").get_json()["results"]
    assert committees and all(r["feature_class"] == "群众自治组织" for r in committees)
    inside = client.get("/api/search?q=番禺&bbox=113.2,22.8,113.6,23.1").get_json()["results"]
    assert "番禺区" in [r["name"] for r in inside]
    elsewhere = client.get("/api/search?q=番禺&bbox=116.0,23.0,117.0,24.0").get_json()["results"]
    assert "番禺区" not in [r["name"] for r in elsewhere]


def test_bad_queries_are_400(client):
    for query in (
        "q=",
        "q=x&limit=0",
        "q=x&limit=abc",
        "q=x&bbox=1,2",
        "q=" + "长" * 500,
        "q=x&status=nope",
    ):
        response = client.get(f"/api/search?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["code"] == "invalid_input"


def test_renamed_place_is_found_by_its_old_name(client, store):
    actor = Actor("officer1", frozenset({"officer", "approver"}))
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with store.read() as conn:
        old_id = conn.execute(
            sa.select(places.c.id).where(places.c.name == "翠洲社区居民委员会")
        ).scalar()
    new_id = rename_place(store, old_id, "翠湾社区居民委员会", actor, now)
    # no nudge, no poll wait: the rename reached the index when its transaction committed
    hits = client.get("/api/search?q=翠洲社区居民委员会").get_json()["results"]
    current = [h for h in hits if h["id"] == new_id]
    assert current and current[0]["name"] == "翠湾社区居民委员会"
    assert current[0]["matched_former_name"] == "翠洲社区居民委员会"
    page = client.get(f"/place/{new_id}").get_data(as_text=True)
    assert "翠洲社区居民委员会" in page and "曾用名" in page
    # The second action: search by the new name. The committee is a village-level division
    # too, and its chain ends in its new name at once (a user test read the old one there;
    # a division renaming is applied in place, not by a rebuild).
    hits = client.get("/api/search?q=翠湾社区居民委员会").get_json()["results"]
    chain = next(h["division_chain"] for h in hits if h["id"] == new_id)
    assert chain[-1] == "翠湾社区居民委员会" and "翠洲社区居民委员会" not in chain, chain
    assert client.application.extensions["gdgis.lookup"].stats()["full_builds"] == 1
    with store.read() as conn:
        code = conn.execute(sa.select(places.c.own_division_code).where(places.c.id == new_id))
        division = conn.execute(
            sa.select(divisions.c.name, divisions.c.level).where(divisions.c.code == code.scalar())
        ).one()
    assert tuple(division) == ("翠湾社区居民委员会", "village")


def test_reverse_lookup_cgcs2000_and_gcj02(client):
    tower = client.get("/api/reverse?lon=113.3245&lat=23.1064").get_json()
    assert [d["name"] for d in tower["divisions"]] == ["广东省", "广州市", "海珠区"]
    assert tower["nearest_places"][0]["name"] == "海珠区"
    # The same spot as Amap shows it (GCJ-02, a few hundred metres off) gives the same answer.
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(113.3245, 23.1064)
    via_amap = client.get(
        f"/api/reverse?lon={float(gcj_lon):.6f}&lat={float(gcj_lat):.6f}&crs=GCJ02"
    ).get_json()
    assert [d["code"] for d in via_amap["divisions"]] == ["440000", "440100", "440105"]
    assert abs(via_amap["cgcs2000"]["lon"] - 113.3245) < 1e-5
    assert "notice" not in tower and "notice" not in via_amap


def test_a_point_outside_every_division_says_so(client):
    """A point far outside the country (0, 0) or at sea lies in no division held: the
    answer says so beside the nearest places, whose distance shows how far they are (a
    user test read 12,000 km away places as the point's surroundings)."""
    from gazetteer.lookup import OUTSIDE_DIVISIONS_NOTICE

    for query in ("lon=0&lat=0", "lon=114.0&lat=18.0"):
        found = client.get(f"/api/reverse?{query}&nearest=1").get_json()
        assert found["divisions"] == [] and found["notice"] == OUTSIDE_DIVISIONS_NOTICE
        assert found["nearest_places"][0]["distance_m"] > 100_000


def test_reverse_errors_and_batch(client):
    assert client.get("/api/reverse?lon=200&lat=23").status_code == 400
    swapped = client.get("/api/reverse?lon=23.1&lat=113.3")
    assert swapped.status_code == 400 and "颠倒" in swapped.get_json()["error"]["message"]
    assert client.get("/api/reverse?lon=113&lat=23&crs=MARS").status_code == 400
    assert client.get("/api/reverse?lat=23").status_code == 400
    batch = client.post(
        "/api/reverse/batch",
        json={"crs": "WGS84", "points": [[113.3245, 23.1064], [108.3, 22.8], [114.0, 18.0]]},
    )
    assert batch.status_code == 200, batch.get_json()
    results = batch.get_json()["results"]
    assert results[0]["divisions"][-1]["name"] == "海珠区"
    assert results[1]["divisions"][0]["name"] == "广西壮族自治区"
    assert results[2]["divisions"] == []  # at sea
    for body in ({"points": [[1]]}, {"points": "x"}, [], {"points": [["a", "b"]]}):
        assert client.post("/api/reverse/batch", json=body).status_code == 400


def test_search_page_and_escaping(client, store):
    with store.write() as conn:
        conn.execute(
            places.insert().values(name="<script>alert(1)</script>村", feature_class="居民点")
        )
    page = client.get("/search?q=番禺").get_data(as_text=True)
    assert "番禺区" in page and "广东省 &gt; 广州市 &gt; 番禺区" in page
    hostile = client.get("/search?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in hostile


@pytest.mark.parametrize(
    "query, named",
    [
        ("bogus=1", "不认识的参数：bogus"),
        ("q=&bogus=1", "不认识的参数：bogus"),
        ("q=番禺&bogus=1&other=2", "不认识的参数：bogus、other"),
        ("limit=abc", "参数 条数（limit） 有误：应为整数"),
        ("q=番禺&limit=0", "参数 条数（limit） 有误：应不小于 1"),
        ("q=番禺&q=广州", "参数 查询词（q） 有误：只能给一次（给了 2 次）"),
    ],
)
def test_search_page_refuses_what_the_api_refuses_on_the_page(client, query, named):
    """/search checks its parameters as /api/search does, whenever any is given: the
    refusal is shown on the page in Chinese with a 400, the form still there to retry."""
    with_q = query if "q=番禺" in query else "q=番禺&" + query.removeprefix("q=&")
    api = client.get("/api/search?" + with_q)
    assert api.status_code == 400 and named in api.get_json()["error"]["message"]
    page = client.get("/search?" + query)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and page.mimetype == "text/html", (query, page.status_code)
    # the page names the parameter by its label alone (its key is for API clients)
    shown = named.replace("（limit）", "").replace("（q）", "")
    assert f'role="alert">{shown}' in text and 'name="q"' in text
    assert "Extra inputs" not in text and "找到" not in text


@pytest.mark.parametrize("query", ["q=%FF", "q=%ED%A0%80", "q=%00"])
def test_search_page_keeps_its_form_for_a_query_refused_before_it_runs(client, query):
    """Bytes that are not text (or NUL) are refused by the app before any view: the page
    still shows the refusal above the search box (a user test got a bare 400 page), and
    the API still answers JSON."""
    page = client.get("/search?" + query)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and page.mimetype == "text/html", query
    assert 'role="alert">' in text and 'name="q"' in text and "找到" not in text
    api = client.get("/api/search?" + query)
    assert api.status_code == 400 and api.get_json()["error"]["message"]
    assert client.get("/search?q=番禺").status_code == 200  # then a search from the page


def test_a_control_character_in_the_query_is_named_and_the_typing_kept(client):
    """ESC pasted into the search box: the API names the parameter by its label, and the
    page keeps what was typed around it in the box to search again (a user test: the box
    came back empty, and the refusal named "q")."""
    api = client.get("/api/search?q=%E5%B9%BF%E5%B7%9E%1B%E5%A4%A9%E6%B2%B3")
    message = api.get_json()["error"]["message"]
    assert api.status_code == 400 and message.startswith(
        "查询词（q） 含有不允许的控制字符（U+001B）"
    )
    page = client.get("/search?q=%E5%B9%BF%E5%B7%9E%1B%E5%A4%A9%E6%B2%B3")
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and 'role="alert">查询词 含有不允许的控制字符' in text
    assert 'value="广州天河"' in text


def test_deep_pages_are_pages_not_refusals(client):
    """Paging far (offset + limit beyond the 500 one search gathers) gives an empty page,
    or the names there, not a 400 about a limit the client never sent (a user test)."""
    for query in (
        "q=天河&offset=491",
        "q=天河&limit=100&offset=401",
        "q=广州天河&offset=600",  # a chain reading
        "q=石牌街到&offset=9990",
    ):
        r = client.get("/api/search?" + query)
        assert r.status_code == 200 and r.get_json()["results"] == [], query
    assert client.get("/search?q=天河&offset=490").status_code == 200
    hundred = client.get("/api/search?q=石&limit=100").get_json()["results"]
    page = client.get("/api/search?q=石&limit=5&offset=95").get_json()["results"]
    assert len(hundred) == 100 and page == hundred[95:100]  # a page is a slice of the list


def test_filters_naming_nothing_are_refused(client):
    """A division not on record, or a class outside the vocabulary, is a 400 that says so
    (a user test got 200 and an empty list, which reads as "nothing there"); a division on
    record with nothing matching is still an empty list."""
    for query, field in (
        ("q=番禺&division=999999", "division"),
        ("q=番禺&division=0", "division"),
        ("q=番禺&feature_class=bogus", "feature_class"),
    ):
        body = client.get("/api/search?" + query).get_json()
        assert body["error"]["details"]["field"] == field, query
        assert client.get("/api/search?" + query).status_code == 400
        assert client.get("/search?" + query).status_code == 400
    empty = client.get("/api/search?q=番禺&division=440106")  # 天河区: no 番禺 inside
    assert empty.status_code == 200 and empty.get_json()["results"] == []
    found = client.get("/api/search?q=番禺&feature_class=行政区域").get_json()["results"]
    assert found[0]["name"] == "番禺区"


def test_search_page_empty_form_is_the_empty_page_then_a_search(client):
    """No parameter, or the empty form's empty (or blank) q: the empty page, no error;
    then a search from that page answers with results."""
    for query in ("", "?q=", "?q=+++", "?q=&limit=20"):
        page = client.get("/search" + query)
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and 'role="alert"' not in text, query
        assert "找到" not in text and 'name="q"' in text, query
    found = client.get("/search?q=番禺&limit=5").get_data(as_text=True)
    assert "番禺区" in found and "找到" in found


def test_chain_of_names_over_http(client):
    body = client.get("/api/search", query_string={"q": "广州天河"}).get_json()
    assert body["results"][0]["name"] == "天河区"
    assert body["chain"]["nested"] is True
    assert [lv["name"] for lv in body["chain"]["levels"]] == ["广州市"]
    assert client.get("/api/search?q=天河区").get_json()["chain"] is None
    body = client.get("/api/search", query_string={"q": "深圳天河"}).get_json()
    assert body["chain"]["nested"] is False and body["results"][0]["name"] == "天河区"
    page = client.get("/search", query_string={"q": "深圳天河"}).get_data(as_text=True)
    assert "深圳市内没有" in page and "天河区" in page


def test_crs_names_are_case_insensitive_everywhere(client):
    """bd09, Gcj-02, wgs84, epsg:4326: the same as their upper-case names, in the single
    and the batch reverse lookup; an unknown name is still a clear 400."""
    gx, gy = crs.wgs84_to_gcj02([113.3245], [23.1064])
    bx, by = crs.gcj02_to_bd09(gx, gy)
    amap = (float(bx[0]), float(by[0]))
    for tag in ("BD09", "bd09", "Bd09", "bd-09", "bd09ll"):
        batch = client.post("/api/reverse/batch", json={"crs": tag, "points": [list(amap)]})
        assert batch.status_code == 200, (tag, batch.get_json())
        assert batch.get_json()["results"][0]["divisions"][-1]["name"] == "海珠区", tag
        single = client.get(f"/api/reverse?lon={amap[0]}&lat={amap[1]}&crs={tag}")
        assert single.status_code == 200 and single.get_json()["divisions"][-1]["name"] == "海珠区"
    for tag in ("wgs84", "gcj02", "cgcs2000", "epsg:4326", "epsg:4490"):
        r = client.post("/api/reverse/batch", json={"crs": tag, "points": [[113.3245, 23.1064]]})
        assert r.status_code == 200, (tag, r.get_json())
    for bad in ("mars", "", "EPSG:99999999", 4326):
        r = client.post("/api/reverse/batch", json={"crs": bad, "points": [[113.3, 23.1]]})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input", bad


def test_suggest_keeps_up_with_a_chain_over_http(client):
    """/api/suggest as the search box calls it while 广州天河石牌 is typed."""
    for typed, name in (("广州天", "天河区"), ("广州天河", "天河区"), ("广州天河石", "石牌街道")):
        results = client.get("/api/suggest", query_string={"q": typed}).get_json()["results"]
        match = [r for r in results if r["name"] == name]
        assert match, (typed, [r["name"] for r in results])
        assert match[0]["completion"].startswith(typed)
    r = client.get("/api/suggest", query_string={"q": "番禺"}).get_json()["results"][0]
    assert r["name"] == "番禺区" and r["completion"] == "番禺区"


def test_search_page_pages_titles_periods_and_bad_utf8(client):
    """More than one page of results: 更多 leads to the next ten; a 5,000-character query is
    not echoed whole in the title; bad UTF-8 says the query could not be read; the two
    historical 宝安县 show their periods; the public menu has no staff pages."""
    import re

    first = client.get("/search?q=村").get_data(as_text=True)
    more = re.search(r'href="(/search\?[^"]*offset=10[^"]*)"[^>]*>更多', first)
    assert more, "no 更多 link"
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    names = lambda page: re.findall(r'<a href="/place/(\d+)">', page)  # noqa: E731
    assert names(second) and not set(names(first)) & set(names(second))
    assert "第 11–" in second and "上一页" in second
    assert "找到 10 条以上" in first
    # An exactly full last page offers no 更多 onto an empty one; a page past the end says so.
    counts = {
        q: len(client.get("/api/search", query_string={"q": q, "limit": 100}).get_json()["results"])
        for q in ("沙湾", "石牌", "新村", "大岭", "番禺")
    }
    q, total = next((q, n) for q, n in counts.items() if 10 < n < 100)
    last = total - 10
    at_end = client.get("/search", query_string={"q": q, "offset": last}).get_data(as_text=True)
    assert len(names(at_end)) == 10 and "更多" not in at_end and "还有更多" not in at_end
    assert f"第 {last + 1}–{total} 条。" in at_end
    past = client.get("/search", query_string={"q": q, "offset": total}).get_data(as_text=True)
    assert names(past) == [] and "没有更多结果" in past and f"第 {total + 1}–" not in past
    few = client.get("/search", query_string={"q": q, "limit": total}).get_data(as_text=True)
    assert f"找到 {total} 条。" in few and "更多" not in few
    long = client.get("/search", query_string={"q": "石" * 5000}).get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", long, re.S).group(1)
    assert len(title) < 100
    bad = client.get("/search?q=%FF")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "无法读取" in text and "未保存" not in text
    baoan = client.get("/search?q=宝安县").get_data(as_text=True)
    historical = re.findall(r"（历史地名[^）]*）", baoan)
    assert len(historical) >= 2 and len(set(historical)) == len(historical), historical
    menu = client.get("/").get_data(as_text=True).split('id="site-nav"')[1].split("</nav>")[0]
    for staff_page in ("地名审批", "联检计划", "界桩巡检", "合规审查"):
        assert staff_page not in menu
    assert "地名查询" in menu


def test_staff_see_their_pages_in_the_menu(client):
    from helpers import login

    login(client, "officer_wang", "officer")
    menu = client.get("/").get_data(as_text=True).split('id="site-nav"')[1].split("</nav>")[0]
    assert "地名审批" in menu and "合规审查" in menu


def test_pasted_punctuation_and_invisible_characters_are_not_a_slip(client):
    """Quote marks, brackets and a full stop around a name, or a zero-width space or
    byte-order mark in it (what pasting brings along), are not part of the name: they
    counted as the one slip a typo search allows (a user test: “番禺” found nothing)."""
    for q in ("“番禺”", "（番禺）", "「番禺」", "番禺。", "番\u200b禺", "\ufeff番禺", '"番禺"'):
        hit = client.get("/api/search", query_string={"q": q}).get_json()["results"][0]
        assert (hit["name"], hit["matched_form"]) == ("番禺区", "prefix"), q
    for q in ("番禹。", "“番禹”"):  # and a slip inside them is still one slip
        hit = client.get("/api/search", query_string={"q": q}).get_json()["results"][0]
        assert (hit["name"], hit["matched_form"]) == ("番禺区", "typo"), q
    r = client.get("/api/search", query_string={"q": "。。"})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "q"
    page = client.get("/search", query_string={"q": "（番禺）"}).get_data(as_text=True)
    assert "番禺区" in page
    # Suggestions as the search answers them (a user test: 广州天河。 was a 400).
    for q in ("广州天河。", "“广州天河”", "（广州天河）"):
        r = client.get("/api/suggest", query_string={"q": q})
        assert r.status_code == 200, (q, r.get_json())
        assert r.get_json()["results"][0]["name"] == "天河区", q


def test_a_mixed_query_is_not_too_long_for_reading_its_characters_as_pinyin(client):
    """Characters and letters together are read as pinyin, several letters a character: a
    query of 35 characters was refused as 101 characters long (a user test)."""
    for q in ("番" * 34 + "a", "番" * 99 + "a", "石牌街到" + "x" * 96):
        r = client.get("/api/search", query_string={"q": q})
        assert r.status_code == 200, (len(q), r.get_json())
    r = client.get("/api/search", query_string={"q": "番" * 100 + "a"})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "q"
    assert client.get("/api/search?q=广zhou").get_json()["results"][0]["name"] == "广州市"


def test_lookups_say_how_long_they_took_in_the_worker(client):
    """``Server-Timing``: the lookup's own time, as browsers' developer tools and the
    worker benchmark read it (webmap/server_timing.py)."""
    for path, metric in (
        ("/api/search?q=番禺", "search"),
        ("/api/suggest?q=番", "suggest"),
        ("/api/reverse?lon=113.3&lat=23.1", "reverse"),
    ):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        timing = re.fullmatch(rf"{metric};dur=(\d+\.\d{{3}})", response.headers["Server-Timing"])
        assert timing and 0 < float(timing[1]) < 60_000
    # A refused query and a request after a timed one (the same worker thread) carry none:
    # refused by the parameter checks, or by the lookup itself.
    assert "Server-Timing" not in client.get("/api/search?q=").headers
    for refused in (
        "/api/search?q=%E2%80%9C%E2%80%9D",  # “”: punctuation alone
        "/api/suggest?q=%EF%BC%88%EF%BC%89",  # （）
        "/api/reverse?lon=200&lat=23",
        "/api/reverse?lon=113&lat=23&crs=EPSG:99999",
    ):
        response = client.get(refused)
        assert response.status_code == 400 and "Server-Timing" not in response.headers
    assert "Server-Timing" not in client.get("/api/search?q=番禺&limit=abc").headers
    assert "Server-Timing" not in client.get("/api/health").headers
    assert "Server-Timing" not in client.get("/api/divisions/440000").headers
