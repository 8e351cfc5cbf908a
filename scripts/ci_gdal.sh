#!/usr/bin/env bash
# Install Debian's GDAL command-line tools (ogr2ogr, ogrinfo) for the OGC API client test
# (tests/test_gdal_client.py), if missing. Best effort like ci_browser.sh: without them the
# test skips, except under CI=true, where a missing ogr2ogr fails the test.
set -uo pipefail
if command -v ogr2ogr >/dev/null 2>&1; then
    echo "ci_gdal: ogr2ogr present: $(ogr2ogr --version 2>/dev/null)"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ci_gdal: cannot install gdal-bin here (not root or no apt-get)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if apt-get install -y -qq gdal-bin >/dev/null 2>&1; then
    echo "ci_gdal: installed $(ogr2ogr --version 2>/dev/null)"
else
    echo "ci_gdal: apt-get install gdal-bin failed"
fi
exit 0
