#!/usr/bin/env python3
"""Save PNGs of every page at tablet size (1024x768 and 768x1024) into docs/screenshots/.

Runs the browser tests (tests/browser) with ``GDGIS_SCREENSHOT_DIR`` set: the pages are
photographed in the states the tests bring them to (map, inspection online/offline/synced,
compliance findings and 上图, search, place, boundaries). Needs Debian's chromium and
Playwright from PyPI (never ``playwright install``).

    python scripts/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    target = ROOT / "docs" / "screenshots"
    env = dict(os.environ, GDGIS_SCREENSHOT_DIR=str(target))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "browser", "tests/browser"], cwd=ROOT, env=env
    )
    for png in sorted(target.glob("*.png")):
        print(png.relative_to(ROOT))
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
