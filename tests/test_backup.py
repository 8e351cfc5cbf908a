"""Backup and restore: the restored store matches the backup's manifest, table by table."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from proposal_helpers import draft_road

from gazetteer.core import audit, backup
from gazetteer.core.errors import DomainError, InvalidInput
from gazetteer.core.store import Store
from gazetteer.registry_tables import proposals
from gazetteer.tables import places
from webmap.cli import main


@pytest.fixture(autouse=True)
def _sqlite_only(store):
    if store.dialect != "sqlite":
        pytest.skip(
            "the backup commands copy SQLite files; PostgreSQL uses pg_dump (docs/security.md)"
        )


def test_backup_then_restore_reproduces_every_table(store, tmp_path):
    draft_road(store)
    target = tmp_path / "backups" / "gdgis-1.sqlite"
    manifest = backup.backup(store, target)
    assert (
        manifest["tables"]["places"]["rows"] > 20_000
        and manifest["tables"]["proposals"]["rows"] == 1
    )
    assert manifest["tables"]["audit_log"]["rows"] > 20_000 and manifest["schema_revisions"]
    assert backup.verify_backup(target).ok
    # Work goes on after the backup; the restore brings back the backed-up state exactly.
    draft_road(store, "云溪路")
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar() == 2
    result = backup.restore(target, store)
    assert result.ok and result.tables == len(manifest["tables"])
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar() == 1
    assert backup.compare_manifests(
        manifest, backup.sqlite_manifest(sa.engine.make_url(store.url).database)
    ).ok
    assert audit.verify(store).ok
    draft_road(store, "云溪路")  # the restored store is writable and audited as before
    assert audit.verify(store).ok


def test_a_tampered_backup_is_refused(store, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(store, target)
    raw = sqlite3.connect(target)
    raw.create_function("gdgis_actor", 0, lambda: "intruder")  # only so the audit trigger can run
    raw.create_function("gdgis_tx", 0, lambda: None)
    raw.execute("UPDATE places SET name = '伪造' WHERE id = (SELECT min(id) FROM places)")
    raw.commit()
    raw.close()
    checked = backup.verify_backup(target)
    assert not checked.ok and any("places" in p for p in checked.problems)
    with store.read() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
    with pytest.raises(InvalidInput, match="拒绝恢复"):
        backup.restore(target, store)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(places)).scalar() == before


def test_a_manifest_that_lies_about_counts_is_caught(store, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(store, target)
    path = backup.manifest_path(target)
    manifest = json.loads(path.read_text("utf-8"))
    manifest["tables"]["divisions"]["rows"] += 1
    path.write_text(json.dumps(manifest), "utf-8")
    assert "divisions" in " ".join(backup.verify_backup(target).problems)


def test_backup_refuses_to_overwrite_and_postgres(store, tmp_path):
    target = tmp_path / "b.sqlite"
    backup.backup(store, target)
    with pytest.raises(InvalidInput):
        backup.backup(store, target)
    with pytest.raises(InvalidInput, match="pg_dump"):
        backup.backup(Store("postgresql+psycopg://nobody@127.0.0.1:1/none"), tmp_path / "pg.sqlite")


def test_admin_backup_and_restore_commands(store, tmp_path):
    base = ["--data-dir", str(tmp_path), "--database-url", store.url, "admin"]
    out = tmp_path / "nightly.sqlite"
    r = CliRunner().invoke(main, [*base, "backup", str(out)])
    assert r.exit_code == 0 and "tables" in r.output, r.output
    assert CliRunner().invoke(main, [*base, "verify-backup", str(out)]).output == f"{out}: ok\n"
    assert CliRunner().invoke(main, [*base, "restore", str(out)]).exit_code != 0  # needs --yes
    r = CliRunner().invoke(main, [*base, "restore", str(out), "--yes"])
    assert r.exit_code == 0 and "checksums match" in r.output, r.output
    r = CliRunner().invoke(main, [*base, "audit-verify"])
    assert r.exit_code == 0 and json.loads(r.output)["ok"] is True


# ---- issue 13: corrupt backups get a one-line reason; restore never runs under a server ----


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flipped":
        for offset in range(len(data) // 2, len(data) // 2 + 4096, 97):
            data[offset] ^= 0xFF
    elif how == "header":
        data[:16] = b"not a database!\x00"
    elif how == "truncated":
        del data[len(data) // 3 :]
    elif how == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flipped", "header", "truncated", "empty", "manifest"])
def test_a_corrupt_backup_gets_a_one_line_reason(store, tmp_path, how):
    target = tmp_path / "b.sqlite"
    backup.backup(store, target)
    if how == "manifest":
        backup.manifest_path(target).write_text('{"tables": ', "utf-8")
    else:
        _damage(target, how)
    checked = backup.verify_backup(target)
    assert not checked.ok and checked.problems
    assert all("\n" not in p and "Traceback" not in p for p in checked.problems)
    base = ["--database-url", store.url, "admin"]
    r = CliRunner().invoke(main, [*base, "verify-backup", str(target)])
    assert r.exit_code == 1
    assert "Traceback" not in r.output and r.output.strip()
    r = CliRunner().invoke(main, [*base, "restore", str(target), "--yes"])
    assert r.exit_code != 0 and isinstance(r.exception, InvalidInput | SystemExit)
    assert audit.verify(store).ok  # nothing was touched


def test_restore_refuses_while_the_app_serves_the_store_under_concurrent_writers(store, tmp_path):
    import gc
    import threading

    from helpers import token_headers

    from webmap import create_app

    out = tmp_path / "nightly.sqlite"
    backup.backup(store, out)
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
    headers = token_headers(store, "li", "clerk")
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer(client, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            body = {
                "kind": "naming",
                "applicant": "天河区住建局",
                "reasons": "新建道路",
                "proposed": {
                    "name": f"测试{n}路{i}号",
                    "feature_class": "交通运输设施",
                    "division_code": "440106",
                },
            }
            r = client.post("/api/proposals", json=body, headers=headers)
            if r.status_code == 201:
                acknowledged.append(r.get_json()["id"])

    threads = [threading.Thread(target=writer, args=(app.test_client(), n)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        while len(acknowledged) < 5:
            stop.wait(0.05)
        r = CliRunner().invoke(
            main, ["--database-url", store.url, "admin", "restore", str(out), "--yes"]
        )
        while len(acknowledged) < 10:  # the app keeps writing after the refusal
            stop.wait(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert r.exit_code != 0
    assert "应用正在使用此存储" in str(r.exception)
    with store.read() as conn:
        stored = set(conn.execute(sa.select(proposals.c.id)).scalars())
    assert set(acknowledged) <= stored  # no acknowledged write lost
    assert audit.verify(store).ok

    # The second action: stop the app, and the restore goes through, saying what it
    # discards (every acknowledged proposal, the backup had none) and where the replaced
    # store is kept; that copy holds every acknowledged write.
    del app, threads
    gc.collect()
    r = CliRunner().invoke(
        main, ["--database-url", store.url, "admin", "restore", str(out), "--yes"]
    )
    assert r.exit_code == 0, r.output
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar() == 0
    assert f"proposals {len(stored)}" in r.output and "discarded" in r.output
    assert "newest audit entry before: #" in r.output and "newest audit entry after: #" in r.output
    kept = Path(r.output.split("replaced store kept as ", 1)[1].splitlines()[0])
    assert kept.parent == Path(sa.engine.make_url(store.url).database).parent
    copy = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)
    try:
        assert set(acknowledged) <= {row[0] for row in copy.execute("SELECT id FROM proposals")}
    finally:
        copy.close()


def test_no_app_starts_on_a_store_being_restored(store, tmp_path):
    from gazetteer.core import serving
    from gazetteer.core.errors import Conflict
    from webmap import create_app

    with serving.exclusive(store):
        with pytest.raises(Conflict, match="正在恢复"):
            create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
    create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)


@pytest.mark.parametrize(
    "change, names",
    [
        (lambda m: m["tables"].__setitem__("alembic_version", [1]), "tables.alembic_version"),
        (lambda m: m["tables"]["alembic_version"].__setitem__("rows", "1"), "rows"),
        (lambda m: m["tables"]["alembic_version"].pop("sha256"), "sha256"),
        (lambda m: m.__setitem__("schema_revisions", "x"), "schema_revisions"),
        (lambda m: m.__setitem__("tables", []), "tables"),
        (lambda m: m.clear(), "tables"),
    ],
)
def test_a_malformed_manifest_gets_a_one_line_reason(store, tmp_path, change, names):
    """A manifest of the wrong shape (a list for a table, the string "1" for a row count)
    is refused with a one-line reason naming the field, never a TypeError traceback."""
    target = tmp_path / "b.sqlite"
    backup.backup(store, target)
    manifest = json.loads(backup.manifest_path(target).read_text("utf-8"))
    change(manifest)
    backup.manifest_path(target).write_text(json.dumps(manifest), "utf-8")
    checked = backup.verify_backup(target)
    assert not checked.ok and len(checked.problems) == 1
    assert checked.problems[0].startswith("manifest unreadable: ")
    assert names in checked.problems[0] and "\n" not in checked.problems[0]
    base = ["--database-url", store.url, "admin"]
    r = CliRunner().invoke(main, [*base, "verify-backup", str(target)])
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit)
    assert names in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, [*base, "restore", str(target), "--yes"])
    assert isinstance(r.exception, InvalidInput) and names in str(r.exception)
    assert audit.verify(store).ok


def test_a_backup_is_one_self_contained_file(store, tmp_path):
    draft_road(store)
    target = tmp_path / "backups" / "b.sqlite"
    backup.backup(store, target)
    assert backup.verify_backup(target).ok
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.sqlite", "b.sqlite.manifest.json"]


def test_restore_holds_the_store_from_before_it_verifies_the_backup(store, tmp_path, monkeypatch):
    """No app can start between the (long) verification and the copy: the lock is taken
    first. Observed by trying to start an app while the real verification runs."""
    from gazetteer.core.errors import Conflict
    from webmap import create_app

    out = tmp_path / "nightly.sqlite"
    backup.backup(store, out)
    verify = backup.verify_backup
    refused = []

    def verify_while_an_app_starts(path):
        with pytest.raises(Conflict, match="正在恢复") as exc:
            create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
        refused.append(exc.value)
        return verify(path)

    monkeypatch.setattr(backup, "verify_backup", verify_while_an_app_starts)
    report = backup.restore(out, store)
    assert refused and report.ok and report.discarded == {}
    assert report.audit_before == report.audit_after  # nothing newer was replaced
    assert report.replaced_copy.exists()


def test_an_app_starting_during_a_restore_says_why_it_waits(store):
    """``gdgis serve`` waits for a running restore with a log line, then serves; with no
    time left it is refused, having said why."""
    from gazetteer.core import serving
    from gazetteer.core.errors import Conflict

    said: list[str] = []
    with serving.exclusive(store):
        with pytest.raises(Conflict, match="正在恢复"):
            serving.hold_while_serving(store, wait_s=0.3, on_wait=said.append)
    assert len(said) == 1 and "being restored" in said[0] and "waiting" in said[0]

    said.clear()
    holding, release = threading.Event(), threading.Event()

    def restore_for_a_moment():
        with serving.exclusive(store):
            holding.set()
            release.wait(5)

    restorer = threading.Thread(target=restore_for_a_moment)
    restorer.start()
    holding.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    lock = serving.hold_while_serving(store, wait_s=30, on_wait=said.append)
    restorer.join()
    try:
        assert lock is not None and len(said) == 1 and time.monotonic() - started >= 0.4
    finally:
        lock.release()


def test_verify_backup_says_one_line_per_backup(store, tmp_path):
    """Each backup gets one line, ``FILE: ok`` or ``FILE: FAILED: reason; reason``, however
    many reasons it has (a damaged file fails both its checksum and SQLite's own check);
    exit 1 when any failed, and a good backup beside a bad one still says ok."""
    good, bad = tmp_path / "good.sqlite", tmp_path / "bad.sqlite"
    backup.backup(store, good)
    backup.backup(store, bad)
    _damage(bad, "header")
    assert len(backup.verify_backup(bad).problems) >= 2  # two reasons, still one line
    no_manifest = tmp_path / "stray.sqlite"
    no_manifest.write_bytes(good.read_bytes())
    r = CliRunner().invoke(
        main,
        [
            "--database-url",
            store.url,
            "admin",
            "verify-backup",
            str(good),
            str(bad),
            str(no_manifest),
            str(tmp_path / "missing.sqlite"),
        ],
    )
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert len(lines) == 4, r.output
    assert lines[3].startswith(f"{tmp_path / 'missing.sqlite'}: FAILED: 找不到备份文件")
    assert lines[0] == f"{good}: ok"
    assert lines[1].startswith(f"{bad}: FAILED: file checksum differs") and "; " in lines[1]
    assert lines[2].startswith(f"{no_manifest}: FAILED: ")
    r = CliRunner().invoke(main, ["--database-url", store.url, "admin", "verify-backup", str(good)])
    assert r.exit_code == 0 and r.output == f"{good}: ok\n"


def test_serve_says_once_that_it_waits_for_a_restore(store, tmp_path):
    """``gdgis serve`` started while a restore holds the store prints the waiting line once
    (it was printed by the command and again by the logger), and serves nothing yet."""
    import os
    import signal
    import subprocess
    import sys

    from gazetteer.core import serving

    log_path = tmp_path / "serve.log"
    with serving.exclusive(store), log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webmap.cli", "--data-dir", str(tmp_path)]
            + ["--database-url", store.url, "serve", "--port", "1", "--workers", "1"],
            env={**os.environ, "GDGIS_SECRET_KEY": "test-secret-key"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while "being restored" not in log_path.read_text(errors="replace"):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
            time.sleep(1.0)  # several polls of the lock later: still the one line
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    output = log_path.read_text(errors="replace")
    assert output.count("being restored") == 1, output
    assert "waiting up to 600 s" in output and "serving on" not in output


# ---- what a restore reverts, and what it keeps (tester report ops13 items 2 and 3) ----


def test_restore_names_what_it_reverts_keeps_withdrawn_access_and_never_reuses_ids(
    store, tmp_path, clock
):
    """After the backup: a token is revoked, an account deactivated, a role taken away, a
    password changed, a role given, a token issued, a proposal submitted and another
    drafted. The restore names each reversion per table and each security change, applies
    the withdrawals again (the revoked token does not come back to life), and the next
    proposal and token get ids the replaced store never issued."""
    from helpers import FAST_HASH, TEST_PASSWORD, ensure_user, token_headers
    from proposal_helpers import CLERK, perform

    from gazetteer.core import accounts
    from gazetteer.core.account_tables import api_tokens

    ensure_user(store, "wang", "officer", "approver")
    ensure_user(store, "zhang", "clerk")
    leaked = token_headers(store, "li", "clerk")["Authorization"].split()[1]
    drafted = draft_road(store)
    out = tmp_path / "nightly.sqlite"
    backup.backup(store, out)

    leaked_id = accounts.list_tokens(store, "li")[0]["id"]
    accounts.revoke_token(store, leaked_id, by="system:test")
    accounts.set_active(store, "zhang", False, by="system:test")
    accounts.set_roles(store, "wang", ["officer"], by="system:test")
    accounts.set_password(store, "li", "a new long passphrase 2", hash_method=FAST_HASH)
    accounts.set_roles(store, "zhang", ["clerk", "admin"], by="system:test")
    later_token = token_headers(store, "wang", "officer")["Authorization"].split()[1]
    perform(store, clock, drafted, "submit", CLERK)
    discarded = draft_road(store, "云溪路")
    with store.read() as conn:
        newest_token_id = conn.execute(sa.select(sa.func.max(api_tokens.c.id))).scalar()
    store.dispose()

    r = CliRunner().invoke(
        main, ["--database-url", store.url, "admin", "restore", str(out), "--yes"]
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith("backup of this store (")
    out_lines = r.output.splitlines()
    reverted = next(line for line in out_lines if line.startswith("reverted ("))
    for table in ("users", "api_tokens", "proposals"):
        assert f"{table} " in reverted, reverted
    discarded_line = next(line for line in out_lines if line.startswith("discarded ("))
    assert "proposals 1" in discarded_line and "api_tokens 1" in discarded_line
    assert f"state went back: proposals {drafted['id']}: submitted -> draft" in r.output
    security = [line for line in out_lines if line.startswith("SECURITY")]
    assert any(f"token {leaked_id} of li" in s and "revoked again" in s for s in security)
    assert any("account zhang" in s and "deactivated again" in s for s in security)
    assert any("account wang" in s and "lost role(s) approver" in s for s in security)
    assert any("account li" in s and "newer password kept" in s for s in security)
    assert any("account zhang" in s and "given role(s) admin" in s for s in security)
    assert any("issued after the backup" in s and "of wang" in s for s in security)
    assert "access withdrawal(s) made after the backup applied again" in r.output

    # The withdrawn access stays withdrawn; what was granted after the backup is gone.
    assert accounts.resolve_token(store, leaked) is None
    assert accounts.resolve_token(store, later_token) is None
    users = {u["username"]: u for u in accounts.list_users(store)}
    assert users["zhang"]["active"] is False and users["zhang"]["roles"] == ["clerk"]
    assert users["wang"]["roles"] == ["officer"]
    accounts.authenticate(store, "li", "a new long passphrase 2")
    with pytest.raises(DomainError):
        accounts.authenticate(store, "li", TEST_PASSWORD)
    with store.read() as conn:
        state = conn.execute(
            sa.select(proposals.c.state).where(proposals.c.id == drafted["id"])
        ).scalar()
    assert state == "draft"
    assert audit.verify(store).ok  # the withdrawals are an audited write

    # No id is issued twice: not the discarded proposal's, not the discarded token's.
    again = draft_road(store, "云溪路")
    assert again["id"] > discarded["id"]
    _token, record = accounts.issue_token(store, "li", "新脚本", by="system:test")
    assert record["id"] > newest_token_id
    assert audit.verify(store).ok

    # The second action: the same backup restored again. What the first restore kept
    # withdrawn stays withdrawn, and ids still move on.
    store.dispose()
    r = CliRunner().invoke(
        main, ["--database-url", store.url, "admin", "restore", str(out), "--yes"]
    )
    assert r.exit_code == 0, r.output
    assert f"token {leaked_id} of li" in r.output and "account zhang" in r.output
    assert accounts.resolve_token(store, leaked) is None
    assert draft_road(store, "云溪路")["id"] > again["id"]
    assert audit.verify(store).ok


def _backup_of(tmp_path, name: str, statements: list[str]) -> Path:
    """A backup file built by hand from ``statements``, with a manifest that matches it (as
    `gdgis admin backup` would have written for such a store)."""
    import hashlib

    path = tmp_path / name
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    manifest = backup.sqlite_manifest(path)
    manifest["file_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    backup.manifest_path(path).write_text(json.dumps(manifest), encoding="utf-8")
    return path


def _live_manifest(store) -> dict:
    return backup.sqlite_manifest(Path(sa.engine.make_url(store.url).database))


def test_a_backup_of_no_store_is_refused_and_never_restored(store, tmp_path):
    """F2: a backup without a schema revision (taken of an empty store) fails verification
    and restore, and the live store is unchanged."""
    empty = _backup_of(tmp_path, "empty.sqlite", [])
    result = backup.verify_backup(empty)
    assert not result.ok and "不是本服务的备份" in result.problems[0]
    before = _live_manifest(store)
    with pytest.raises(InvalidInput, match="不是本服务的备份"):
        backup.restore(empty, store)
    assert backup.compare_manifests(before, _live_manifest(store)).ok
    # backup itself refuses a store that was never set up
    with pytest.raises(InvalidInput, match="没有架构版本"):
        backup.backup(
            Store(f"sqlite:///{tmp_path / 'typo' / 'gdgis.sqlite'}"), tmp_path / "t.sqlite"
        )
    assert not (tmp_path / "t.sqlite").exists()
    with pytest.raises(InvalidInput, match="为空或是目录"):
        backup.backup(store, Path(""))


def test_a_restore_that_fails_after_the_swap_puts_the_replaced_store_back(store, tmp_path):
    """The backup verifies (a revision, one table, checksums match) but is not a whole
    store: settling it against the replaced store fails, and the replaced store goes back."""
    partial = _backup_of(
        tmp_path,
        "partial.sqlite",
        [
            "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
            "INSERT INTO alembic_version VALUES ('0001')",
        ],
    )
    assert backup.verify_backup(partial).ok
    before = _live_manifest(store)
    with pytest.raises(InvalidInput, match="已放回原来的存储") as caught:
        backup.restore(partial, store)
    assert Path(caught.value.details["replaced_copy"]).exists()
    assert backup.compare_manifests(before, _live_manifest(store)).ok
    draft_road(store, "云溪路")  # the store put back is writable and audited as before
    assert audit.verify(store).ok


def test_missing_tables_are_counted_on_one_short_line():
    expected = {"tables": {f"t{i:02}": {"rows": 0, "sha256": "0" * 64} for i in range(32)}}
    result = backup.compare_manifests(
        {**expected, "schema_revisions": ["x"]}, {"tables": {}, "schema_revisions": ["x"]}
    )
    assert result.problems == ["32 missing table(s): t00, t01, t02 and 29 more"]


# ---- a backup of another store: refused unless asked; accounts matched by username ----


def _gdgis(data_dir: Path, *args: str, password: str | None = None):
    return CliRunner().invoke(
        main, ["--data-dir", str(data_dir), "admin", *args], input=password and password + "\n"
    )


def _create_user(data_dir: Path, username: str, password: str, *roles: str):
    role_args = [arg for role in roles for arg in ("--role", role)]
    r = _gdgis(data_dir, "create-user", username, *role_args, "--password-stdin", password=password)
    assert r.exit_code == 0, r.output
    return r.output


def test_a_backup_of_another_store_is_refused_and_never_moves_a_password(tmp_path):
    """The tester's repro: zz (id 1 in store A) must never get alice's (id 1 in store B)
    password. Restoring A's backup over B is refused; with --from-other-store it goes
    through, accounts are settled by username (wang, in both, keeps B's password and loses
    the role B took away), and B keeps its own store id."""
    from gazetteer.core import accounts
    from gazetteer.core.store_identity import sqlite_store_id

    a, b = tmp_path / "A", tmp_path / "B"
    first = _create_user(b, "alice", "alice-password-1", "officer")
    assert first.splitlines()[0].startswith("新建了存储 created a new store at ")
    assert str(b / "gdgis.sqlite") in first.splitlines()[0]
    assert _create_user(b, "wang", "wang-password-B", "officer") == (
        "created user wang roles=officer office=-\n"  # the store exists now: no new-store line
    )
    assert "created a new store" in _create_user(a, "zz", "zz-password-0000", "clerk")
    _create_user(a, "wang", "wang-password-A", "officer", "approver")
    # Token 1 of each store: alice's revoked in B, zz's live in A (one id, two tokens).
    assert _gdgis(b, "create-token", "alice", "--name", "脚本").exit_code == 0
    assert _gdgis(b, "revoke-token", "1").exit_code == 0
    zz_token = _gdgis(a, "create-token", "zz", "--name", "脚本").stdout.split()[-1]
    out = tmp_path / "A.sqlite"
    assert _gdgis(a, "backup", str(out)).exit_code == 0
    b_file = b / "gdgis.sqlite"
    b_id, before = sqlite_store_id(b_file), backup.sqlite_manifest(b_file)
    assert b_id and backup.read_manifest(out)["store_id"] == sqlite_store_id(a / "gdgis.sqlite")
    assert b_id != backup.read_manifest(out)["store_id"]

    r = _gdgis(b, "restore", str(out), "--yes")
    assert isinstance(r.exception, InvalidInput), r.output  # `gdgis` prints "error: <message>"
    error = r.exception.message
    assert "\n" not in error and error.startswith("备份来自另一个存储"), error
    assert "--from-other-store" in error and str(a / "gdgis.sqlite") in error
    assert backup.compare_manifests(before, backup.sqlite_manifest(b_file)).ok  # untouched

    # The second action: the operator means it.
    r = _gdgis(b, "restore", str(out), "--yes", "--from-other-store")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"backup of another store ({sqlite_store_id(a / 'gdgis.sqlite')})")
    security = [line for line in r.output.splitlines() if line.startswith("SECURITY")]
    assert not any("zz" in line or "token" in line for line in security), security
    assert any(
        "account wang lost role(s) approver" in line and "newer password kept" in line
        for line in security
    ), security
    assert any("account alice was created after the backup" in line for line in security)
    store = Store(f"sqlite:///{b_file}")
    try:
        with pytest.raises(DomainError):
            accounts.authenticate(store, "zz", "alice-password-1")
        accounts.authenticate(store, "zz", "zz-password-0000")
        assert accounts.resolve_token(store, zz_token) is not None  # not revoked as alice's was
        accounts.authenticate(store, "wang", "wang-password-B")
        with pytest.raises(DomainError):
            accounts.authenticate(store, "wang", "wang-password-A")
        users = {u["username"]: u for u in accounts.list_users(store)}
        assert set(users) == {"zz", "wang"} and users["wang"]["roles"] == ["officer"]
        assert audit.verify(store).ok
    finally:
        store.dispose()
    assert sqlite_store_id(b_file) == b_id  # the id names the store, not its content

    # B's own backups still restore without the flag (same store, same id).
    own = tmp_path / "B.sqlite"
    assert _gdgis(b, "backup", str(own)).exit_code == 0
    r = _gdgis(b, "restore", str(own), "--yes")
    assert r.exit_code == 0 and r.output.startswith(f"backup of this store ({b_id})"), r.output


def test_a_backup_made_before_store_ids_still_restores_and_says_so(store, tmp_path):
    out = tmp_path / "old.sqlite"
    backup.backup(store, out)
    manifest = backup.read_manifest(out)
    del manifest["store_id"]  # as written before store ids
    backup.manifest_path(out).write_text(json.dumps(manifest), encoding="utf-8")
    assert backup.verify_backup(out).ok
    store.dispose()
    r = CliRunner().invoke(
        main, ["--database-url", store.url, "admin", "restore", str(out), "--yes"]
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith("backup made before store ids (no store id in its manifest)")
    assert "checksums match" in r.output


def test_a_session_signed_out_after_the_backup_stays_signed_out(store, tmp_path):
    """Sign-outs are access withdrawals: a restore would bring the ended session back to
    life for every copy of its cookie, so it ends it again and says so; a session open in
    the backup and never ended stays open, one started after the backup is gone."""
    from gazetteer.core import accounts

    accounts.create_user(
        store, "li", "li-password-00000", ["clerk"], hash_method="pbkdf2:sha256:1000"
    )
    ended_later = accounts.start_session(store, "li")
    kept_open = accounts.start_session(store, "li")
    out = tmp_path / "b.sqlite"
    backup.backup(store, out)
    accounts.sign_out(store, ended_later)
    started_later = accounts.start_session(store, "li")
    report = backup.restore(out, store)
    lines = [w.line for w in report.changes.withdrawals]
    assert len(lines) == 1 and "a session of li was ended after the backup" in lines[0], lines
    assert accounts.session_actor(store, "li", ended_later) is None
    assert accounts.session_actor(store, "li", kept_open).username == "li"
    assert accounts.session_actor(store, "li", started_later) is None
    assert audit.verify(store).ok
