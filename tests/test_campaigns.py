"""The officers' campaigns through the HTTP API: the 大洋怪重 clean-up worklist
(民发〔2018〕146号) and 上图 of names without geometry (one at a time and from a table of
surveyed coordinates); with the second actions — retry after a refusal, the next name after
placing one, wrong coordinates, clerk against officer, a file with broken rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from helpers import csrf_headers, login, logout

from gazetteer import registry
from gazetteer.core import crs
from gazetteer.core.actors import Actor
from gazetteer.registry_tables import place_versions
from gazetteer.tables import places

HUADU = "440114"  # 花都区: 㘵岗村委会 has a character outside the 8,105 (怪)
GUANGZHOU = "440100"
TIANHE = "440106"


def place_named(store, name):
    with store.read() as conn:
        return conn.execute(
            sa.select(places.c.id, places.c.version).where(
                places.c.name == name, places.c.status == "in_force"
            )
        ).first()


def build(client, division=HUADU):
    response = client.post("/api/cleanup/build", json={"division": division})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def item_of(client, name):
    items = client.get("/api/cleanup", query_string={"q": name}).get_json()["items"]
    return next(i for i in items if i["name"] == name)


# ---- 大洋怪重 clean-up ------------------------------------------------------------------------


def test_worklist_lists_flagged_names_with_progress_per_city(client, store):
    login(client, "wang", "officer")
    result = build(client)
    assert result["checked"] > 100 and 0 < result["flagged"] == result["added"]
    listing = client.get("/api/cleanup", query_string={"limit": 1000}).get_json()
    assert listing["total"] == result["flagged"]
    assert {i["county_code"] for i in listing["items"]} == {HUADU}
    # Every item is one of the four kinds, and carries the checker's findings.
    for item in listing["items"]:
        assert item["kinds"] and set(item["kinds"]) <= set("大洋怪重")
        assert item["findings"] and item["status"] == "to_review"
    rare = item_of(client, "㘵岗村委会")
    assert "怪" in rare["kinds"]
    assert any(f["rule_id"] == "odd.rare-char" for f in rare["findings"])
    [city] = listing["progress"]
    assert city["city_code"] == GUANGZHOU and city["city"] == "广州市"
    assert city["total"] == listing["total"] and city["percent"] == 0.0
    # Built again: nothing added twice, undecided findings refreshed.
    again = build(client)
    assert again["added"] == 0 and again["refreshed"] == result["flagged"]
    # Filters.
    odd = client.get("/api/cleanup", query_string={"kind": "怪"}).get_json()
    assert odd["total"] >= 1 and all("怪" in i["kinds"] for i in odd["items"])
    assert client.get("/api/cleanup", query_string={"city": "440200"}).get_json()["total"] == 0
    bad = client.get("/api/cleanup", query_string={"status": "finished"})
    assert bad.status_code == 400 and "状态" in bad.get_json()["error"]["message"]
    assert client.get("/api/cleanup", query_string={"kind": "丑"}).status_code == 400
    assert client.get("/api/cleanup", query_string={"limit": 0}).status_code == 400


def test_drafting_links_are_shown_to_the_role_that_drafts(client, store):
    """Clerks draft proposals: the worklist's 起草更名申请, the nav's 起草申请 and the record
    page's 申请更名 are shown to clerks, not to officers (who would be refused on submit)."""
    login(client, "wang", "officer")
    build(client)
    pid = item_of(client, "㘵岗村委会")["place_id"]
    draft_link = f"/officer/proposals/new?kind=renaming&amp;place_id={pid}"
    for user, role, shown in (("wang", "officer", False), ("li", "clerk", True)):
        login(client, user, role)
        page = client.get("/officer/cleanup", query_string={"kind": "怪"}).get_data(as_text=True)
        assert ("起草更名申请" in page and draft_link in page) is shown, role
        assert ('">起草申请</a>' in page) is shown, role
        record = client.get(f"/officer/places/{pid}").get_data(as_text=True)
        assert ("申请更名" in record) is shown, role


