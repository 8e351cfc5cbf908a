"""``gdgis admin``: accounts, API tokens, backup/restore and the audit-log check.

    gdgis admin create-user NAME --role clerk [--role officer]   (asks for the password)
    gdgis admin set-password NAME                 (asks for the new password; sessions end)
    gdgis admin set-roles NAME --role approver
    gdgis admin set-office NAME 天河区民政局区划地名科  (clerks of one office share its proposals)
    gdgis admin deactivate NAME | activate NAME
    gdgis admin list-users
    gdgis admin create-token NAME --name 用途      (prints the token once)
    gdgis admin revoke-token TOKEN_ID
    gdgis admin backup FILE                       (SQLite; writes FILE.manifest.json)
    gdgis admin verify-backup FILE...             (one line per backup: ok or the reasons)
    gdgis admin restore FILE --yes [--from-other-store]  (refused while the app serves)
    gdgis admin audit-verify
    gdgis admin repair-text [--apply]              (rows stored with invalid text)

Thin: each command calls one function of ``gazetteer.core.accounts``, ``gazetteer.core.backup`` or
``gazetteer.core.audit``; changes made here are recorded in the audit log as ``system:cli``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gazetteer.core import accounts, audit, migrate, text_repair
from gazetteer.core import backup as backup_service
from gazetteer.core.errors import InvalidInput
from gazetteer.core.text import displayable
from webmap.cli_params import RECORD_ID

CLI_ACTOR = "system:cli"


@click.group("admin")
def admin() -> None:
    """Accounts, tokens, backup and restore, audit check."""


def _roles_option(f):
    return click.option(
        "--role",
        "roles",
        multiple=True,
        required=True,
        type=click.Choice(accounts.ROLES),
        help="Repeat for several roles.",
    )(f)


def _password_option(f):
    return click.option(
        "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
    )(f)


def _read_password(from_stdin: bool) -> str:
    """The password: one line of standard input (scripts), or asked twice on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("密码 password", hide_input=True, confirmation_prompt=True)


@admin.command("create-user")
@click.argument("username")
@_roles_option
@_password_option
@click.option("--office", help="The office the user works in (clerks of one office share work).")
@click.pass_obj
def create_user(
    obj, username: str, roles: tuple[str, ...], password_stdin: bool, office: str | None
) -> None:
    """Create a user with a password, roles and (optionally) an office."""
    store = obj.store_to_set_up()
    from webmap.cli import upgrade_schema  # cli imports this module at its end

    new_store = not migrate.current_revisions(store)
    upgrade_schema(store)
    if new_store:  # a mistyped --data-dir must show, not pass for the real store
        where = store.engine.url.render_as_string(hide_password=True)
        click.echo(f"新建了存储 created a new store at {where} (--data-dir 是否写错？)")
    password = _read_password(password_stdin)
    user = accounts.create_user(store, username, password, roles, by=CLI_ACTOR, office=office)
    click.echo(
        f"created user {user['username']} roles={','.join(user['roles'])} office={office or '-'}"
    )


@admin.command("set-password")
@click.argument("username")
@_password_option
@click.pass_obj
def set_password(obj, username: str, password_stdin: bool) -> None:
    """Give a user a new password (a forgotten or leaked one): every session signed in with
    the old one ends at once; the user's API tokens are kept (revoke-token ends those)."""
    store = obj.store
    accounts.user_exists(store, username)  # before asking for a password
    accounts.set_password(store, username, _read_password(password_stdin), by=CLI_ACTOR)
    click.echo(f"{username}: password changed, open sessions ended")


@admin.command("set-roles")
@click.argument("username")
@_roles_option
@click.pass_obj
def set_roles(obj, username: str, roles: tuple[str, ...]) -> None:
    accounts.set_roles(obj.store, username, roles, by=CLI_ACTOR)
    click.echo(f"{username}: roles={','.join(sorted(roles))}")


