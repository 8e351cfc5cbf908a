#!/usr/bin/env bash
# Install Debian's GDAL command-line tools (ogr2ogr, ogrinfo) for the OGC API client test
# (tests/test_gdal_client.py), if missing. Best effort like ci_browser.sh: without them the
# test skips, except under CI=true, where a missing ogr2ogr fails the test.
exec "$(dirname "$0")/ci_apt_install.sh" ci_gdal ogr2ogr "" gdal-bin
