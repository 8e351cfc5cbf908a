"""Operator input to the gdgis commands: ids out of range, text with control characters.
Run as an operator would (click's runner, real SQLite files)."""

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gazetteer.core.errors import DomainError
from webmap.cli import main
from webmap.cli_params import RECORD_ID


def _commands(group: click.Group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _id_commands():
    return [
        (path, command, param)
        for path, command in _commands(main)
        for param in command.params
        if param.type is RECORD_ID
    ]


def test_every_integer_parameter_is_bounded():
    """No command takes an unbounded integer (click's INT): an id is a RECORD_ID, a count
    an IntRange. A new command with ``type=int`` fails here."""
    unbounded = [
        (" ".join(path), param.name)
        for path, command in _commands(main)
        for param in command.params
        if param.type is click.INT
    ]
    assert unbounded == []
    names = {" ".join(path) for path, _command, _param in _id_commands()}
    assert {"admin revoke-token", "boundaries export-round"} <= names


def _dummy_args(command: click.Command, skip: click.Parameter) -> list[str]:
    args = []
    for param in command.params:
        if param is skip or not param.required:
            continue
        if isinstance(param, click.Argument):
            args.append("1")
        else:
            args += [param.opts[0], "x"]
    return args


@pytest.mark.parametrize(
    "bad",
    [
        "99999999999999999999999",
        str(2**63),
        "0",
        "-1",
        "3.5",
        "七",
        "９",
        "١٢",
        " 1",
        "1 ",
        "+1",
        "",
    ],
)
def test_every_id_argument_refuses_out_of_range_ids(tmp_path, bad):
    swept = _id_commands()
    assert len(swept) >= 2
    for path, command, param in swept:
        rest = _dummy_args(command, param)
        if isinstance(param, click.Argument):  # after "--" so that "-1" is not an option
            args = ["--data-dir", str(tmp_path), *path, *rest, "--", bad]
        else:
            args = ["--data-dir", str(tmp_path), *path, param.opts[0], bad, *rest]
        result = CliRunner().invoke(main, args)
        label = " ".join(path)
        assert result.exit_code == 2, (label, bad, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), label
        assert "Error: Invalid value for" in result.output and "编号" in result.output, label
        assert "Traceback" not in result.output


def test_largest_id_is_a_clear_not_found(tmp_path):
    """The second action: an id in range that does not exist is the domain's own error."""
    data_dir = str(tmp_path / "var")
    assert CliRunner().invoke(main, ["--data-dir", data_dir, "db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(
        main, ["--data-dir", data_dir, "admin", "revoke-token", str(2**63 - 1)]
    )
    assert isinstance(result.exception, DomainError), result.exception


@pytest.mark.parametrize(
    "command",
    [
        ["admin", "list-users"],
        ["admin", "repair-text"],
        ["admin", "audit-verify"],
        ["admin", "create-token", "li", "--name", "x"],
        ["admin", "revoke-token", "1"],
        ["admin", "backup", "b.sqlite"],
        ["admin", "set-office", "li", "某局"],
        ["db", "status"],
        ["export", "places"],
        ["cleanup-build"],
    ],
)
def test_a_mistyped_data_dir_is_refused_and_creates_nothing(tmp_path, command):
    """F2: no store there: one line naming the path, exit 2, no directory or file made.
    Then the second case: a store file that was never set up (no schema revision)."""
    typo = tmp_path / "typo"
    result = CliRunner().invoke(main, ["--data-dir", str(typo), *command])
    assert result.exit_code == 2, (command, result.output, result.exception)
    assert f"没有存储：{typo / 'gdgis.sqlite'} 不存在" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not typo.exists()
    if command == ["db", "status"]:
        return  # db status reports a store without a revision ("needs: gdgis db upgrade")
    blank = tmp_path / "blank"
    blank.mkdir()
    (blank / "gdgis.sqlite").touch()
    result = CliRunner().invoke(main, ["--data-dir", str(blank), *command])
    assert result.exit_code == 2 and "没有架构版本" in result.output, result.output
    conn = sqlite3.connect(blank / "gdgis.sqlite")
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0  # nothing made
    conn.close()


@pytest.mark.parametrize("bad", ["５３２０", " 5320", "5320 ", "0", "65536", "٥٣٢٠"])
def test_serve_port_takes_ascii_digits_only(tmp_path, bad):
    """F5: refused before the store is opened or anything is served."""
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "serve", "--port", bad])
    assert result.exit_code == 2 and "Invalid value for '--port'" in result.output, result.output
    assert "端口号" in result.output and not (tmp_path / "d").exists()
    threads = CliRunner().invoke(main, ["serve", "--threads", "８"])
    assert threads.exit_code == 2 and "数目" in threads.output


