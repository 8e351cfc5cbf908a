"""The office import on real stores, with GENERATED files (tests/office_files.py): each
format and coordinate system lands within a centimetre of the known CGCS2000 points;
preview counts, the error report, skipping only by choice, re-runs, a second office,
roles, history, and kill -9 during the write."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gazetteer import registry
from gazetteer.core.actors import Actor
from gazetteer.core.errors import Conflict, Forbidden, InvalidInput
from gazetteer.office_import import runs
from gazetteer.office_import.tables import import_runs
from gazetteer.registry_tables import place_versions
from gazetteer.reverse import DivisionLocator
from gazetteer.rules import NameCorpus
from gazetteer.tables import places
from tests import office_files as of

OFFICER = Actor("officer_wang", frozenset({"officer"}))
CLERK = Actor("clerk_li", frozenset({"clerk"}))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tools(store):
    return {"locator": DivisionLocator.from_store(store), "corpus": NameCorpus.from_store(store)}


def guess(store, tools, run, mapping=None) -> dict:
    """The coordinate-system guess for ``run`` (its own mapping unless one is given)."""
    return runs.coordinate_guess(
        store,
        run["id"],
        OFFICER,
        layer=run["layer"],
        mapping=mapping or run["mapping"],
        locator=tools["locator"],
    )


def run_file(
    store,
    tools,
    path,
    tmp_path,
    *,
    crs_tag=None,
    source=None,
    office="天河区地名办",
    mapping=None,
    write=True,
    **write_args,
):
    run = runs.create_run(store, OFFICER, path, source_name=source or path.stem, office=office)
    mapping = mapping or run["mapping"]
    if crs_tag is None:
        crs_tag = guess(store, tools, run, mapping)["tag"]
    runs.configure(store, run["id"], OFFICER, layer=run["layer"], mapping=mapping, crs_tag=crs_tag)
    result = runs.preview(store, run["id"], OFFICER, work_dir=tmp_path / "work", **tools)
    if write:
        result = runs.write(store, run["id"], OFFICER, locator=tools["locator"], **write_args)
    return result


def imported(store) -> dict[str, object]:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(places.c.name, places.c.geom).where(places.c.source_key.like("imp:%"))
        ).all()
    return {r.name: r.geom for r in rows}


def assert_centimetre(store, points=of.POINTS):
    got = imported(store)
    for name, _cls, lon, lat, _code in points:
        geom = got[name]
        assert of.distance_m(geom.x, geom.y, lon, lat) < 0.01, name


def test_zone_prefixed_gauss_kruger_guessed_and_within_a_centimetre(store, tools, tmp_path):
    path = of.gauss_kruger_prefixed_csv(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="gk", office="测试")
    assert {"x", "y", "name", "feature_class", "code"} <= set(run["mapping"])
    guessed = guess(store, tools, run)
    assert guessed["tag"] == "EPSG:4526" and not guessed["stated"]
    assert "zone 38" in guessed["candidates"][0]["label"]
    result = run_file(store, tools, path, tmp_path, crs_tag=guessed["tag"], source="gk2")
    assert result["counts"]["insert"] == len(of.POINTS) and result["state"] == "written"
    assert_centimetre(store)


def test_cm114_without_prefix_guessed_from_guangdong(store, tools, tmp_path):
    path = of.shapefile_cm114_zip(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="shp", office="测试")
    assert run["file_format"] == "shapefile" and run["crs"] is None  # no .prj
    guessed = guess(store, tools, run)
    tags = [c["tag"] for c in guessed["candidates"]]
    assert guessed["tag"] == "EPSG:4547" and set(tags) == {"EPSG:4546", "EPSG:4547", "EPSG:4548"}
    assert guessed["candidates"][0]["inside_guangdong"] == 1.0
    assert all(c["inside_guangdong"] < 1.0 for c in guessed["candidates"][1:])
    run_file(store, tools, path, tmp_path, crs_tag="EPSG:4547", source="shp2")
    assert_centimetre(store)


def test_shapefile_with_prj_is_taken_as_stated(store, tools, tmp_path):
    path = of.shapefile_cm114_zip(tmp_path, with_prj=True)
    run = runs.create_run(store, OFFICER, path, source_name="shp", office="测试")
    assert run["crs"] == "EPSG:4547"


def test_gcj02_csv_converted_and_wrong_tag_is_visibly_off(store, tools, tmp_path):
    path = of.gcj02_csv(tmp_path)
    run_file(store, tools, path, tmp_path, crs_tag="GCJ02")
    assert_centimetre(store)
    # The second action: the same numbers taken as CGCS2000 land hundreds of metres away.
    sample = runs.sample_points(
        store,
        runs.list_runs(store, OFFICER)[0]["id"],
        OFFICER,
        crs_tag="CGCS2000",
        locator=tools["locator"],
    )
    lon, lat = sample["features"][0]["geometry"]["coordinates"]
    name, _c, true_lon, true_lat, _code = of.POINTS[0]
    assert sample["features"][0]["properties"]["name"] == name
    assert 100 < of.distance_m(lon, lat, true_lon, true_lat) < 1000


def test_census_excel_columns_recognised_without_help(store, tools, tmp_path):
    path = of.census_xlsx(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="普查", office="测试")
    assert run["mapping"]["name"] == "标准名称" and run["mapping"]["x"] == "东经"
    for key in (
        "code",
        "aliases",
        "feature_class",
        "division",
        "meaning",
        "history",
        "description",
        "named_date",
        "established_year",
        "romanized",
    ):
        assert key in run["mapping"], key
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", source="普查2")
    assert result["counts"]["insert"] == len(of.POINTS)
    assert_centimetre(store)
    with store.read() as conn:
        row = conn.execute(sa.select(places).where(places.c.name == "测试甲路")).one()
    assert row.feature_class == "交通运输设施" and row.feature_type == "道路"
    assert row.aliases == ["测试甲路旧称"] and row.meaning.startswith("测试甲路")
    assert row.named_date.year == 1990 and "设立于 1988 年" in row.history
    assert row.division_code == "440106"  # 天河区, found from the point
    assert row.romanized and row.registering_unit == "天河区地名办"
    assert "generated_census.xlsx" in row.source and "第 3 行" in row.source


def test_geopackage_states_its_crs_and_keeps_lines(store, tools, tmp_path):
    path = of.geopackage_4547(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="gpkg", office="测试")
    assert run["layers"] == ["地名"] and run["crs"] == "EPSG:4547"
    run_file(store, tools, path, tmp_path, crs_tag="EPSG:4547", source="gpkg2")
    assert_centimetre(store)
    assert imported(store)["测试庚大道"].geom_type == "LineString"


def test_file_geodatabase_zip(store, tools, tmp_path):
    path = of.filegdb_zip(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="gdb", office="测试")
    assert run["file_format"] == "filegdb" and run["layers"] == ["dm"]
    assert run["crs"] == "EPSG:4547"
    run_file(store, tools, path, tmp_path, crs_tag="EPSG:4547", source="gdb2")
    assert_centimetre(store)


# GDAL reports the damaged GeoPackage header through a warning from its error handler
# (not raised in the app; the read fails with an error that becomes InvalidInput).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_broken_file_refused_and_nothing_recorded(store, tmp_path):
    for path in (of.broken_geopackage(tmp_path), tmp_path / "generated_bad.zip"):
        if path.suffix == ".zip":
            path.write_bytes(b"PK\x03\x04 not really a zip")
        with pytest.raises(InvalidInput):
            runs.create_run(store, OFFICER, path, source_name="坏文件", office="测试")
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(import_runs)).scalar() == 0


def bad_rows_csv(directory: Path) -> Path:
    path = directory / "generated_bad_rows.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["标准名称", "地名类别", "东经", "北纬", "说明"])
        w.writerow(["测试好路", "道路", "113.30", "23.13", of.NOTE])  # line 2: fine
        w.writerow(["", "道路", "113.31", "23.13", of.NOTE])  # 3: no name
        w.writerow(["测试远路", "道路", "120.50", "30.20", of.NOTE])  # 4: Zhejiang
        w.writerow(["测试怪路", "飞船", "113.32", "23.13", of.NOTE])  # 5: unknown class
        w.writerow(["测试好路", "道路", "113.30", "23.13", of.NOTE])  # 6: duplicate of 2
        w.writerow(["测试坏坐标路", "道路", "东经一百", "23.1", of.NOTE])  # 7: unreadable
        w.writerow(["宇宙路", "道路", "113.33", "23.14", of.NOTE])  # 8: fine, rule finding
    return path


def test_preview_counts_error_report_and_skip_only_by_choice(store, tools, tmp_path):
    path = bad_rows_csv(tmp_path)
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    assert result["counts"] == {
        "insert": 2,
        "update": 0,
        "unchanged": 0,
        "error": 5,
        "findings": 1,
        "rows": 7,
    }
    report = runs.report_path(tmp_path / "work", result["id"])
    with report.open(encoding="utf-8-sig") as f:
        rows = {int(r["行号"]): r for r in csv.DictReader(f)}
    assert set(rows) == {3, 4, 5, 6, 7, 8}
    assert "缺少标准名称" in rows[3]["错误"]
    assert "不在广东省内" in rows[4]["错误"]
    assert "飞船" in rows[5]["错误"]
    assert "第 2 行重复" in rows[6]["错误"]
    assert "坐标无法识别" in rows[7]["错误"]
    assert rows[8]["处理"] == "新增" and "big.exaggerated" in rows[8]["规则提示"]
    before = imported(store)

    def write(**skipping):
        return runs.write(store, result["id"], OFFICER, locator=tools["locator"], **skipping)

    with pytest.raises(InvalidInput, match="5 行存在错误"):
        write()
    with pytest.raises(InvalidInput, match="理由"):
        write(skip_errors=True, skip_reason="  ")
    assert imported(store) == before  # refused twice, nothing written
    done = write(skip_errors=True, skip_reason="错误行另行核实")
    assert done["skip_errors"] and done["skip_reason"] == "错误行另行核实"
    assert done["skipped_rows"] == [3, 4, 5, 6, 7]
    assert set(imported(store)) == {"测试好路", "宇宙路"}
    with pytest.raises(Conflict):
        write()


def test_values_too_long_for_the_store_are_row_errors(store, tools, tmp_path):
    path = tmp_path / "generated_long.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["标准名称", "地名类别", "简称", "东经", "北纬"])
        w.writerow(["长" * 201 + "路", "道路", "", "113.30", "23.13"])
        w.writerow(["测试短路", "道路", "简" * 101, "113.31", "23.13"])
        w.writerow(["测试正常路", "道路", "正常", "113.32", "23.13"])
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    assert result["counts"]["error"] == 2 and result["counts"]["insert"] == 1
    errors = [r["errors"][0] for r in result["preview"]["errors"]]
    assert "超过 200 字" in errors[0] and "超过 100 字" in errors[1]
    runs.write(
        store, result["id"], OFFICER, skip_errors=True, skip_reason="过长", locator=tools["locator"]
    )
    assert set(imported(store)) == {"测试正常路"}


def test_rerun_changes_nothing_and_a_corrected_file_updates_with_history(store, tools, tmp_path):
    path = of.gauss_kruger_prefixed_csv(tmp_path)
    run_file(store, tools, path, tmp_path, crs_tag="EPSG:4526", source="gk")
    with store.read() as conn:
        snapshot = conn.execute(sa.select(places).order_by(places.c.id)).all()
        versions = conn.execute(sa.select(sa.func.count()).select_from(place_versions)).scalar()
    again = run_file(store, tools, path, tmp_path, crs_tag="EPSG:4526", source="gk")
    assert again["counts"]["unchanged"] == len(of.POINTS) and again["counts"]["insert"] == 0
    with store.read() as conn:
        assert conn.execute(sa.select(places).order_by(places.c.id)).all() == snapshot
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(place_versions)).scalar()
            == versions
        )
    # The office corrects one name's class: the same record is updated, history shows both.
    text = path.read_text(encoding="utf-8").replace("测试丙山,山", "测试丙山,山峰")
    path.write_text(text, encoding="utf-8")
    third = run_file(store, tools, path, tmp_path, crs_tag="EPSG:4526", source="gk")
    assert third["counts"]["update"] == 1 and third["counts"]["unchanged"] == 5
    with store.read() as conn:
        place_id = conn.execute(sa.select(places.c.id).where(places.c.name == "测试丙山")).scalar()
    history = registry.place_history(store, place_id)
    assert [v["change"] for v in history["versions"]] == ["imported", "imported"]
    assert all(v["proposal_id"] is None for v in history["versions"])
    assert history["versions"][0]["valid_to"] is not None


def test_a_second_office_importing_the_same_names(store, tools, tmp_path):
    path = of.census_xlsx(tmp_path)
    run_file(
        store, tools, path, tmp_path, crs_tag="CGCS2000", source="天河普查", office="天河区民政局"
    )
    second = run_file(
        store,
        tools,
        path,
        tmp_path,
        crs_tag="CGCS2000",
        source="广州市普查",
        office="广州市民政局",
        write=False,
    )
    assert second["counts"]["error"] == len(of.POINTS) and second["counts"]["insert"] == 0
    assert "登记册中已有同名同类别的记录" in second["preview"]["errors"][0]["errors"][0]
    with pytest.raises(InvalidInput):
        runs.write(store, second["id"], OFFICER, locator=tools["locator"])
    done = runs.write(
        store,
        second["id"],
        OFFICER,
        skip_errors=True,
        skip_reason="与天河区已导入的记录相同",
        locator=tools["locator"],
    )
    assert len(done["skipped_rows"]) == len(of.POINTS)
    with store.read() as conn:
        units = (
            conn.execute(
                sa.select(places.c.registering_unit).where(places.c.source_key.like("imp:%"))
            )
            .scalars()
            .all()
        )
    assert set(units) == {"天河区民政局"} and len(units) == len(of.POINTS)


def test_only_officers_import(store, tools, tmp_path):
    path = of.gcj02_csv(tmp_path)
    with pytest.raises(Forbidden):
        runs.create_run(store, CLERK, path, source_name="x", office="y")
    run = runs.create_run(store, OFFICER, path, source_name="x", office="y")
    for call in (
        lambda: runs.get_run(store, run["id"], CLERK),
        lambda: runs.preview(store, run["id"], CLERK, work_dir=tmp_path, **tools),
        lambda: runs.write(store, run["id"], CLERK, locator=tools["locator"]),
    ):
        with pytest.raises(Forbidden):
            call()


def test_odd_settings_refused(store, tools, tmp_path):
    path = of.gcj02_csv(tmp_path)
    run = runs.create_run(store, OFFICER, path, source_name="x", office="y")
    layer = run["layer"]
    for mapping in (
        {"name": "不存在的列"},
        {"x": "lng"},
        {"name": "名称", "x": "lng"},
        ["name"],
        {"nonsense": "名称"},
    ):
        with pytest.raises(InvalidInput):
            runs.configure(store, run["id"], OFFICER, layer=layer, mapping=mapping, crs_tag="GCJ02")
    with pytest.raises(InvalidInput):
        runs.configure(
            store, run["id"], OFFICER, layer=layer, mapping=run["mapping"], crs_tag="火星坐标"
        )
    with pytest.raises(InvalidInput):
        runs.configure(store, run["id"], OFFICER, layer=layer, mapping=run["mapping"], crs_tag=None)
    with pytest.raises(InvalidInput, match="尚未预览"):  # not previewed yet: a 400, not 409
        runs.write(store, run["id"], OFFICER, locator=tools["locator"])
    with pytest.raises(InvalidInput):
        runs.create_run(store, OFFICER, path, source_name="\ud800", office="y")


KILL_JOB = """
import sys
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.office_import import runs
from gazetteer.reverse import DivisionLocator
from gazetteer.rules import NameCorpus
store = Store(sys.argv[1])
officer = Actor("officer_wang", frozenset({"officer"}))
tools = {"locator": DivisionLocator.from_store(store), "corpus": NameCorpus.from_store(store)}
def progress(phase, done, total):
    print(phase, done, flush=True)
