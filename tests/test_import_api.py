"""The import API and pages through the test client, on a real store, with GENERATED files:
upload, layer, CRS guess, configure, sample, preview job, report, write refused then
skipped by choice, re-run, roles, CSRF and odd input."""

from __future__ import annotations

import csv
import io
import time

import pytest
import sqlalchemy as sa

from gazetteer.core import accounts
from gazetteer.tables import places
from tests import office_files as of
from tests.helpers import login, logout, store_of, token_headers
from tests.test_office_import import bad_rows_csv


def upload(client, path, source="天河普查", office="天河区民政局"):
    with path.open("rb") as f:
        return client.post(
            "/api/imports",
            data={"file": (f, path.name), "source_name": source, "office": office},
            content_type="multipart/form-data",
        )


def wait(client, run_id, timeout_s=900.0):
    """Poll the run until its job has finished (generous: CI machines may be busy)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.get(f"/api/imports/{run_id}").get_json()
        if run["job"] and run["job"]["state"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_upload_configure_preview_report_write(client, tmp_path):
    login(client, "officer_wang", "officer")
    path = bad_rows_csv(tmp_path)
    r = upload(client, path)
    assert r.status_code == 201, r.get_json()
    run = r.get_json()
    assert run["file_name"] == "generated_bad_rows.csv" and run["state"] == "uploaded"
    info = client.get(f"/api/imports/{run['id']}/layer").get_json()
    assert info["guessed_mapping"]["name"] == "标准名称" and info["columns"][0] == "标准名称"
    guess = client.post(
        f"/api/imports/{run['id']}/crs-guess",
        json={"layer": info["name"], "mapping": info["guessed_mapping"]},
    ).get_json()
    assert guess["tag"] == "CGCS2000"
    r = client.post(
        f"/api/imports/{run['id']}/configure",
        json={"layer": info["name"], "mapping": info["guessed_mapping"], "crs": "CGCS2000"},
    )
    assert r.status_code == 200
    sample = client.get(f"/api/imports/{run['id']}/sample?crs=CGCS2000").get_json()
    assert sample["sampled"] == 6 and sample["inside_guangdong"] == 5  # row 4 is in Zhejiang
    # No report before a preview; then the preview job.
    assert client.get(f"/api/imports/{run['id']}/report.csv").status_code == 404
    assert client.post(f"/api/imports/{run['id']}/preview", json={}).status_code == 202
    done = wait(client, run["id"])
    assert done["job"]["state"] == "done" and done["job"]["done"] == 7
    assert done["counts"]["error"] == 5 and done["counts"]["insert"] == 2
    with client.get(f"/api/imports/{run['id']}/report.csv") as report:
        assert report.status_code == 200 and report.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert [int(r["行号"]) for r in rows] == [3, 4, 5, 6, 7, 8]
    # Writing is refused while rows have errors, and with a skip but no reason.
    r = client.post(f"/api/imports/{run['id']}/write", json={})
    assert r.status_code == 400 and "5 行存在错误" in r.get_json()["error"]["message"]
    r = client.post(f"/api/imports/{run['id']}/write", json={"skip_errors": "yes"})
    assert r.status_code == 400
    r = client.post(
        f"/api/imports/{run['id']}/write", json={"skip_errors": True, "skip_reason": ""}
    )
    assert r.status_code == 400 and "理由" in r.get_json()["error"]["message"]
    refused = client.get(f"/api/imports/{run['id']}").get_json()
    assert refused["state"] == "previewed" and refused["job"]["phase"] == "preview"
    client.post(
        f"/api/imports/{run['id']}/write",
        json={"skip_errors": True, "skip_reason": "错误行另行核实"},
    )
    written = wait(client, run["id"])
    assert written["state"] == "written" and written["skipped_count"] == 5
    # Search sees the new names at once.
    hits = client.get("/api/search?q=测试好路").get_json()["results"]
    assert any(h["name"] == "测试好路" for h in hits)
    # The page of the run and the list render for the officer.
    page = client.get(f"/officer/imports/{run['id']}")
    assert page.status_code == 200 and "导入批次" in page.get_data(as_text=True)
    assert "generated_bad_rows.csv" in client.get("/officer/imports").get_data(as_text=True)


def test_saved_mapping_used_next_time(client, tmp_path):
    login(client, "officer_wang", "officer")
    path = of.gcj02_csv(tmp_path)
    first = upload(client, path, source="高德点").get_json()
    mapping = {"name": "名称", "feature_class": "类别", "x": "lng", "y": "lat", "code": "说明"}
    client.post(
        f"/api/imports/{first['id']}/configure",
        json={"layer": first["layer"], "mapping": mapping, "crs": "GCJ02"},
    )
    second = upload(client, path, source="高德点").get_json()
    assert second["mapping"] == mapping and second["crs"] == "GCJ02"
    other = upload(client, path, source="另一来源").get_json()
    assert other["crs"] is None and "code" not in other["mapping"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # GDAL, broken gpkg
def test_roles_csrf_and_odd_input(client, tmp_path):
    path = of.gcj02_csv(tmp_path)
    assert upload(client, path).status_code == 401  # anonymous
    assert client.get("/api/imports").status_code == 401  # not signed in: 401, not 403
    login(client, "clerk_li", "clerk")
    r = upload(client, path)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert client.get("/officer/imports").status_code == 403
    login(client, "officer_wang", "officer")
    run = upload(client, path).get_json()
    # Without the CSRF header the session cannot post.
    client.environ_base.pop("HTTP_X_CSRFTOKEN", None)
    r = client.post(f"/api/imports/{run['id']}/configure", json={})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    login(client, "officer_wang", "officer")
    for body in (
        [],
        {"layer": run["layer"], "mapping": "名称"},
        {"layer": run["layer"], "mapping": {"name": 5}},
        {"layer": "没有的图层", "mapping": {"name": "名称"}, "crs": "GCJ02"},
    ):
        r = client.post(f"/api/imports/{run['id']}/configure", json=body)
        assert r.status_code == 400, body
        assert set(r.get_json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/imports/999999").status_code == 404
    bad = tmp_path / "generated.docx"
    bad.write_bytes(b"not a table")
    assert upload(client, bad).status_code == 400
    broken = of.broken_geopackage(tmp_path)
    assert upload(client, broken).status_code == 400
    assert not any((tmp_path / "imports" / "uploads").glob("*/upload.gpkg"))  # not kept
    # A script with an officer's token may import too (no CSRF for bearer tokens).
    logout(client)
    headers = token_headers(store_of(client), "officer_zhao", "officer")
    with path.open("rb") as f:
        r = client.post(
            "/api/imports",
            data={"file": (f, path.name), "source_name": "脚本", "office": "某单位"},
            headers=headers,
            content_type="multipart/form-data",
        )
    assert r.status_code == 201


def test_rerun_through_the_api_changes_nothing(client, tmp_path):
    login(client, "officer_wang", "officer")
    path = of.census_xlsx(tmp_path)
    for expected in ({"insert": 6, "unchanged": 0}, {"insert": 0, "unchanged": 6}):
        run = upload(client, path).get_json()
        client.post(
            f"/api/imports/{run['id']}/configure",
            json={"layer": run["layer"], "mapping": run["mapping"], "crs": "CGCS2000"},
        )
        client.post(f"/api/imports/{run['id']}/preview", json={})
        previewed = wait(client, run["id"])
        assert {k: previewed["counts"][k] for k in expected} == expected
        client.post(f"/api/imports/{run['id']}/write", json={})
        assert wait(client, run["id"])["state"] == "written"
    with store_of(client).read() as conn:
        n = conn.execute(
            sa.select(sa.func.count()).select_from(places).where(places.c.source_key.like("imp:%"))
        ).scalar()
    assert n == 6


def test_write_before_a_preview_is_refused_at_once_then_works(client, tmp_path):
    """Asking to write before a preview exists is a 400 there and then (no job that fails
    later); the officer retries after configuring and previewing. Another officer of the
    same office sees the run in the list and writes the previewed run; the run records both."""
    login(client, "officer_wang", "officer")
    run = upload(client, of.census_xlsx(tmp_path)).get_json()
    r = client.post(f"/api/imports/{run['id']}/write", json={})
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "invalid_input" and "尚未预览" in error["message"]
    assert error["details"] == {"state": "uploaded"}
    after = client.get(f"/api/imports/{run['id']}").get_json()
    assert after["job"] is None and after["state"] == "uploaded"  # no job was started
    # Retry after the refusal: configure, preview, then the write goes through.
    client.post(
        f"/api/imports/{run['id']}/configure",
        json={"layer": run["layer"], "mapping": run["mapping"], "crs": "CGCS2000"},
    )
    assert client.post(f"/api/imports/{run['id']}/write", json={}).status_code == 400
    client.post(f"/api/imports/{run['id']}/preview", json={})
    assert wait(client, run["id"])["state"] == "previewed"
    # Another officer of the same office: sees the first officer's run and writes it.
    logout(client)
    login(client, "officer_zhao", "officer")
    for name in ("officer_wang", "officer_zhao"):
        accounts.set_office(store_of(client), name, "天河区民政局", by="system:test")
    assert run["id"] in [r["id"] for r in client.get("/api/imports").get_json()["runs"]]
    r = client.post(f"/api/imports/{run['id']}/write", json={})
    assert r.status_code == 202
    written = wait(client, run["id"])
    assert written["state"] == "written" and written["written_by"] == "officer_zhao"
    assert written["created_by"] == "officer_wang"
    # Writing again is a conflict, at once.
    r = client.post(f"/api/imports/{run['id']}/write", json={})
    assert r.status_code == 409


def test_another_offices_officer_cannot_change_or_write_a_run(client, tmp_path):
    """Runs belong to the office of the officer who created them: an officer of another
    office (or of none) reads the run but configure, preview and write get 403 and change
    nothing; nor is the first office's saved mapping offered to or overwritten by them."""
    the_store = store_of(client)
    login(client, "officer_wang", "officer")
    accounts.set_office(the_store, "officer_wang", "天河区民政局", by="system:test")
    run = upload(client, of.census_xlsx(tmp_path)).get_json()
    body = {"layer": run["layer"], "mapping": run["mapping"], "crs": "CGCS2000"}
    assert client.post(f"/api/imports/{run['id']}/configure", json=body).status_code == 200
    for office in ("越秀区民政局", None):
        logout(client)
        login(client, "officer_zhao", "officer")
        accounts.set_office(the_store, "officer_zhao", office, by="system:test")
        assert client.get(f"/api/imports/{run['id']}").status_code == 200
        other = {**body, "mapping": {"name": run["mapping"]["name"]}, "crs": "GCJ02"}
        for url, payload in (
            ("configure", other),
            ("preview", {}),
            ("write", {"skip_errors": True, "skip_reason": "别人的批次"}),
        ):
            r = client.post(f"/api/imports/{run['id']}/{url}", json=payload)
            assert r.status_code == 403, (url, r.get_json())
            assert "其他单位" in r.get_json()["error"]["message"]
        after = client.get(f"/api/imports/{run['id']}").get_json()
        assert (after["state"], after["crs"], after["mapping"], after["job"]) == (
            "uploaded",
            "CGCS2000",
            run["mapping"],
            None,
        )
        # Their own upload of the same source gets a fresh guess, not 天河's saved mapping.
        own = upload(client, of.census_xlsx(tmp_path)).get_json()
        assert client.post(f"/api/imports/{own['id']}/configure", json=other).status_code == 200
    logout(client)
    login(client, "officer_wang", "officer")
    again = upload(client, of.census_xlsx(tmp_path)).get_json()
    assert (again["mapping"], again["crs"]) == (run["mapping"], "CGCS2000")


