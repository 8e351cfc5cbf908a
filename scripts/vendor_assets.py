#!/usr/bin/env python3
"""Copy the browser libraries the pages use from their npm packages into webmap/static/vendor.

Every asset is then served by the app itself: pages work with no internet (no CDN).
Exact versions are pinned here and recorded in webmap/static/vendor/VERSIONS.txt with
the SHA-256 of every file copied. Needs npm on PATH (only for re-vendoring; the files
are committed).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from build_data import npm_pack

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "webmap" / "static" / "vendor"
PACKAGES = {
    # npm spec: (target folder, files to copy from the package, licence file)
    "leaflet@1.9.4": (
        "leaflet",
        [
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ],
        "LICENSE",
    ),
    "leaflet.markercluster@1.5.3": (
        "leaflet.markercluster",
        [
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
        ],
        "MIT-LICENCE.txt",
    ),
    # Mapbox Vector Tiles in Leaflet (bundled with its pbf decoder); the map's tiled layers
    "leaflet.vectorgrid@1.3.0": (
        "leaflet.vectorgrid",
        ["dist/Leaflet.VectorGrid.bundled.min.js"],
        "README.md",  # the licence (Beerware) is stated in the README; the package has no file
    ),
}


def main() -> None:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (folder, files, licence) in PACKAGES.items():
            unpack, info = npm_pack(spec, Path(tmp), Path(tmp) / folder)
            target = VENDOR / folder
            shutil.rmtree(target, ignore_errors=True)
            lines.append(f"{spec}  integrity {info['integrity']}")
            for rel in files + [licence]:
                src = unpack / "package" / rel
                dst = (
                    target / Path(rel).relative_to("dist")
                    if rel.startswith("dist/")
                    else target / rel
                )
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                lines.append(
                    f"  {hashlib.sha256(dst.read_bytes()).hexdigest()}  {dst.relative_to(VENDOR)}"
                )
    (VENDOR / "VERSIONS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