runs.write(store, int(sys.argv[2]), officer, progress=progress, locator=tools["locator"])
print("finished", flush=True)
"""


def test_kill_during_write_leaves_nothing_then_rerun_finishes(
    store, tools, tmp_path, store_templates
):
    if store_templates.dialect != "sqlite":
        pytest.skip("the kill test copies SQLite files")
    path = of.big_csv(tmp_path / "generated_big.csv", 12_000)
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    assert result["counts"]["insert"] == 12_000
    db_path = Path(store.engine.url.database)
    with store.read() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
    store.dispose()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_JOB, str(store.url), str(result["id"])],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = process.stdout.readline()
    while line and not line.startswith("write 5000"):
        line = process.stdout.readline()
    assert line.startswith("write"), "the job never got to writing"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM places").fetchone()[0] == before
        assert conn.execute("SELECT state FROM import_runs").fetchone()[0] == "previewed"
    finally:
        conn.close()
    done = runs.write(store, result["id"], OFFICER, locator=tools["locator"])
    assert done["state"] == "written"
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(places)).scalar() == (
            before + 12_000
        )


def test_a_csv_with_an_undecodable_byte_is_refused_at_upload(store, tmp_path):
    """A UTF-8 file with one byte that no encoding reads (generated): a clear refusal, not
    a traceback, and no run recorded."""
    from gazetteer.office_import import readers

    path = tmp_path / "late_bad.csv"
    good = "标准名称,地名类别,东经,北纬\n" + "某某路,交通运输设施,113.3,23.1\n" * 3000
    path.write_bytes(good.encode("utf-8") + b"\xff\xfe\x00bad,,,\n")
    with pytest.raises(InvalidInput, match="编码"):
        readers.SourceFile(path).info()