@admin.command("set-office")
@click.argument("username")
@click.argument("office", required=False)
@click.pass_obj
def set_office(obj, username: str, office: str | None) -> None:
    """Move a user to OFFICE (leave it out: no office). Proposals keep the office they were
    drafted in."""
    accounts.set_office(obj.store, username, office, by=CLI_ACTOR)
    click.echo(f"{username}: office={office or '-'}")


def _set_active_command(name: str, active: bool, help_text: str, done: str):
    """``gdgis admin NAME USERNAME``: set the user's active flag to ``active``."""

    @admin.command(name, help=help_text)
    @click.argument("username")
    @click.pass_obj
    def command(obj, username: str) -> None:
        accounts.set_active(obj.store, username, active, by=CLI_ACTOR)
        click.echo(f"{username}: {done}")

    return command


deactivate = _set_active_command(
    "deactivate",
    False,
    "Stop a user signing in or using tokens (their sessions end at once).",
    "deactivated",
)
activate = _set_active_command(
    "activate", True, "Let a deactivated user sign in and use their tokens again.", "active"
)


@admin.command("list-users")
@click.pass_obj
def list_users(obj) -> None:
    """One line per user: name, active, roles, office. Values are shown with control
    characters escaped (``displayable``), so no stored value can add a line. With none,
    says so on stderr (stdout stays empty for scripts)."""
    users = accounts.list_users(obj.store)
    if not users:
        click.echo("还没有用户 no users yet: gdgis admin create-user NAME --role ROLE", err=True)
    for u in users:
        click.echo(
            f"{displayable(u['username']):24} {'active' if u['active'] else 'inactive':9} "
            f"{','.join(u['roles']):32} {displayable(u['office'] or '-')}"
        )


@admin.command("create-token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (shown in lists).")
@click.pass_obj
def create_token(obj, username: str, name: str) -> None:
    """Issue an API token; it is printed once and stored only as a SHA-256."""
    token, record = accounts.issue_token(obj.store, username, name, by=CLI_ACTOR)
    click.echo(
        f"token id {record['id']} for {username} ({name}); use as 'Authorization: Bearer <token>':",
        err=True,
    )
    click.echo(token)


@admin.command("revoke-token")
@click.argument("token_id", type=RECORD_ID)
@click.pass_obj
def revoke_token(obj, token_id: int) -> None:
    accounts.revoke_token(obj.store, token_id, by=CLI_ACTOR)
    click.echo(f"token {token_id} revoked")


@admin.command("backup")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup_cmd(obj, output: Path) -> None:
    """Copy the SQLite store online to OUTPUT and write OUTPUT.manifest.json."""
    manifest = backup_service.backup(obj.store, output)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(
        f"{output}: {len(manifest['tables'])} tables, {rows} rows, "
        f"manifest {backup_service.manifest_path(output)}"
    )


