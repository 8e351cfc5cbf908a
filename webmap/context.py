"""What request handlers reach the application's services through: the store, the lookup
service, the registry's clock, the office-import jobs (all built once in ``create_app``),
the data folder and the current actor.

Shared by every blueprint, so that no blueprint imports another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from flask import current_app, g, request, session

from gazetteer.core import accounts
from gazetteer.core.actors import PUBLIC, Actor
from gazetteer.core.errors import Unauthenticated
from gazetteer.core.store import Store
from gazetteer.lookup import LookupService
from webmap.import_jobs import ImportJobs

STORE = "gdgis.store"
LOOKUP = "gdgis.lookup"
CLOCK = "gdgis.clock"
IMPORT_JOBS = "gdgis.import_jobs"


def store() -> Store:
    return current_app.extensions[STORE]


def lookup() -> LookupService:
    """Search, reverse lookup and the naming-rules corpus, kept current by the domain's
    change log (``gazetteer.changes``)."""
    return current_app.extensions[LOOKUP]


def clock() -> dt.datetime:
    """The registry's time now (UTC): real time, or the clock a test put in
    ``app.extensions["gdgis.clock"]``."""
    now: Callable[[], dt.datetime] = current_app.extensions[CLOCK]
    return now()


def data_dir() -> Path:
    """The folder of the files the app keeps beside its store (setting ``DATA_DIR``):
    marker photos, uploaded batches, office-import work files."""
    return Path(current_app.config["DATA_DIR"])


def import_jobs() -> ImportJobs:
    """The office-import jobs running in this process's background threads."""
    return current_app.extensions[IMPORT_JOBS]


def _resolve_actor() -> Actor:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("只支持 Authorization: Bearer <令牌>")
        actor = accounts.resolve_token(store(), token.strip())
        if actor is None:
            raise Unauthenticated("API 令牌无效、已撤销，或其账号已停用")
        g.gdgis_token = token.strip()  # its use is noted if the request succeeds (webmap.auth)
        return actor
    username = session.get("username")
    if not username:
        return PUBLIC
    actor = accounts.session_actor(store(), str(username), session.get("sid"))
    if actor is None:
        session.clear()
        return PUBLIC
    return actor


def current_actor() -> Actor:
    """The actor of the current request, answered from, in order: an ``Authorization:
    Bearer <token>`` header (scripts; ``gazetteer.core.accounts.resolve_token``), the signed
    session cookie of a user who signed in at ``/auth/login``, or ``PUBLIC``. The user is
    looked up on every request with the session's row, so signing out, a deactivated
    account or a changed password ends its sessions at once, every copy of the cookie too.
    Raises ``Unauthenticated`` for a bad bearer token."""
    if "gdgis_actor" not in g:
        g.gdgis_actor = _resolve_actor()
    return g.gdgis_actor
