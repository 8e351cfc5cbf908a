"""Who is making the request: a minimal stand-in until accounts and login land (issue 8).

``current_actor()`` reads ``username`` and ``roles`` from the signed Flask session; no
session means the public. The accounts work replaces this module's internals and keeps
``current_actor``'s name and contract.
"""

from __future__ import annotations

from flask import session

from gazetteer.actors import PUBLIC, ROLES, Actor


def current_actor() -> Actor:
    """The actor of the current request (``PUBLIC`` when nobody is signed in)."""
    username = session.get("username")
    if not username:
        return PUBLIC
    roles = frozenset(r for r in (session.get("roles") or ()) if r in ROLES)
    return Actor(str(username), roles)
