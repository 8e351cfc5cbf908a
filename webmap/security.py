"""Request-level protection: CSRF, rate limits, body checks and security headers.

- Anonymous writes: any POST/PUT/PATCH/DELETE without a signed-in user or token is
  refused with 401 before it reaches a view (sign-in itself excepted).
- CSRF (Flask-WTF): every POST/PUT/PATCH/DELETE that relies on the session cookie must
  carry the token (form field ``csrf_token`` or header ``X-CSRFToken``). Requests that
  authenticate with ``Authorization: Bearer`` are exempt: no cookie is involved, so a
  forged cross-site request cannot carry the credential.
- Rate limit: a token bucket per client address on public (anonymous) GET requests and
  read-only POST queries (``READ_ONLY_POST_ENDPOINTS``), and a
  stricter one on sign-in attempts; 429 with ``Retry-After``. The buckets live in this
  process: behind several gunicorn workers or nginx, put the limit in nginx (``limit_req``)
  — see docs/security.md.
- Input bounds: JSON and form bodies must be UTF-8 and well-formed, without NUL
  characters or lone surrogates (``"\\ud800"``: ``gazetteer.core.text``), integers within
  64 bits (400); query strings likewise; sizes are capped by
  ``MAX_CONTENT_LENGTH`` (413); ``<int:>`` path parts are limited to 64 bits.
- Headers: a Content-Security-Policy that allows only this origin (plus the base-map tile
  host when one is configured), nosniff, no framing, same-origin referrers, HSTS behind TLS.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, make_response, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from gazetteer.core.errors import InvalidInput, Unauthenticated
from gazetteer.core.text import check_document_text
from webmap.auth import current_actor
from webmap.errors import error_response

csrf = CSRFProtect()

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_ATTEMPTS_PER_MINUTE = 10
# The only writes an anonymous visitor may send (still CSRF-checked: no login CSRF).
ANONYMOUS_WRITE_ENDPOINTS = frozenset({"auth.login", "auth.logout"})
# Queries that take a POST body only because it is large; they change nothing, are open to
# the public and rate-limited like GET requests.
READ_ONLY_POST_ENDPOINTS = frozenset({"lookup.reverse_batch"})
_TEXT_BODY_TYPES = (
    "application/json",
    "application/geo+json",
    "application/x-www-form-urlencoded",
    "text/",
)


class TokenBucket:
    """Per-key token buckets: ``rate_per_minute`` tokens refill evenly, at most that many
    saved up. Thread-safe; idle keys are forgotten so memory stays bounded."""

    def __init__(self, rate_per_minute: int, *, clock=time.monotonic, max_keys: int = 100_000):
        self.capacity = float(rate_per_minute)
        self.rate_per_s = rate_per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely is the same as no bucket.
        full_after_s = self.capacity / self.rate_per_s
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after_s}


def _too_many(wait_s: float):
    retry_after = max(1, math.ceil(wait_s))
    response = make_response(
        *error_response(
            429, "rate_limited", "请求过于频繁，请稍后再试", {"retry_after_s": retry_after}
        )
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def has_bearer_token() -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


INT64_MAX = 2**63 - 1
_INTEGER_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")


def _out_of_range(number: int) -> bool:
    return not -INT64_MAX - 1 <= number <= INT64_MAX


def _check_query() -> None:
    # NUL is never part of a name or a parameter, and PostgreSQL text cannot hold it.
    if "\x00" in request.path or any(
        "\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)
    ):
        raise InvalidInput("请求参数含有空字符（NUL）")
    # No identifier or count in this API exceeds 64 bits; a longer integer would only reach
    # the database driver and fail there (OverflowError) instead of answering 400.
    for name, value in request.args.items(multi=True):
        if len(value) > 18 and _INTEGER_TEXT.match(value) and _out_of_range(int(value)):
            raise InvalidInput(f"参数 {name} 超出整数范围")


def _check_json_numbers(document) -> None:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and _out_of_range(item):
            raise InvalidInput("请求体中的整数超出范围（64 位）")


def _check_body() -> None:
    """Refuse bodies that are not UTF-8, contain NUL characters or are not well-formed
    JSON before any view sees them."""
    if request.method not in UNSAFE_METHODS or not request.mimetype.startswith(_TEXT_BODY_TYPES):
        return
    data = request.get_data(cache=True)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("请求内容不是 UTF-8 编码") from None
    form = request.mimetype == "application/x-www-form-urlencoded"
    if b"\x00" in data or (request.is_json and b"\\u0000" in data) or (form and b"%00" in data):
        raise InvalidInput("请求内容含有空字符（NUL）")
    if request.is_json and data:
        try:
            document = request.get_json(cache=True)
        except RecursionError:
            raise InvalidInput("JSON 嵌套过深") from None
        except Exception:  # werkzeug raises BadRequest for malformed JSON
            raise InvalidInput("请求体不是合法的 JSON") from None
        _check_json_numbers(document)
        check_document_text(document)


def content_security_policy(tile_url: str | None, nonce: str | None = None) -> str:
    """The policy: this origin only, plus the base map's tile host for images; ``nonce``
    (per response) admits the inline script and style of one page that needs them (the
    round report's folium map) without 'unsafe-inline'."""
    img = ["'self'", "data:"]
    if tile_url:
        parts = urlsplit(tile_url)
        host = parts.hostname or ""
        if "{" in parts.netloc:  # a {s} subdomain template: allow the parent domain's subdomains
            host = "*." + parts.netloc.split(".", 1)[1].split("/")[0]
        if parts.scheme in ("http", "https") and host:
            img.append(f"{parts.scheme}://{host}")
    extra = f" 'nonce-{nonce}'" if nonce else ""
    return (
        f"default-src 'self'; script-src 'self'{extra}; style-src 'self'{extra}; img-src "
        + " ".join(img)
        + "; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to what the store can hold (signed 64-bit): werkzeug's own
    accepts any number of digits, and a 30-digit id would fail in the database driver
    instead of answering 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def csp_nonce() -> str:
    """A nonce for this response's Content-Security-Policy (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


_INLINE_TAG = re.compile(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", re.I)


def with_nonce(html: str) -> str:
    """``html`` with this response's nonce on every inline <script> and <style>."""
    nonce = csp_nonce()
    return _INLINE_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"{m.group(2)}>', html)


def init_app(app: Flask) -> None:
    """Install CSRF protection, rate limits, body checks, bounded path integers and
    headers on ``app``. Call before registering blueprints (the converter applies to
    routes added afterwards)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.setdefault(
        "WTF_CSRF_CHECK_DEFAULT", False
    )  # checked below, except for bearer tokens
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)  # a working day of open forms
    csrf.init_app(app)
    public_bucket = TokenBucket(app.config["RATE_LIMIT_PER_MINUTE"])
    login_bucket = TokenBucket(LOGIN_ATTEMPTS_PER_MINUTE)
    app.extensions["gdgis.rate_limits"] = {"public": public_bucket, "login": login_bucket}
    from webmap.tile_sources import external_tile_url

    tile_url = external_tile_url(app.config)
    csp = content_security_policy(tile_url)

    @app.before_request
    def _protect():
        if request.endpoint == "static" or request.routing_exception is not None:
            return None  # static files, and 404/405 answered by routing
        _check_query()
        public_read = (
            request.method in ("GET", "HEAD") or request.endpoint in READ_ONLY_POST_ENDPOINTS
        )
        if public_read and not has_bearer_token() and current_actor().is_public:
            wait_s = public_bucket.take(request.remote_addr or "-")
            if wait_s:
                return _too_many(wait_s)
        if request.method == "POST" and request.endpoint == "auth.login":
            wait_s = login_bucket.take(request.remote_addr or "-")
            if wait_s:
                return _too_many(wait_s)
        if request.method in UNSAFE_METHODS and request.endpoint in READ_ONLY_POST_ENDPOINTS:
            _check_body()  # a query sent as POST: nothing to forge, so no CSRF token needed
        elif request.method in UNSAFE_METHODS:
            if request.endpoint not in ANONYMOUS_WRITE_ENDPOINTS and current_actor().is_public:
                # Every state change needs a signed-in user or a token; say so before anything else.
                raise Unauthenticated("需要登录（/auth/login）或 API 令牌（Authorization: Bearer）")
            _check_body()
            if not has_bearer_token():
                csrf.protect()
        return None

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return error_response(
            400,
            "csrf_failed",
            "表单已过期或缺少安全令牌（CSRF），请刷新页面后重试",
            {"reason": exc.description},
        )

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        nonce = g.get("csp_nonce")
        headers.setdefault(
            "Content-Security-Policy", content_security_policy(tile_url, nonce) if nonce else csp
        )
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if session.get("username") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"  # a signed-in page must not sit in shared caches
        return response
