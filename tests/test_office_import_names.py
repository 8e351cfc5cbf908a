"""Division and reservation checks of the office import on a real store, with GENERATED
files: former division names (番禺市, 顺德市) resolve to today's districts through the
division history with a note saying so, and a name held by a pending proposal gets its
``reserved`` finding that blocks its row: an import must not take a name a proposal holds,
or that proposal could never come into force (skipped only by explicit choice)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
from proposal_helpers import new_naming, step

from gazetteer.core.errors import InvalidInput
from gazetteer.tables import places
from tests import office_files as of
from tests.test_office_import import run_file, tools  # noqa: F401  (fixture)


def division_csv(directory: Path, rows: list[tuple]) -> Path:
    """Rows (name, class, division text, lon, lat) without a CRS column's doubt: CGCS2000."""
    path = directory / "generated_divisions.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["标准名称", "地名类别", "所在行政区", "东经", "北纬", "说明"])
        for name, cls, division, lon, lat in rows:
            w.writerow([name, cls, division, lon, lat, of.NOTE])
    return path


def by_row(result) -> dict[int, dict]:
    return {r["row"]: r for r in result["preview"]["rows"]}


def report_rows(tmp_path, run_id) -> dict[int, dict]:
    path = tmp_path / "work" / f"import-{run_id}-report.csv"
    with path.open(encoding="utf-8-sig") as f:
        return {int(r["行号"]): r for r in csv.DictReader(f)}


def test_former_division_names_resolve_to_todays_district(store, tools, tmp_path):  # noqa: F811
    path = division_csv(
        tmp_path,
        [
            ("测试旧甲路", "道路", "番禺市", 113.3841, 22.9378),  # 番禺市 became 番禺区 in 2000
            ("测试旧乙路", "道路", "顺德市", 113.2934, 22.8052),  # 顺德市 became 顺德区 in 2002
            ("测试旧丙路", "道路", "广东省番禺县", "", ""),  # 1992 name, two steps back
            ("测试旧丁路", "道路", "宝安县", 113.8830, 22.5550),  # 深圳市 or 宝安区: point decides
            ("测试旧戊路", "道路", "宝安县", "", ""),  # no point: cannot tell
            ("测试今己路", "道路", "番禺区", 113.3841, 22.9379),  # today's name: no note
        ],
    )
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    rows = by_row(result)
    assert [rows[n]["division_code"] for n in (2, 3, 4, 5, 7)] == [
        "440113",
        "440606",
        "440113",
        "440306",
        "440113",
    ]
    assert [rows[n]["action"] for n in (2, 3, 4, 5, 7)] == ["insert"] * 5
    note = next(f for f in rows[2]["findings"] if f.startswith("import.former-division"))
    assert "番禺市" in note and "旧称" in note and "广州市番禺区" in note and "440113" in note
    assert any("2002-12-08" in f for f in rows[3]["findings"])
    assert not any("former-division" in f for f in rows[7]["findings"])
    assert rows[6]["action"] == "error" and "宝安县" in rows[6]["errors"][0]
    report = report_rows(tmp_path, result["id"])
    assert "import.former-division" in report[2]["规则提示"]
    assert "import.former-division" not in report.get(7, {}).get("规则提示", "")


