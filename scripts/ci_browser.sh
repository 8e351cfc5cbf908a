#!/usr/bin/env bash
# Install Debian's Chromium (and CJK fonts for readable screenshots) for the browser tests,
# if missing. Best effort: without it the browser tests skip with their reason, and the
# rest of the suite still runs. Playwright comes from PyPI (test extra) and drives this
# Chromium through executable_path; it never downloads a browser of its own.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "ci_browser: chromium present: $(chromium --version 2>/dev/null)"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ci_browser: cannot install chromium here (not root or no apt-get); browser tests will skip"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1; then
    echo "ci_browser: installed $(chromium --version 2>/dev/null)"
else
    echo "ci_browser: apt-get install chromium failed; browser tests will skip"
fi
exit 0
