"""Reverse lookup: which divisions contain a point, and which named places are nearest.

All coordinates are CGCS2000 longitude/latitude in degrees (EPSG:4490, x = lon, y = lat);
convert other input with :mod:`gazetteer.core.crs` first (or pass ``crs_tag``).

:class:`DivisionLocator` answers "which province / city / county is this point in". It is
exact: its answer is always the same as testing ``polygon.contains(point)`` against every
polygon (a point exactly on a boundary is in neither side, as with shapely). Speed comes
from a lookup grid per level over the area of interest (Guangdong by default): a cell that
no boundary of that level passes through lies wholly inside one polygon (or outside all),
so a point in it is answered by an array look-up; only points in the few cells that a
boundary crosses are tested exactly, with a shapely STRtree ``within`` query.

:class:`NearestPlaces` (module :mod:`gazetteer.nearest`, re-exported here) finds the named
places nearest a point by geodesic distance on the CGCS2000 ellipsoid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gazetteer.core import crs
from gazetteer.nearest import NearestPlaces, nearest_places

LOCATOR_LEVELS = ("province", "city", "county")
DEFAULT_CELL_DEG = 0.01  # about 1 km: a few percent of cells in Guangdong touch a boundary
_OUTSIDE = -1
_BOUNDARY = -2


@dataclass(frozen=True)
class DivisionFeature:
    """One division polygon: CGCS2000 lon/lat (Multi)Polygon."""

    code: str
    level: str
    parent_code: str | None
    name: str
    geometry: BaseGeometry


class _LevelGrid:
    """Polygons of one level, a cell grid over them, and an STRtree for exact tests."""

    def __init__(
        self,
        features: list[DivisionFeature],
        bounds: tuple[float, float, float, float],
        cell_deg: float,
    ):
        self.features = features
        self.geoms = np.array([f.geometry for f in features], dtype=object)
        for g in self.geoms:
            shapely.prepare(g)
        self.tree = shapely.STRtree(self.geoms)
        self.x0, self.y0 = bounds[0], bounds[1]
        self.cell = cell_deg
        self.nx = max(1, int(np.ceil((bounds[2] - bounds[0]) / cell_deg)))
        self.ny = max(1, int(np.ceil((bounds[3] - bounds[1]) / cell_deg)))
        self.grid = self._build_grid()

    def _build_grid(self) -> np.ndarray:
        grid = np.full((self.ny, self.nx), _OUTSIDE, dtype=np.int32)
        if not len(self.geoms):
            return grid
        # 1. Boundary cells (conservative): densify every ring so consecutive vertices are at
        #    most half a cell apart; then any point of a ring lies within the 3x3 block around
        #    the cell of some vertex, so marking those blocks covers every cell a ring touches.
        rings = shapely.segmentize(shapely.boundary(self.geoms), self.cell / 2.0)
        xy = shapely.get_coordinates(rings)
        ix = np.floor((xy[:, 0] - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((xy[:, 1] - self.y0) / self.cell).astype(np.int64)
        boundary = np.zeros((self.ny + 2, self.nx + 2), dtype=bool)  # padded by one cell
        keep = (ix >= -1) & (ix <= self.nx) & (iy >= -1) & (iy <= self.ny)
        ix, iy = ix[keep] + 1, iy[keep] + 1
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                jx, jy = ix + dx, iy + dy
                ok = (jx >= 0) & (jx < self.nx + 2) & (jy >= 0) & (jy < self.ny + 2)
                boundary[jy[ok], jx[ok]] = True
        boundary = boundary[1:-1, 1:-1]
        grid[boundary] = _BOUNDARY
        # 2. Every other cell is uncut by this level's boundaries, so its centre's answer holds
        #    for the whole cell. Test centres polygon by polygon, only inside each bbox.
        for idx, geom in enumerate(self.geoms):
            minx, miny, maxx, maxy = geom.bounds
            cx0 = max(0, int(np.floor((minx - self.x0) / self.cell)))
            cx1 = min(self.nx, int(np.ceil((maxx - self.x0) / self.cell)))
            cy0 = max(0, int(np.floor((miny - self.y0) / self.cell)))
            cy1 = min(self.ny, int(np.ceil((maxy - self.y0) / self.cell)))
            if cx0 >= cx1 or cy0 >= cy1:
                continue
            sub = grid[cy0:cy1, cx0:cx1]
            free = sub != _BOUNDARY
            jy, jx = np.nonzero(free)
            cx = self.x0 + (jx + cx0 + 0.5) * self.cell
            cy = self.y0 + (jy + cy0 + 0.5) * self.cell
            inside = shapely.contains_xy(geom, cx, cy)
            taken = sub[jy[inside], jx[inside]]
            # Overlapping polygons of one level (none in the shipped data) fall back to exact tests.
            sub[jy[inside], jx[inside]] = np.where(taken == _OUTSIDE, idx, _BOUNDARY)
        return grid

    @property
    def boundary_fraction(self) -> float:
        return float((self.grid == _BOUNDARY).mean())

    def lookup(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Index into ``features`` of the polygon containing each point, -1 if none."""
        out = np.full(lons.shape, _OUTSIDE, dtype=np.int32)
        if not len(self.geoms):
            return out
        ix = np.floor((lons - self.x0) / self.cell)
        iy = np.floor((lats - self.y0) / self.cell)
        on_grid = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out[on_grid] = self.grid[iy[on_grid].astype(np.intp), ix[on_grid].astype(np.intp)]
        exact = np.flatnonzero(~on_grid | (out == _BOUNDARY))
        if exact.size:
            out[exact] = self.exact(lons[exact], lats[exact])
        return out

    def exact(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Exact ``contains`` test; with several containing polygons the lowest index wins."""
        out = np.full(lons.shape, _OUTSIDE, dtype=np.int32)
        # Bounding-box candidates from the tree, then a vectorised contains_xy against the
        # prepared polygons (the tree's own "within" predicate would prepare the points, not
        # the polygons, and is tens of times slower).
        point_idx, geom_idx = self.tree.query(shapely.points(lons, lats))
        inside = shapely.contains_xy(self.geoms[geom_idx], lons[point_idx], lats[point_idx])
        point_idx, geom_idx = point_idx[inside], geom_idx[inside]
        if point_idx.size:
            # Reverse order so that, for a point in several polygons, the smallest index is
            # written last (deterministic, same rule as the brute-force reference).
            order = np.lexsort((-geom_idx, point_idx))
            out[point_idx[order]] = geom_idx[order]
        return out

    def lookup_one(self, lon: float, lat: float) -> int:
        ix = int((lon - self.x0) // self.cell)
        iy = int((lat - self.y0) // self.cell)
        if 0 <= ix < self.nx and 0 <= iy < self.ny:
            found = int(self.grid[iy, ix])
            if found != _BOUNDARY:
                return found
        for idx in np.sort(self.tree.query(shapely.Point(lon, lat))):
            if shapely.contains_xy(self.geoms[idx], lon, lat):
                return int(idx)
        return _OUTSIDE


class DivisionLocator:
    """Point-in-division lookup over province, city and county polygons (CGCS2000 lon/lat).

    Build with :meth:`from_features`, :meth:`from_geojson` or :meth:`from_store`."""

    def __init__(
        self,
        features: Sequence[DivisionFeature],
        *,
        cell_deg: float = DEFAULT_CELL_DEG,
        grid_bounds: tuple[float, float, float, float] | None = None,
    ):
        features = sorted(features, key=lambda f: (LOCATOR_LEVELS.index(f.level), f.code))
        if not features:
            raise ValueError("no division polygons to locate in")
        if grid_bounds is None:
            # The area of interest: everything below province level (Guangdong's cities and
            # counties); neighbour provinces outside it are answered by the exact path.
            inner = [f.geometry for f in features if f.level != "province"] or [
                f.geometry for f in features
            ]
            b = shapely.total_bounds(np.array(inner, dtype=object))
            grid_bounds = (b[0] - cell_deg, b[1] - cell_deg, b[2] + cell_deg, b[3] + cell_deg)
        self.cell_deg = cell_deg
        self.grid_bounds = tuple(float(v) for v in grid_bounds)
        self.levels = {
            lvl: _LevelGrid([f for f in features if f.level == lvl], self.grid_bounds, cell_deg)
            for lvl in LOCATOR_LEVELS
        }
        self.by_code = {f.code: f for f in features}
        # Codes of the lowest level found, indexed like the stacked per-level results;
        # the extra last entry '' stands for "outside every polygon".
        self._codes = {
            lvl: np.array([f.code for f in g.features] + [""], dtype="U12")
            for lvl, g in self.levels.items()
        }

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_features(cls, features: Iterable, **kwargs) -> DivisionLocator:
        """``features``: (code, level, parent_code, name, shapely geometry) tuples or
        :class:`DivisionFeature`; levels province/city/county (others are ignored)."""
        items = []
        for f in features:
            feat = f if isinstance(f, DivisionFeature) else DivisionFeature(*f)
            if (
                feat.level in LOCATOR_LEVELS
                and feat.geometry is not None
                and not feat.geometry.is_empty
            ):
                items.append(feat)
        return cls(items, **kwargs)

    @classmethod
    def from_geojson(cls, path: str | Path, **kwargs) -> DivisionLocator:
        """Read a FeatureCollection with properties code, name, level, parent_code
        (data/divisions.geojson)."""
        fc = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_features(
            (
                (p["code"], p["level"], p.get("parent_code"), p["name"], shape(f["geometry"]))
                for f in fc["features"]
                for p in [f["properties"]]
            ),
            **kwargs,
        )

    @classmethod
    def from_store(cls, store, **kwargs) -> DivisionLocator:
        """Read the store's ``divisions`` rows that have a geometry."""
        from gazetteer.tables import divisions as t

        query = sa.select(t.c.code, t.c.level, t.c.parent_code, t.c.name, t.c.geom).where(
            t.c.geom.is_not(None), t.c.level.in_(LOCATOR_LEVELS)
        )
        with store.read() as conn:
            rows = conn.execute(query).all()
        return cls.from_features((tuple(r) for r in rows), **kwargs)

    # ------------------------------------------------------------------ queries

    def rename_division(self, code: str, name: str) -> None:
        """Answer with ``name`` for division ``code`` from now on (a renaming moves no
        polygon). Nothing for a division this locator does not hold."""
        old = self.by_code.get(code)
        if old is None:
            return
        new = self.by_code[code] = replace(old, name=name)
        features = self.levels[old.level].features
        features[next(i for i, f in enumerate(features) if f is old)] = new

    def locate(self, lon: float, lat: float, *, crs_tag: str = "CGCS2000") -> list[dict]:
        """Divisions containing the point, province first: ``[{code, name, level}, ...]``.

        ``lon``/``lat`` in degrees of ``crs_tag`` (default CGCS2000). Empty list when the point
        is outside every polygon (at sea, or beyond the loaded provinces). Raises
        InvalidInput for bad coordinates or tags."""
        if crs_tag != "CGCS2000":
            lon, lat = crs.point_to_cgcs2000(lon, lat, crs_tag)
        elif not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or _looks_swapped(lon, lat):
            crs.validate_lon_lat(lon, lat)  # raises with the Chinese message
        out = []
        for lvl in LOCATOR_LEVELS:
            grid = self.levels[lvl]
            idx = grid.lookup_one(float(lon), float(lat))
            if idx >= 0:
                f = grid.features[idx]
                out.append({"code": f.code, "name": f.name, "level": f.level})
        return out

    def locate_levels(self, lons, lats) -> dict[str, np.ndarray]:
        """Per level, the code of the containing polygon for each point ('' if none).

        ``lons``/``lats``: CGCS2000 degrees, arrays of one shape."""
        x, y = crs.validate_lon_lat(lons, lats)
        shape_ = x.shape
        x, y = x.ravel(), y.ravel()
        return {
            lvl: self._codes[lvl][self.levels[lvl].lookup(x, y)].reshape(shape_)
            for lvl in LOCATOR_LEVELS
        }

    def locate_many(self, lons, lats, *, crs_tag: str = "CGCS2000") -> np.ndarray:
        """Code of the lowest division containing each point: county where there is one, else
        city (东莞, 中山), else province (neighbour provinces); '' outside all.

        ``lons``/``lats``: arrays (or scalars) of one shape in degrees of ``crs_tag``.
        Returns a numpy unicode array of that shape. Vectorised."""
        if crs_tag != "CGCS2000":
            x, y = crs.to_cgcs2000(lons, lats, crs_tag)
        else:
            x, y = crs.validate_lon_lat(lons, lats)
        shape_ = x.shape
        x, y = x.ravel(), y.ravel()
        result = self._codes["county"][self.levels["county"].lookup(x, y)]
        for lvl in ("city", "province"):
            missing = result == ""
            if not missing.any():
                break
            result[missing] = self._codes[lvl][self.levels[lvl].lookup(x[missing], y[missing])]
        return result.reshape(shape_)

    def stats(self) -> dict:
        """Grid size and the share of cells needing exact tests, per level."""
        return {
            "cell_deg": self.cell_deg,
            "grid_bounds": self.grid_bounds,
            **{
                lvl: {
                    "polygons": len(g.features),
                    "cells": int(g.grid.size),
                    "boundary_fraction": round(g.boundary_fraction, 4),
                }
                for lvl, g in self.levels.items()
            },
        }


def _looks_swapped(lon: float, lat: float) -> bool:
    return 17.0 <= lon <= 55.0 and 73.0 <= lat <= 136.0


def brute_force_lowest(features: Sequence[DivisionFeature], lons, lats) -> np.ndarray:
    """Reference answer for tests and benchmarks: ``polygon.contains(point)`` over every
    polygon; the deepest level wins, ties (overlaps) by the smallest code."""
    x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    result = np.full(x.shape, "", dtype="U12")
    rank = np.full(x.shape, -1)
    for f in sorted(features, key=lambda f: f.code, reverse=True):
        inside = shapely.contains_xy(f.geometry, x, y)
        level = LOCATOR_LEVELS.index(f.level)
        better = inside & (level >= rank)
        result[better] = f.code
        rank[better] = level
    return result


# ---------------------------------------------------------------------- nearest places

__all__ = [
    "DivisionFeature",
    "DivisionLocator",
    "NearestPlaces",
    "nearest_places",
    "brute_force_lowest",
]
