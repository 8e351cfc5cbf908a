"""The reference pages list what the code has: every `gdgis` command in docs/cli.md, every
`GDGIS_` environment variable the code reads in docs/settings.md, every docs/*.md page in
the README's documentation table. A command, variable or page added without its line fails
here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

import click

from gazetteer.core.settings import ENV_PREFIX, SETTINGS
from webmap.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Where the code reads environment variables: the app, its scripts, tests and benchmarks.
CODE_DIRS = ("gazetteer", "boundaries", "webmap", "scripts", "tests", "benchmarks")
VARIABLE = re.compile(r"\bGDGIS_[A-Z0-9_]*[A-Z0-9]\b")


def command_paths(command: click.Command, path: tuple[str, ...] = ("gdgis",)) -> list[str]:
    """Every leaf command under ``command`` as typed: ``gdgis admin create-user``."""
    if isinstance(command, click.Group):
        return [
            p for name, sub in command.commands.items() for p in command_paths(sub, (*path, name))
        ]
    return [" ".join(path)]


def test_cli_md_lists_every_command() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = command_paths(main)
    assert len(commands) > 20 and "gdgis boundaries staff" in commands
    missing = [c for c in commands if not re.search(rf"`{re.escape(c)}[` ]", text)]
    assert missing == [], f"docs/cli.md has no line for {missing}"


def variables_read_by_the_code() -> set[str]:
    names = {ENV_PREFIX + s.name for s in SETTINGS}
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".sh") and path != Path(__file__):
                names.update(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names


def test_settings_md_lists_every_environment_variable() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    names = variables_read_by_the_code()
    assert {"GDGIS_TOKEN_RATE_LIMIT_PER_MINUTE", "GDGIS_PG_DIR"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert missing == [], f"docs/settings.md does not list {missing}"


def test_readme_documentation_table_lists_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Documentation", 1)[1]
    listed = set(re.findall(r"^\| \[docs/([^\]]+\.md)\]\(docs/\1\) \|", table, re.M))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - listed == set(), f"README's documentation table misses {sorted(pages - listed)}"
    assert listed - pages == set(), f"README's documentation table lists {sorted(listed - pages)}"
