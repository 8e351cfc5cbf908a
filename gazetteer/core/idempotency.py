"""Idempotent creates: a client names its request with an ``Idempotency-Key`` and may send
it again (after a timeout, a lost answer, a kill of the server) without creating twice.

The key, a digest of what was asked and the answer are stored in the same transaction as
the record they created, so the two commit or vanish together: a retry after a crash
either finds the answer (the record exists) or creates the record (it does not). A retry
with the same key but different content is a ``Conflict`` whose details carry the stored
answer, so the client can keep both versions. Keys are per account and per scope (what
the create makes: proposal, round, dispute, …): the same key sent to two create endpoints
names two different requests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import sqlalchemy as sa

from gazetteer.core.columns import INSTANT, SHA256_HEX
from gazetteer.core.errors import Conflict, InvalidInput
from gazetteer.core.store import metadata

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("actor", sa.String(64), primary_key=True, comment="the account that sent it"),
    sa.Column("key", sa.String(200), primary_key=True, comment="Idempotency-Key header"),
    sa.Column("scope", sa.String(100), primary_key=True, comment="what was created: proposal, …"),
    sa.Column("request_sha256", SHA256_HEX, nullable=False, comment="digest of the request"),
    sa.Column("response", sa.JSON, nullable=False, comment="the answer given the first time"),
    sa.Column("created_at", INSTANT, nullable=False),
)

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def validate_key(key) -> str:
    """An ``Idempotency-Key``: 1–200 visible ASCII characters (a UUID is typical)."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInput(
            "Idempotency-Key 应为 1–200 个可见 ASCII 字符（如 UUID）",
            details={"field": "Idempotency-Key"},
        )
    return key


def request_digest(document) -> str:
    """SHA-256 of a request's content in canonical JSON (sorted keys)."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_same_request(row, digest: str, stored: dict) -> None:
    """Raise ``Conflict`` when the key was first used for different content; ``stored`` (the
    record as it now stands) goes into ``details.stored`` so the client can keep both."""
    if row.request_sha256 != digest:
        raise Conflict(
            "此 Idempotency-Key 已用于内容不同的请求：已保存的版本见 details.stored",
            details={"idempotency_key": row.key, "stored": stored},
        )


class Replayed(dict):
    """The answer to a retried create: the record made the first time, a plain dict in
    every other respect. The API answers it 200 and a record made now 201, as it answers
    an inspection record resent with its client id (docs/security.md)."""


def create_once(store, actor, scope: str, key: str | None, request, create, fetch) -> dict:
    """Run ``create(conn)`` (which returns the new record's id) in one write, once per
    ``key``, and answer ``fetch(id)``. Without a key every call creates. With one, the key
    and the answer commit with the record; a retry of the same ``request`` answers the
    record made the first time (as ``Replayed``), other content under the key is a
    ``Conflict`` carrying it."""
    digest = None
    if key is not None:
        key = validate_key(key)
        digest = request_digest(request)
    earlier = None
    named = {"actor": actor.username, "scope": scope, "key": key}  # the stored row's key
    with store.write(actor=actor) as conn:
        if digest is not None:
            earlier = conn.execute(sa.select(idempotency_keys).filter_by(**named)).first()
        if earlier is None:
            new_id = create(conn)
            if digest is not None:
                conn.execute(
                    idempotency_keys.insert().values(
                        **named,
                        request_sha256=digest,
                        response={"id": new_id},
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
    if earlier is None:
        return fetch(new_id)
    stored = fetch(earlier.response["id"])
    check_same_request(earlier, digest, stored)
    return Replayed(stored)
