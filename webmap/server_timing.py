"""The ``Server-Timing`` response header (W3C Server Timing): how long the lookup itself
took in the worker that answered, apart from HTTP, Flask and the network.

A browser's developer tools show it beside the request; an operator reads it with
``curl -sI``; ``benchmarks/bench_workers.py`` reads it to time the search inside the
serving workers. Only the public lookups (search, suggestions, reverse lookup) are timed:
public answers, so the time says nothing a caller may not know.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, g


@contextmanager
def timed(metric: str) -> Iterator[None]:
    """Time the block and send it as ``<metric>;dur=<milliseconds>`` (three decimals) with
    this request's answer, unless the block raised: a refusal (a query of punctuation
    alone, a point off the globe) is not a lookup. ``metric`` is an ASCII token (the header
    is Latin-1)."""
    started = time.perf_counter()
    yield
    g.setdefault("server_timing", []).append((metric, time.perf_counter() - started))


def init_app(app: Flask) -> None:
    @app.after_request
    def _server_timing(response):
        metrics = g.pop("server_timing", None)
        if metrics:
            response.headers["Server-Timing"] = ", ".join(
                f"{metric};dur={seconds * 1000:.3f}" for metric, seconds in metrics
            )
        return response
