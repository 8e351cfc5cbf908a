"""Request-level protection: CSRF, rate limits, body checks and security headers.

- Anonymous writes: any POST/PUT/PATCH/DELETE without a signed-in user or token is
  refused with 401 before it reaches a view (sign-in itself excepted).
- CSRF (Flask-WTF): every POST/PUT/PATCH/DELETE that relies on the session cookie must
  carry the token (form field ``csrf_token`` or header ``X-CSRFToken``). Requests that
  authenticate with ``Authorization: Bearer`` are exempt: no cookie is involved, so a
  forged cross-site request cannot carry the credential.
- Rate limit: a token bucket per client address on public (anonymous) GET requests and
  read-only POST queries (``READ_ONLY_POST_ENDPOINTS``), with follow-on pages of OGC API
  items drawing on a separate, larger paging budget (``PAGING_RATE_LIMIT_PER_MINUTE``) so a
  GIS client can page through a layer; one per account on every request
  made with an API token (an invalid token counts as anonymous), and a
  stricter one on sign-in attempts; 429 with ``Retry-After``. The workers share what each
  client spent through the store (``gazetteer.core.ratelimit``), so the limit holds for
  the whole server, not per worker; nginx's ``limit_req`` can still sit in front.
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
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, current_app, g, make_response, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from gazetteer.core.errors import InvalidInput, NotFound, Unauthenticated
from gazetteer.core.ratelimit import SharedTokenBucket
from gazetteer.core.text import (
    RECORD_ID_MAX,
    canonical_number,
    check_document_text,
    check_parameter_text,
    json_leaves,
)
from webmap.context import current_actor
from webmap.errors import SIGN_IN_NEEDED_ZH, error_response
from webmap.field_titles import FIELD_TITLES_ZH

csrf = CSRFProtect()

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_ATTEMPTS_PER_MINUTE = 10
# The only writes an anonymous visitor may send (still CSRF-checked: no login CSRF).
# Public opinions on a notice (公示) are open to anyone: CSRF-protected, limited per
# address and guarded by a honeypot in gazetteer.notices.
ANONYMOUS_WRITE_ENDPOINTS = frozenset(
    {"auth.login", "auth.logout", "notices.add_opinion", "notices.add_opinion_json"}
)
# Queries that take a POST body only because it is large; they change nothing, are open to
# the public and rate-limited like GET requests.
READ_ONLY_POST_ENDPOINTS = frozenset({"lookup.reverse_batch"})
# Uploads allowed beyond MAX_UPLOAD_MB, up to IMPORT_MAX_UPLOAD_MB (an office's whole
# database); raised before the CSRF check parses the multipart body.
LARGE_UPLOAD_ENDPOINTS = frozenset({"imports.upload"})
_TEXT_BODY_TYPES = (
    "application/json",
    "application/geo+json",
    "application/x-www-form-urlencoded",
    "text/",
)


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
    # The WSGI environ's header, not ``request.headers`` (a mapping made and searched on
    # every call): this runs twice on every request.
    return request.environ.get("HTTP_AUTHORIZATION", "").lower().startswith("bearer ")


INT64_MAX = 2**63 - 1
_INTEGER_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")


def _out_of_range(number: int) -> bool:
    return not -INT64_MAX - 1 <= number <= INT64_MAX


def _text_out_of_range(text: str) -> bool:
    """Whether the integer written as ``text`` (``_INTEGER_TEXT``) is outside 64 bits,
    decided on its digits first: ``int()`` of more than 4,300 digits raises (Python's guard
    against slow conversions), which was a 500 on every route."""
    text = text.strip()
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > len(str(INT64_MAX)):
        return True
    return _out_of_range(int(digits or "0") * (-1 if text.startswith("-") else 1))


def _check_percent_encoded_utf8(raw: bytes, where: str, outcome: str) -> None:
    """Refuse a query string or form body (``a=b&c=d``, percent-encoded, ``+`` for
    space) whose decoded bytes are not UTF-8: werkzeug would decode them with
    replacement characters (or keep them as text) and store what nobody typed. ``%ED%A0%80``
    (an encoded lone surrogate) and ``%FF`` are both refused."""
    if b"%" not in raw:
        return  # the raw bytes were checked (or are ASCII); nothing is decoded further
    for part in raw.replace(b"+", b" ").split(b"&"):
        try:
            unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{where}含有无效的 UTF-8 编码（百分号编码的字节不是合法文字），{outcome}",
                details={
                    "field": unquote_to_bytes(part.split(b"=", 1)[0]).decode("utf-8", "replace")
                },
            ) from None


def _check_query() -> None:
    req = request._get_current_object()  # one proxy lookup: this runs on every request
    try:
        req.query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("请求参数不是 UTF-8 编码") from None
    # A query is read, not stored: say that it could not be read.
    _check_percent_encoded_utf8(req.query_string, "请求参数", "无法读取查询内容")
    # NUL is never part of a name or a parameter, and PostgreSQL text cannot hold it.
    params = list(req.args.items(multi=True))
    for name, value in params:
        if "\x00" in name or "\x00" in value:
            field = name.replace("\x00", "")
            raise InvalidInput("请求参数含有空字符（NUL）", details={"field": field})
    if "\x00" in req.path:
        raise InvalidInput("请求参数含有空字符（NUL）", details={"field": "path"})
    # No identifier or count in this API exceeds 64 bits; a longer integer would only reach
    # the database driver and fail there (OverflowError) instead of answering 400.
    for name, value in params:
        if len(value) > 18 and _INTEGER_TEXT.match(value) and _text_out_of_range(value):
            raise InvalidInput(f"参数 {name} 超出整数范围", details={"field": name})
    # Text in the URL obeys the rule for stored text, checked here naming the parameter
    # (``key``, ``source``, ``sha256``): left to the store's last check, it was refused
    # under a generic label, and as "not saved" on a read.
    path_text = [(k, v) for k, v in (req.view_args or {}).items() if isinstance(v, str)]
    writes = req.method in UNSAFE_METHODS
    for name, value in [*path_text, *params]:
        check_parameter_text(name, value, writes=writes, label=FIELD_TITLES_ZH.get(name))


def _check_json_numbers(document) -> None:
    """Refuse, naming its path, a number no field of this API can hold: an integer beyond
    64 bits, or NaN/Infinity (Python's parser accepts them; no JSON client can read them
    back)."""
    for path, item in json_leaves(document):
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and _out_of_range(item):
            raise InvalidInput(f"{path} 的整数超出范围（64 位）", details={"field": path})
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(
                f"{path} 应为有限的数字（不接受 NaN 或无穷大）", details={"field": path}
            )


def _body_bytes() -> bytes:
    """The request body, read once (cached). A body sent without Content-Length (chunked)
    is cut at ``max_content_length`` by werkzeug without an error: reaching the limit is
    a 413, as it is when Content-Length says so up front."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _check_multipart_fields() -> None:
    """Refuse a multipart form whose text fields are not UTF-8: werkzeug decodes them with
    ``errors="replace"``, which would store U+FFFD (���) in place of the sender's text.
    Uploaded files are not text fields and are not looked at."""
    for name, value in request.form.items(multi=True):
        if "\ufffd" in value or "\x00" in value:
            raise InvalidInput(
                "表单内容含有无效的 UTF-8 编码或空字符，未保存任何内容",
                details={"field": name},
            )