def test_keep_needs_a_reason_and_the_officer_role_and_a_fresh_version(client, store):
    login(client, "wang", "officer")
    build(client)
    item = item_of(client, "㘵岗村委会")
    url = f"/api/cleanup/{item['id']}/decision"
    # A clerk reads the list but does not decide.
    login(client, "li", "clerk")
    assert client.get("/api/cleanup").status_code == 200
    refused = client.post(url, json={"decision": "kept", "reason": "历史地名", "version": 1})
    assert refused.status_code == 403
    logout(client)
    assert client.get("/api/cleanup").status_code == 401
    login(client, "wang", "officer")
    # No reason, wrong types, unknown decision: refused, nothing changes.
    no_reason = client.post(url, json={"decision": "kept", "version": item["version"]})
    assert no_reason.status_code == 400 and "理由" in no_reason.get_json()["error"]["message"]
    assert (
        client.post(url, json={"decision": "kept", "reason": "x", "version": "1"}).status_code
        == 400
    )
    assert client.post(url, json={"decision": "renamed", "version": 1}).status_code == 400
    assert item_of(client, "㘵岗村委会")["status"] == "to_review"
    # A stale version is a conflict; the retry with the version the list now shows passes.
    stale = client.post(url, json={"decision": "kept", "reason": "r", "version": 99})
    assert stale.status_code == 409
    kept = client.post(
        url,
        json={"decision": "kept", "reason": "村名沿用已久，“㘵”为地方用字（测试）", "version": 1},
    )
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["status"] == "kept" and kept.get_json()["decided_by"] == "wang"
    progress = client.get("/api/cleanup").get_json()["progress"][0]
    assert progress["kept"] == 1 and progress["percent"] > 0
    # The same form sent twice: the second is stale.
    assert (
        client.post(url, json={"decision": "kept", "reason": "r", "version": 1}).status_code == 409
    )
    reopened = client.post(url, json={"decision": "to_review", "version": 2})
    assert reopened.get_json()["status"] == "to_review"


