"""The offline base map: the operator's MBTiles package (a small one generated here) draws
under the inspection map, and 保存本轮底图 keeps the tiles around the round's markers on the
device with a progress bar, so they still draw with no network. Nothing is fetched from
outside the app."""

from __future__ import annotations

import threading

import pytest
from boundary_helpers import INSPECTOR_A, OFFICER, register_staff, round_plan
from helpers import ensure_user

from boundaries import inspections as inspection_service
from boundaries.lines import find_line
from boundaries.markers import list_markers
from gazetteer.core.mbtiles import tiles_in_bbox, write_package
from tests.browser.conftest import screenshot, sign_in, wait_for_service_worker
from tests.browser.pages import png

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_server(store_templates, boundaries_template, tmp_path):
    from werkzeug.serving import make_server

    from webmap import create_app

    with store_templates.copy(boundaries_template, tmp_path) as store:
        line = find_line(store, "韶惠线")
        register_staff(store, line)
        ensure_user(store, INSPECTOR_A.username, "inspector")
        rnd = inspection_service.create_round(store, round_plan(line), OFFICER)
        inspection_service.start_round(store, rnd["id"], OFFICER)
        points = [(m["lon"], m["lat"]) for m in list_markers(store, line_id=line["id"])]
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        box = (min(lons) - 0.05, min(lats) - 0.05, max(lons) + 0.05, max(lats) + 0.05)
        tiles = {t: png((200, 220, 200 + t[0])) for t in tiles_in_bbox(*box, range(7, 12))}
        package = write_package(tmp_path / "shaohui.mbtiles", tiles, "测试底图")
        app = create_app(
            {
                "DATA_DIR": str(tmp_path),
                "SECRET_KEY": "browser-test-key",
                "BASEMAP": "offline",
                "OFFLINE_BASEMAP": str(package),
                "OFFLINE_TILES_MAX_MB": 1,
            },
            store=store,
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {
                "url": f"http://127.0.0.1:{server.server_port}",
                "round": rnd,
                "tiles": len(tiles),
            }
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


def test_round_tiles_are_saved_with_progress_and_draw_offline(offline_server, open_context):
    base = offline_server["url"]
    context, watch = open_context({"width": 768, "height": 1024})
    page = context.new_page()
    sign_in(page, base, INSPECTOR_A.username, f"/inspect?round={offline_server['round']['id']}")
    page.wait_for_selector("#map[data-ready='1']")
    wait_for_service_worker(page)
    page.wait_for_selector(".leaflet-tile-loaded")  # the package draws under the map
    page.wait_for_selector("#basemap-save:not([hidden])")
    page.click("#save-tiles")
    page.wait_for_selector("#tiles-info[data-saved]", timeout=30000)
    saved = int(page.get_attribute("#tiles-info", "data-saved"))
    assert 0 < saved <= offline_server["tiles"]
    assert page.evaluate("document.getElementById('tiles-progress').value") == saved
    screenshot(page, "field-basemap-saved-768x1024")
    url = page.evaluate(
        f"fetch('/basemap/round-tiles?round_id={offline_server['round']['id']}')"
        ".then(r => r.json()).then(d => d.tiles[d.tiles.length - 1])"
    )
    context.set_offline(True)
    status = page.evaluate("(u) => fetch(u).then(r => r.status)", url)
    assert status == 200  # from the device, not the network
    assert watch.errors == [] and watch.blocked == []
