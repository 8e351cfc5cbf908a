"""Operator input to the gdgis commands: ids out of range, text with control characters.
Run as an operator would (click's runner, real SQLite files)."""

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


@pytest.mark.parametrize("bad", ["99999999999999999999999", str(2**63), "0", "-1", "3.5", "七"])
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
