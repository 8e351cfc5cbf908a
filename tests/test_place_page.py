"""The public place page: map (own geometry or its division's), pinyin, class in words,
division links, former names and changes with approving body — never a staff account."""

import sqlalchemy as sa
from proposal_helpers import YUEZHOU, place_id_of, renaming_of_yuezhou, walk

from gazetteer import placement
from gazetteer.core.actors import Actor
from gazetteer.place_view import place_view, public_history_text
from gazetteer.tables import division_changes, places


def test_township_without_geometry_shows_its_county_on_the_map(client, store):
    pid = place_id_of(store, "440106006")  # 石牌街道, 无图形
    view = place_view(store, pid)
    assert not view["place"]["has_geometry"]
    assert view["map"]["of_division"]["name"] == "天河区"
    assert view["map"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert [d["name"] for d in view["division_links"]] == ["广东省", "广州市", "天河区"]
    assert all(d["place_id"] for d in view["division_links"])
    page = client.get(f"/place/{pid}").get_data(as_text=True)
    assert 'id="place-map"' in page and "地图显示其所在的天河区" in page
    assert "Shipai" in page  # pinyin
    assert "行政区划（省、市、县、乡镇、街道）" in page  # class in words
    county = view["division_links"][-1]["place_id"]
    assert f'href="/place/{county}"' in page
    county_view = place_view(store, county)
    assert county_view["place"]["has_geometry"] and county_view["map"]["of_division"] is None


def test_placing_on_the_map_never_shows_the_staff_account(client, store):
    pid = place_id_of(store, "440106006002")
    with store.read() as conn:
        version = conn.execute(sa.select(places.c.version).where(places.c.id == pid)).scalar()
    officer = Actor("shenhe1", frozenset({"officer"}))
    placement.place_on_map(store, pid, 113.335, 23.135, actor=officer, version=version)
    page = client.get(f"/place/{pid}").get_data(as_text=True)
    body = client.get(f"/api/places/{pid}/public").get_data(as_text=True)
    assert "无图形地名上图" in page and "shenhe1" not in page and "shenhe1" not in body
    assert "地图：本地名的位置" in page
    # Records written by older versions carried the account in brackets: hidden too.
    assert (
        public_history_text("2024-05-01 无图形地名上图（shenhe1）") == "2024-05-01 无图形地名上图"
    )


def test_renamed_place_lists_former_name_and_approving_body(client, store, clock, corpus):  # noqa: F811
    old_id = place_id_of(store, YUEZHOU)
    p = renaming_of_yuezhou(store, clock)
    p = walk(store, clock, corpus, p, "in_force")
    new_id = p["result_place_id"]
    view = place_view(store, new_id)
    assert [f["name"] for f in view["former_names"]] == ["岳洲社区居委会"]
    renamed = [c for c in view["changes"] if c["approving_body"]]
    assert renamed and renamed[0]["approving_body"] == "广州市天河区人民政府"
    assert renamed[0]["decision_date"] and renamed[0]["announced_on"]
    page = client.get(f"/place/{new_id}").get_data(as_text=True)
    assert "岳洲社区居委会" in page and "穗天府函〔2024〕1号" in page
    for account in ("clerk_li", "officer_wang", "approver_chen"):
        assert account not in page
    old_page = client.get(f"/place/{old_id}").get_data(as_text=True)
    assert "现名" in old_page and "岳溪社区居委会" in old_page


def test_unknown_place_is_404(client):
    assert client.get("/place/999999999").status_code == 404
    assert client.get("/api/places/999999999/public").get_json()["error"]["code"] == "not_found"


def panyu_ids(store) -> dict[str, int]:
    """{name: place id} of 番禺县, 番禺市 (historical) and 番禺区 (in force)."""
    with store.read() as conn:
        return dict(
            conn.execute(
                sa.select(places.c.name, places.c.id).where(
                    places.c.name.in_(["番禺县", "番禺市", "番禺区"])
                )
            ).all()
        )


def test_historical_dates_are_shown_as_precisely_as_the_source(client, store):
    """番禺县 → 番禺市 (1992) → 番禺区 (2000): the table knows only the years, so no page
    says 1992-01-01; the years are shown as years on every page that shows them."""
    ids = panyu_ids(store)
    pages = {name: client.get(f"/place/{pid}").get_data(as_text=True) for name, pid in ids.items()}
    pages["search"] = client.get("/search?q=番禺市").get_data(as_text=True)
    for name, page in pages.items():
        assert "1992-01-01" not in page and "2000-01-01" not in page, name
        assert "1992年" in page, name
    assert "2000年" in pages["番禺市"] and "1992年—2000年" in pages["番禺区"]
    # The JSON keeps the stored dates and adds them as known.
    view = client.get(f"/api/places/{ids['番禺市']}/public").get_json()
    assert view["place"]["named_date_as_known"] == "1992年"
    assert view["place"]["retired_date_as_known"] == "2000年"


def test_no_staff_account_in_any_anonymous_answer_after_a_naming(client, store, clock, corpus):
    """A naming walked into force: the anonymous JSON of the record, its history, its public
    view and the change feed name no staff account anywhere; staff with a token still do."""
    from helpers import token_headers
    from proposal_helpers import APPROVER, CLERK, OFFICER, new_naming

    p = walk(store, clock, corpus, new_naming(store, clock), "in_force")
    pid = p["result_place_id"]
    assert p["place_id"] == pid  # the bring_into_force answer names the record it created
    accounts = {CLERK.username, OFFICER.username, APPROVER.username}
    for url in (
        f"/api/places/{pid}",
        f"/api/places/{pid}/history",
        f"/api/places/{pid}/public",
        f"/place/{pid}",
        "/api/places?name=长乐路",
        "/api/changes?since=2000-01-01T00:00:00Z",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert not [a for a in accounts if a in body], url
    staff = token_headers(store, "officer_wang", "officer")
    assert client.get(f"/api/places/{pid}", headers=staff).get_json()["registered_by"]
    history = client.get(f"/api/places/{pid}/history", headers=staff).get_json()
    assert any(v["recorded_by"] for v in history["versions"])


def test_historical_page_lists_successors_apart_and_a_human_source(client, store):
    """番禺市's page: 番禺区 is its successor (not a former name), 番禺县 its former name; the
    source is the document or publication the table cites, never the file and row id; no
    上图 jargon; a record without a source has no empty 资料来源 row."""
    import re

    ids = panyu_ids(store)
    with store.read() as conn:
        key = conn.execute(
            sa.select(places.c.source_key).where(places.c.id == ids["番禺市"])
        ).scalar()
        row = conn.execute(
            sa.select(division_changes.c.document, division_changes.c.source).where(
                division_changes.c.change_id == key.split(":", 1)[1]
            )
        ).first()
    view = place_view(store, ids["番禺市"])
    assert [s["name"] for s in view["successors"]] == ["番禺区"]
    assert "番禺区" not in [f["name"] for f in view["former_names"]]
    assert "data/division_changes.csv" not in (view["place"]["source"] or "")
    assert (row.document or row.source) in view["place"]["source"]
    page = client.get(f"/place/{ids['番禺市']}").get_data(as_text=True)
    former = page.split("<h2>曾用名</h2>")[1].split("</ul>")[0] if "<h2>曾用名</h2>" in page else ""
    assert "番禺区" not in former
    assert "今名与后继名称" in page and "上图" not in page and "GD2000-" not in page
    assert not re.search(r"<th>资料来源</th><td>\s*</td>", page)
    # A new place with no source: no empty row.
    pid = place_id_of(store, "440106006002")
    with store.write() as conn:
        conn.execute(sa.update(places).where(places.c.id == pid).values(source=None))
    page = client.get(f"/place/{pid}").get_data(as_text=True)
    assert "资料来源" not in page and "上图" not in page
