"""Accounts, sign-in, sessions, CSRF and API tokens through the real app."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from helpers import TEST_PASSWORD, csrf_headers, login, token_headers

from gazetteer.core import accounts
from gazetteer.core.account_tables import api_tokens, audit_log, user_sessions, users
from gazetteer.core.errors import Conflict, InvalidInput, Unauthenticated
from gazetteer.registry_tables import proposals

TIANHE = "440106"
PROPOSAL = {
    "kind": "naming",
    "applicant": "天河区住房和城乡建设局",
    "reasons": "新建道路",
    "proposed": {"name": "长乐路", "feature_class": "交通运输设施", "division_code": TIANHE},
}


def proposal_count(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar()


def form_token(client, path="/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in_by_form(client, password=TEST_PASSWORD, username="wang", **fields):
    """Post the sign-in form as the page does (with its CSRF token); ``fields``: next ..."""
    form = {"username": username, "password": password, "csrf_token": form_token(client)}
    return client.post("/auth/login", data={**form, **fields})


def test_passwords_are_hashed_with_scrypt_and_checked(store):
    accounts.create_user(store, "zhang", "a long enough secret", ["officer", "clerk"])
    with store.read() as conn:
        stored = conn.execute(sa.select(users.c.password_hash, users.c.roles)).one()
    assert (
        stored.password_hash.startswith("scrypt:")
        and "a long enough secret" not in stored.password_hash
    )
    assert stored.roles == "clerk,officer"
    actor = accounts.authenticate(store, "zhang", "a long enough secret")
    assert actor.username == "zhang" and actor.roles == {"clerk", "officer"}
    for name, password in (
        ("zhang", "wrong password!"),
        ("nobody", "a long enough secret"),
        ("zhang", None),
    ):
        with pytest.raises(Unauthenticated):
            accounts.authenticate(store, name, password)
    with pytest.raises(Conflict):
        accounts.create_user(store, "zhang", "another long secret", ["clerk"])
    for bad in (
        ("x", "a long enough secret", ["clerk"]),
        ("li4", "short", ["clerk"]),
        ("li6", " " * 12, ["clerk"]),  # only spaces
        ("li7", "with a \x01 control", ["clerk"]),  # cannot be typed into the form
        ("li8", "with a line\nbreak in it", ["clerk"]),
        ("li5", "a long enough secret", ["superuser"]),
        ("../li", "a long enough secret", ["clerk"]),
    ):
        with pytest.raises(InvalidInput):
            accounts.create_user(store, *bad)
    accounts.set_active(store, "zhang", False)
    with pytest.raises(Unauthenticated):
        accounts.authenticate(store, "zhang", "a long enough secret")


def test_login_form_sets_a_safe_session_cookie_and_logout_ends_it(client, store):
    accounts.create_user(store, "wang", TEST_PASSWORD, ["officer"])
    page = client.get("/auth/login")
    assert page.status_code == 200 and "工作人员登录" in page.get_data(as_text=True)
    no_token = client.post("/auth/login", data={"username": "wang", "password": TEST_PASSWORD})
    assert no_token.status_code == 400 and "CSRF" in no_token.get_data(as_text=True)
    wrong = sign_in_by_form(client, "guess guess guess")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    ok = sign_in_by_form(client, next="/officer/")
    assert ok.status_code == 302 and ok.headers["Location"] == "/officer/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/auth/me").get_json() == {
        "username": "wang",
        "label": "wang",  # no staff profile: named by the account
        "roles": ["officer"],
        "role_names": ["审核人员"],
    }
    assert "wang" in client.get("/officer/").get_data(as_text=True)
    headers = csrf_headers(client)
    assert client.get("/auth/logout").status_code == 200  # GET only asks for confirmation
    assert client.get("/auth/me").get_json()["username"] == "wang"
    out = client.post("/auth/logout", headers=headers)
    assert out.status_code == 302 and out.headers["Location"] == "/"
    # The map page it lands on says so (it used to wait for the next page with messages),
    # once: the page after it does not repeat it.
    assert "已退出登录" in client.get("/").get_data(as_text=True)
    assert "已退出登录" not in client.get("/").get_data(as_text=True)
    assert client.get("/auth/me").get_json()["username"] is None
    assert "/auth/login" in client.get("/officer/").headers["Location"]  # signed out
    assert "已退出登录" not in client.get("/auth/login").get_data(as_text=True)


def test_signing_out_ends_every_copy_of_the_cookie_and_keeps_the_row(client, app, store):
    """A cookie copied before sign-out (another tab's export, a stolen cookie) is refused
    afterwards; the sign-in and the sign-out stay on record (row and audit log)."""
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    assert sign_in_by_form(client).status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/auth/me").get_json()["username"] == "wang"
    assert client.post("/auth/logout", headers=csrf_headers(client)).status_code == 302
    assert copy.get("/auth/me").get_json()["username"] is None
    refused = copy.post("/api/proposals", json={}, headers={"X-CSRFToken": "x"})
    assert refused.status_code == 401
    # Signing in again (the second action) opens a new session; the old one stays ended.
    assert sign_in_by_form(client).status_code == 302
    assert client.get("/auth/me").get_json()["username"] == "wang"
    with store.read() as conn:
        rows = conn.execute(sa.select(user_sessions).order_by(user_sessions.c.id)).all()
        audited = conn.execute(
            sa.select(audit_log.c.op, audit_log.c.actor).where(
                audit_log.c.table_name == "user_sessions"
            )
        ).all()
    assert [r.ended_at is None for r in rows] == [False, True]
    cookie_text = client.get_cookie("session").value
    assert all(len(r.session_sha256) == 64 and r.session_sha256 not in cookie_text for r in rows)
    assert sorted(audited) == [("INSERT", "wang"), ("INSERT", "wang"), ("UPDATE", "wang")]


def test_a_password_change_or_deactivation_ends_open_sessions_for_good(client, app, store):
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    assert sign_in_by_form(client).status_code == 302
    accounts.set_password(store, "wang", "a brand new passphrase", hash_method="pbkdf2:sha256:1000")
    assert client.get("/auth/me").get_json()["username"] is None
    assert sign_in_by_form(client, "a brand new passphrase").status_code == 302
    kept = client.get_cookie("session").value
    accounts.set_active(store, "wang", False)
    assert client.get("/auth/me").get_json()["username"] is None
    accounts.set_active(store, "wang", True)  # reactivating does not revive the session
    again = app.test_client()
    again.set_cookie("session", kept)
    assert again.get("/auth/me").get_json()["username"] is None
    # A session id of another user's session, put under this username, is refused.
    accounts.create_user(store, "li", TEST_PASSWORD, ["clerk"], hash_method="pbkdf2:sha256:1000")
    session_of_li = accounts.start_session(store, "li")
    assert accounts.session_actor(store, "li", session_of_li).username == "li"
    assert accounts.session_actor(store, "wang", session_of_li) is None
    for odd in (None, "", 0, ["x"], "no such session"):
        assert accounts.session_actor(store, "li", odd) is None
        accounts.sign_out(store, odd)  # nothing to end: no error, nothing written
    assert accounts.session_actor(store, "li", session_of_li).username == "li"


def test_login_never_redirects_off_site(client, store):
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    for target in (
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        client.post("/auth/logout", headers=csrf_headers(client))
        r = sign_in_by_form(client, next=target)
        assert r.status_code == 302 and r.headers["Location"] == "/", target


def test_secure_cookie_behind_tls(store, tmp_path):
    from webmap import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "SESSION_COOKIE_SECURE": True}, store=store
    )
    client = app.test_client()
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    token = form_token(client)
    r = client.post(
        "/auth/login",
        data={"username": "wang", "password": TEST_PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/auth/login"},
    )
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_password_change_and_deactivation_end_sessions(client, store):
    login(client, "wang", "officer")
    assert client.get("/auth/me").get_json()["username"] == "wang"
    accounts.set_password(store, "wang", "a brand new password", hash_method="pbkdf2:sha256:1000")
    assert client.get("/auth/me").get_json()["username"] is None
    login(client, "wang", "officer")
    accounts.set_active(store, "wang", False)
    assert client.get("/auth/me").get_json()["username"] is None
    assert "/auth/login" in client.get("/officer/").headers["Location"]  # signed out


def test_roles_changed_by_the_admin_apply_to_open_sessions(client, store):
    login(client, "wang", "officer")
    assert client.post("/api/proposals", json=PROPOSAL).status_code == 403
    accounts.set_roles(store, "wang", ["clerk"])
    assert client.post("/api/proposals", json=PROPOSAL).status_code == 201


def test_csrf_is_required_for_session_writes(client, store):
    login(client, "li", "clerk")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    before = proposal_count(store)
    forged = client.post("/api/proposals", json=PROPOSAL)
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/proposals", json=PROPOSAL, headers={"X-CSRFToken": "not-the-token"})
    assert wrong.status_code == 400
    form = client.post(
        "/officer/proposals/new",
        data={
            "kind": "naming",
            "applicant": "a",
            "reasons": "r",
            "name": "长乐路",
            "feature_class": "交通运输设施",
            "division_code": TIANHE,
        },
    )
    assert form.status_code == 400
    assert proposal_count(store) == before
    assert (
        client.post("/api/proposals", json=PROPOSAL, headers=csrf_headers(client)).status_code
        == 201
    )


def test_api_tokens_authenticate_scripts_without_csrf(app, store):
    headers = token_headers(store, "importer", "clerk")
    token = headers["Authorization"].split()[1]
    with store.read() as conn:
        stored = conn.execute(sa.select(api_tokens.c.token_sha256)).scalars().all()
    assert token not in stored and accounts.token_digest(token) in stored
    script = app.test_client()
    assert script.get("/auth/me", headers=headers).get_json()["username"] == "importer"
    assert script.post("/api/proposals", json=PROPOSAL, headers=headers).status_code == 201
    for bad in (
        {"Authorization": "Bearer gdg_not-a-real-token"},
        {"Authorization": "Basic aW1wb3J0ZXI6eA=="},
        {"Authorization": "Bearer "},
    ):
        r = script.post("/api/proposals", json=PROPOSAL, headers=bad)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"
    token_id = accounts.list_tokens(store, "importer")[0]["id"]
    accounts.revoke_token(store, token_id)
    assert script.post("/api/proposals", json=PROPOSAL, headers=headers).status_code == 401
    assert script.get("/api/proposals", headers=headers).status_code == 401
    assert script.get("/", headers=headers).status_code == 200  # public pages still render


def test_token_of_a_deactivated_user_stops_working(app, store):
    headers = token_headers(store, "importer", "clerk")
    accounts.set_active(store, "importer", False)
    assert app.test_client().get("/auth/me", headers=headers).status_code == 401


def test_admin_commands_create_users_and_tokens(store, tmp_path):
    from click.testing import CliRunner

    from webmap.cli import main

    base = ["--data-dir", str(tmp_path), "--database-url", store.url, "admin"]
    r = CliRunner().invoke(main, [*base, "list-users"])  # none yet: said, apart from stdout
    assert r.exit_code == 0 and r.stdout == "" and "no users yet" in r.stderr
    r = CliRunner().invoke(
        main,
        [
            *base,
            "create-user",
            "chen",
            "--role",
            "approver",
            "--password-stdin",
            "--office",
            "省厅",
        ],
        input="approver password 1\n",
    )
    assert r.exit_code == 0, r.output
    actor = accounts.authenticate(store, "chen", "approver password 1")
    assert actor.roles == {"approver"} and actor.office == "省厅"
    r = CliRunner().invoke(main, [*base, "set-office", "chen", "天河区民政局区划地名科"])
    assert (
        r.exit_code == 0 and accounts.active_actor(store, "chen").office == "天河区民政局区划地名科"
    )
    r = CliRunner().invoke(main, [*base, "create-token", "chen", "--name", "夜间脚本"])
    token = r.stdout.strip().splitlines()[-1]
    assert r.exit_code == 0 and accounts.resolve_token(store, token).username == "chen"
    assert "chen" in CliRunner().invoke(main, [*base, "list-users"]).output
    assert "天河区民政局区划地名科" in CliRunner().invoke(main, [*base, "list-users"]).output


def test_security_headers_and_strict_csp(client):
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert (
        r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    )
    for path in ("/", "/auth/login", "/officer/", "/boundaries/lines"):
        page = client.get(path).get_data(as_text=True)
        # JSON data blocks (the vocabulary, the base map) are data the CSP never runs.
        inline = r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>"
        assert not re.search(inline, page), f"inline script on {path}"
        assert " onclick=" not in page and "javascript:" not in page


def test_a_changed_secret_key_ends_sessions_unless_kept_as_a_fallback(client, app, store):
    """The session signer is made once per set of keys (webmap.security.SessionCookies),
    still read on every request: a rotated key ends the sessions it signed at once, and
    listing the old key in SECRET_KEY_FALLBACKS lets them in again."""
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    assert sign_in_by_form(client).status_code == 302
    assert client.get("/auth/me").get_json()["username"] == "wang"
    old_key = app.secret_key
    app.secret_key = "a rotated key of the same length and more"
    assert client.get("/auth/me").get_json()["username"] is None
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    kept = client.get("/auth/me")
    assert kept.get_json()["username"] == "wang"
    assert "session=" in kept.headers.get("Set-Cookie", "")  # signed again, with the new key
    assert "Set-Cookie" not in client.get("/auth/me").headers  # once
    app.config["SECRET_KEY_FALLBACKS"] = None  # the old key removed: a user who kept working
    assert client.get("/auth/me").get_json()["username"] == "wang"


def test_an_expired_sign_out_form_says_so_and_the_second_click_signs_out(client, app, store):
    """A sign-out form opened before the secret key changed carries a CSRF token the
    server no longer accepts: the page says so with a fresh form, still signed in; the
    second click signs out."""
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    assert sign_in_by_form(client).status_code == 302
    page = client.get("/auth/logout").get_data(as_text=True)
    stale = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "a rotated key of the same length and more"
    refused = client.post("/auth/logout", data={"csrf_token": stale})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "尚未退出" in text and "确认退出" in text
    assert client.get("/auth/me").get_json()["username"] == "wang"
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', text)[1]
    assert client.post("/auth/logout", data={"csrf_token": fresh}).status_code == 302
    assert client.get("/auth/me").get_json()["username"] is None
    # Without the fallback the session ended with the key: the stale form just signs out.
    assert sign_in_by_form(client).status_code == 302
    page = client.get("/auth/logout").get_data(as_text=True)
    stale = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    app.config["SECRET_KEY_FALLBACKS"] = None
    app.secret_key = "yet another rotated key, with no fallback"
    ended = client.post("/auth/logout", data={"csrf_token": stale})
    assert ended.status_code == 302 and ended.headers["Location"] == "/"
    assert client.get("/auth/me").get_json()["username"] is None


def test_each_security_header_once_and_a_view_s_own_cache_header_kept(client, store):
    """The after-request hook adds each header the view did not set, once; a signed-in
    answer without its own Cache-Control gets no-store, a static file keeps its own."""
    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    anonymous = client.get("/api/search?q=番禺")
    assert "Cache-Control" not in anonymous.headers
    assert sign_in_by_form(client).status_code == 302
    me = client.get("/auth/me")
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert len(me.headers.getlist(name)) == 1, name
    assert me.headers.getlist("Cache-Control") == ["no-store"]
    with client.get("/static/app.css") as static:
        assert static.status_code == 200
        assert static.headers.getlist("Cache-Control") != ["no-store"]
        assert len(static.headers.getlist("Cache-Control")) == 1


def test_a_token_s_answers_are_not_cached_and_a_fallback_key_comes_from_the_environment(
    client, store, monkeypatch
):
    """Staff data fetched with a bearer token carries no-store like a signed-in page; and
    GDGIS_SECRET_KEY_FALLBACKS (comma-separated) becomes the app's SECRET_KEY_FALLBACKS."""
    from gazetteer.core.settings import load_settings

    accounts.create_user(
        store, "wang", TEST_PASSWORD, ["officer"], hash_method="pbkdf2:sha256:1000"
    )
    token, _ = accounts.issue_token(store, "wang", "script")
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["username"] == "wang"
    assert me.headers.getlist("Cache-Control") == ["no-store"]
    environ = {"GDGIS_SECRET_KEY": "new", "GDGIS_SECRET_KEY_FALLBACKS": " old1, ,old2 "}
    assert load_settings(environ=environ)["SECRET_KEY_FALLBACKS"] == ["old1", "old2"]
    assert load_settings(environ={})["SECRET_KEY_FALLBACKS"] is None


def test_the_development_sign_in_is_gone(client):
    assert client.get("/officer/dev-login").status_code == 404
    assert client.post(
        "/officer/dev-login", data={"username": "x", "roles": ["admin"]}
    ).status_code in (401, 404)


# ---- 401 for who has not signed in, 403 for a role that may not (issue 13) --------------

STAFF_READS = [  # (path, a role that may read it, a role that may not, or None)
    ("/api/boundaries/inspections", "inspector", None),
    ("/api/boundaries/staff", "officer", None),
    ("/api/proposals/due", "clerk", None),
    ("/api/places/reading-corrections", "officer", None),
    ("/api/cleanup", "clerk", None),
    ("/api/imports", "officer", "clerk"),
]


@pytest.mark.parametrize("path, reader, refused_role", STAFF_READS)
def test_staff_apis_answer_401_to_the_anonymous_and_403_to_a_role_that_may_not(
    bclient, bstore, path, reader, refused_role
):
    anonymous = bclient.get(path)
    assert anonymous.status_code == 401, (path, anonymous.status_code)
    assert anonymous.get_json()["error"]["code"] == "unauthenticated"
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="gdgis"'
    bad = bclient.get(path, headers={"Authorization": "Bearer gdg_made-up"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer realm="gdgis", error="invalid_token"'
    # Then the same caller with a token of a role that may read it: let through.
    ok = bclient.get(path, headers=token_headers(bstore, f"read_{reader}", reader))
    assert ok.status_code == 200, (path, ok.get_data(as_text=True)[:200])
    if refused_role:
        other = bclient.get(path, headers=token_headers(bstore, f"no_{refused_role}", refused_role))
        assert other.status_code == 403 and "WWW-Authenticate" not in other.headers
        assert other.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("page", ["/officer/", "/officer/imports", "/boundaries/rounds"])
def test_staff_pages_send_the_anonymous_to_sign_in_and_refuse_a_role_that_may_not(bclient, page):
    r = bclient.get(page)
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login?next=")
    # Back to the page itself: no bare "?" after it (request.full_path would add one).
    assert parse_qs(urlsplit(r.headers["Location"]).query)["next"] == [page]
    with_query = bclient.get(page + "?a=1&b=%E5%B9%BF")
    assert parse_qs(urlsplit(with_query.headers["Location"]).query)["next"] == [
        page + "?a=1&b=%E5%B9%BF"
    ]
    login(bclient, "page_inspector", "inspector")
    if page == "/officer/imports":  # officers only: a page of refusal, not a sign-in loop
        refused = bclient.get(page)
        assert refused.status_code == 403 and "审核人员" in refused.get_data(as_text=True)
    else:
        assert bclient.get(page).status_code == 200


def test_what_caches_may_keep_for_the_public_a_visitor_staff_and_static_files(client, store):
    """A request without a cookie (the public's API clients, scripts) gets an empty session
    at once (webmap.security.SessionCookies): no cookie is set and the answer may be shared,
    varying on the cookie and on a token. A page sets the visitor's cookie and holds their
    CSRF token: only their browser may keep it (user test, 2026-11-30: every new visitor's
    page was shareable); the public JSON stays shareable, keyed on the cookie. Staff
    answers are kept nowhere; static files are one for all."""
    answer = client.get("/api/health")
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert {"Cookie", "Authorization"} <= set(answer.headers["Vary"].replace(" ", "").split(","))
    assert "Cache-Control" not in answer.headers
    page = client.get("/search")
    assert page.status_code == 200 and "session=" in page.headers["Set-Cookie"]
    assert page.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/search?q=天河")  # now with the visitor's cookie and token
    assert "Set-Cookie" not in again.headers
    assert again.headers["Cache-Control"] == "private, no-cache"
    json_again = client.get("/api/health")  # the same for every visitor
    assert "Cache-Control" not in json_again.headers and "Cookie" in json_again.headers["Vary"]
    with client.get("/static/app.css") as static:
        assert static.status_code == 200 and "Cookie" not in static.headers.get("Vary", "")
    token_header = token_headers(store, "li", "clerk")
    token = client.get("/api/health", headers=token_header)
    assert token.headers["Cache-Control"] == "no-store" and "Authorization" in token.headers["Vary"]
    # A missing file's error page is a page (user test: it showed the signed-in user and
    # their token with no Cache-Control)
    missing = client.get("/static/nope.css", headers=token_header)
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"
    assert client.get("/static/nope.css").headers["Cache-Control"] == "private, no-cache"
    accounts.create_user(store, "wang", TEST_PASSWORD, ["officer"])
    assert sign_in_by_form(client).status_code == 302
    me = client.get("/auth/me")
    assert me.get_json()["username"] == "wang" and "Cookie" in me.headers["Vary"]
    assert me.headers["Cache-Control"] == "no-store"


def test_the_app_asks_once_whether_a_function_is_a_coroutine(app):
    """``GazetteerApp.ensure_sync`` (webmap/__init__.py) remembers the answer per function,
    weakly (a closure made for one request is not kept), and still hands a coroutine
    function to Flask (which needs its ``async`` extra, not installed here)."""
    import gc

    def view():
        return "ok"

    async def coroutine_view():
        return "ok"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view
    assert view in app._plain_functions
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(coroutine_view)
    held = len(app._plain_functions)
    del view
    gc.collect()
    assert len(app._plain_functions) == held - 1
    with app.test_client() as c:  # the app's own views and hooks, through the cache
        assert c.get("/api/health").status_code == 200


def test_after_a_wrong_password_the_form_keeps_the_username_escaped(client, store):
    """The sign-in form sent back after a refusal keeps the username typed, with the cursor
    in the password field (user test, 2026-11-30: it was cleared); what was typed is text,
    never markup."""
    accounts.create_user(store, "wang", TEST_PASSWORD, ["officer"])
    wrong = sign_in_by_form(client, "guess guess guess")
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and 'value="wang"' in page
    assert re.search(r'name="password"[^>]*autofocus', page)
    odd = sign_in_by_form(client, "guess guess guess", username='x"><script>alert(1)</script>')
    assert odd.status_code == 401 and "<script>alert(1)" not in odd.get_data(as_text=True)
    assert "&lt;script&gt;" in odd.get_data(as_text=True)
    assert sign_in_by_form(client).status_code == 302  # the second try signs in
    fresh = client.get("/auth/login").get_data(as_text=True)
    assert re.search(r'name="username"[^>]*value=""[^>]*autofocus', fresh)
