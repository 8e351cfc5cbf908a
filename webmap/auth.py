"""The sign-in pages, and who the request is made as (``/auth/me``).

Who is making a request is answered by ``webmap.context.current_actor``; authorisation
itself is in the domain functions (``gazetteer.core.actors.require_role``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf

from boundaries import staff
from gazetteer import workflow
from gazetteer.core import accounts
from gazetteer.core.actors import PUBLIC, ROLE_NAMES_ZH, Actor
from gazetteer.core.errors import Unauthenticated
from webmap.context import current_actor, store
from webmap.errors import page_message, wants_json
from webmap.schemas import LoginForm, LogoutForm, query_args, validated_form

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("public.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    query = query_args()
    form = validated_form(LoginForm) if request.method == "POST" else {}
    next_url = form.get("next") or query["next"] or ""
    if request.method == "POST":
        try:
            actor, session_id = accounts.sign_in(store(), form["username"], form["password"])
        except Unauthenticated as exc:
            error = page_message(exc)
        else:
            session.clear()  # a fresh session on sign-in: no fixation, new CSRF secret
            session["username"], session["sid"] = actor.username, session_id
            g.gdgis_actor = actor
            flash(f"已登录：{actor.username}")
            return redirect(_safe_next(next_url))
    # After a refusal the form keeps the username typed (only the password is typed again).
    username = form.get("username", "") if error else ""
    page = render_template("auth/login.html", error=error, next_url=next_url, username=username)
    return page, 401 if error else 200


@bp.errorhandler(CSRFError)
def _form_expired(exc: CSRFError):
    """The sign-in or sign-out form sent without a valid CSRF token (kept open past the
    token's life, opened before the secret key changed, or the session cookie was lost):
    the form again, with a fresh token and the reason in Chinese, so that the second try
    works at once. Other clients get the JSON error."""
    from webmap.security import csrf_refusal

    if request.endpoint not in ("auth.login", "auth.logout") or wants_json():
        return csrf_refusal(exc)
    if request.endpoint == "auth.logout":
        if current_actor().is_public:  # the session had ended already (a new secret key)
            session.clear()
            flash("已退出登录")
            return redirect(url_for("public.index"))
        error = (
            "退出表单已过期或缺少安全令牌（CSRF，字段 csrf_token），尚未退出：请再点一次“确认退出”"
        )
        return render_template("auth/logout.html", error=error), 400
    error = "登录表单已过期或缺少安全令牌（CSRF，字段 csrf_token），未登录：请重新输入用户名和密码"
    next_url = request.form.get("next", "")[:2000]
    username = request.form.get("username", "")[:64]
    return render_template(
        "auth/login.html", error=error, next_url=next_url, username=username
    ), 400


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        validated_form(LogoutForm)
        # Ended on the server too: a copy of the cookie taken before no longer signs in.
        accounts.sign_out(store(), session.get("sid"))
        session.clear()
        g.gdgis_actor = PUBLIC
        flash("已退出登录")
        return redirect(url_for("public.index"))
    return render_template("auth/logout.html")


@bp.get("/me")
def me():
    """Who the request is made as (for scripts checking their token), and how pages name
    them (``label``: 王强（韶关市民政局）, the username without a staff profile)."""
    actor = current_actor()
    label = None if actor.is_public else staff.label_of(store(), actor.username)
    return jsonify(
        {
            "username": None if actor.is_public else actor.username,
            "label": label,
            "roles": sorted(actor.roles),
            "role_names": [ROLE_NAMES_ZH[r] for r in sorted(actor.roles)],
        }
    )


@bp.get("/csrf-token")
def csrf_token():
    """A CSRF token for browser scripts that post JSON with the session cookie
    (pages also carry it in ``<meta name="csrf-token">``)."""
    return jsonify({"csrf_token": generate_csrf()})


def _actor_for_templates() -> Actor:
    # Pages (including error pages) must render even when the bearer token was refused.
    try:
        return current_actor()
    except Unauthenticated:
        return PUBLIC


@bp.after_app_request
def _record_token_use(response):
    # Only a request that succeeded counts as a use: a refused one writes nothing.
    token = g.get("gdgis_token")
    if token and response.status_code < 400:
        accounts.record_token_use(store(), token)
    return response


@bp.app_context_processor
def _user_globals():
    return {
        "current_actor": _actor_for_templates,
        "role_names_zh": ROLE_NAMES_ZH,
        "drafting_roles": workflow.DRAFTING_ROLES,
    }
