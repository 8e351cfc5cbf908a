"""Accounts: users with hashed passwords and roles, and API tokens for scripts.

Passwords are kept only as ``werkzeug.security`` hashes (scrypt by default; pbkdf2 accepted);
API tokens only as their SHA-256, so a copy of the database reveals neither. A token is
shown once when issued. Account changes are ordinary audited writes (``gazetteer.core.audit``).

``by`` in the writing functions is who makes the change: an ``Actor`` (who must be an
admin) or a system name such as ``system:cli`` for the operator's command line.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from gazetteer.core.account_tables import api_tokens, user_sessions, users
from gazetteer.core.actors import ROLES, Actor, require_role
from gazetteer.core.columns import OFFICE
from gazetteer.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from gazetteer.core.store import Store
from gazetteer.core.text import clean_text

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,63}$")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 512  # hashing cost grows with length: refuse absurd inputs
TOKEN_PREFIX = "gdg_"
# last_used_at is refreshed at most this often, so token-authenticated reads do not turn
# into a write each.
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so that "no such user" and
    "wrong password" take about the same time. Made on first use, not at import."""
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _by_name(by) -> str:
    if isinstance(by, Actor):
        require_role(by, {"admin"}, "管理账号")
        return by.username
    return str(by)


def validate_username(username) -> str:
    name = str(username or "").strip()
    if not USERNAME_RE.match(name):
        raise InvalidInput("用户名应为 2–64 个英文字母、数字或 _ . -，以字母或数字开头")
    return name


def parse_roles(roles: str | Iterable[str]) -> tuple[str, ...]:
    """Roles as a sorted tuple; accepts a comma-separated string. Raises InvalidInput for
    an unknown role."""
    items = roles.replace("，", ",").split(",") if isinstance(roles, str) else list(roles)
    clean = {str(r).strip() for r in items if str(r).strip()}
    unknown = clean - set(ROLES)
    if unknown:
        raise InvalidInput(f"未知角色：{', '.join(sorted(unknown))}（可选 {', '.join(ROLES)}）")
    return tuple(sorted(clean))


def validate_password(password) -> str:
    """A password of 10–512 characters that a person can type into the sign-in form: not
    only spaces, and no control characters (a pasted ``\x01`` would be accepted here and
    then never typed again)."""
    if (
        not isinstance(password, str)
        or not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH
    ):
        raise InvalidInput(f"密码长度应为 {PASSWORD_MIN_LENGTH}–{PASSWORD_MAX_LENGTH} 个字符")
    if not password.strip():
        raise InvalidInput("密码不能只有空格")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in password):
        raise InvalidInput("密码不能含控制字符（换行、制表符等）")
    return password


def create_user(
    store: Store,
    username: str,
    password: str,
    roles,
    *,
    by="system:cli",
    hash_method: str = "scrypt",
    office: str | None = None,
) -> dict:
    """Create an active user, in ``office`` if given. ``hash_method`` is a werkzeug method
    (``scrypt`` by default; tests use a cheap pbkdf2 so that logging in hundreds of times
    stays fast). Raises InvalidInput, Conflict (name taken) or Forbidden."""
    who = _by_name(by)
    name, role_tuple = validate_username(username), parse_roles(roles)
    office = validate_office(office)
    password_hash = generate_password_hash(validate_password(password), method=hash_method)
    with store.write(actor=who) as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == name)).first() is not None:
            raise Conflict(f"用户名已存在：{name}")
        user_id = conn.execute(
            users.insert().values(
                username=name,
                password_hash=password_hash,
                roles=",".join(role_tuple),
                active=True,
                created_at=utcnow(),
                office=office,
            )
        ).inserted_primary_key[0]
    return {
        "id": user_id,
        "username": name,
        "roles": list(role_tuple),
        "active": True,
        "office": office,
    }


def validate_office(office) -> str | None:
    """An office name (e.g. 天河区民政局区划地名科): 1–100 characters (the ``OFFICE`` column's
    length) after trimming, or None (empty text too) for a user who acts alone."""
    if office is None:
        return None
    text = clean_text(str(office), "office", single_line=True).strip()
    if len(text) > OFFICE.length:
        raise InvalidInput(f"单位名称不超过 {OFFICE.length} 个字符", details={"field": "office"})
    return text or None


