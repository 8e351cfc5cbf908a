#!/usr/bin/env python3
"""Set up and run the project on a fresh machine that has only Python 3.11+.

    python3 scripts/bootstrap.py run     # venv + install + store + Guangdong data, serve on :5000
    python3 scripts/bootstrap.py test    # venv + install with test extras, run the test suite
    python3 scripts/bootstrap.py lint    # the same venv, ruff check and ruff format --check

``test`` also installs the ``postgres`` extra (the psycopg driver), so the same venv runs
the suite on PostgreSQL + PostGIS when GDGIS_TEST_DATABASE_URL is set (see .ci/run).

Creates ./.venv, installs the project from its own setup.cfg (nothing installed by hand
is relied upon), then hands over to the ``gdgis`` CLI or pytest. Extra arguments after
the sub-command are passed through (e.g. ``test -k search``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def sh(*cmd: str | os.PathLike, **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def ensure_venv(extras: str) -> None:
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    fingerprint = hashlib.sha256((ROOT / "setup.cfg").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    if sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip") != 0:
        sys.exit("pip upgrade failed")
    target = f".[{extras}]" if extras else "."
    if sh(PY, "-m", "pip", "install", "--quiet", "-e", target) != 0:
        sys.exit("installing the project failed")
    stamp.write_text(fingerprint)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "lint"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        ensure_venv("")
        serve = [str(BIN / "gdgis"), "serve", *rest]
        if os.name == "posix":
            # The server takes over this process, so that a service manager's SIGTERM (or
            # kill) reaches gunicorn's master and stops the workers, instead of ending
            # this script and leaving the server running.
            print("+", " ".join(serve), flush=True)
            os.chdir(ROOT)
            os.execv(serve[0], serve)
        sys.exit(sh(*serve))
    ensure_venv("test,postgres")
    if command == "lint":
        ruff = BIN / "ruff"
        sys.exit(sh(ruff, "check", ".") or sh(ruff, "format", "--check", "."))
    code = sh(PY, "-m", "pytest", *rest)
    if code == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
