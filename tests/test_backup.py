"""Backup and restore: the restored store matches the backup's manifest, table by table."""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gazetteer import workflow
from gazetteer.core import audit, backup
from gazetteer.core.actors import Actor
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.registry_tables import proposals
from gazetteer.tables import places
from webmap.cli import main

CLERK = Actor("clerk_li", frozenset({"clerk"}))


@pytest.fixture(autouse=True)
def _sqlite_only(store):
    if store.dialect != "sqlite":
        pytest.skip(
            "the backup commands copy SQLite files; PostgreSQL uses pg_dump (docs/security.md)"
        )


def add_proposal(store, name="长乐路"):
    return workflow.create_proposal(
        store,
        CLERK,
        kind="naming",
        applicant="天河区住建局",
        reasons="新建道路",
        proposed={"name": name, "feature_class": "交通运输设施", "division_code": "440106"},
    )


def test_backup_then_restore_reproduces_every_table(store, tmp_path):
    add_proposal(store)
    target = tmp_path / "backups" / "gdgis-1.sqlite"
    manifest = backup.backup(store, target)
    assert (
        manifest["tables"]["places"]["rows"] > 20_000
        and manifest["tables"]["proposals"]["rows"] == 1
    )
    assert manifest["tables"]["audit_log"]["rows"] > 20_000 and manifest["schema_revisions"]
    assert backup.verify_backup(target).ok
    # Work goes on after the backup; the restore brings back the backed-up state exactly.
    add_proposal(store, "云溪路")
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
    add_proposal(store, "云溪路")  # the restored store is writable and audited as before
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
    assert CliRunner().invoke(main, [*base, "verify-backup", str(out)]).output.strip() == "ok"
    assert CliRunner().invoke(main, [*base, "restore", str(out)]).exit_code != 0  # needs --yes
    r = CliRunner().invoke(main, [*base, "restore", str(out), "--yes"])
    assert r.exit_code == 0 and "checksums match" in r.output, r.output
    r = CliRunner().invoke(main, [*base, "audit-verify"])
    assert r.exit_code == 0 and json.loads(r.output)["ok"] is True