def set_office(store: Store, username: str, office, *, by="system:cli") -> None:
    """Move a user to ``office`` (None: no office). Proposals keep the office they were
    drafted in: the new office's clerks do not take over the old office's work."""
    _update_user(store, username, by, office=validate_office(office))


def _update_user(store: Store, username: str, by, *, end_sessions: bool = False, **values) -> None:
    """Update ``values`` of a user; with ``end_sessions`` also end its open sessions, in the
    same write (a password change or a deactivation signs the user out everywhere)."""
    with store.write(actor=_by_name(by)) as conn:
        result = conn.execute(users.update().where(users.c.username == username).values(**values))
        if result.rowcount == 0:
            raise NotFound(f"用户不存在：{username}")
        if end_sessions:
            _end_sessions(conn, username)


def user_exists(store: Store, username: str) -> None:
    """``NotFound`` unless ``username`` is a user (active or not)."""
    with store.read(primary=True) as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
            raise NotFound(f"用户不存在：{username}")


def set_roles(store: Store, username: str, roles, *, by="system:cli") -> None:
    _update_user(store, username, by, roles=",".join(parse_roles(roles)))


def set_password(
    store: Store, username: str, password: str, *, by="system:cli", hash_method: str = "scrypt"
) -> None:
    """Change a password; every session signed in with the old one ends."""
    _update_user(
        store,
        username,
        by,
        end_sessions=True,
        password_hash=generate_password_hash(validate_password(password), method=hash_method),
    )


def set_active(store: Store, username: str, active: bool, *, by="system:cli") -> None:
    """Deactivate (or reactivate) a user: an inactive user can neither sign in nor use
    tokens, and its open sessions end (reactivating does not revive them)."""
    _update_user(store, username, by, end_sessions=not active, active=bool(active))


def list_users(store: Store) -> list[dict]:
    """Every user by username, with every column but the password hash (which never leaves
    this module); ``roles`` as a list."""
    shown = [c for c in users.c if c.key != "password_hash"]
    with store.read() as conn:
        rows = conn.execute(sa.select(*shown).order_by(users.c.username))
        return [{**r._asdict(), "roles": [x for x in r.roles.split(",") if x]} for r in rows]


def _actor(row) -> Actor:
    roles = frozenset(r for r in row.roles.split(",") if r in ROLES)
    return Actor(row.username, roles, row.office)


def authenticate(store: Store, username: str, password: str) -> Actor:
    """The actor of a correct username and password of an active user; ``Unauthenticated``
    otherwise, with the same message whatever was wrong."""
    # From the primary: a new account, a new password or a deactivation counts at once,
    # not once a read replica has replayed it.
    with store.read(primary=True) as conn:
        row = conn.execute(
            sa.select(users).where(users.c.username == str(username or "").strip())
        ).first()
    candidate = (
        password if isinstance(password, str) and len(password) <= PASSWORD_MAX_LENGTH else ""
    )
    ok = check_password_hash(row.password_hash if row else _dummy_hash(), candidate)
    if not (ok and row is not None and row.active):
        raise Unauthenticated("用户名或密码错误，或账号已停用")
    return _actor(row)


def sign_in(store: Store, username: str, password: str) -> tuple[Actor, str]:
    """(actor, session id) for a correct username and password: ``authenticate``, then a
    new ``user_sessions`` row. The id goes into the signed cookie and only its SHA-256 is
    stored, so the sessions table read from a backup signs nobody in."""
    actor = authenticate(store, username, password)
    return actor, start_session(store, actor.username)


def start_session(store: Store, username: str) -> str:
    """A new session of ``username`` (who must exist): its random id."""
    session_id = secrets.token_urlsafe(32)
    with store.write(actor=username) as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
        if user_id is None:
            raise NotFound(f"用户不存在：{username}")
        conn.execute(
            user_sessions.insert().values(
                user_id=user_id, session_sha256=token_digest(session_id), started_at=utcnow()
            )
        )
    return session_id


