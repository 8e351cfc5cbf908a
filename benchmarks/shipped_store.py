"""What several benchmarks share: a fresh SQLite store holding the shipped data, and a
cold-cache page whose transferred bytes are counted. Imported by the bench_*.py scripts
(run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path``)."""

from __future__ import annotations

from pathlib import Path


def build_shipped_store(directory: Path) -> str:
    """Migrate a new ``bench.sqlite`` in ``directory`` and import the shipped data (places,
    divisions); returns its SQLAlchemy URL."""
    from boundaries.schema import SCHEMA
    from gazetteer import importer
    from gazetteer.core import migrate
    from gazetteer.core.store import Store

    url = f"sqlite:///{directory / 'bench.sqlite'}"
    store = Store(url)
    migrate.upgrade(store, SCHEMA)
    importer.import_shipped_data(store)
    store.dispose()
    return url


def counted_page(context):
    """(page, sizes): a new page of a Playwright Chromium ``context`` with the HTTP cache off;
    ``sizes`` fills with {request id: encoded bytes received} as responses finish."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    return page, sizes
