"""The demonstration marker inventory, marker validation, photos and import/export."""

from __future__ import annotations

import json

import pyogrio
import pytest
from boundary_helpers import (
    INSPECTOR_A,
    OFFICER,
    PNG,
    inspection_record,
    register_staff,
    round_plan,
)

from boundaries import inspections
from boundaries import io as boundary_io
from boundaries.demo import CITY_LINES, generate_demo_markers, split_by_length
from boundaries.lines import find_line
from boundaries.markers import get_marker, list_markers, markers_feature_collection, parse_number
from boundaries.photos import MAX_PHOTO_BYTES, Photo, store_photo
from boundaries.tables import markers as markers_table
from gazetteer.core.errors import Conflict, InvalidInput, PayloadTooLarge


def test_demo_inventory_has_the_2020_counts_and_is_labelled(bstore):
    rows = list_markers(bstore)
    by_line = {}
    for row in rows:
        by_line[row["line_name"]] = by_line.get(row["line_name"], 0) + 1
    assert by_line.pop("粤桂线") == 33
    assert set(by_line) == set(CITY_LINES) and len(by_line) == 8 and sum(by_line.values()) == 153
    assert all(r["is_demonstration"] for r in rows)
    collection = markers_feature_collection(rows)
    assert collection["label"] == "演示数据" and "演示数据" in collection["notice"]
    assert all(f["properties"]["label"] == "演示数据" for f in collection["features"])


def test_numbering_runs_from_001_with_type_letters(bstore):
    line = find_line(bstore, "粤桂线")
    rows = list_markers(bstore, line_id=line["id"])
    numbers = [r["number"] for r in rows]
    assert numbers[0] == "粤桂001C"  # the 湘粤桂 tri-junction at the line's north end
    assert all(parse_number(n)[0] == "粤桂" for n in numbers)
    paired = [r for r in rows if r["type"] == "paired"]
    assert paired and {r["letter"] for r in paired} == {"A", "B"}
    # 粤桂线 runs north-south: numbers increase southwards.
    singles = [r for r in rows if r["type"] == "single"]
    assert singles[0]["lat"] > singles[-1]["lat"]
    assert all(len(r["reference_objects"]) >= 3 for r in rows)


def test_generation_is_deterministic_and_idempotent(bstore):
    before = [(r["number"], r["lon"], r["lat"]) for r in list_markers(bstore)]
    assert set(generate_demo_markers(bstore).values()) == {0}
    with bstore.write() as conn:
        conn.execute(
            markers_table.delete().where(
                markers_table.c.line_id == find_line(bstore, "韶惠线")["id"]
            )
        )
    generate_demo_markers(bstore)
    assert [(r["number"], r["lon"], r["lat"]) for r in list_markers(bstore)] == before


def test_split_by_length_keeps_the_total():
    assert sum(split_by_length(153, [57.1, 32.1, 189.6, 285.1, 65.6, 176.9, 78.1, 63.1])) == 153
    assert min(split_by_length(20, [1.0, 100.0], minimum=4)) == 4