def _check_body() -> None:
    """Refuse bodies that are not UTF-8, contain NUL characters or are not well-formed
    JSON before any view sees them."""
    if request.method in UNSAFE_METHODS and request.mimetype == "multipart/form-data":
        _check_multipart_fields()
        return
    if request.method not in UNSAFE_METHODS:
        return
    data = _body_bytes()  # any body (a GeoPackage too): too large is a 413, never cut short
    if not request.mimetype.startswith(_TEXT_BODY_TYPES):
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("请求内容不是 UTF-8 编码") from None
    form = request.mimetype == "application/x-www-form-urlencoded"
    if form:
        _check_percent_encoded_utf8(data, "表单内容", "未保存任何内容")
    if b"\x00" in data or (form and b"%00" in data):
        raise InvalidInput("请求内容含有空字符（NUL）")
    if request.is_json and data:  # a NUL escaped as \u0000: refused naming its field below
        try:
            document = request.get_json(cache=True)
        except RecursionError:
            raise InvalidInput("JSON 嵌套过深") from None
        except InvalidInput:
            raise  # a repeated key (webmap.output.GazetteerJSONProvider), already named
        except Exception:  # werkzeug raises BadRequest for malformed JSON
            raise InvalidInput("请求体不是合法的 JSON") from None
        _check_json_numbers(document)
        check_document_text(document, labels=FIELD_TITLES_ZH)


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
    """``<int:...>`` within what the store can hold (PostgreSQL integer ids): werkzeug's own
    accepts any number of digits (and leading zeros: 007 named record 7), and a 30-digit
    id would fail in the database driver instead of answering 404. A larger number (or
    one with leading zeros) still matches the route (as -1, which no record has), so every
    method's route sees it: refusing the match instead would make werkzeug answer 405
    when another route of the path has another method."""

    # Any digits with an optional sign match, so that ``/disputes/-1``, ``/proposals/+1``
    # or ``/proposals/١`` (Arabic-Indic, full-width ２: Python's \d takes them) is
    # answered like any id no record has (404 naming the parameter), not by routing's bare
    # "no such URL"; ``to_python`` reads only ASCII digits, so none of them names record 1.
    regex = r"[-+]?\d+"
    STORE_MAX = RECORD_ID_MAX
    OUT_OF_RANGE = -1  # answered 404 before any view runs (_refuse_ids_beyond_the_store)

    def to_python(self, value: str) -> int:
        # 00001 is not another address of record 1: one record, one URL.
        number = canonical_number(value)
        return self.OUT_OF_RANGE if number is None or number > self.STORE_MAX else number