def session_actor(store: Store, username: str, session_id) -> Actor | None:
    """The actor of a signed-in session, or None when the session was ended (signed out,
    the password changed, the account deactivated), is unknown, or is another user's."""
    if not isinstance(session_id, str) or not session_id:
        return None  # a cookie from before sessions were kept (revision 0041), or forged
    with store.read(primary=True) as conn:  # as in authenticate(): a sign-out counts at once
        row = conn.execute(
            sa.select(users)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(
                user_sessions.c.session_sha256 == token_digest(session_id),
                user_sessions.c.ended_at.is_(None),
            )
        ).first()
    if row is None or not row.active or row.username != username:
        return None
    return _actor(row)


def sign_out(store: Store, session_id) -> None:
    """End a session: the cookie, and every copy of it, no longer signs in. The row stays
    (who was signed in when). Nothing happens for an unknown or already ended session."""
    if not isinstance(session_id, str) or not session_id:
        return
    ended = user_sessions.c.session_sha256 == token_digest(session_id)
    with store.read(primary=True) as conn:
        username = conn.execute(
            sa.select(users.c.username)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(ended, user_sessions.c.ended_at.is_(None))
        ).scalar()
    if username is None:
        return
    with store.write(actor=username) as conn:
        conn.execute(
            user_sessions.update()
            .where(ended, user_sessions.c.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def _end_sessions(conn, username: str) -> None:
    """End every open session of ``username`` (inside the caller's write)."""
    user_id = sa.select(users.c.id).where(users.c.username == username).scalar_subquery()
    conn.execute(
        user_sessions.update()
        .where(user_sessions.c.user_id == user_id, user_sessions.c.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store: Store, username: str, name: str, *, by="system:cli") -> tuple[str, dict]:
    """A new API token for ``username``: (the token, shown only now; its record)."""
    who = _by_name(by)
    label = clean_text(str(name or ""), "name", single_line=True).strip()
    if not 1 <= len(label) <= 100:
        raise InvalidInput("请为令牌写一个 1–100 字的用途说明")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with store.write(actor=who) as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
        if user_id is None:
            raise NotFound(f"用户不存在：{username}")
        token_id = conn.execute(
            api_tokens.insert().values(
                user_id=user_id, name=label, token_sha256=token_digest(token), created_at=now
            )
        ).inserted_primary_key[0]
    return token, {"id": token_id, "username": username, "name": label, "created_at": now}


def revoke_token(store: Store, token_id: int, *, by="system:cli") -> None:
    with store.write(actor=_by_name(by)) as conn:
        result = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        if result.rowcount == 0:
            raise NotFound(f"令牌不存在或已撤销：{token_id}")


def resolve_token(store: Store, token: str) -> Actor | None:
    """The actor a bearer token stands for, or None (unknown, revoked, or user inactive).
    Reads only: ``record_token_use`` notes the use once the request has succeeded, so a
    refused request writes nothing."""
    row = _token_row(store, token)
    return None if row is None else _actor(row)


def _token_row(store: Store, token: str):
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with store.read(primary=True) as conn:
        return conn.execute(
            sa.select(
                api_tokens.c.id,
                api_tokens.c.last_used_at,
                users.c.username,
                users.c.roles,
                users.c.office,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_sha256 == token_digest(token),
                api_tokens.c.revoked_at.is_(None),
                users.c.active.is_(True),
            )
        ).first()


def record_token_use(store: Store, token: str, *, now: dt.datetime | None = None) -> None:
    """Set the token's ``last_used_at`` (at most every ``TOKEN_TOUCH_INTERVAL``, so reads
    by scripts do not each turn into a write). Call after a request the token made has
    succeeded."""
    row = _token_row(store, token)
    if row is None:
        return
    now = now or utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=dt.UTC)
    if last is None or now - last > TOKEN_TOUCH_INTERVAL:
        with store.write(actor=row.username) as conn:
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == row.id).values(last_used_at=now)
            )


def list_tokens(store: Store, username: str | None = None) -> list[dict]:
    query = (
        sa.select(
            api_tokens.c.id,
            users.c.username,
            api_tokens.c.name,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    if username:
        query = query.where(users.c.username == username)
    with store.read() as conn:
        return [r._asdict() for r in conn.execute(query)]


def active_actor(store: Store, username: str) -> Actor:
    """The actor of an active user, for operator commands that act in a user's name.
    Raises ``NotFound`` for an unknown or inactive user."""
    from gazetteer.core.errors import NotFound

    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == str(username))).first()
    if row is None or not row.active:
        raise NotFound(f"没有名为 {username} 的在用账号")
    return _actor(row)
