"""Round report totals, the folium map on local Leaflet, and the GeoPackage export."""

from __future__ import annotations

import uuid

import pyogrio
import pytest
from boundary_helpers import INSPECTOR_A, INSPECTOR_B, OFFICER, register_staff, round_plan

from boundaries import inspections as inspection_service
from boundaries import tasks as task_service
from boundaries.disputes import create_dispute
from boundaries.lines import find_line
from boundaries.markers import list_markers
from boundaries.report import export_round, round_map, round_report
from gazetteer.core.geodesy import destination

STATES = ("intact", "intact", "faded", "lost", "damaged", "tilted")


@pytest.fixture
def inspected(bstore):
    """韶惠线 round 4: every marker inspected and signed; the 2nd also measured 3 m off."""
    yield from _inspected(bstore)


def _inspected(store):
    line = find_line(store, "韶惠线")
    register_staff(store, line)
    rnd = inspection_service.create_round(store, round_plan(line), OFFICER)
    inspection_service.start_round(store, rnd["id"], OFFICER)
    for i, marker in enumerate(list_markers(store, line_id=line["id"])):
        state = STATES[i % len(STATES)]
        data = {
            "id": str(uuid.uuid4()),
            "round_id": rnd["id"],
            "marker": marker["number"],
            "found_state": state,
        }
        if state != "lost":
            lon, lat = destination(marker["lon"], marker["lat"], 10.0, 3.0 if i == 1 else 0.2)
            data.update(
                measured_lon=lon, measured_lat=lat, measurement_method="rtk", moved_confirmed=i == 1
            )
        record, _ = inspection_service.record_inspection(store, data, INSPECTOR_A)
        inspection_service.sign_inspection(store, record["id"], line["side_a_code"], INSPECTOR_A)
        inspection_service.sign_inspection(store, record["id"], line["side_b_code"], INSPECTOR_B)
    create_dispute(
        store, {"line": "韶惠线", "title": "林地权属争议隐患", "category": "forest"}, OFFICER
    )
    yield store, rnd, line


def test_report_totals(inspected):
    store, rnd, line = inspected
    report = round_report(store, rnd["id"])
    [entry] = report["lines"]
    # 11 markers on 韶惠线, states cycle over STATES; marker #2 (intact) measured 3 m off -> moved.
    assert entry["markers_total"] == 11 and entry["markers_inspected"] == 11
    assert entry["markers_by_state"] == {
        "intact": 3,
        "faded": 2,
        "tilted": 1,
        "buried": 0,
        "damaged": 2,
        "moved": 1,
        "lost": 2,
    }
    assert entry["flagged_moved"] == 1 and entry["signed_by_both"] == 11
    # faded x2 repaint, tilted reset, damaged x2 repair, lost x2 rebuild, moved restore = 8
    assert entry["tasks_opened"] == 8 and entry["tasks_closed"] == 0 and entry["tasks_open"] == 8
    assert entry["disputes_open"] == 1
    assert 0 < entry["km_inspected"] <= line["length_km"]
    # A real round (not marked demonstration) is not called demonstration data; the
    # demonstration marker positions it walked are said separately.
    assert not report["demonstration"] and report["notice"] is None
    assert report["demonstration_markers"] and "演示数据" in report["markers_notice"]
    assert report["people"][INSPECTOR_A.username] == "王强（甲方民政局）"
    assert report["totals"]["markers_inspected"] == 11

    task = task_service.list_tasks(store, round_id=rnd["id"], status="open")[0]
    task_service.update_task(
        store,
        task["id"],
        "done",
        INSPECTOR_A,
        result="已处理",
        witness_other_side=INSPECTOR_B.username,
    )
    entry = round_report(store, rnd["id"])["lines"][0]
    assert (entry["tasks_opened"], entry["tasks_closed"], entry["tasks_open"]) == (8, 1, 7)


def test_map_uses_local_leaflet_only(inspected):
    store, rnd, _ = inspected
    fragments = round_map(store, rnd["id"], leaflet_prefix="/static/vendor/leaflet")
    page = "".join(fragments.values())
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert "https://" not in page and "http://" not in page.replace("http-equiv", "")
    assert "L.polyline" in fragments["script"] and "L.circleMarker" in fragments["script"]


def test_geopackage_export_has_line_markers_and_inspections(inspected, tmp_path):
    store, rnd, _ = inspected
    path = export_round(store, rnd["id"], tmp_path / "round.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"line": "MultiLineString", "markers": "Point", "inspections": "Point"}
    frame = pyogrio.read_dataframe(path, layer="inspections")
    assert len(frame) == 11 and set(frame["label"]) == {"演示数据"}
    assert frame.crs.to_epsg() == 4490