@admin.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm replacing the store's content.")
@click.option(
    "--from-other-store",
    is_flag=True,
    help="Allow a backup of another store (refused otherwise: a mistyped --data-dir).",
)
@click.pass_obj
def restore_cmd(obj, backup_file: Path, yes: bool, from_other_store: bool) -> None:
    """Replace the store with BACKUP_FILE, verified against its manifest before and after.
    The replaced store is kept beside it (STORE.replaced-<UTC time>) and what it held beyond
    the backup is listed."""
    if not yes:
        raise click.UsageError(
            "restore replaces every record in the store: stop the app, then pass --yes"
        )
    report = backup_service.restore(backup_file, obj.store, from_other_store=from_other_store)
    changes = report.changes
    click.echo(report.origin)
    click.echo(f"replaced store kept as {report.replaced_copy}")
    for kind, meaning in (
        ("discarded", "rows the replaced store held beyond the backup's"),
        ("reverted", "rows changed after the backup, back as the backup holds them"),
        ("revived", "rows deleted after the backup, back again"),
    ):
        counts = changes.counts(kind)
        listed = ", ".join(f"{t} {n}" for t, n in counts.items()) if counts else "nothing"
        click.echo(f"{kind} ({meaning}): {listed}")
    for line in changes.states:
        click.echo(f"state went back: {line}")
    for withdrawal in changes.withdrawals:
        click.echo(f"SECURITY kept: {withdrawal.line}")
    for line in changes.security:
        click.echo(f"SECURITY reverted: {line}")
    if changes.sequences:
        moved = ", ".join(f"{t} {new}" for t, (_old, new) in changes.sequences.items())
        click.echo(f"ids continue past the replaced store's (never issued twice): {moved}")
    for label, newest in (("before", report.audit_before), ("after", report.audit_after)):
        click.echo(
            f"newest audit entry {label}: " + (f"#{newest[0]} at {newest[1]}" if newest else "none")
        )
    click.echo(
        f"restored {backup_file}: {report.tables} tables, counts and checksums match the manifest"
        + (
            f"; then {len(changes.withdrawals)} access withdrawal(s) made after the backup "
            "applied again (audited as system:restore)"
            if changes.withdrawals
            else ""
        )
    )


@admin.command("verify-backup")
@click.argument(
    "backup_files",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),  # a missing one fails on its own line
)
def verify_backup_cmd(backup_files: tuple[Path, ...]) -> None:
    """Check each backup against its manifest: one line per backup, ``FILE: ok`` or
    ``FILE: FAILED: reason; reason`` (a script can grep it). Exit 1 when any failed."""
    failed = 0
    for backup_file in backup_files:
        try:
            result = backup_service.verify_backup(backup_file)
            problems = result.problems
        except (
            InvalidInput
        ) as exc:  # missing, or no manifest beside it: this backup fails, not the run
            problems = [exc.message]
        failed += bool(problems)
        verdict = "FAILED: " + "; ".join(problems) if problems else "ok"
        click.echo(f"{displayable(backup_file)}: {displayable(verdict)}")
    sys.exit(1 if failed else 0)


@admin.command("audit-verify")
@click.pass_obj
def audit_verify(obj) -> None:
    """Check that every row is accounted for in the audit log and the log is untouched."""
    report = audit.verify(obj.store)
    click.echo(
        json.dumps(
            {
                "ok": report.ok,
                "entries": report.entries,
                "tables": report.tables,
                "problems": report.problems,
            },
            ensure_ascii=False,
        )
    )
    sys.exit(0 if report.ok else 1)


@admin.command("repair-text")
@click.option("--apply", is_flag=True, help="Rewrite the bad values (default: only list them).")
@click.pass_obj
def repair_text_cmd(obj, apply: bool) -> None:
    """List rows stored with invalid text (lone surrogates, control characters, not NFC; on
    SQLite also bytes that are not UTF-8 and BLOBs in text columns) or non-finite numbers,
    one line each (``table[key].column: problem``); with --apply, repair them (surrogates,
    controls and undecodable bytes become U+FFFD, a NaN/infinite position unknown) in one
    audited write. Exit 1 when bad values remain (listed, or left for a person)."""
    found = text_repair.find_invalid_text(obj.store)
    for bad in found:
        click.echo(bad.line())
    left = [bad for bad in found if bad.problem in text_repair.NOT_REPAIRED]
    if not apply:
        repairable = len(found) - len(left)
        click.echo(
            f"{len(found)} value(s) with invalid text"
            + (f" ({repairable} repaired by --apply)" if repairable else "")
        )
        sys.exit(1 if found else 0)
    repaired = text_repair.repair_stored_text(obj.store, actor=CLI_ACTOR)
    click.echo(f"repaired {len(repaired)} value(s)")
    if left:
        click.echo(f"{len(left)} value(s) left as stored (not JSON: correct them by hand)")
    sys.exit(1 if left else 0)