def test_malformed_marker_import_writes_nothing(bstore):
    line = find_line(bstore, "韶惠线")
    good = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [114.1, 24.2]},
        "properties": {
            "number": "韶惠901Q",
            "line": "韶惠线",
            "material": "花岗岩",
            "reference_objects": [{"name": "电杆", "bearing_deg": 30, "distance_m": 12.5}],
        },
    }
    bad = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [114.1, 24.2]},
        "properties": {"number": "粤桂902Q", "line": "韶惠线"},
    }
    doc = json.dumps({"type": "FeatureCollection", "features": [good, bad]}).encode()
    with pytest.raises(InvalidInput, match="前缀"):
        boundary_io.import_markers(bstore, doc, "geojson", OFFICER)
    assert len(list_markers(bstore, line_id=line["id"])) == 11
    for broken, message in (
        (b"{not json", "无法解析"),
        (b'{"type": "Feature"}', "FeatureCollection"),
    ):
        with pytest.raises(InvalidInput, match=message):
            boundary_io.import_markers(bstore, broken, "geojson", OFFICER)
    doc = json.dumps({"type": "FeatureCollection", "features": [good]}).encode()
    assert boundary_io.import_markers(bstore, doc, "geojson", OFFICER) == {
        "inserted": 1,
        "updated": 0,
    }
    assert get_marker(bstore, "韶惠901Q")["reference_objects"][0]["distance_m"] == 12.5


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg"])
def test_export_then_import_round_trips(bstore, tmp_path, fmt):
    line = find_line(bstore, "深惠线")
    path = boundary_io.export_markers(bstore, fmt, tmp_path / f"m.{fmt}", line_id=line["id"])
    if fmt == "gpkg":
        assert pyogrio.read_info(path, layer="markers")["crs"] == "EPSG:4490"
    if fmt == "csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf") and "演示数据" in path.read_text(
            "utf-8-sig"
        )
    counts = boundary_io.import_markers(bstore, path.read_bytes(), fmt, OFFICER)
    assert counts == {"inserted": 0, "updated": 12}
    assert all(
        r["version"] == 2 and r["is_demonstration"]
        for r in list_markers(bstore, line_id=line["id"])
    )


def test_photos_are_checked_by_content_and_named_by_hash(bstore, tmp_path):
    marker = list_markers(bstore)[0]
    named = Photo(PNG, caption="../../etc/passwd")
    row, created = store_photo(bstore, tmp_path, marker["id"], named, INSPECTOR_A)
    assert created
    assert row["content_type"] == "image/png" and row["file_name"] == f"{row['sha256']}.png"
    assert (tmp_path / "photos" / row["file_name"]).read_bytes() == PNG
    assert store_photo(bstore, tmp_path, marker["id"], named, INSPECTOR_A) == (row, False)
    with pytest.raises(InvalidInput):
        store_photo(bstore, tmp_path, marker["id"], Photo(b"<?php echo 1; ?>"), INSPECTOR_A)
    with pytest.raises(PayloadTooLarge):
        store_photo(
            bstore, tmp_path, marker["id"], Photo(PNG + bytes(MAX_PHOTO_BYTES)), INSPECTOR_A
        )
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == [row["file_name"]]


def test_a_photo_resent_with_another_caption_or_record_is_refused_unchanged(bstore, tmp_path):
    """The same bytes for the same marker are the same photo: resent as they were, a retry
    (the stored row); with another caption or inspection record, a ``Conflict`` carrying
    the stored photo, and nothing changes."""
    line = find_line(bstore, "韶惠线")
    register_staff(bstore, line)
    rnd = inspections.create_round(bstore, round_plan(line), OFFICER)
    inspections.start_round(bstore, rnd["id"], OFFICER)
    marker = list_markers(bstore, line_id=line["id"])[0]
    record, _ = inspections.record_inspection(
        bstore, inspection_record(rnd["id"], "lost", marker=marker["number"]), INSPECTOR_A
    )
    sent = Photo(PNG, caption="界桩东面", inspection_id=record["id"].upper())
    row, created = store_photo(bstore, tmp_path, marker["id"], sent, INSPECTOR_A)
    assert created and row["inspection_id"] == record["id"]  # the UUID's canonical text
    assert store_photo(bstore, tmp_path, marker["id"], sent, INSPECTOR_A) == (row, False)
    for other, fields in (
        (Photo(PNG, caption="界桩西面", inspection_id=record["id"]), ["caption"]),
        (Photo(PNG, inspection_id=record["id"]), ["caption"]),
        (Photo(PNG, caption="界桩东面"), ["inspection_id"]),
        (Photo(PNG), ["caption", "inspection_id"]),
    ):
        with pytest.raises(Conflict) as refused:
            store_photo(bstore, tmp_path, marker["id"], other, INSPECTOR_A)
        assert refused.value.details["fields"] == fields
        assert refused.value.details["stored"] == row
    assert get_marker(bstore, marker["id"])["photos"] == [row]
    with pytest.raises(InvalidInput) as empty_id:
        store_photo(bstore, tmp_path, marker["id"], Photo(PNG, inspection_id=""), INSPECTOR_A)
    assert empty_id.value.details["field"] == "inspection_id"
