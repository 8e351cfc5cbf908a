"""Browser tests: the real app in a real HTTP server on 127.0.0.1, driven by headless
Chromium (Debian's ``chromium`` package) through Playwright, with every non-loopback
request blocked. Skipped with a reason when Chromium or Playwright is missing.

Set ``GDGIS_SCREENSHOT_DIR`` to save a PNG of every page visited (``scripts/screenshots.py``
does, into docs/screenshots/).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from boundary_helpers import INSPECTOR_A, INSPECTOR_B, OFFICER, register_staff, round_plan
from helpers import TEST_PASSWORD, ensure_user

# the launch flags are shared with benchmarks/bench_first_view.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from offline_chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TABLET_LANDSCAPE = {"width": 1024, "height": 768}
TABLET_PORTRAIT = {"width": 768, "height": 1024}
LOOPBACK = {"127.0.0.1", "localhost"}

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "Playwright is not installed (pip install playwright; never 'playwright install')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def chromium():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _prepare(store) -> dict:
    """Users and an in-progress round on 粤桂线 (demonstration markers)."""
    from boundaries import inspections as inspection_service
    from boundaries.lines import list_lines

    for actor in (OFFICER, INSPECTOR_A, INSPECTOR_B):
        ensure_user(store, actor.username, *sorted(actor.roles))
    line = next(row for row in list_lines(store, "provincial") if row["name"] == "粤桂线")
    register_staff(store, line)
    rnd = inspection_service.create_round(store, round_plan(line), OFFICER)
    inspection_service.start_round(store, rnd["id"], OFFICER)
    return {"round": rnd, "line": line}


@pytest.fixture
def live_server(store_templates, boundaries_template, tmp_path):
    """The app served over HTTP on 127.0.0.1 (a werkzeug server thread; Chromium is
    another process, so it is a real client)."""
    from werkzeug.serving import make_server

    from webmap import create_app

    with store_templates.copy(boundaries_template, tmp_path) as store:
        info = _prepare(store)
        app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "browser-test-key"}, store=store)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        info.update(url=f"http://127.0.0.1:{server.server_port}", store=store, app=app)
        try:
            yield info
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


class PageWatch:
    """Console errors, uncaught exceptions and blocked (non-loopback) requests of a context."""

    def __init__(self):
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.in_flight: set = set()
        self.last_activity = time.monotonic()

    def track(self, context) -> None:
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, request) -> None:
        self.in_flight.add(request)
        self.last_activity = time.monotonic()

    def _ended(self, request) -> None:
        self.in_flight.discard(request)
        self.last_activity = time.monotonic()

    def settle(self, page, quiet_s: float = 0.5, timeout_s: float = 60, held=()) -> None:
        """Wait until the context has had no request in flight for ``quiet_s`` seconds: what
        a page asks for by itself after an action (Playwright's "networkidle" is reached
        once, at load, and answers at once after that). ``held``: requests a test holds
        back on purpose, not waited for."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight - set(held) or time.monotonic() - self.last_activity < quiet_s:
            assert time.monotonic() < deadline, f"requests still in flight: {self.in_flight}"
            page.wait_for_timeout(50)  # lets Playwright deliver the request events

    def attach(self, page) -> None:
        page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def route(self, route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")


@pytest.fixture
def open_context(chromium):
    """``open_context(viewport)`` -> (context, watch): a fresh profile (no service worker
    or IndexedDB left from another test), Chinese locale, GPS allowed near 粤桂线."""
    contexts = []

    def _open(viewport=TABLET_LANDSCAPE, geolocation=None):
        watch = PageWatch()
        context = chromium.new_context(
            viewport=viewport,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            has_touch=True,
            permissions=["geolocation"],
            geolocation=geolocation or {"longitude": 109.5, "latitude": 22.5, "accuracy": 8},
        )
        # Waits are for events, never sleeps: a minute leaves room for a loaded CI runner
        # (two stores' suites, a PostGIS server and Chromium sharing two cores).
        context.set_default_timeout(60_000)
        context.route("**/*", watch.route)
        context.on("page", watch.attach)
        watch.track(context)
        contexts.append(context)
        return context, watch

    yield _open
    for context in contexts:
        context.close()


def sign_in(page, base_url: str, username: str, next_path: str = "/") -> None:
    page.goto(f"{base_url}/auth/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("load")


def wait_for_service_worker(page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()  # the first load registers it; from the next load on it controls the page
        page.wait_for_selector("#map[data-ready='1']")
    assert page.evaluate("!!navigator.serviceWorker.controller")


def screenshot(page, name: str) -> None:
    target = os.environ.get("GDGIS_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"))
