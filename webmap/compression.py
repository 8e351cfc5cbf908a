"""Gzip for text responses, app-wide, so that the first map view stays small on a weak
signal. Registered by ``create_app``; static files are compressed once per ETag and kept."""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from flask import Flask, request

COMPRESSIBLE = (
    "application/json",
    "application/geo+json",
    "text/javascript",
    "application/javascript",
    "text/css",
    "text/html",
    "image/svg+xml",
    "application/vnd.mapbox-vector-tile",  # protobuf with repeated keys: shrinks by half
)
MIN_GZIP_BYTES = 1024
GZIP_ETAG_SUFFIX = "-gz"  # appended inside the quotes: "<hash>" becomes "<hash>-gz"
STATIC_CACHE_ENTRIES = 64


class GzipResponses:
    """An ``after_request`` hook that gzips responses the client accepts compressed.
    Skips small, partial, already encoded and streamed responses."""

    def __init__(self):
        self._cache: OrderedDict = OrderedDict()  # (path, etag) -> gzipped static file
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        app.before_request(accept_gzip_validators)
        app.after_request(self.compress)

    def compress(self, response):
        if (
            response.status_code != 200
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding")
            or response.mimetype not in COMPRESSIBLE
            or response.is_streamed
            and not response.direct_passthrough
        ):
            return response
        etag = response.headers.get("ETag")
        key = (request.path, etag) if etag and response.direct_passthrough else None
        response.direct_passthrough = False
        original = response.response
        data = response.get_data()
        if hasattr(original, "close"):  # a static file: read whole, so let its handle go now
            original.close()
        if len(data) < MIN_GZIP_BYTES:
            return response
        with self._lock:
            body = self._cache.get(key) if key else None
        if body is None:
            body = gzip.compress(data, compresslevel=6)
            if key:
                with self._lock:
                    self._cache[key] = body
                    while len(self._cache) > STATIC_CACHE_ENTRIES:
                        self._cache.popitem(last=False)
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(body))
        response.vary.add("Accept-Encoding")
        if etag:  # a different body needs a different validator
            response.headers["ETag"] = gzip_etag(etag)
        return response


def gzip_etag(etag: str) -> str:
    """The validator of the gzipped body of a response whose identity validator is ``etag``."""
    if etag.endswith('"'):
        return etag[:-1] + GZIP_ETAG_SUFFIX + '"'
    return etag + GZIP_ETAG_SUFFIX


def accept_gzip_validators() -> None:
    """A ``before_request`` hook: a client that got ``"<hash>-gz"`` with a gzipped answer sends
    it back in ``If-None-Match``; the gzipped and identity bodies are the same representation
    (RFC 9110 weak equivalence), so read it as ``"<hash>"`` before any handler (the OGC API's
    validators, static files) compares it, which then gives the 304 it should."""
    header = request.environ.get("HTTP_IF_NONE_MATCH")
    if header and GZIP_ETAG_SUFFIX + '"' in header:
        request.environ["HTTP_IF_NONE_MATCH"] = header.replace(GZIP_ETAG_SUFFIX + '"', '"')
