"""How this project launches Debian's Chromium (through Playwright's ``executable_path``;
never a browser Playwright downloads) with no network but loopback: the browser tests
(tests/browser, and ``scripts/screenshots.py`` through them) and the first-view benchmark
(benchmarks/bench_first_view.py) launch it the same way.

Each caller also routes every request and aborts those that leave 127.0.0.1; the flags
below are the second guard (no name resolves but loopback) and keep Chromium from calling
home (updates, sync, QUIC probes).
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("GDGIS_CHROMIUM", "/usr/bin/chromium")
"""The Chromium executable: ``GDGIS_CHROMIUM`` or Debian's /usr/bin/chromium."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces beside the request routing: no name but loopback resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
