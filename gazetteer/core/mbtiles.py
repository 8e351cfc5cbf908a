"""Raster tiles from an MBTiles package (SQLite, MBTiles 1.3) and Web-Mercator tile maths.

An operator supplies the package (e.g. made with GDAL: ``gdal_translate -of MBTILES`` then
``gdaladdo``); the app only reads it. MBTiles rows are TMS (y counted from the south):
``tile_row = 2**z - 1 - y`` for the XYZ ``y`` that web maps ask for. Coordinates in are
lon/lat degrees (CGCS2000 ≈ WGS84 at map scale).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

MAX_ZOOM = 22


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ (x, y) of the tile holding (lon, lat) at zoom ``z`` (Web Mercator, y from north)."""
    lat = max(min(lat, 85.05112878), -85.05112878)
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_in_bbox(
    minx: float, miny: float, maxx: float, maxy: float, zooms
) -> list[tuple[int, int, int]]:
    """(z, x, y) of every tile covering the lon/lat box at each zoom, low zooms first."""
    out = []
    for z in zooms:
        x0, y0 = tile_xy(minx, maxy, z)
        x1, y1 = tile_xy(maxx, miny, z)
        out.extend((z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    return out


class MBTiles:
    """Read-only access to one package; a connection per call (thread-safe, and the file
    may be replaced by the operator while the app runs)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def metadata(self) -> dict[str, str]:
        with self._connect() as conn:
            return dict(conn.execute("SELECT name, value FROM metadata").fetchall())

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile image for XYZ (z, x, y), or None where the package has none."""
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        return row[0] if row else None

    def tile_sizes(self, tiles) -> dict[tuple[int, int, int], int]:
        """Bytes of each present tile among ``tiles`` ((z, x, y) XYZ)."""
        sizes = {}
        with self._connect() as conn:
            for z, x, y in tiles:
                row = conn.execute(
                    "SELECT length(tile_data) FROM tiles "
                    "WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                    (z, x, 2**z - 1 - y),
                ).fetchone()
                if row:
                    sizes[(z, x, y)] = row[0]
        return sizes

    def zoom_range(self) -> tuple[int, int]:
        with self._connect() as conn:
            low, high = conn.execute(
                "SELECT min(zoom_level), max(zoom_level) FROM tiles"
            ).fetchone()
        return (low or 0, high or 0)


def write_package(path: Path, tiles: dict[tuple[int, int, int], bytes], name: str) -> Path:
    """Write an MBTiles package of PNG ``tiles`` ({(z, x, y) XYZ: bytes}): for tests and
    for operators making a small package from tiles they hold."""
    path = Path(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        zooms = [z for z, _, _ in tiles] or [0]
        conn.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [
                ("name", name),
                ("format", "png"),
                ("type", "baselayer"),
                ("minzoom", str(min(zooms))),
                ("maxzoom", str(max(zooms))),
            ],
        )
        conn.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
    return path