def test_a_renaming_proposal_links_the_item_and_its_end_marks_it_done(client, store):
    login(client, "wang", "officer")
    build(client)
    item = item_of(client, "㘵岗村委会")
    login(client, "li", "clerk")
    body = {
        "kind": "renaming",
        "applicant": "花都区民政局",
        "reasons": "清理整治不规范地名：含生僻字（测试）",
        "place_id": item["place_id"],
        "proposed": {"name": "田岗村委会"},
    }
    created = client.post("/api/proposals", json=body)
    assert created.status_code == 201, created.get_json()
    proposal = created.get_json()
    linked = item_of(client, "㘵岗村委会")
    assert linked["status"] == "rename_proposed" and linked["proposal"]["id"] == proposal["id"]
    # Decided by the workflow now: keeping it here is refused.
    login(client, "wang", "officer")
    refused = client.post(
        f"/api/cleanup/{item['id']}/decision",
        json={"decision": "kept", "reason": "保留", "version": linked["version"]},
    )
    assert refused.status_code == 409
    # Withdrawn: back to review.
    login(client, "li", "clerk")
    withdrawn = client.post(
        f"/api/proposals/{proposal['id']}/actions/withdraw",
        json={"version": proposal["version"], "reason": "改由区政府统一更名"},
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert item_of(client, "㘵岗村委会")["status"] == "to_review"
    # The record leaves force (here retired through the registry): the item is done.
    officer = Actor("wang", frozenset({"officer"}))
    now = dt.datetime(2025, 1, 2, 2, tzinfo=dt.UTC)
    with store.write(actor=officer) as conn:
        registry.retire_place(
            conn,
            item["place_id"],
            effective_date=now.date(),
            reason="村委会撤并（测试）",
            actor=officer,
            now=now,
        )
    login(client, "wang", "officer")
    done = item_of(client, "㘵岗村委会")
    assert done["status"] == "done"
    assert client.get("/api/cleanup").get_json()["totals"]["done"] == 1


def test_worklist_csv_export(client, store):
    login(client, "wang", "officer")
    build(client)
    response = client.get("/api/cleanup.csv", query_string={"kind": "怪"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    total = client.get("/api/cleanup", query_string={"kind": "怪"}).get_json()["total"]
    assert len(rows) == total >= 1
    row = next(r for r in rows if r["name"] == "㘵岗村委会")
    assert row["city"] == "广州市" and row["county"] == "花都区" and row["status_zh"] == "待审查"
    logout(client)
    assert client.get("/api/cleanup.csv").status_code == 401


# ---- 上图 -------------------------------------------------------------------------------------


def next_unplaced(client, county=TIANHE, after=None):
    query = {"county": county, "limit": 1}
    if after is not None:
        query["after"] = after
    response = client.get("/api/placements/unplaced", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def versions_of(store, place_id):
    with store.read() as conn:
        return conn.execute(
            sa.select(
                place_versions.c.change,
                place_versions.c.change_reason,
                place_versions.c.recorded_by,
            )
            .where(place_versions.c.place_id == place_id)
            .order_by(place_versions.c.version)
        ).all()


def test_place_one_then_the_next_with_progress_per_county(client, store):
    login(client, "wang", "officer")
    before = client.get("/api/placements/progress", query_string={"city": GUANGZHOU}).get_json()
    tianhe = next(c for c in before["counties"] if c["code"] == TIANHE)
    assert tianhe["remaining"] > 0 and tianhe["city"] == "广州市"
    first = next_unplaced(client)
    item = first["items"][0]
    assert first["remaining"] == tianhe["remaining"] and item["hint"]
    lon, lat = item["hint"]
    # Wrong coordinates first: outside Guangdong, swapped, zero, NaN, text — each refused.
    url = f"/api/places/{item['id']}/geometry"
    for bad in ({"lon": 116.397, "lat": 39.909}, {"lon": lat, "lat": lon}, {"lon": 0, "lat": 0}):
        refused = client.post(url, json={**bad, "version": item["version"]})
        assert refused.status_code == 400 and "广东" in refused.get_json()["error"]["message"]
    nan = client.post(
        url,
        data=f'{{"lon": NaN, "lat": {lat}, "version": {item["version"]}}}',
        content_type="application/json",
    )
    assert nan.status_code == 400
    assert client.post(url, json={"lon": "东经", "lat": lat, "version": 1}).status_code == 400
    # A clerk may look but not place.
    login(client, "li", "clerk")
    assert next_unplaced(client)["items"][0]["id"] == item["id"]
    assert (
        client.post(url, json={"lon": lon, "lat": lat, "version": item["version"]}).status_code
        == 403
    )
    # The retry with good coordinates places it; the history records who and why.
    login(client, "wang", "officer")
    placed = client.post(url, json={"lon": lon, "lat": lat, "version": item["version"]})
    assert placed.status_code == 200, placed.get_json()
    assert placed.get_json()["geometry_source"] == "officer_placed"
    assert versions_of(store, item["id"])[-1] == ("corrected", "无图形地名上图", "wang")
    # The next name is another record, and the county's progress moved by one.
    following = next_unplaced(client, after=item["id"])
    assert following["items"][0]["id"] != item["id"]
    assert following["remaining"] == first["remaining"] - 1
    assert next_unplaced(client)["items"][0]["id"] != item["id"]  # not offered again
    after = client.get("/api/placements/progress", query_string={"city": GUANGZHOU}).get_json()
    moved = next(c for c in after["counties"] if c["code"] == TIANHE)
    assert (moved["placed"], moved["remaining"]) == (tianhe["placed"] + 1, tianhe["remaining"] - 1)
    # Placing the same record again (the form sent twice) is refused.
    again = client.post(url, json={"lon": lon, "lat": lat, "version": item["version"] + 1})
    assert again.status_code == 400 and "已有图形" in again.get_json()["error"]["message"]
    assert (
        client.get("/api/placements/unplaced", query_string={"county": "999999"}).status_code == 400
    )
    assert client.get("/api/placements/unplaced").status_code == 400


def upload(client, url, text, name="coords.csv", **form):
    data = {"file": (io.BytesIO(text.encode("utf-8")), name), **form}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_bulk_placement_from_a_csv_with_broken_rows(client, store):
    login(client, "wang", "officer")
    items = client.get(
        "/api/placements/unplaced", query_string={"county": TIANHE, "limit": 4}
    ).get_json()["items"]
    a, b, c, d = items
    # Row b arrives as surveyed Gauss–Krüger metres (CM 114°E, northing first as X), row c
    # is typed from Amap (GCJ-02) — converted by the office-import code, so it is sent on
    # its own below; the main file is CGCS2000 degrees.
    rows = [
        "place_id,lon,lat",
        f"{a['id']},{a['hint'][0]},{a['hint'][1]}",
        f"{d['id']},{d['hint'][0]},{d['hint'][1]}",
        f"{d['id']},{d['hint'][0]},{d['hint'][1]}",  # the same record twice
        f"abc,{a['hint'][0]},{a['hint'][1]}",  # not an id
        f"{c['id']},,",  # no coordinates
        f"{c['id']},116.397,39.909",  # Beijing
        f"{c['id']},nan,nan",
        f"{c['id']},0,0",
        "999999999,113.3,23.1",  # no such record
        f"{c['id']},东经,北纬",
    ]
    text = "\n".join(rows) + "\n"
    assert upload(client, "/api/placements/batch/preview", text).status_code == 400  # no crs
    login(client, "li", "clerk")
    assert upload(client, "/api/placements/batch/preview", text, crs="CGCS2000").status_code == 403
    login(client, "wang", "officer")
    preview = upload(client, "/api/placements/batch/preview", text, crs="CGCS2000")
    assert preview.status_code == 200, preview.get_json()
    plan = preview.get_json()
    assert (plan["ok"], plan["errors"]) == (2, 8)
    messages = [r.get("error") for r in plan["rows"]]
    assert "同一地名记录在文件中出现多次" in messages
    assert any("整数" in (m or "") for m in messages)
    assert any("缺少坐标" in (m or "") for m in messages)
    assert sum("广东" in (m or "") for m in messages) == 2  # Beijing, 0
    assert "坐标不能是 NaN 或无穷大" in messages
    assert any("没有编号" in (m or "") for m in messages)
    with store.read() as conn:  # the preview changed nothing
        assert conn.execute(sa.select(places.c.geom).where(places.c.id == a["id"])).scalar() is None
    # Apply with a digest of another file: refused; with the preview's: two placed at once.
    wrong = client.post("/api/placements/batch", json={"digest": "0" * 64, "crs": "CGCS2000"})
    assert wrong.status_code == 404
    applied = client.post(
        "/api/placements/batch", json={"digest": plan["digest"], "crs": "CGCS2000"}
    )
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["placed"] == 2
    for pid in (a["id"], d["id"]):
        assert versions_of(store, pid)[-1] == (
            "corrected",
            "无图形地名上图（批量导入实测坐标）",
            "wang",
        )
    # Applying the same file again places nothing: the records have geometry now.
    again = client.post("/api/placements/batch", json={"digest": plan["digest"], "crs": "CGCS2000"})
    assert again.get_json()["placed"] == 0
    assert all(r["status"] == "error" for r in again.get_json()["rows"])
    # Gauss–Krüger (EPSG:4547, CM 114°E) with northing as X, and GCJ-02 from Amap.
    gk_x, gk_y = crs.to_gauss_kruger([b["hint"][0]], [b["hint"][1]], 114)
    gk = f"编号,X,Y\n{b['id']},{gk_y[0]:.3f},{gk_x[0]:.3f}\n"
    gk_plan = upload(
        client, "/api/placements/batch/preview", gk, name="gk.csv", crs="EPSG:4547"
    ).get_json()
    assert gk_plan["ok"] == 1, gk_plan
    assert gk_plan["rows"][0]["lon"] == pytest.approx(b["hint"][0], abs=1e-6)
    assert gk_plan["rows"][0]["lat"] == pytest.approx(b["hint"][1], abs=1e-6)
    gx, gy = crs.wgs84_to_gcj02([c["hint"][0]], [c["hint"][1]])
    gcj = f"place_id,经度,纬度\n{c['id']},{gx[0]:.7f},{gy[0]:.7f}\n"
    gcj_plan = upload(client, "/api/placements/batch/preview", gcj, crs="GCJ02").get_json()
    assert gcj_plan["rows"][0]["lon"] == pytest.approx(c["hint"][0], abs=1e-5)
    done = client.post("/api/placements/batch", json={"digest": gcj_plan["digest"], "crs": "GCJ02"})
    assert done.get_json()["placed"] == 1


def test_the_write_uses_exactly_the_previewed_crs_and_columns(client, store):
    """The digest only names the file: a GCJ-02 preview then a BD-09 write (or other
    columns) is refused and places nothing; a write naming no settings uses the preview's."""
    login(client, "wang", "officer")
    item = next_unplaced(client)["items"][0]
    gx, gy = crs.wgs84_to_gcj02([item["hint"][0]], [item["hint"][1]])
    text = f"编号,甲,乙\n{item['id']},{gx[0]:.7f},{gy[0]:.7f}\n"
    preview = upload(
        client, "/api/placements/batch/preview", text, crs="GCJ02", id="编号", x="甲", y="乙"
    ).get_json()
    assert preview["ok"] == 1, preview
    digest = preview["digest"]
    for body in (
        {"digest": digest, "crs": "BD09"},
        {"digest": digest, "crs": "GCJ02", "x": "乙", "y": "甲"},
    ):
        refused = client.post("/api/placements/batch", json=body)
        assert refused.status_code == 409, refused.get_json()
        assert "重新预览" in refused.get_json()["error"]["message"]
        assert "corrected" not in [v[0] for v in versions_of(store, item["id"])]
    done = client.post("/api/placements/batch", json={"digest": digest})
    assert done.status_code == 200 and done.get_json()["placed"] == 1, done.get_json()
    row = done.get_json()["rows"][0]
    assert (row["lon"], row["lat"]) == pytest.approx(tuple(item["hint"]), abs=1e-5)
    assert done.get_json()["crs"] == "GCJ02"


def test_a_file_that_cannot_be_read_is_refused_whole(client, store):
    login(client, "wang", "officer")
    bad = upload(client, "/api/placements/batch/preview", "名称\n东山\n", crs="CGCS2000")
    assert bad.status_code == 400 and "地名记录编号" in bad.get_json()["error"]["message"]
    exe = upload(client, "/api/placements/batch/preview", "x", name="a.exe", crs="CGCS2000")
    assert exe.status_code == 400
    odd_crs = upload(
        client, "/api/placements/batch/preview", "place_id,lon,lat\n1,113,23\n", crs="MARS"
    )
    assert odd_crs.status_code == 400
    empty = upload(client, "/api/placements/batch/preview", "place_id,lon,lat\n", crs="CGCS2000")
    assert empty.status_code == 400


def test_cleanup_build_from_the_command_line(store, tmp_path):
    import json

    from click.testing import CliRunner

    from webmap.cli import main

    result = CliRunner().invoke(
        main,
        [
            "--data-dir",
            str(tmp_path),
            "--database-url",
            store.url,
            "cleanup-build",
            "--division",
            HUADU,
        ],
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output.strip().splitlines()[-1])
    assert counts["checked"] > 100 and counts["added"] == counts["flagged"] > 0


def test_refusals_use_the_error_style_and_anonymous_imports_go_to_login(client, store):
    """A refused action shows in the error box (role alert), not the blue success box; an
    anonymous visit to the import pages is sent to sign in, like the other officer pages."""
    login(client, "wang", "officer")
    build(client)
    item = item_of(client, "㘵岗村委会")
    refused = client.post(
        f"/officer/cleanup/{item['id']}/decision",
        data={"version": item["version"], "decision": "kept", "reason": ""},
        headers=csrf_headers(client),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert 'class="flashes flash-error" role="alert"' in refused
    # A form without its version (or with text for it) is refused on the page and decides
    # nothing; back to the filtered worklist it came from.
    for version in ("", "abc"):
        answer = client.post(
            f"/officer/cleanup/{item['id']}/decision",
            data={
                "version": version,
                "decision": "kept",
                "reason": "沿用",
                "back": "kind=%E6%80%AA",
            },
            headers=csrf_headers(client),
        )
        assert answer.status_code == 302 and answer.headers["Location"].endswith("?kind=%E6%80%AA")
        page = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert "表单缺少版本号" in page
    assert item_of(client, "㘵岗村委会")["version"] == item["version"]
    # A role that may not decide still gets 403 from the form, not a message.
    logout(client)
    login(client, "li", "clerk")
    forbidden = client.post(
        f"/officer/cleanup/{item['id']}/decision",
        data={"version": item["version"], "decision": "kept", "reason": "沿用"},
        headers=csrf_headers(client),
    )
    assert forbidden.status_code == 403
    logout(client)
    for url in ("/officer/imports", "/officer/imports/1"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_the_batch_page_shows_a_refusal_on_the_page(client):
    """The placement page's form: a digest never previewed, or not a digest at all, is a
    message on the page (status 200, error style) and the form stays filled in."""
    login(client, "wang", "officer")
    for digest, message in (("0" * 64, "找不到预览过的文件"), ("x", "缺少或无效的预览编号")):
        page = client.post(
            "/officer/placement/batch",
            data={"digest": digest, "crs": "CGCS2000"},
            headers=csrf_headers(client),
        )
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and message in text, digest
        assert 'class="flashes flash-error" role="alert"' in text


def test_a_batch_with_two_file_parts_is_refused_naming_file(client, store, tmp_path):
    """Two ``file`` parts to the batch preview: 400 naming ``file``, nothing kept (the
    second part was dropped without a word); one part is previewed."""
    login(client, "wang", "officer")
    text = "place_id,lon,lat\n1,113.3,23.1\n"
    url = "/api/placements/batch/preview"
    twice = client.post(
        url,
        data={
            "file": [(io.BytesIO(text.encode()), "a.csv"), (io.BytesIO(b"x"), "b.csv")],
            "crs": "CGCS2000",
        },
        content_type="multipart/form-data",
    )
    error = twice.get_json()["error"]
    assert twice.status_code == 400 and error["details"]["field"] == "file", error
    folder = tmp_path / "placement_uploads"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert upload(client, url, text, crs="CGCS2000").status_code == 200
