"""Debian's GDAL ogr2ogr, with its DEFAULT options, copies every OGC API collection of a
running app (default settings, rate limits included) into a GeoPackage, feature for feature.

GDAL 3.6 (Debian 12) asks for 10 features a page and follows the ``next`` links: 2,875
requests for the places layer, which the paging budget of the rate limiter lets through.
Skips when ogr2ogr is not installed, except under CI=true (scripts/ci_gdal.sh installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pyogrio
import pytest
from werkzeug.serving import make_server

from webmap.layers import LAYERS

OGR2OGR = shutil.which("ogr2ogr")
if OGR2OGR is None:
    if os.environ.get("CI") == "true":
        pytest.fail("ogr2ogr is missing in CI: scripts/ci_gdal.sh should install gdal-bin")
    pytest.skip("ogr2ogr not installed (apt-get install gdal-bin)", allow_module_level=True)


@pytest.fixture
def served(store_templates, boundaries_template, tmp_path):
    """The app with default settings on 127.0.0.1 (a free port), and its store."""
    from webmap import create_app

    with store_templates.copy(boundaries_template, tmp_path) as store:
        app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "gdal-test"}, store=store)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", store
        finally:
            server.shutdown()
            thread.join()


def test_ogr2ogr_with_default_options_copies_every_collection(served, tmp_path):
    url, store = served
    version = subprocess.run([OGR2OGR, "--version"], capture_output=True, text=True).stdout
    for layer in LAYERS:
        out = tmp_path / f"{layer.id}.gpkg"
        result = subprocess.run(
            [OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{url}/ogc", layer.id],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (version, layer.id, result.stderr[-2000:])
        expected = layer.query(store, limit=1, skip_geometry=True).number_matched
        copied = pyogrio.read_info(out, layer=layer.id)["features"] if expected else 0
        assert copied == expected, (version, layer.id)
        if expected:  # typed from the describedBy schema, not guessed from a first page
            info = pyogrio.read_info(out, layer=layer.id)
            types = dict(zip(info["fields"], info["dtypes"], strict=True))
            for name in DATE_FIELDS[layer.id]:
                assert types[name] == "datetime64[D]", (version, layer.id, name, types[name])


DATE_FIELDS = {layer.id: [f.name for f in layer.fields if f.format == "date"] for layer in LAYERS}


def ogrinfo_path() -> str:
    return shutil.which("ogrinfo") or OGR2OGR.replace("ogr2ogr", "ogrinfo")


def test_gdal_types_the_date_fields_from_the_collection_schema(served):
    """GDAL 3.6 would guess the places' fields from a first page of 10 whose dates are all
    null and make named_date/retired_date text ('1979/03/01'); the collections link a
    JSON Schema (rel describedBy) that it reads instead."""
    url, _store = served
    assert DATE_FIELDS["places"] == ["named_date", "retired_date"]
    result = subprocess.run(
        [ogrinfo_path(), "-so", f"OAPIF:{url}/ogc", "places"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in DATE_FIELDS["places"]:
        assert f"{name}: Date" in result.stdout, result.stdout[-2000:]
    assert (
        "area_km2: Real"
        in subprocess.run(
            [ogrinfo_path(), "-so", f"OAPIF:{url}/ogc", "divisions"], capture_output=True, text=True
        ).stdout
    )


def test_each_geopackage_download_opens_in_debian_gdal_without_warnings(served, tmp_path):
    """GDAL 3.6 warns about GeoPackage 1.4 ('may only be partially supported'); the
    downloads are written as 1.2, which it reads silently, with every feature."""
    import sqlite3
    import urllib.request

    url, store = served
    ogrinfo = ogrinfo_path()
    for layer in LAYERS:
        path = tmp_path / f"{layer.id}-download.gpkg"
        with urllib.request.urlopen(f"{url}/ogc/collections/{layer.id}/download.gpkg") as answer:
            path.write_bytes(answer.read())
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 10200, layer.id
        result = subprocess.run([ogrinfo, "-so", "-al", str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
        expected = layer.query(store, limit=1, skip_geometry=True).number_matched
        assert f"Feature Count: {expected}" in result.stdout, layer.id
        for name in DATE_FIELDS[layer.id]:  # GeoPackage DATE, not TEXT
            assert f"{name}: Date" in result.stdout, (layer.id, name)


def test_the_feature_id_survives_a_default_copy(served, tmp_path):
    """The ``id`` property stays beside the feature's own ``id`` member, although ogr2ogr
    warns "Field 'id' already exists. Renaming it as 'id2'": without it GDAL takes the
    integer feature id as the FID, which ogr2ogr renumbers 1, 2, … in the GeoPackage, and a
    default copy would lose every marker's and place's id (tried: pygeoapi's way, popping
    the id from the properties, fails this test)."""
    url, store = served
    out = tmp_path / "markers.gpkg"
    result = subprocess.run(
        [OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{url}/ogc", "boundary_markers"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    frame = pyogrio.read_dataframe(out, layer="boundary_markers", columns=["id", "number"])
    served_ids = {
        f["id"]: f["properties"]["number"]
        for f in LAYERS_BY_ID["boundary_markers"]
        .query(store, limit=10_000, skip_geometry=True)
        .features
    }
    copied = {int(k): v for k, v in zip(frame["id"], frame["number"], strict=True)}
    assert copied == served_ids


LAYERS_BY_ID = {layer.id: layer for layer in LAYERS}
