"""Notices (公示) the public can answer, announcements (公告), Atom feeds, the change feed."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from proposal_helpers import (
    OFFICER,
    YUEZHOU,
    Clock,
    new_naming,
    place_id_of,
    renaming_of_yuezhou,
    step,
    walk,
)

from gazetteer import notices, placement, workflow
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.registry import utcnow
from gazetteer.tables import places
from tests.helpers import csrf_headers, login, logout

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def clock():
    # The web pages read the real clock: the notice period must include today.
    return Clock(utcnow().replace(microsecond=0))


def on_notice(store, clock, corpus, name="石榴岗路"):  # noqa: F811
    p = new_naming(store, clock, name, reasons="新建道路，连接石牌与员村", meaning=None)
    return walk(store, clock, corpus, p, "on_notice")


def from_another_address(client, api: str, body: str):
    """POST an opinion to ``api`` as a client at another address (192.0.2.7)."""
    return client.post(
        api,
        json={"body": body},
        headers=csrf_headers(client),
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )


def test_public_reads_a_notice_and_leaves_an_opinion_an_officer_sees(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    p = on_notice(store, clock, corpus)
    listing = client.get("/notices").get_data(as_text=True)
    assert "石榴岗路" in listing and "公示期" in listing
    page = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    assert "新建道路" in page and 'name="website"' in page and 'id="place-map"' in page
    # Without the CSRF token: refused, nothing stored.
    refused = client.post(f"/notices/{p['id']}/opinions", data={"body": "赞成这个名称。"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    headers = csrf_headers(client)
    sent = client.post(
        f"/notices/{p['id']}/opinions",
        data={"body": "赞成这个名称，石榴岗是本地老地名。", "author": "员村居民"},
        headers=headers,
    )
    assert sent.status_code == 302
    assert "意见已提交" in client.get(sent.headers["Location"]).get_data(as_text=True)
    # The officer sees it on the proposal as a public opinion.
    seen = workflow.get_proposal(store, p["id"], OFFICER)["opinions"]
    public = [o for o in seen if o["kind"] == "public"]
    assert [(o["author"], o["recorded_by"]) for o in public] == [("员村居民", "public")]
    login(client, "officer_wang", "officer")
    officer_page = client.get(f"/officer/proposals/{p['id']}").get_data(as_text=True)
    assert "公众意见" in officer_page and "石榴岗是本地老地名" in officer_page
    # The public still cannot read other opinions, nor the proposal's internals.
    logout(client)
    assert "石榴岗是本地老地名" not in client.get(f"/notices/{p['id']}").get_data(as_text=True)


def test_opinion_limits(client, store, clock, corpus):  # noqa: F811
    p = on_notice(store, clock, corpus)
    headers = csrf_headers(client)
    url = f"/notices/{p['id']}/opinions"
    api = f"/api/notices/{p['id']}/opinions"
    for data in (
        {"body": "好"},  # too short
        {"body": "长" * (notices.OPINION_MAX_CHARS + 1)},
        {"body": "赞成这个名称。", "author": "名" * 51},
        {"body": "赞成这个名称。", "website": "http://spam.example"},  # honeypot
        {"body": "   "},
    ):
        r = client.post(url, data=data, headers=headers)
        assert r.status_code == 400, data
    r = client.post(api, json={"body": ["a list"]}, headers=headers)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"
    raw = '{"body": "x\\ud800yyyy"}'  # a lone surrogate as a JSON escape
    r = client.post(api, data=raw, content_type="application/json", headers=headers)
    assert r.status_code == 400
    for i in range(notices.OPINIONS_PER_NOTICE_PER_ADDRESS):
        r = client.post(api, json={"body": f"第 {i + 1} 条意见：赞成。"}, headers=headers)
        assert r.status_code == 201, r.get_json()
    r = client.post(api, json={"body": "第四条意见：赞成。"}, headers=headers)
    assert r.status_code == 409 and "最多" in r.get_json()["error"]["message"]
    # A form post past the limit gets the page back with the message and the text kept.
    r = client.post(url, data={"body": "第五条意见：赞成。"}, headers=headers)
    assert r.status_code == 409 and "第五条意见" in r.get_data(as_text=True)
    # Another address may still send.
    assert from_another_address(client, api, "另一个地址的意见。").status_code == 201
    assert notices.get_notice(store, p["id"])["public_opinions"] == 4


def test_opinions_only_while_the_notice_runs(store, clock, corpus):  # noqa: F811
    p = on_notice(store, clock, corpus)
    later = Clock(clock.now + dt.timedelta(days=30))
    with pytest.raises(Conflict):
        notices.submit_public_opinion(
            store, p["id"], body="过期的意见。", source_digest="d", clock=later
        )
    with pytest.raises(NotFound):
        notices.submit_public_opinion(store, 999999, body="没有的公示。", source_digest="d")
    with pytest.raises(InvalidInput):
        notices.submit_public_opinion(store, p["id"], body="没有来源。", source_digest="")
    assert notices.get_notice(store, p["id"])["public_opinions"] == 0


def test_announcements_feeds_and_change_feed(client, store, clock, corpus):  # noqa: F811
    p = on_notice(store, clock, corpus, name="石榴岗路")
    feed = ET.fromstring(client.get("/notices.atom").data)
    assert [e.find(f"{ATOM}title").text for e in feed.iter(f"{ATOM}entry")] == [
        "命名公示：石榴岗路"
    ]
    for action in ("approve", "announce", "bring_into_force"):
        p = step(store, clock, corpus, p, action)
    assert client.get("/notices").get_data(as_text=True).count("石榴岗路") == 0
    page = client.get("/announcements").get_data(as_text=True)
    assert "石榴岗路" in page and "广州市天河区人民政府" in page
    response = client.get("/announcements.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    entries = list(feed.iter(f"{ATOM}entry"))
    assert len(entries) == 1 and "石榴岗路" in entries[0].find(f"{ATOM}summary").text
    link = entries[0].find(f"{ATOM}link").get("href")
    assert f"/place/{p['result_place_id']}" in link
    # The change feed: everything, then nothing after the last sequence number.
    body = client.get("/api/changes?since=0").get_json()
    named = [c for c in body["changes"] if c["place_id"] == p["result_place_id"]]
    assert named and named[0]["change"] == "named" and named[0]["name"] == "石榴岗路"
    text = client.get("/api/changes?since=0").get_data(as_text=True)
    for account in ("clerk_li", "officer_wang", "approver_chen"):
        assert account not in text
    after = client.get(f"/api/changes?since={body['next_since']}").get_json()
    assert after["changes"] == [] and after["next_since"] == body["next_since"]
    # A sequence beyond any id the store can hold (PostgreSQL: 32 bits) is after everything.
    beyond = client.get("/api/changes?since=758292179311110126")
    assert beyond.status_code == 200 and beyond.get_json()["changes"] == []
    by_time = client.get(
        "/api/changes", query_string={"since": (clock.now - dt.timedelta(days=60)).isoformat()}
    ).get_json()
    assert [c["sequence"] for c in by_time["changes"]] == [c["sequence"] for c in body["changes"]]
    paged = client.get("/api/changes?since=0&limit=1").get_json()
    assert len(paged["changes"]) == 1 and paged["more"] is (len(body["changes"]) > 1)
    for bad in ("since=yesterday", "since=2024-05-01T00:00:00", "limit=0", "since=-1"):
        r = client.get(f"/api/changes?{bad}")
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input", bad
    # 29 February of a leap year is a day (a user test: it was refused as ill-formed), of
    # another year it is refused, naming the parameter.
    leap = client.get("/api/changes", query_string={"since": "2024-02-29T00:00:00Z"})
    assert leap.status_code == 200 and leap.get_json()["changes"] == body["changes"]
    r = client.get("/api/changes", query_string={"since": "2023-02-29T00:00:00Z"})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "since"
    # An ill-formed value is told what is wanted, not only that it is wrong.
    message = client.get("/api/changes?since=2024-13-01").get_json()["error"]["message"]
    assert "格式不对" in message and "带时区的 ISO 8601 时刻" in message, message


@pytest.mark.parametrize("encoded", ["%ED%A0%80", "%FF", "%C3", "abc%E4%B8"])
def test_opinion_form_with_percent_encoded_invalid_utf8_is_refused(
    client,
    store,
    clock,
    corpus,  # noqa: F811
    encoded,
):
    """A form body is percent-encoded bytes: ones that are not UTF-8 (an encoded lone
    surrogate, a stray byte, a cut sequence) are refused, never stored as replacement
    characters or literal text; the same text well encoded is then accepted."""
    p = on_notice(store, clock, corpus)
    headers = csrf_headers(client)
    token = headers["X-CSRFToken"]
    raw = f"body=%E8%B5%9E%E6%88%90{encoded}%E8%BF%99%E4%B8%AA%E5%90%8D%E7%A7%B0&csrf_token={token}"
    for field in ("body", "author"):
        body = raw if field == "body" else raw.replace(encoded, "") + f"&author={encoded}"
        r = client.post(
            f"/notices/{p['id']}/opinions",
            data=body,
            content_type="application/x-www-form-urlencoded",
        )
        assert r.status_code == 400, (field, r.status_code)
        assert "UTF-8" in r.get_data(as_text=True)
    assert notices.get_notice(store, p["id"])["public_opinions"] == 0
    # The same in a query string.
    r = client.get(f"/api/search?q=%E5%A4%A9{encoded}")
    assert r.status_code == 400 and "UTF-8" in r.get_json()["error"]["message"]
    # Second action: the well-encoded text goes through.
    ok = client.post(
        f"/notices/{p['id']}/opinions",
        data=raw.replace(encoded, ""),
        content_type="application/x-www-form-urlencoded",
    )
    assert ok.status_code == 302
    assert notices.get_notice(store, p["id"])["public_opinions"] == 1


def test_opinion_form_posts_to_a_page_route_and_the_json_api_stays(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    """Progressive enhancement: the page's form posts to a page route (no /api/), which
    redirects back to the notice with a message; the JSON API answers clients."""
    p = on_notice(store, clock, corpus)
    page = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    action = page.split('class="opinion-form"', 1)[1].split('action="', 1)[1].split('"', 1)[0]
    assert action.startswith(f"/notices/{p['id']}/opinions"), action
    assert "/api/" not in action
    headers = csrf_headers(client)
    sent = client.post(action, data={"body": "赞成，名称好记。"}, headers=headers)
    assert sent.status_code == 302 and f"/notices/{p['id']}" in sent.headers["Location"]
    assert "意见已提交" in client.get(sent.headers["Location"]).get_data(as_text=True)
    # A refused form post gets the page (HTML, not JSON) with the message.
    short = client.post(action, data={"body": "好"}, headers=headers)
    assert short.status_code == 400 and short.mimetype == "text/html"
    assert "意见内容应为" in short.get_data(as_text=True)
    api = f"/api/notices/{p['id']}/opinions"
    r = client.post(api, json={"body": "客户端提交的意见。"}, headers=headers)
    assert r.status_code == 201 and r.get_json()["body"] == "客户端提交的意见。"
    r = client.post(api, json=["not", "an", "object"], headers=headers)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"
    assert notices.get_notice(store, p["id"])["public_opinions"] == 2


def test_notice_map_draws_the_place_among_its_division_and_neighbours(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    """Not a lone dot: the notice's map carries the division the name lies in (天河区, its
    outline) and the neighbouring districts of 广州 as context, each named."""
    import json
    from html import unescape

    p = on_notice(store, clock, corpus)
    context = notices.get_notice(store, p["id"])["map_context"]
    roles = {f["properties"]["name"]: f["properties"]["role"] for f in context["features"]}
    assert roles["天河区"] == "division"
    assert {"越秀区", "海珠区", "白云区"} <= {n for n, r in roles.items() if r == "neighbour"}
    page = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    attr = page.split("data-context='", 1)[1].split("'", 1)[0]
    assert json.loads(unescape(attr)) == json.loads(json.dumps(context))
    assert 'data-label="石榴岗路"' in page and "红线为所在的天河区" in page


def test_a_closed_notice_stays_readable_with_its_outcome(client, store, clock, corpus):  # noqa: F811
    """After approval or rejection the notice page says what came of it; opinions are
    refused with 409 (not 404) and a message; an id that never was on notice stays 404."""
    headers = csrf_headers(client)
    approved = on_notice(store, clock, corpus, name="石榴岗路")
    rejected = on_notice(store, clock, corpus, name="员村二横路")
    for action in ("approve", "announce", "bring_into_force"):
        approved = step(store, clock, corpus, approved, action)
    rejected = step(store, clock, corpus, rejected, "reject")
    page = client.get(f"/notices/{approved['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "本公示已结束" in text and "已批准并生效" in text
    assert f'href="/place/{approved["result_place_id"]}"' in text
    assert "不再接受意见" in text and 'name="website"' not in text
    text = client.get(f"/notices/{rejected['id']}").get_data(as_text=True)
    assert "不予批准" in text and "本公示已结束" in text
    # a client reads the same outcome as JSON
    for p, outcome in ((approved, "已批准并生效"), (rejected, "不予批准")):
        one = client.get(f"/api/notices/{p['id']}").get_json()
        assert (one["outcome_zh"], one["open"], one["days_left"]) == (outcome, False, 0)
    placed = client.get(f"/api/notices/{approved['id']}").get_json()["result_place_id"]
    assert placed == approved["result_place_id"]
    for p in (approved, rejected):
        r = client.post(
            f"/api/notices/{p['id']}/opinions", json={"body": "迟到的意见。"}, headers=headers
        )
        assert r.status_code == 409 and "已结束" in r.get_json()["error"]["message"]
        r = client.post(
            f"/notices/{p['id']}/opinions", data={"body": "迟到的意见。"}, headers=headers
        )
        text = r.get_data(as_text=True)
        assert r.status_code == 409 and "该公示已结束" in text
        assert text.count("不再接受意见") == 1, text  # the refusal, said once
    assert notices.get_notice(store, rejected["id"])["public_opinions"] == 0
    draft = new_naming(store, clock, "员村三横路")
    for pid in (draft["id"], 999999):
        assert client.get(f"/notices/{pid}").status_code == 404
        missing = client.get(f"/api/notices/{pid}")
        assert missing.status_code == 404 and "公示" in missing.get_json()["error"]["message"]
        r = client.post(
            f"/api/notices/{pid}/opinions", json={"body": "没有的公示。"}, headers=headers
        )
        assert r.status_code == 404


def test_a_renaming_notice_names_the_record_and_shows_where_it_is(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    """The public reads which record a renaming is about (its name as it stands) and sees
    it on the map from the record's geometry (user test, 2026-11-30: 更名公示：长兴路 named
    neither 长乐路 nor where it is)."""
    place_id = place_id_of(store, YUEZHOU)
    with store.read() as conn:
        version = conn.execute(
            sa.select(places.c.version).where(places.c.id == place_id)
        ).scalar_one()
    placement.place_on_map(
        store, place_id, 113.349, 23.154, actor=OFFICER, version=version, clock=clock
    )
    p = walk(store, clock, corpus, renaming_of_yuezhou(store, clock), "on_notice")
    one = client.get(f"/api/notices/{p['id']}").get_json()
    assert (one["place_name"], one["name"]) == ("岳洲社区居委会", "岳溪社区居委会")
    assert one["location"]["type"] == "Point" and one["location"]["coordinates"][0] == 113.349
    page = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    assert "现名称" in page and "岳洲社区居委会（拟更名为“岳溪社区居委会”）" in page
    assert 'id="place-map"' in page and "拟更名的「岳洲社区居委会」的位置" in page
    listed = client.get("/notices").get_data(as_text=True)
    assert "更名：岳洲社区居委会 → 岳溪社区居委会" in listed
    login(client, "wang", "officer")  # staff see where the record is too
    staff = client.get(f"/officer/proposals/{p['id']}").get_data(as_text=True)
    assert "原地名记录的位置：Point" in staff and "无图形" not in staff
    logout(client)
    # the second action: once in force, the page speaks of the old name as old
    for action in ("approve", "announce", "bring_into_force"):
        p = step(store, clock, corpus, p, action)
    page = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    assert "原名称" in page and "已更名为“岳溪社区居委会”" in page and "现名称" not in page
    assert "更名前的「岳洲社区居委会」的位置" in page


def test_a_withdrawn_notice_says_so_and_a_late_opinion_is_kept_to_copy(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    """Withdrawn on its first day, a notice is 终止 (not 已结束 with 公示期已结束); a person
    whose page was open before gets the refusal once and their text back to copy (user
    test, 2026-11-30: 'closed' was said four times and the opinion was lost)."""
    p = on_notice(store, clock, corpus, name="凤舞路")
    step(store, clock, corpus, p, "withdraw", reason="申请单位撤回")
    text = client.get(f"/notices/{p['id']}").get_data(as_text=True)
    assert "本公示已终止：申请已撤回" in text and "（已终止）" in text
    assert "申请已撤回，公示已终止，不再接受意见。" in text and "公示期已结束" not in text
    typed = "赞成这个名称，页面打开时写的。"
    late = client.post(
        f"/notices/{p['id']}/opinions", data={"body": typed}, headers=csrf_headers(client)
    )
    text = late.get_data(as_text=True)
    assert late.status_code == 409 and text.count("不再接受意见") == 1, text
    assert "申请已撤回，该公示已终止" in text and f'readonly rows="4">{typed}</textarea>' in text
    assert notices.get_notice(store, p["id"])["public_opinions"] == 0


def test_the_same_opinion_twice_is_stored_once_and_wrong_types_are_named(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    p = on_notice(store, clock, corpus)
    headers = csrf_headers(client)
    api = f"/api/notices/{p['id']}/opinions"
    assert client.post(api, json={"body": "赞成这个名称。"}, headers=headers).status_code == 201
    again = client.post(api, json={"body": "赞成这个名称。"}, headers=headers)
    assert again.status_code == 409 and "已经提交过" in again.get_json()["error"]["message"]
    # Another address may say the same thing.
    assert from_another_address(client, api, "赞成这个名称。").status_code == 201
    r = client.post(api, json={"body": 123}, headers=headers)
    message = r.get_json()["error"]["message"]
    assert r.status_code == 400 and "应为文字" in message and "请填写" not in message
    assert notices.get_notice(store, p["id"])["public_opinions"] == 2


def test_announcements_keep_their_lines_and_an_empty_feed_has_a_real_date(
    client,
    store,
    clock,
    corpus,  # noqa: F811
):
    empty = ET.fromstring(client.get("/notices.atom").data)
    updated = empty.find(f"{ATOM}updated").text
    assert not updated.startswith("1970")
    assert abs(dt.datetime.fromisoformat(updated.replace("Z", "+00:00")) - utcnow()).days < 1
    p = on_notice(store, clock, corpus, name="石榴岗路")
    for action in ("approve", "announce"):
        p = step(store, clock, corpus, p, action)
    text = workflow.get_proposal(store, p["id"], OFFICER)["announcement_text"]
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) >= 3
    page = client.get("/announcements").get_data(as_text=True)
    for line in lines:
        assert f"<p>{line}</p>" in page
