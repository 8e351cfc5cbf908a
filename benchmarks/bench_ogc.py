#!/usr/bin/env python3
"""OGC API - Features beside pygeoapi on the same data, in one run.

Builds a store from the shipped data (or takes --store), exports its ``places`` and
``divisions`` layers to one GeoPackage, and serves
  * this app (``webmap``, its own store, werkzeug single-threaded server in a subprocess), and
  * pygeoapi (PyPI) over that GeoPackage with its SQLiteGPKG provider (needs Debian's
    libsqlite3-mod-spatialite), also in a subprocess,
both on 127.0.0.1. Then times the same requests against both, sequentially from this process
(median of --runs, after one warm-up), and prints a table:

  1,000-item page   places?limit=1000
  deep offset       places?limit=100&offset=28000
  bbox              divisions?bbox=113.0,22.5,114.0,23.5&limit=100
  CQL2 filter       divisions?filter=level='county' AND parent_code='440100' (pygeoapi's
                    GeoPackage provider has no CQL2: it gets the equivalent property filter
                    level=county&parent_code=440100)

pygeoapi may live in its own virtualenv (its dependencies pin other versions), made from a
Python whose sqlite3 can load extensions (Debian's /usr/bin/python3 can; a pyenv build may not):

    /usr/bin/python3 -m venv /tmp/pygeoapi-venv && /tmp/pygeoapi-venv/bin/pip install pygeoapi
    apt-get install -y libsqlite3-mod-spatialite
    python benchmarks/bench_ogc.py --pygeoapi-python /tmp/pygeoapi-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path

from shipped_store import build_shipped_store

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    ("1,000-item page", "places", "limit=1000", "limit=1000"),
    ("deep offset", "places", "limit=100&offset=28000", "limit=100&offset=28000"),
    (
        "bbox",
        "divisions",
        "bbox=113.0,22.5,114.0,23.5&limit=100",
        "bbox=113.0,22.5,114.0,23.5&limit=100",
    ),
    (
        "CQL2 filter",
        "divisions",
        "limit=100&filter=" + urllib.parse.quote("level = 'county' AND parent_code = '440100'"),
        "limit=100&level=county&parent_code=440100",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export_geopackage(store_url: str, path: Path) -> None:
    from gazetteer.core.store import Store
    from gazetteer.layers import DIVISIONS, PLACES, write_layer

    store = Store(store_url)
    for layer in (PLACES, DIVISIONS):
        write_layer(layer.frame(store), "gpkg", path, layer.id)
    store.dispose()


APP_SERVER = """
import sys
from werkzeug.serving import make_server
from gazetteer.core.store import Store
from webmap import create_app
store = Store(sys.argv[1])
app = create_app({"DATA_DIR": sys.argv[3], "SECRET_KEY": "bench",
                  "RATE_LIMIT_PER_MINUTE": 1000000, "PAGING_RATE_LIMIT_PER_MINUTE": 1000000},
                 store=store)
