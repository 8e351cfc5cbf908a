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


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_output_files_are_never_removed_by_a_failed_or_refused_write(tmp_path):
    """F1: a wrong round id, an existing file without --force, the store's own file and an
    empty name each leave every file as it was, with a one-line usage or domain error."""
    data_dir = tmp_path / "var"
    run("--data-dir", str(data_dir), "db", "upgrade")
    store_file = data_dir / "gdgis.sqlite"
    store_bytes = store_file.read_bytes()
    kept = tmp_path / "important.txt"
    kept.write_text("important", encoding="utf-8")

    refused = _invoke(
        "--data-dir", str(data_dir), "boundaries", "export-round", "999", "-o", str(kept)
    )
    assert refused.exit_code == 2 and "--force" in refused.output
    wrong_round = _invoke(
        "--data-dir", str(data_dir), "boundaries", "export-round", "999", "-o", str(kept), "--force"
    )
    assert wrong_round.exit_code != 0 and isinstance(wrong_round.exception, Exception)
    assert "999" in str(getattr(wrong_round.exception, "message", wrong_round.exception))
    assert kept.read_text(encoding="utf-8") == "important"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch left

    office_file = tmp_path / "office.csv"
    office_file.write_text("标准名称\n长乐路\n", encoding="utf-8")
    import_office = [
        "import-office",
        str(office_file),
        "--source",
        "s",
        "--office",
        "o",
        "--as",
        "x",
    ]
    for command in (["boundaries", "export-round", "1"], ["export", "places"], import_office):
        out_option = "--report" if command is import_office else "-o"
        own = _invoke("--data-dir", str(data_dir), *command, out_option, str(store_file), "--force")
        assert own.exit_code == 2 and "存储文件" in own.output, own.output
        empty = _invoke("--data-dir", str(data_dir), *command, out_option, "")
        assert empty.exit_code == 2 and "输出文件名为空" in empty.output
        assert "Traceback" not in own.output + empty.output
    assert store_file.read_bytes() == store_bytes

    # export: the same rule; --force replaces the file (renamed into place whole)
    out = tmp_path / "places.csv"
    out.write_text("old", encoding="utf-8")
    again = _invoke("--data-dir", str(data_dir), "export", "places", "-f", "csv", "-o", str(out))
    assert again.exit_code == 2 and out.read_text(encoding="utf-8") == "old"
    run("--data-dir", str(data_dir), "export", "places", "-f", "csv", "-o", str(out), "--force")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_serve_on_a_port_in_use_says_so_in_one_line_before_serving(tmp_path):
    """F6: refused before the store is set up or "serving on" is printed; the port in use
    keeps its listener."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _invoke("--data-dir", str(tmp_path / "var"), "serve", "--port", str(port))
        assert result.exit_code == 2, (result.output, result.exception)
        assert f"127.0.0.1:{port} 无法监听" in result.output and "serving on" not in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert not (tmp_path / "var").exists()
