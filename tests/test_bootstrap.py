"""scripts/bootstrap.py: the README's commands."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap", ROOT / "scripts" / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(os.name != "posix", reason="exec replaces the process on POSIX only")
def test_run_hands_its_process_to_the_server(monkeypatch):
    """`bootstrap.py run` becomes `gdgis serve` (exec), so that a service manager's SIGTERM
    to the process it started reaches gunicorn's master and stops the workers; a script
    that waited on a child would die and leave the server answering."""
    bootstrap = _bootstrap()
    called = {}

    class Replaced(Exception):
        pass

    def execv(path, argv):
        called["path"], called["argv"], called["cwd"] = path, argv, os.getcwd()
        raise Replaced

    monkeypatch.setattr(bootstrap, "ensure_venv", lambda extras: called.setdefault("venv", extras))
    monkeypatch.setattr(bootstrap.os, "execv", execv)
    monkeypatch.setattr(bootstrap.sys, "argv", ["bootstrap.py", "run", "--port", "5001"])
    monkeypatch.chdir("/")
    with pytest.raises(Replaced):
        bootstrap.main()
    assert called["venv"] == ""
    assert called["path"] == str(bootstrap.BIN / "gdgis")
    assert called["argv"] == [str(bootstrap.BIN / "gdgis"), "serve", "--port", "5001"]
    assert called["cwd"] == str(ROOT)
