#!/usr/bin/env bash
# Usage: scripts/ci_apt_install.sh NAME COMMAND "WITHOUT IT" PACKAGE...
# Install Debian PACKAGEs with apt-get unless COMMAND is already on PATH; NAME prefixes the
# log lines and "WITHOUT IT" (may be empty) says what happens when it stays missing. Best
# effort: it always exits 0, so a machine without root or apt-get still runs the suite
# (the tests that need COMMAND say why they skip). ci_browser.sh and ci_gdal.sh call it.
set -uo pipefail
name=$1 command=$2 without=$3
shift 3
if command -v "$command" >/dev/null 2>&1; then
    echo "$name: $command present: $("$command" --version 2>/dev/null)"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: cannot install $1 here (not root or no apt-get)$without"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if apt-get install -y -qq "$@" >/dev/null 2>&1; then
    echo "$name: installed $("$command" --version 2>/dev/null)"
else
    echo "$name: apt-get install $1 failed$without"
fi
exit 0