@pytest.mark.parametrize(
    "args",
    [
        ["--database-url", "", "db", "status"],
        ["--data-dir", "", "db", "status"],
        ["--data-dir", " ", "db", "upgrade"],
        ["cleanup-build", "--division", ""],
    ],
)
def test_empty_option_values_are_refused_not_ignored(tmp_path, args, monkeypatch):
    """F7: an empty value (an unset variable in a script) is not "the default" or "the whole
    province": usage error, nothing done."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "为空" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_postgres_url_without_its_driver_is_one_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on an install without [postgres]
    result = CliRunner().invoke(
        main, ["--database-url", "postgresql+psycopg://x@127.0.0.1:1/db", "admin", "list-users"]
    )
    assert result.exit_code == 2 and ".[postgres]" in result.output, result.output


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("GDGIS_PIN_WORKERS", "maybe", "must be true or false"),
        ("GDGIS_RATE_LIMIT_PER_MINUTE", "abc", "must be a positive integer"),
        ("GDGIS_PIN_WORKERS", "", "must be true or false"),  # a value lost, not "off"
        ("GDGIS_MARKER_MOVED_TOLERANCE_M", "nan", "must be a positive number"),
        ("GDGIS_MARKER_MOVED_TOLERANCE_M", "inf", "must be a positive number"),
        (
            "GDGIS_DATABASE_URL",
            "garbage",
            "not a database URL: expected sqlite:///path/to/gdgis.sqlite or "
            "postgresql+psycopg://user@host/db",
        ),
        (
            "GDGIS_DATABASE_URL",
            "sqlite://",
            "an in-memory database keeps nothing: expected sqlite:///path/to/gdgis.sqlite or "
            "postgresql+psycopg://user@host/db",
        ),
        ("GDGIS_DATA_DIR", "", "must be a directory path (it is empty)"),
        ("GDGIS_DATA_DIR", "/etc/hostname/var", "/etc/hostname is a file, not a directory"),
        (
            "GDGIS_DATABASE_URL",
            "mysql://u@h/db",
            "database 'mysql' is not supported: expected sqlite:///path/to/gdgis.sqlite or "
            "postgresql+psycopg://user@host/db",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_status_2(
    tmp_path, variable, value, says
):
    """Every command refuses a bad GDGIS_ variable the same way: one line on stderr naming
    the variable as the operator set it and what it must be, exit status 2, no traceback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GDGIS_DATA_DIR": str(tmp_path), variable: value}
    for command in (["settings"], ["admin", "list-users"]):
        done = subprocess.run(
            [sys.executable, "-c", "from webmap.cli import run; run()", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.strip() == f"error: {variable}={value!r}: {says}", done.stderr


def test_a_misspelt_variable_is_said_and_settings_shows_the_values_in_effect(tmp_path):
    """An operator who writes PIN_WORKER=false (for GDGIS_PIN_WORKERS) is told on
    stderr, by every command, with the name meant; ``gdgis settings`` then shows each value
    in effect and where it came from, so the mended variable can be seen taking effect."""
    import os
    import subprocess
    import sys

    misspelt = "GDGIS_PIN_WORKERS"[:-1]  # (spelt out, docs/settings.md would have to list it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDGIS_")}
    env.update(
        {misspelt: "false"},
        GDGIS_DATA_DIR=str(tmp_path),
        GDGIS_PG_PORT="54340",  # a variable CI's scripts read: not the service's, not said
        GDGIS_SECRET_KEY="not-to-be-printed",
    )

    def settings(env):
        return subprocess.run(
            [sys.executable, "-c", "from webmap.cli import run; run()", "settings"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = settings(env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"警告：环境变量 {misspelt} 不是本服务的设置，已忽略（是否想写 GDGIS_PIN_WORKERS？）"
    )
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("GDGIS")}
    assert "= True  [default; default=True]" in lines["GDGIS_PIN_WORKERS"]
    assert f"= {tmp_path}  [environment;" in lines["GDGIS_DATA_DIR"]
    assert "= (secret)  [environment;" in lines["GDGIS_SECRET_KEY"]
    assert "not-to-be-printed" not in done.stdout + done.stderr
    # the second action: the name mended, nothing is said and the value is in effect
    del env[misspelt]
    done = settings({**env, "GDGIS_PIN_WORKERS": "false"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "GDGIS_PIN_WORKERS                = False  [environment;" in done.stdout


def test_a_replica_url_beside_a_sqlite_store_is_refused_in_one_line(tmp_path, monkeypatch):
    from gazetteer.core.settings import SettingsError, load_settings

    environ = {"GDGIS_DATA_DIR": str(tmp_path), "GDGIS_READ_DATABASE_URL": "postgresql://r@h/db"}
    with pytest.raises(SettingsError, match="needs a PostgreSQL DATABASE_URL"):
        load_settings(environ=environ)
    environ["GDGIS_DATABASE_URL"] = "postgresql+psycopg://p@h/db"
    assert load_settings(environ=environ)["READ_DATABASE_URL"] == "postgresql://r@h/db"


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path):
    """`db upgrade` creates the store's directory: a path that settings cannot see is
    wrong (/proc takes no new folders) is refused naming the directory, no traceback. (A
    path through a file is refused by the settings already, in the test above.)"""
    result = CliRunner().invoke(
        main, ["db", "upgrade"], env={"GDGIS_DATA_DIR": "/proc/gdgis-not-here/var"}
    )
    assert result.exit_code == 2, result.output
    assert "无法创建存储目录 /proc/gdgis-not-here：" in result.output, result.output
    assert not Path("/proc/gdgis-not-here").exists()


def test_set_password_ends_sessions_and_names_an_unknown_user_before_asking(tmp_path):
    from gazetteer.core import accounts
    from gazetteer.core.errors import Unauthenticated
    from gazetteer.core.store import Store

    base = ["--data-dir", str(tmp_path)]
    made = CliRunner().invoke(
        main,
        [*base, "admin", "create-user", "wang", "--role", "officer", "--password-stdin"],
        input="the first long passphrase\n",
    )
    assert made.exit_code == 0, made.output
    store = Store(f"sqlite:///{tmp_path / 'gdgis.sqlite'}")
    session_id = accounts.start_session(store, "wang")
    unknown = CliRunner().invoke(main, [*base, "admin", "set-password", "nobody"])
    # (`gdgis` prints a DomainError as one line: webmap.cli.run)
    assert isinstance(unknown.exception, DomainError) and "用户不存在" in str(unknown.exception)
    assert "密码" not in unknown.output  # refused before asking
    short = CliRunner().invoke(
        main, [*base, "admin", "set-password", "wang", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and accounts.session_actor(store, "wang", session_id)
    changed = CliRunner().invoke(
        main, [*base, "admin", "set-password", "wang"], input="a second passphrase\n" * 2
    )
    assert changed.exit_code == 0 and "open sessions ended" in changed.output, changed.output
    assert accounts.session_actor(store, "wang", session_id) is None
    assert accounts.authenticate(store, "wang", "a second passphrase").username == "wang"
    with pytest.raises(Unauthenticated):
        accounts.authenticate(store, "wang", "the first long passphrase")
    store.dispose()


def test_a_store_file_that_is_not_sqlite_is_one_line_and_left_as_it_was(tmp_path):
    import subprocess
    import sys

    other = tmp_path / "notes.txt"
    other.write_text("# not a database\n" * 200)
    before = other.read_bytes()
    for command in (["db", "status"], ["admin", "list-users"]):
        done = subprocess.run(
            [sys.executable, "-c", "from webmap.cli import run; run()"]
            + ["--database-url", f"sqlite:///{other}", *command],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.strip().startswith("error: 存储文件不是 SQLite 数据库"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert other.read_bytes() == before
