"""Signing in from tests: real users in the test's store, real sessions and tokens.

``login(client, "wang", "officer")`` creates (or updates) the user ``wang`` with exactly
those roles in the store behind ``client`` and opens a session the way ``/auth/login``
does (the session holds the username and the password fingerprint, checked by
``webmap.auth`` on every request). It then fetches a CSRF token and makes the client send
it (``X-CSRFToken``) with every request, as the pages' scripts do. Test users get a cheap
pbkdf2 hash so that signing in hundreds of times stays fast; ``tests/test_auth.py`` covers
the real login form with scrypt.
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer.core import accounts
from gazetteer.core.account_tables import users
from gazetteer.core.store import Store

TEST_PASSWORD = "correct horse battery staple"
FAST_HASH = "pbkdf2:sha256:1000"


def make_app(store: Store, data_dir, **settings):
    """The web app on ``store``, keeping its files (uploads, photos) in ``data_dir``;
    ``settings`` add to or replace the test configuration."""
    from webmap import create_app

    config = {"DATA_DIR": str(data_dir), "SECRET_KEY": "test-secret-key", **settings}
    return create_app(config, store=store)


def store_of(client) -> Store:
    return client.application.extensions["gdgis.store"]


def ensure_user(store: Store, username: str, *roles: str, password: str = TEST_PASSWORD) -> str:
    """Create ``username`` with ``roles`` or give the existing user exactly these roles;
    returns the password hash."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(users.c.password_hash, users.c.roles, users.c.active).where(
                users.c.username == username
            )
        ).first()
    if row is None:
        accounts.create_user(
            store, username, password, roles, by="system:test", hash_method=FAST_HASH
        )
    else:
        if row.roles != ",".join(sorted(set(roles))):
            accounts.set_roles(store, username, roles, by="system:test")
        if not row.active:
            accounts.set_active(store, username, True, by="system:test")
    with store.read() as conn:
        return conn.execute(
            sa.select(users.c.password_hash).where(users.c.username == username)
        ).scalar_one()


def csrf_headers(client) -> dict[str, str]:
    """Fetch a CSRF token for the client's session and send it with every later request."""
    token = client.get("/auth/csrf-token").get_json()["csrf_token"]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return {"X-CSRFToken": token}


def login(client, username: str, *roles: str) -> dict[str, str]:
    """Sign ``client`` in as ``username`` holding ``roles``; returns the CSRF header."""
    store = store_of(client)
    ensure_user(store, username, *roles)
    session_id = accounts.start_session(store, username)
    with client.session_transaction() as session:
        session.clear()
        session["username"] = username
        session["sid"] = session_id
    return csrf_headers(client)


def logout(client) -> dict[str, str]:
    """End the session (anonymous from now on, with a fresh CSRF token)."""
    with client.session_transaction() as session:
        session.clear()
    return csrf_headers(client)


def token_headers(store: Store, username: str, *roles: str) -> dict[str, str]:
    """``Authorization`` header with a new API token of ``username`` holding ``roles``."""
    ensure_user(store, username, *roles)
    token, _record = accounts.issue_token(store, username, "测试脚本", by="system:test")
    return {"Authorization": f"Bearer {token}"}


def naming_json(
    name: str,
    division_code: str = "440106",
    feature_class: str = "交通运输设施",
    *,
    applicant: str = "a",
    reasons: str = "r",
    location: dict | None = None,
    **proposed,
) -> dict:
    """The body of ``POST /api/proposals`` that drafts the naming of ``name`` (a road in
    天河区 unless told); ``proposed`` adds record values (feature_type, meaning ...)."""
    body = {
        "kind": "naming",
        "applicant": applicant,
        "reasons": reasons,
        "proposed": {
            "name": name,
            "feature_class": feature_class,
            "division_code": division_code,
            **proposed,
        },
    }
    if location is not None:
        body["location"] = location
    return body
