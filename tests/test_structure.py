"""The package structure, read from the source with ``ast``: dependencies point one way
(webmap → boundaries → gazetteer), also through ``importlib.import_module("…")``, and no
blueprint module imports another (shared request helpers live in non-blueprint modules such
as ``webmap.context``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Every module ``path`` imports: import statements at any depth (relative ones
    resolved against ``package``, by default the file's own), and string arguments of
    ``importlib.import_module`` / ``__import__``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                else:  # a computed name cannot be checked: forbid it in the packages
                    found.add("<dynamic>")
    return found


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def is_blueprint_module(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (
                getattr(func, "id", None) == "Blueprint"
                or getattr(func, "attr", None) == "Blueprint"
            ):
                return True
    return False


def test_the_import_parser_sees_every_form(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text(
        "import importlib\n"
        "import boundaries.tables\n"
        "from webmap import context\n"
        "def f():\n"
        "    from boundaries.markers import STATES\n"
        "    importlib.import_module('webmap.errors')\n"
        "    __import__('boundaries.io')\n"
        "    importlib.import_module(name)\n"
        "    from ..webmap import errors\n",
        encoding="utf-8",
    )
    found = imported_modules(sample, package="gazetteer.rules")
    assert {
        "boundaries.tables",
        "webmap",
        "webmap.context",
        "boundaries.markers",
        "webmap.errors",
        "boundaries.io",
        "<dynamic>",
        "gazetteer.webmap.errors",
    } <= found


def test_gazetteer_imports_neither_boundaries_nor_webmap():
    offences = {
        module_name(path): sorted(
            m
            for m in imported_modules(path)
            if m == "<dynamic>" or m.split(".")[0] in ("boundaries", "webmap")
        )
        for path in python_files("gazetteer")
    }
    assert {k: v for k, v in offences.items() if v} == {}


def test_boundaries_does_not_import_webmap():
    offences = {
        module_name(path): sorted(m for m in imported_modules(path) if m.split(".")[0] == "webmap")
        for path in python_files("boundaries")
    }
    assert {k: v for k, v in offences.items() if v} == {}


def test_no_blueprint_module_imports_another():
    blueprints = {module_name(p) for p in python_files("webmap") if is_blueprint_module(p)}
    assert {"webmap.search_api", "webmap.registry_api", "webmap.fieldwork", "webmap.auth"} <= (
        blueprints
    )
    offences = {}
    for path in python_files("webmap"):
        name = module_name(path)
        if name in blueprints:
            others = sorted((imported_modules(path) & blueprints) - {name})
            if others:
                offences[name] = others
    assert offences == {}


def test_every_blueprint_is_registered_by_the_factory():
    from webmap import BLUEPRINT_MODULES

    blueprints = {module_name(p) for p in python_files("webmap") if is_blueprint_module(p)}
    assert blueprints == set(BLUEPRINT_MODULES)
