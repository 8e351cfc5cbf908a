"""Read-your-writes across requests when reads go to a streaming replica.

The store routes each thread's reads by a floor in the primary's WAL (``Store`` docstring).
A request that changes something (POST/PUT/PATCH/DELETE) leaves in the session how far its
writes reached; the same user's next requests, on whichever worker and thread, start from
that floor, so they read from the primary until the replica has replayed that far, however
long the replication lag. Once it has, the session forgets the floor and reads go back to
the replica. Without a replica nothing here runs and no cookie changes.
"""

from __future__ import annotations

from flask import Flask, request, session

from gazetteer.core.store import Store
from webmap.security import UNSAFE_METHODS

SESSION_KEY = "wal"


def init_app(app: Flask, store: Store) -> None:
    """Register the hooks; call before any hook that reads the store (sign-in checks)."""
    if store.read_engine is None:
        return

    def has_session() -> bool:
        # Only a client that sent a session cookie can carry a floor; not touching the
        # session otherwise keeps anonymous answers free of Vary: Cookie.
        return app.config["SESSION_COOKIE_NAME"] in request.cookies

    @app.before_request
    def _floor_from_session():
        store.see_writes_up_to(session.get(SESSION_KEY) if has_session() else None)

    @app.after_request
    def _floor_to_session(response):
        floor = store.written_up_to()
        if floor is not None and request.method in UNSAFE_METHODS:
            session[SESSION_KEY] = floor
        elif floor is None and has_session() and SESSION_KEY in session:
            session.pop(SESSION_KEY)  # the replica has replayed it
        return response

    @app.teardown_request
    def _forget_floor(_exc):
        store.see_writes_up_to(None)  # the thread serves another client next