def test_a_name_reserved_by_a_pending_proposal_blocks_its_import_row(
    store,
    tools,  # noqa: F811
    clock,
    corpus,
    tmp_path,
):
    reserving = step(store, clock, corpus, new_naming(store, clock, "凤翔路"), "submit")
    new_naming(store, clock, "云杉路")  # a draft reserves nothing
    path = division_csv(
        tmp_path,
        [
            ("凤翔路", "道路", "天河区", 113.3611, 23.1391),
            ("凤祥路", "道路", "天河区", 113.3612, 23.1392),  # same sound: feng xiang
            ("云杉路", "道路", "天河区", 113.3613, 23.1393),
            ("凤翔路", "道路", "禅城区", 113.1221, 23.0091),  # another city's streets
        ],
    )
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    rows = by_row(result)
    reserved = [f for f in rows[2]["findings"] if f.startswith("reserved：")]
    assert reserved and f"申请 {reserving['id']}“凤翔路”" in reserved[0]
    assert rows[2]["action"] == "error"  # blocking means it blocks
    assert any("已被进行中的申请保留" in e for e in rows[2]["errors"])
    assert rows[3]["action"] == "insert"  # a homophone is a warning only
    assert any(f.startswith("reserved.homophone：") for f in rows[3]["findings"])
    assert not any(f.startswith("reserved") for f in rows[4]["findings"] + rows[5]["findings"])
    report = report_rows(tmp_path, result["id"])
    assert "[blocking] reserved：" in report[2]["规则提示"] and "保留" in report[2]["错误"]
    from gazetteer.office_import import runs
    from tests.test_office_import import OFFICER

    # Not written without the explicit choice; with it the row is skipped, not inserted.
    with pytest.raises(InvalidInput, match="有 1 行存在错误"):
        runs.write(store, result["id"], OFFICER, locator=tools["locator"])
    done = runs.write(
        store,
        result["id"],
        OFFICER,
        locator=tools["locator"],
        skip_errors=True,
        skip_reason="凤翔路待申请办结后再定",
    )
    assert done["state"] == "written" and done["skipped_rows"] == [2]
    with store.read() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(places)
            .where(places.c.name == "凤翔路", places.c.source_key.like("imp:%"))
        ).scalar()
    assert n == 1  # only 禅城区's
    # ... so the proposal that holds the name can still come into force.
    for action in ("check", "start_review", "add_opinion", "confirm_romanization"):
        reserving = step(store, clock, corpus, reserving, action)
    for action in ("publish_notice", "approve", "announce", "bring_into_force"):
        reserving = step(store, clock, corpus, reserving, action)
    assert reserving["state"] == "in_force"


def test_nan_coordinates_are_a_row_error_and_suozai_zhengqu_is_recognised(
    store,
    tools,  # noqa: F811
    tmp_path,
):
    """A census sheet's 所在政区 column is mapped without help; text NaN coordinates make
    the row an error (not a record inserted without geometry); empty ones stay missing."""
    path = tmp_path / "generated_nan.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["标准名称", "地名类别", "所在政区", "东经", "北纬", "说明"])
        w.writerow(["测试空甲路", "道路", "天河区", "NaN", "NaN", of.NOTE])
        w.writerow(["测试空乙路", "道路", "天河区", "", "", of.NOTE])
        w.writerow(["测试空丙路", "道路", "天河区", "113.3611", "inf", of.NOTE])
    result = run_file(store, tools, path, tmp_path, crs_tag="CGCS2000", write=False)
    assert result["mapping"]["division"] == "所在政区"
    rows = by_row(result)
    assert rows[2]["action"] == "error" and "NaN" in rows[2]["errors"][0]
    assert rows[3]["action"] == "insert" and rows[3]["division_code"] == "440106"
    assert rows[4]["action"] == "error"


def test_a_shapefile_with_chinese_field_names_cut_mid_character_is_read(tmp_path):
    """GENERATED Shapefile written like ogr2ogr does (UTF-8 .cpg, DBF names cut at 10 bytes
    in the middle of a character): read with the broken tail dropped, values intact."""
    import warnings
    import zipfile

    import numpy as np
    import shapely
    from pyogrio.raw import write

    from gazetteer.office_import.readers import SourceFile

    folder = tmp_path / "shp"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        write(
            str(folder / "dm.shp"),
            geometry=shapely.to_wkb(np.array([shapely.Point(113.3611, 23.1391)])),
            field_data=[np.array([v], dtype=object) for v in ("测试切名路", "道路", "天河区")],
            fields=["标准名称", "地名类别代码", "所在行政区名称"],
            geometry_type="Point",
            crs="EPSG:4490",
            driver="ESRI Shapefile",
            encoding="UTF-8",
        )
    archive = tmp_path / "generated_dm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f.name)
    source = SourceFile(archive)
    assert source.layers() == ["dm"]
    info = source.info("dm")
    assert info.columns == ["标准名", "地名类", "所在行"]
    [chunk] = list(source.chunks("dm"))
    assert chunk.values == [{"标准名": "测试切名路", "地名类": "道路", "所在行": "天河区"}]
    assert chunk.geoms[0].x == pytest.approx(113.3611)