def test_a_broken_file_then_the_fixed_one(client, tmp_path):
    login(client, "officer_wang", "officer")
    good = of.census_xlsx(tmp_path)
    broken = tmp_path / "generated_census_broken.xlsx"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    r = upload(client, broken, source="番禺普查")
    assert r.status_code == 400 and r.get_json()["error"]["message"]
    assert client.get("/api/imports").get_json()["runs"] == []  # nothing recorded
    run = upload(client, good, source="番禺普查").get_json()
    client.post(
        f"/api/imports/{run['id']}/configure",
        json={"layer": run["layer"], "mapping": run["mapping"], "crs": "CGCS2000"},
    )
    client.post(f"/api/imports/{run['id']}/preview", json={})
    assert wait(client, run["id"])["counts"]["insert"] == 6
    client.post(f"/api/imports/{run['id']}/write", json={})
    assert wait(client, run["id"])["state"] == "written"


def test_invalid_utf8_in_a_multipart_field_is_refused(client, tmp_path):
    """source_name sent as the bytes ED A0 80 (an encoded lone surrogate): 400 like a
    urlencoded form, not stored as '���'; no run is created."""
    headers = login(client, "officer_wang", "officer")
    path = of.census_xlsx(tmp_path)
    boundary = "gdgisboundary"
    parts = [
        (b'Content-Disposition: form-data; name="source_name"\r\n\r\n', b"\xed\xa0\x80"),
        (b'Content-Disposition: form-data; name="office"\r\n\r\n', "天河区民政局".encode()),
        (
            f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode(),
            path.read_bytes(),
        ),
    ]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + h + v + b"\r\n" for h, v in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    before = len(client.get("/api/imports").get_json()["runs"])
    r = client.post(
        "/api/imports",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["details"]["field"] == "source_name"
    assert len(client.get("/api/imports").get_json()["runs"]) == before


def test_two_file_parts_are_refused_naming_file_then_one_is_taken(client, tmp_path):
    """Two ``file`` parts: which one the office meant is not for the server to guess (it
    kept the first and dropped the second without a word); 400 naming ``file``, no run."""
    login(client, "officer_wang", "officer")
    path = of.census_xlsx(tmp_path)
    with path.open("rb") as first, path.open("rb") as second:
        r = client.post(
            "/api/imports",
            data={
                "file": [(first, path.name), (second, "other.xlsx")],
                "source_name": "天河普查",
                "office": "天河区民政局",
            },
            content_type="multipart/form-data",
        )
    error = r.get_json()["error"]
    assert r.status_code == 400 and error["details"]["field"] == "file", error
    assert "file" in error["message"]
    assert client.get("/api/imports").get_json()["runs"] == []
    assert upload(client, path).status_code == 201
