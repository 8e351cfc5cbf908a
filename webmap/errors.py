"""One error shape for the whole API, produced here and nowhere else.

API paths (/api/, /ogc/) answer ``{"error": {"code", "message", "details"}}`` with the
status of the typed domain error (``gazetteer.core.errors``) or of the HTTP error; pages get
an HTML error page in Chinese.

Who is refused how (docs/security.md): the domain only knows roles (``require_role`` raises
``Forbidden``); whether the caller has signed in at all is the web layer's to say. So a
refusal of a caller who has not signed in (no session, no token) is a 401 here, carrying
``WWW-Authenticate: Bearer`` (RFC 6750; ``error="invalid_token"`` when a bad token was
sent), and a 403 is only ever a signed-in account without the role. A page asked for by
GET answers the 401 by sending the visitor to the login page and back.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from gazetteer.core.errors import DomainError, Forbidden, Unauthenticated
from gazetteer.core.store import is_store_busy

API_PREFIXES = ("/api/", "/ogc")
# The JSON answers of the sign-in area (the rest of /auth/ is pages).
JSON_PATHS = ("/auth/me", "/auth/csrf-token")

_HTTP_MESSAGES_ZH = {
    400: "请求有误",
    401: "需要登录",
    403: "无权执行此操作",
    404: "未找到",
    405: "不支持此请求方法",
    409: "状态冲突",
    413: "上传内容过大",
    415: "不支持的内容类型",
    422: "无法处理的内容",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误",
}


def page_message(exc: DomainError) -> str:
    """A refusal as a page shows it: a form names its fields by their Chinese labels, so
    the request key that the message gives API clients beside the label (its
    ``details.field``) is left out: 拟用名称过长, not 拟用名称（proposed.name）过长."""
    field = exc.details.get("field")
    return exc.message.replace(f"（{field}）", "") if isinstance(field, str) else exc.message


def wants_json() -> bool:
    """Whether this request's client is a program, not a browser showing pages: an API
    path (/api/, /ogc, ``JSON_PATHS``), any ``Authorization`` header (a token client: curl, a script, QGIS
    — browsers sign in with the session cookie), or an ``Accept`` that prefers JSON to
    HTML. The one rule for every error answer."""
    return (
        request.path.startswith(API_PREFIXES)
        or request.path in JSON_PATHS
        or "Authorization" in request.headers
        or request.accept_mimetypes.best_match(("text/html", "application/json"))
        == "application/json"
    )


def error_response(status: int, code: str, message: str, details: dict | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


STORE_BUSY_ZH = "数据库正忙（其他写入尚未完成），本次操作未保存，请稍后重试"
STORE_BUSY_RETRY_S = 2

SIGN_IN_NEEDED_ZH = "需要登录（/auth/login）或 API 令牌（Authorization: Bearer）"
BEARER_REALM = 'Bearer realm="gdgis"'


def _signed_in() -> bool:
    """Whether the request comes from a signed-in user or a valid token."""
    from webmap.context import current_actor  # context imports the services; errors must not

    try:
        return not current_actor().is_public
    except Unauthenticated:
        return False


def sign_in_and_back():
    """A redirect to the sign-in page that comes back to this page afterwards (its path and
    query; no bare "?" when there is no query, which ``request.full_path`` would add)."""
    query = request.query_string.decode("utf-8", "replace")
    return redirect(url_for("auth.login", next=request.path + (f"?{query}" if query else "")))


def _unauthenticated(exc: DomainError):
    """The 401 of a caller who has not signed in: a page read is sent to sign in and back,
    anything else gets the error with its ``WWW-Authenticate`` challenge."""
    if request.method == "GET" and not wants_json():
        return sign_in_and_back()
    message = (
        exc.message if isinstance(exc, Unauthenticated) else f"{SIGN_IN_NEEDED_ZH}：{exc.message}"
    )
    details = dict(exc.details or {})
    response = make_response(error_response(401, "unauthenticated", message, details))
    invalid = "Authorization" in request.headers
    response.headers["WWW-Authenticate"] = BEARER_REALM + (
        ', error="invalid_token"' if invalid else ""
    )
    return response


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if isinstance(exc, Unauthenticated) or (isinstance(exc, Forbidden) and not _signed_in()):
            return _unauthenticated(exc)
        message = exc.message if wants_json() else page_message(exc)
        return error_response(exc.http_status, exc.code, message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        message = _HTTP_MESSAGES_ZH.get(status, exc.name)
        if status == 404 and request.url_rule is None:
            # No route has this path (a typo, or a word where an id goes: /api/places/abc):
            # say which path, and what an id looks like, rather than a bare 未找到.
            path = request.path if len(request.path) <= 200 else request.path[:200] + "…"
            message = f"{message}：本服务没有地址 {path}（请核对网址；记录编号为数字）"
        response = make_response(
            error_response(
                status,
                f"http_{status}",
                message,
                {"reason": exc.description} if status < 500 else None,
            )
        )
        # Keep the exception's own headers: a 405 must say which methods are allowed (Allow),
        # a 401 how to authenticate.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(sa.exc.DataError)
    def _data_error(exc: sa.exc.DataError):
        # The database refused a value for its type: an id beyond the integer range, text
        # longer than its column (PostgreSQL checks lengths, SQLite does not). Bad input.
        return error_response(400, "invalid_input", "输入的数值或文本超出了允许的范围或长度")

    @app.errorhandler(OverflowError)
    def _overflow(exc: OverflowError):
        # SQLite's driver refuses integers beyond 64 bits before the query runs.
        return error_response(400, "invalid_input", "输入的数值超出了允许的范围")

    @app.errorhandler(sa.exc.OperationalError)
    def _store_error(exc: sa.exc.OperationalError):
        if not is_store_busy(exc):
            return _unexpected(exc)
        # Another write held the store for the whole wait: nothing of this request was
        # written, and trying again shortly is the right thing for the client to do.
        app.logger.warning("store busy: %s %s (%s)", request.method, request.path, exc.orig)
        response = make_response(error_response(503, "store_busy", STORE_BUSY_ZH))
        response.headers["Retry-After"] = str(STORE_BUSY_RETRY_S)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", _HTTP_MESSAGES_ZH[500])
