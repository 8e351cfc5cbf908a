"""Backup and restore of the SQLite store, verified by per-table counts and checksums.

``backup`` copies the live store with SQLite's online backup API (consistent while the app
keeps running; WAL readers and the writer are not blocked for long) and writes a manifest
next to the copy: for every table its row count and a SHA-256 over its rows in primary-key
order, plus the schema revision and the store's id (``gazetteer.core.store_identity``).
``restore`` refuses a backup of another store unless told so, checks the backup against its manifest,
copies it over the target store with the same API, then checks the restored store against
the manifest again: a restore that does not reproduce every count and checksum raises.

PostgreSQL stores are backed up with ``pg_dump -Fc`` and restored with ``pg_restore``
(docs/security.md); ``table_manifest`` works on any store for the comparison.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pydantic
import sqlalchemy as sa

from gazetteer.core import restore_changes, serving
from gazetteer.core.errors import InvalidInput
from gazetteer.core.restore_changes import RestoreChanges
from gazetteer.core.store import Store
from gazetteer.core.store_identity import sqlite_store_id

MANIFEST_SUFFIX = ".manifest.json"
_PAGES_PER_STEP = 1024  # the backup copies in steps so the source is never locked for long


class _TableEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True)
    rows: pydantic.NonNegativeInt
    sha256: str = pydantic.Field(pattern="^[0-9a-f]{64}$")


class _Manifest(pydantic.BaseModel):
    """The shape a manifest must have before any of its values is compared (strict: the
    string "6" is not a row count)."""

    model_config = pydantic.ConfigDict(strict=True)
    tables: dict[str, _TableEntry]
    schema_revisions: list[str]
    file_sha256: str | None = pydantic.Field(default=None, pattern="^[0-9a-f]{64}$")
    store_id: str | None = None  # None: made before store ids (or of a store without one)


def read_manifest(backup_file: Path) -> dict:
    """The manifest next to ``backup_file``, checked for shape; raises ValueError with a
    one-line reason naming the first bad field."""
    raw = json.loads(manifest_path(backup_file).read_text(encoding="utf-8"))
    try:
        _Manifest.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "manifest"
        raise ValueError(f"not a backup manifest: {where}: {first['msg']}") from None
    return raw


def manifest_path(backup_file: Path) -> Path:
    return Path(str(backup_file) + MANIFEST_SUFFIX)


def _sqlite_file(store: Store) -> Path:
    if store.dialect != "sqlite":
        raise InvalidInput(
            "此命令只适用于 SQLite 存储；PostgreSQL 请用 pg_dump / pg_restore（见 docs/security.md）"
        )
    database = sa.engine.make_url(store.url).database
    if not database or database == ":memory:":
        raise InvalidInput("内存数据库无法备份")
    return Path(database)


def _copy_database(src: sqlite3.Connection, target: Path, *, then: str) -> None:
    """Copy the database open on ``src`` over ``target`` with SQLite's online backup API,
    run the statement ``then`` on the copy, and close both connections."""
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=_PAGES_PER_STEP)
            dst.execute(then)
        finally:
            dst.close()
    finally:
        src.close()


def _value_bytes(value) -> bytes:
    # Typed and length-prefixed so that ('ab', 'c') and ('a', 'bc') hash differently.
    if value is None:
        return b"N"
    if isinstance(value, bytes):
        return b"B%d:" % len(value) + value
    text = repr(value).encode("utf-8")
    return type(value).__name__[0].encode() + b"%d:" % len(text) + text


def _table_digest(conn, table: str, key_columns: list[str]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    order = ", ".join(f'"{c}"' for c in key_columns)
    for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
        count += 1
        for value in row:
            digest.update(_value_bytes(value))
        digest.update(b"\n")
    return count, digest.hexdigest()


def sqlite_manifest(path: Path) -> dict:
    """Counts and checksums of every table in the SQLite file ``path`` (read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        result = {}
        for table in tables:
            columns = list(conn.execute(f'PRAGMA table_info("{table}")'))
            keys = [c[1] for c in sorted((c for c in columns if c[5]), key=lambda c: c[5])] or [
                c[1] for c in columns
            ]
            count, checksum = _table_digest(conn, table, keys)
            result[table] = {"rows": count, "sha256": checksum}
        revisions = (
            sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
            if "alembic_version" in tables
            else []
        )
        return {"tables": result, "schema_revisions": revisions}
    finally:
        conn.close()


@dataclass
class Verification:
    ok: bool
    problems: list[str]
    tables: int


_TABLES_NAMED = 3  # a reason names this many missing/unexpected tables, then counts the rest


def _tables_line(kind: str, tables: list[str]) -> str:
    named = ", ".join(tables[:_TABLES_NAMED])
    more = f" and {len(tables) - _TABLES_NAMED} more" if len(tables) > _TABLES_NAMED else ""
    return f"{len(tables)} {kind} table(s): {named}{more}"


def compare_manifests(expected: dict, actual: dict) -> Verification:
    problems = []
    missing = sorted(set(expected["tables"]) - set(actual["tables"]))
    unexpected = sorted(set(actual["tables"]) - set(expected["tables"]))
    for kind, tables in (("missing", missing), ("unexpected", unexpected)):
        if tables:
            problems.append(_tables_line(kind, tables))
    for table in sorted(set(expected["tables"]) & set(actual["tables"])):
        want, got = expected["tables"][table], actual["tables"][table]
        if want["rows"] != got["rows"]:
            problems.append(f"{table}: {got['rows']} rows, expected {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            problems.append(f"{table}: checksum differs")
    if expected.get("schema_revisions") != actual.get("schema_revisions"):
        problems.append(
            f"schema {actual.get('schema_revisions')} != {expected.get('schema_revisions')}"
        )
    return Verification(not problems, problems, len(expected["tables"]))


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def backup(store: Store, target: Path) -> dict:
    """Copy the store to ``target`` (a new file) and write ``target.manifest.json``;
    returns the manifest."""
    source = _sqlite_file(store)
    target = Path(target)
    if not str(target).strip() or target.is_dir():
        raise InvalidInput(f"备份文件名为空或是目录：{str(target)!r}")
    if not source.is_file() or not sqlite_manifest(source)["schema_revisions"]:
        raise InvalidInput(f"{source} 没有架构版本，不是已建好的存储：拒绝备份")
    if target.exists():
        raise InvalidInput(f"备份文件已存在：{target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # The copy inherits the store's WAL mode; a rollback-journal file is one self-contained
    # file (no -wal/-shm next to it, now or when it is verified).
    _copy_database(sqlite3.connect(source), target, then="PRAGMA journal_mode=DELETE")
    manifest = sqlite_manifest(target)
    manifest.update(
        created_at=dt.datetime.now(dt.UTC).isoformat(),
        source=str(source),
        store_id=sqlite_store_id(target),
        file_sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
    )
    manifest_path(target).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def _problem_line(exc: BaseException) -> str:
    # One line an operator can act on, never a traceback.
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {message}"


def verify_backup(backup_file: Path) -> Verification:
    """Check a backup file against its manifest: the file's SHA-256, then integrity,
    counts and checksums. A damaged file or manifest (flipped bytes, broken header,
    truncation) gives a failed ``Verification`` with a one-line reason, never an
    exception from SQLite."""
    backup_file = Path(backup_file)
    if not backup_file.exists() or not manifest_path(backup_file).exists():
        raise InvalidInput(f"找不到备份文件或其清单：{backup_file}")
    try:
        expected = read_manifest(backup_file)
    except (ValueError, UnicodeDecodeError) as exc:
        return Verification(False, [f"manifest unreadable: {_problem_line(exc)}"], 0)
    tables = len(expected["tables"])
    if not expected["schema_revisions"] or not tables:
        return Verification(
            False, [f"不是本服务的备份：没有架构版本（{tables} 张表），不能用来恢复"], tables
        )
    problems = []
    want_sha = expected.get("file_sha256")
    if want_sha and hashlib.sha256(backup_file.read_bytes()).hexdigest() != want_sha:
        problems.append(
            f"file checksum differs from the manifest ({backup_file.stat().st_size} bytes): "
            "changed, damaged or truncated after it was written"
        )
    try:
        integrity = _integrity(backup_file)
        result = compare_manifests(expected, sqlite_manifest(backup_file))
    except sqlite3.DatabaseError as exc:
        problems.append(f"not a readable SQLite backup: {_problem_line(exc)}")
        return Verification(False, problems, tables)
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity.splitlines()[0]}")
    result.problems[:0] = problems
    result.ok = not result.problems
    return result


@dataclass
class RestoreReport:
    """What a restore did: the verification of the restored store, what it changed besides
    the backup's rows (``restore_changes``: rows discarded, reverted and revived per table,
    access the backup would have granted back and which was withdrawn again, states that
    went back, id counters advanced), the newest audit entry (id, UTC time) before and after,
    and where the replaced store was kept."""

    verification: Verification
    origin: str  # whose backup it was, checked against the store's id (``_check_origin``)
    changes: RestoreChanges
    audit_before: tuple[int, str] | None
    audit_after: tuple[int, str] | None
    replaced_copy: Path

    @property
    def tables(self) -> int:
        return self.verification.tables

    @property
    def ok(self) -> bool:
        return self.verification.ok

    @property
    def discarded(self) -> dict[str, int]:
        """Rows per table the replaced store held and the restored one does not."""
        return self.changes.counts("discarded")


def _newest_audit(path: Path) -> tuple[int, str] | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT id, at FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # a store without the audit log (not set up yet)
        return None
    finally:
        conn.close()
    return (int(row[0]), str(row[1])) if row else None


def replaced_copy_path(target: Path, now: dt.datetime | None = None) -> Path:
    """Where a restore keeps the store it replaces: beside it, named by the UTC time."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return target.with_name(f"{target.name}.replaced-{stamp}")


def _check_origin(manifest: dict, target: Path, *, from_other_store: bool) -> str:
    """One line saying whose backup this is; raises InvalidInput for a backup of another
    store unless ``from_other_store`` (a mistyped --data-dir makes a new store, and its
    backup must not quietly replace the real one)."""
    backup_id, store_id = manifest.get("store_id"), sqlite_store_id(target)
    if backup_id is None:
        return (
            "backup made before store ids (no store id in its manifest): "
            "not checked that it is of this store"
        )
    if store_id is None:
        return f"backup of store {backup_id}; this store has no id yet: not checked"
    if backup_id == store_id:
        return f"backup of this store ({store_id})"
    if not from_other_store:
        raise InvalidInput(
            f"备份来自另一个存储（{backup_id}，备份时位于 {manifest.get('source', '?')}），"
            f"不是本存储（{store_id}）：拒绝恢复；确要用它替换本存储的全部记录，"
            "请加 --from-other-store",
            details={"backup_store_id": backup_id, "store_id": store_id},
        )
    return (
        f"backup of another store ({backup_id}), restored as asked (--from-other-store); "
        f"this store keeps its id {store_id}"
    )


def restore(backup_file: Path, store: Store, *, from_other_store: bool = False) -> RestoreReport:
    """Replace the store's content with the backup, then verify the restored store against
    the manifest. The exclusive serving lock is taken first (``gazetteer.core.serving``), so
    that no app can start on the store between the verification and the copy; refused with
    ``Conflict`` while any process serves the store (the copy would overwrite writes the app
    has already acknowledged). The replaced store is first copied beside it
    (``replaced_copy_path``). Once the restored store matches the manifest, what the restore
    changed is compared against that copy (``restore_changes``): access withdrawn after the
    backup is withdrawn again (an audited write by ``system:restore``) and the id counters
    are moved past every id the replaced store issued, so no id is issued twice. Raises
    InvalidInput when the backup or the result fails; the replaced store is put back then.

    A backup of another store (its manifest names another store id) is refused unless
    ``from_other_store``; accounts and tokens are then still settled by username and token
    hash (``restore_changes``), and the store keeps its own id. A backup whose manifest has
    no store id (made before store ids) is restored, and the report says it was not checked."""
    target = _sqlite_file(store)
    with serving.exclusive(store):
        checked = verify_backup(backup_file)
        if not checked.ok:
            raise InvalidInput("备份文件与清单不符，拒绝恢复：" + "；".join(checked.problems))
        store.dispose()
        expected = read_manifest(backup_file)
        origin = _check_origin(expected, target, from_other_store=from_other_store)
        audit_before = _newest_audit(target)
        copy = replaced_copy_path(target)
        _copy_database(sqlite3.connect(target), copy, then="PRAGMA journal_mode=DELETE")
        try:
            return _swap_in(backup_file, store, target, copy, expected, audit_before, origin)
        except Exception as exc:
            # Never leave the live store half-restored or empty: put the replaced one back.
            store.dispose()
            _copy_database(
                sqlite3.connect(f"file:{copy}?mode=ro", uri=True),
                target,
                then="PRAGMA wal_checkpoint(TRUNCATE)",
            )
            reason = exc.message if isinstance(exc, InvalidInput) else _problem_line(exc)
            raise InvalidInput(
                f"恢复失败，已放回原来的存储（副本另存于 {copy}）：{reason}",
                details={"replaced_copy": str(copy)},
            ) from exc


def _swap_in(
    backup_file: Path,
    store: Store,
    target: Path,
    copy: Path,
    expected: dict,
    audit_before: tuple[int, str] | None,
    origin: str,
) -> RestoreReport:
    """Copy the backup over ``target`` and check it, then settle what the restore changed
    against the replaced ``copy``; any exception leaves the caller to put ``copy`` back."""
    _copy_database(
        sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True),
        target,
        then="PRAGMA wal_checkpoint(TRUNCATE)",
    )
    result = compare_manifests(expected, sqlite_manifest(target))
    if not result.ok:
        raise InvalidInput("恢复后的存储与备份清单不符：" + "；".join(result.problems))
    pair = restore_changes.open_pair(target, copy)
    try:
        changes = restore_changes.compare(pair)
        restore_changes.keep_store_id(pair)
        changes.sequences = restore_changes.advance_sequences(pair)
    finally:
        pair.close()
    restore_changes.keep_withdrawals(store, changes.withdrawals)
    return RestoreReport(result, origin, changes, audit_before, _newest_audit(target), copy)
