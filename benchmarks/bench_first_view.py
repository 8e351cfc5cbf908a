#!/usr/bin/env python3
"""First view of the Guangdong map in headless Chromium at a tablet viewport (1024x768).

Measures, for the page as shipped (gzip + coverage-simplified divisions per zoom) and for
a baseline (no gzip, unsimplified divisions): the time from navigation to the map being
interactive (``#map[data-ready="1"]``: the division layers are drawn and respond) and the
bytes transferred (CDP ``Network.loadingFinished`` encodedDataLength, i.e. compressed
bytes on the wire). Median of ``--runs`` cold loads, each in a fresh browser context (no
HTTP cache). The app runs in a werkzeug server thread on 127.0.0.1 over a copy of the
store given by --store (default: build one in a temporary directory from the shipped data).

    python benchmarks/bench_first_view.py --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from shipped_store import build_shipped_store, counted_page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from offline_chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def build_store(directory: Path):
    from boundaries.demo import generate_demo_markers
    from gazetteer.core.store import Store

    store = Store(build_shipped_store(directory))

    generate_demo_markers(store)  # derives the lines first
    return store


def serve(store, data_dir: Path):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the output

    from webmap import create_app

    app = create_app({"DATA_DIR": str(data_dir), "SECRET_KEY": "bench"}, store=store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


BASELINE_SCRIPT = """
// Baseline: ask for the divisions unsimplified (tolerance 0) and without gzip.
const realFetch = window.fetch;
window.fetch = (url, opts) => realFetch(String(url).replace(/tolerance_deg=[0-9.]+/, 'tolerance_deg=0'), opts);
"""


def measure(browser, url: str, baseline: bool) -> tuple[float, int, int]:
    """(seconds to interactive, bytes transferred, requests) of one cold load."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    context.route(
        "**/*",
        lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort(),
    )
    if baseline:
        context.add_init_script(BASELINE_SCRIPT)
        context.set_extra_http_headers({"Accept-Encoding": "identity"})
    page, sizes = counted_page(context)
    start = time.perf_counter()
    page.goto(url + "/?bench=1")
    page.wait_for_selector('#map[data-ready="1"]', timeout=60000)
    elapsed = time.perf_counter() - start
    page.wait_for_timeout(300)  # let the last loadingFinished events arrive
    total, count = sum(sizes.values()), len(sizes)
    context.close()
    return elapsed, total, count


WHOLE_LAYERS = [
    # what a view with lines, places and counties on would load without tiles
    "/ogc/collections/boundary_lines/items?limit=10000",
    "/ogc/collections/places/items?limit=10000&has_geometry=true&properties=id,name,feature_class",
    "/ogc/collections/divisions/items?limit=10000&level=county",
]


def _settle(page, sizes: dict, quiet_ms: int = 1500) -> None:
    """Wait until no request has finished for ``quiet_ms`` (tiles arrive one by one)."""
    seen, quiet = -1, 0
    while quiet < quiet_ms:
        page.wait_for_timeout(250)
        quiet = quiet + 250 if len(sizes) == seen else 0
        seen = len(sizes)


def measure_views(browser, url: str) -> list[tuple[str, int, int]]:
    """Bytes (and requests) each later view of the map loads: every overlay switched on at
    the first zoom, then each of three zoom steps in (county level), against fetching the same
    layers whole as GeoJSON (gzip) — what the map loaded before the vector tiles."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page, sizes = counted_page(context)
    page.goto(url + "/?bench=1")
    page.wait_for_selector('#map[data-ready="1"]', timeout=60000)
    _settle(page, sizes)
    rows = []

    def view(label: str, action) -> None:
        before_total, before_count = sum(sizes.values()), len(sizes)
        action()
        _settle(page, sizes)
        rows.append((label, sum(sizes.values()) - before_total, len(sizes) - before_count))

    def overlays_on():
        page.locator(".leaflet-control-layers").hover()
        for label in ("行政区域界线", "地名"):
            page.locator(".leaflet-control-layers-overlays label", has_text=label).locator(
                "input"
            ).check()

    def zoom_in():
        page.locator(".leaflet-control-zoom-in").click()

    view("tiles: lines + places on, first zoom", overlays_on)
    for step in range(1, 4):
        view(f"zoom in, step {step}{' (counties join)' if step == 3 else ''}", zoom_in)
    view(
        "baseline: the same layers whole (GeoJSON, gzip)",
        lambda: page.evaluate(
            "urls => Promise.all(urls.map(u => fetch(u).then(r => r.arrayBuffer())))",
            WHOLE_LAYERS,
        ),
    )
    context.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Path(tmp))
        server = serve(store, Path(tmp))
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                measure(
                    browser, url, False
                )  # warm the server's caches (simplification, gzip of statics)
                measure(browser, url, True)
                rows = []
                for label, baseline in (
                    ("shipped: gzip + simplified per zoom", False),
                    ("baseline: identity + unsimplified", True),
                ):
                    runs = [measure(browser, url, baseline) for _ in range(args.runs)]
                    rows.append(
                        (
                            label,
                            statistics.median(r[0] for r in runs),
                            statistics.median(r[1] for r in runs),
                            runs[0][2],
                        )
                    )
                views = measure_views(browser, url)
                browser.close()
        finally:
            server.shutdown()
            store.dispose()
    print(f"First view of / at 1024x768, headless Chromium, median of {args.runs} cold loads")
    print(
        f"| {'variant':<38} | {'interactive (s)':>15} | {'transferred (KB)':>16} | {'requests':>8} |"
    )
    print(f"|{'-' * 40}|{'-' * 17}|{'-' * 18}|{'-' * 10}|")
    for label, seconds, size, count in rows:
        print(f"| {label:<38} | {seconds:>15.2f} | {size / 1024:>16.0f} | {count:>8} |")
    print()
    print("Later views (bytes each view adds, one run)")
    print(f"| {'view':<48} | {'transferred (KB)':>16} | {'requests':>8} |")
    print(f"|{'-' * 50}|{'-' * 18}|{'-' * 10}|")
    for label, size, count in views:
        print(f"| {label:<48} | {size / 1024:>16.0f} | {count:>8} |")


if __name__ == "__main__":
    main()