make_server("127.0.0.1", int(sys.argv[2]), app, threaded=False).serve_forever()
"""

PYGEOAPI_SERVER = """
import sys
from werkzeug.serving import make_server
from pygeoapi.flask_app import APP
make_server("127.0.0.1", int(sys.argv[1]), APP, threaded=False).serve_forever()
"""


def pygeoapi_config(gpkg: Path, port: int) -> str:
    def resource(table: str, id_field: str) -> str:
        return textwrap.dedent(
            f"""
            {table}:
                type: collection
                title: {table}
                description: {table} of Guangdong
                keywords: [{table}]
                extents:
                    spatial:
                        bbox: [104, 3, 122, 31]
                        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
                providers:
                    - type: feature
                      name: SQLiteGPKG
                      data: {gpkg}
                      id_field: {id_field}
                      table: {table}
            """
        )

    resources = textwrap.indent(resource("places", "id") + resource("divisions", "code"), "    ")
    return (
        textwrap.dedent(
            f"""
            server:
                bind: {{host: 127.0.0.1, port: {port}}}
                url: http://127.0.0.1:{port}
                mimetype: application/json; charset=UTF-8
                encoding: utf-8
                languages: [en-US]
                limits: {{default_items: 10, max_items: 10000}}
                map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
            logging: {{level: ERROR}}
            metadata:
                identification:
                    title: bench
                    description: bench
                    keywords: [bench]
                    keywords_type: theme
                    terms_of_service: https://creativecommons.org/licenses/by/4.0/
                    url: http://127.0.0.1
                license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
                provider: {{name: bench, url: http://127.0.0.1}}
                contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x,
                          postalcode: x, country: x, phone: x, fax: x, email: x@example.org,
                          url: http://127.0.0.1, hours: x, instructions: x, role: pointOfContact}}
            resources:
            """
        )
        + resources
    )


def wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def timed(url: str, runs: int) -> tuple[float, int]:
    """(median ms, features returned) of ``runs`` GETs after one warm-up."""
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    body = json.loads(urllib.request.urlopen(request, timeout=120).read())
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        urllib.request.urlopen(request, timeout=120).read()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), len(body.get("features", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", help="SQLAlchemy URL of a store with the shipped data")
    parser.add_argument("--pygeoapi-python", default=sys.executable)
    args = parser.parse_args()
    load_before = os.getloadavg()
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        store_url = args.store or build_shipped_store(tmp_path)
        gpkg = tmp_path / "layers.gpkg"
        export_geopackage(store_url, gpkg)
        app_port, pga_port = free_port(), free_port()
        config = tmp_path / "pygeoapi.yml"
        config.write_text(pygeoapi_config(gpkg, pga_port), encoding="utf-8")
        openapi = tmp_path / "openapi.yml"
        env = {
            "PYGEOAPI_CONFIG": str(config),
            "PYGEOAPI_OPENAPI": str(openapi),
            "PATH": "/usr/bin:/bin",
        }
        generated = subprocess.run(
            [
                str(Path(args.pygeoapi_python).parent / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "--output-file",
                str(openapi),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if generated.returncode:
            sys.exit(f"pygeoapi openapi generate failed:\n{generated.stderr[-3000:]}")
        try:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", APP_SERVER, store_url, str(app_port), tmp],
                    cwd=ROOT,
                    stderr=subprocess.PIPE,
                )
            )
            procs.append(
                subprocess.Popen(
                    [args.pygeoapi_python, "-c", PYGEOAPI_SERVER, str(pga_port)],
                    env=env,
                    stderr=subprocess.PIPE,
                )
            )
            ours = f"http://127.0.0.1:{app_port}/ogc"
            theirs = f"http://127.0.0.1:{pga_port}"
            wait_for(ours + "/collections?f=json", procs[0])
            wait_for(theirs + "/collections?f=json", procs[1])
            rows = []
            for label, collection, q_ours, q_theirs in CASES:
                ms_ours, n_ours = timed(
                    f"{ours}/collections/{collection}/items?{q_ours}", args.runs
                )
                ms_theirs, n_theirs = timed(
                    f"{theirs}/collections/{collection}/items?f=json&{q_theirs}", args.runs
                )
                rows.append((label, ms_ours, n_ours, ms_theirs, n_theirs))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
    load_after = os.getloadavg()
    print(f"OGC API items, median of {args.runs} sequential requests (ms), same data")
    print(
        f"machine: {os.cpu_count()} cores, load average (1 min) {load_before[0]:.1f} before,"
        f" {load_after[0]:.1f} after"
    )
    print("| request | this app (ms) | features | pygeoapi (ms) | features | pygeoapi / this app |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, ms_ours, n_ours, ms_theirs, n_theirs in rows:
        print(
            f"| {label} | {ms_ours:.1f} | {n_ours} | {ms_theirs:.1f} | {n_theirs} |"
            f" {ms_theirs / ms_ours:.1f}x |"
        )


if __name__ == "__main__":
    main()