def _refuse_ids_beyond_the_store() -> None:
    """An ``<int:>`` path part that is negative or beyond the ids (``BoundedIntConverter``
    made it -1) names no record: 404 naming the part, without echoing -1 (nor the 30 digits)."""
    for name, value in (request.view_args or {}).items():
        if value == BoundedIntConverter.OUT_OF_RANGE and type(value) is int:
            raise NotFound(
                f"没有这条记录：编号（{name}）应为 1 到 {BoundedIntConverter.STORE_MAX} 的整数"
                "（不带前导零）",
                details={"field": name, "reason": "id_out_of_range"},
            )


CSRF_REFUSED_ZH = "表单已过期或缺少安全令牌（CSRF），请刷新页面后重试"


def csrf_refusal(exc: CSRFError):
    """A request refused for its CSRF token: 400 naming the form field ``csrf_token``
    (the header ``X-CSRFToken`` carries the same token)."""
    return error_response(
        400, "csrf_failed", CSRF_REFUSED_ZH, {"field": "csrf_token", "reason": exc.description}
    )


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


def _is_follow_on_page() -> bool:
    """A later page of an OGC items listing (offset > 0): what a client paging through a
    layer sends, counted against the paging budget."""
    if request.endpoint != "ogc.items":
        return False
    offset = request.args.get("offset", "")
    return offset.isdigit() and int(offset) > 0


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer made once per set of keys. Flask
    makes a new one on every request, cookie or not, and making it serialises a test value
    (itsdangerous checks whether the serializer writes text): a tenth of an anonymous
    search's time in Flask. The keys are read on every request, so a changed
    ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` takes effect as before."""

    def __init__(self):
        self._signers: dict = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        return self._serializer((*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key))

    def open_session(self, app: Flask, request):
        """The session, marked changed when its cookie verified with one of the fallback
        keys only: the answer then carries it signed with the current key, so that a user
        who keeps working is still signed in once the old key is removed. A request with
        no cookie at all (the public's, scripts') gets an empty session at once."""
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()
        session = super().open_session(app, request)
        if session and app.config["SECRET_KEY_FALLBACKS"]:
            cookie = request.cookies.get(self.get_cookie_name(app), "")
            try:
                self._serializer((app.secret_key,)).loads(cookie)
            except BadSignature:
                session.modified = True
        return session

    def save_session(self, app: Flask, session, response) -> None:
        """As Flask does; an empty session left unchanged (every anonymous request) only
        adds ``Vary: Cookie`` if it was read, without Flask's seven settings looked up for
        the cookie it will not set."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def _serializer(self, keys: tuple) -> URLSafeTimedSerializer:
        """Flask's serializer over ``keys`` (oldest first; the last one signs), made once.
        Only the serializers of the current key are kept: an old key is let go."""
        signer = self._signers.get(keys)
        if signer is None:
            signer = URLSafeTimedSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            current = keys[-1]
            self._signers = {k: v for k, v in self._signers.items() if k[-1] == current}
            self._signers[keys] = signer
        return signer


def init_app(app: Flask) -> None:
    """Install CSRF protection, rate limits, body checks, bounded path integers and
    headers on ``app``. Call before registering blueprints (the converter applies to
    routes added afterwards)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.session_interface = SessionCookies()
    app.config.setdefault(
        "WTF_CSRF_CHECK_DEFAULT", False
    )  # checked below, except for bearer tokens
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)  # a working day of open forms
    csrf.init_app(app)
    store = app.extensions["gdgis.store"]
    public_bucket = SharedTokenBucket(store, "public", app.config["RATE_LIMIT_PER_MINUTE"])
    paging_bucket = SharedTokenBucket(store, "paging", app.config["PAGING_RATE_LIMIT_PER_MINUTE"])
    login_bucket = SharedTokenBucket(store, "login", LOGIN_ATTEMPTS_PER_MINUTE)
    token_bucket = SharedTokenBucket(store, "token", app.config["TOKEN_RATE_LIMIT_PER_MINUTE"])
    app.extensions["gdgis.rate_limits"] = {
        "public": public_bucket,
        "login": login_bucket,
        "token": token_bucket,
        "paging": paging_bucket,
    }
    from webmap.tile_sources import external_tile_url

    tile_url = external_tile_url(app.config)
    csp = content_security_policy(tile_url)

    @app.before_request
    def _protect():
        req = request._get_current_object()  # one proxy lookup: this runs on every request
        if req.endpoint == "static" or req.routing_exception is not None:
            return None  # static files, and 404/405 answered by routing
        _check_query()
        if req.endpoint in LARGE_UPLOAD_ENDPOINTS:
            req.max_content_length = app.config["IMPORT_MAX_UPLOAD_MB"] * 1024 * 1024
        public_read = req.method in ("GET", "HEAD") or req.endpoint in READ_ONLY_POST_ENDPOINTS
        # Token requests count per account, however many tokens or addresses it uses. An
        # invalid token is anonymous here (and a 401 wherever a view asks who it is): a
        # bearer header is never a way around the public limit.
        try:
            actor = current_actor()
        except Unauthenticated:
            actor = None
        if actor is not None and has_bearer_token():
            wait_s = token_bucket.take(f"account:{actor.username}")
        elif public_read and (actor is None or actor.is_public):
            bucket = paging_bucket if _is_follow_on_page() else public_bucket
            wait_s = bucket.take(req.remote_addr or "-")
        else:
            wait_s = 0.0
        if wait_s:
            return _too_many(wait_s)
        if req.method == "POST" and req.endpoint == "auth.login":
            wait_s = login_bucket.take(req.remote_addr or "-")
            if wait_s:
                return _too_many(wait_s)
        _refuse_ids_beyond_the_store()
        if req.method in UNSAFE_METHODS and req.endpoint in READ_ONLY_POST_ENDPOINTS:
            _check_body()  # a query sent as POST: nothing to forge, so no CSRF token needed
        elif req.method in UNSAFE_METHODS:
            if req.endpoint not in ANONYMOUS_WRITE_ENDPOINTS and current_actor().is_public:
                # Every state change needs a signed-in user or a token; say so before anything else.
                raise Unauthenticated(SIGN_IN_NEEDED_ZH)
            _check_body()
            if not has_bearer_token():
                csrf.protect()
        return None

    app.register_error_handler(CSRFError, csrf_refusal)

    @app.after_request
    def _headers(response):
        headers = response.headers
        # Each header unless the view set its own. (``Headers.setdefault`` raises and
        # catches a KeyError for every header it adds: a tenth of a search's time in Flask.)
        present = {name.lower() for name in headers.keys()}
        nonce = g.get("csp_nonce")
        wanted = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
            ("Content-Security-Policy", content_security_policy(tile_url, nonce) if nonce else csp),
        ]
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            wanted.append(("Strict-Transport-Security", "max-age=31536000"))
        # A file is the same for everyone; not so the error page of one that is missing,
        # which shows who is signed in.
        if request.endpoint != "static" or response.status_code >= 400:
            wanted += _cache_control(response)
            # Every other answer varies on the cookie (read above, so Flask says so) and on
            # a token: ``/api/places/<id>`` tells a token's holder who registered the
            # place, which the public answer leaves out.
            response.vary.add("Authorization")
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response

    def _cache_control(response) -> list[tuple[str, str]]:
        """What a cache may keep of an answer that is not a static file. A signed-in page or
        a token's answer (staff data): nothing. An answer that sets the visitor's cookie (a
        first page: a shared cache would hand that cookie and the page's CSRF token to
        every visitor after) or a page holding their token: the browser only, asking again
        each time. Anything else (the public's JSON, the same for every visitor; the
        cookie, if any, is in ``Vary``): what the view said, or HTTP's defaults."""
        if session.get("username") or has_bearer_token():
            return [("Cache-Control", "no-store")]
        if session.modified or (session and response.mimetype == "text/html"):
            return [("Cache-Control", "private, no-cache")]
        return []
