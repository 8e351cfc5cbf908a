"""One error shape for the whole API, produced here and nowhere else.

API paths (/api/, /ogc/) answer ``{"error": {"code", "message", "details"}}`` with the
status of the typed domain error (``gazetteer.core.errors``) or of the HTTP error; pages get
an HTML error page in Chinese.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from gazetteer.core.errors import DomainError

API_PREFIXES = ("/api/", "/ogc")

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


def wants_json() -> bool:
    """Whether this request's client is a program, not a browser showing pages: an API
    path (/api/, /ogc), any ``Authorization`` header (a token client: curl, a script, QGIS
    — browsers sign in with the session cookie), or an ``Accept`` that prefers JSON to
    HTML. The one rule for every error answer."""
    return (
        request.path.startswith(API_PREFIXES)
        or "Authorization" in request.headers
        or request.accept_mimetypes.best_match(("text/html", "application/json"))
        == "application/json"
    )


def error_response(status: int, code: str, message: str, details: dict | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        response = make_response(
            error_response(
                status,
                f"http_{status}",
                _HTTP_MESSAGES_ZH.get(status, exc.name),
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

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", _HTTP_MESSAGES_ZH[500])
