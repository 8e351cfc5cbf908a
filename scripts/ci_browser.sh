#!/usr/bin/env bash
# Install Debian's Chromium (and CJK fonts for readable screenshots) for the browser tests,
# if missing. Best effort: without it the browser tests skip with their reason, and the
# rest of the suite still runs. Playwright comes from PyPI (test extra) and drives this
# Chromium through executable_path; it never downloads a browser of its own.
exec "$(dirname "$0")/ci_apt_install.sh" ci_browser chromium "; browser tests will skip" \
    chromium fonts-noto-cjk
