"""The gdgis command line, run as a user would (click's runner, real SQLite files)."""

import json

import geopandas as gpd
from click.testing import CliRunner

from webmap.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_upgrade_import_twice_and_export(tmp_path):
    data_dir = str(tmp_path / "var")
    assert "schema at" in run("--data-dir", data_dir, "db", "upgrade")
    assert "up to date" in run("--data-dir", data_dir, "db", "status")
    first = json.loads(run("--data-dir", data_dir, "import-data").strip().splitlines()[-1])
    assert first["inserted"]["places"] == 28_750 and first["updated"]["places"] == 0
    second = json.loads(run("--data-dir", data_dir, "import-data").strip().splitlines()[-1])
    assert second["inserted"] == {"divisions": 0, "places": 0}
    assert second["updated"] == {"divisions": 0, "places": 0}
    assert second["unchanged"]["places"] == 28_750

    out = tmp_path / "divisions.gpkg"
    assert "151 features" in run(
        "--data-dir", data_dir, "export", "divisions", "-f", "gpkg", "-o", str(out)
    )
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 4490 and set(frame["level"]) == {"province", "city", "county"}
    csv_out = tmp_path / "places.csv"
    run("--data-dir", data_dir, "export", "places", "-f", "csv", "-o", str(csv_out))
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_boundaries_commands_and_layer_list(tmp_path):
    data_dir = str(tmp_path / "var")
    run("--data-dir", data_dir, "import-data")
    counts = json.loads(
        run("--data-dir", data_dir, "boundaries", "demo-markers").strip().splitlines()[-1]
    )
    assert counts["粤桂线"] == 33 and sum(counts.values()) - 33 == 153
    layers = run("--data-dir", data_dir, "layers")
    assert "boundary_markers" in layers and "演示数据" in layers


def test_unknown_layer_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "export", "nope"])
    assert result.exit_code == 2 and "unknown layer" in result.output
