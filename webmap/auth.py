"""Who is making the request, and the sign-in pages.

``current_actor()`` answers from, in order: an ``Authorization: Bearer <token>`` header
(scripts; ``gazetteer.core.accounts.resolve_token``), the signed session cookie of a user who
signed in at ``/auth/login``, or ``PUBLIC``. The user is looked up on every request, so a
deactivated account or a changed password ends its sessions at once. Authorisation itself
is in the domain functions (``gazetteer.core.actors.require_role``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf

from gazetteer.core import accounts
from gazetteer.core.actors import PUBLIC, ROLE_NAMES_ZH, Actor
from gazetteer.core.errors import Unauthenticated
from webmap.context import store

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _resolve() -> Actor:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("只支持 Authorization: Bearer <令牌>")
        actor = accounts.resolve_token(store(), token.strip())
        if actor is None:
            raise Unauthenticated("API 令牌无效、已撤销，或其账号已停用")
        g.gdgis_token = token.strip()  # its use is recorded if the request succeeds
        return actor
    username = session.get("username")
    if not username:
        return PUBLIC
    actor = accounts.session_actor(store(), str(username), session.get("fp"))
    if actor is None:
        session.clear()
        return PUBLIC
    return actor


def current_actor() -> Actor:
    """The actor of the current request (``PUBLIC`` when nobody is signed in). Raises
    ``Unauthenticated`` for a bad bearer token."""
    if "gdgis_actor" not in g:
        g.gdgis_actor = _resolve()
    return g.gdgis_actor


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
    next_url = request.values.get("next", "")
    if request.method == "POST":
        try:
            actor, fingerprint = accounts.authenticate(
                store(), request.form.get("username", ""), request.form.get("password", "")
            )
        except Unauthenticated as exc:
            error = exc.message
        else:
            session.clear()  # a fresh session on sign-in: no fixation, new CSRF secret
            session["username"], session["fp"] = actor.username, fingerprint
            g.gdgis_actor = actor
            flash(f"已登录：{actor.username}")
            return redirect(_safe_next(next_url))
    return render_template("auth/login.html", error=error, next_url=next_url), 401 if error else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        session.clear()
        g.gdgis_actor = PUBLIC
        flash("已退出登录")
        return redirect(url_for("public.index"))
    return render_template("auth/logout.html")


@bp.get("/me")
def me():
    """Who the request is made as (for scripts checking their token)."""
    actor = current_actor()
    return jsonify(
        {
            "username": None if actor.is_public else actor.username,
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
    return {"current_actor": _actor_for_templates, "role_names_zh": ROLE_NAMES_ZH}
