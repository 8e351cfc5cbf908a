"""Reverse lookup pushed down to PostGIS: which divisions contain a point.

The PostgreSQL counterpart of :class:`gazetteer.reverse.DivisionLocator` with the same
query methods (``locate``, ``locate_levels``, ``locate_many``, ``by_code``) and the same
answers: ``ST_Contains`` like shapely's ``contains`` (a point exactly on a boundary is in
neither side), several containing polygons of one level resolved to the smallest code.
Nothing is held in memory but the division names, so every worker process starts at once
and sees division changes immediately; the GiST index on ``divisions.geom`` picks the
candidates (``&&``) and PostGIS tests them exactly.

Coordinates are CGCS2000 longitude/latitude in degrees (EPSG:4490, x = lon, y = lat).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import sqlalchemy as sa

from gazetteer.core import crs
from gazetteer.core.store import SRID, Store
from gazetteer.reverse import LOCATOR_LEVELS, DivisionFeature, _looks_swapped

_LEVEL_LIST = ", ".join(f"'{lvl}'" for lvl in LOCATOR_LEVELS)

# One row per (point, level): the smallest containing code, as DivisionLocator resolves overlaps.
_LOCATE_SQL = sa.text(f"""
    SELECT p.i, d.level, min(d.code) AS code
    FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i)
    JOIN divisions d
      ON d.level IN ({_LEVEL_LIST})
     AND ST_Contains(d.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), {SRID}))
    GROUP BY p.i, d.level
""")


class PostGISDivisionLocator:
    """Divisions containing points, answered by PostGIS. ``store`` must be PostgreSQL."""

    def __init__(self, store: Store):
        if store.dialect != "postgresql":
            raise ValueError("PostGISDivisionLocator needs a PostgreSQL + PostGIS store")
        self.store = store
        from gazetteer.tables import divisions as t

        query = sa.select(t.c.code, t.c.level, t.c.parent_code, t.c.name).where(
            t.c.geom.is_not(None), t.c.level.in_(LOCATOR_LEVELS)
        )
        with store.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise ValueError("no division polygons to locate in")
        # Geometry left out: callers use ``by_code`` for names and levels only.
        self.by_code = {
            r.code: DivisionFeature(r.code, r.level, r.parent_code, r.name, None) for r in rows
        }

    @classmethod
    def from_store(cls, store: Store) -> PostGISDivisionLocator:
        return cls(store)

    def _lookup(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        out = {lvl: np.full(len(x), "", dtype="U12") for lvl in LOCATOR_LEVELS}
        if len(x) == 0:
            return out
        with self.store.read() as conn:
            rows = conn.execute(
                _LOCATE_SQL, {"xs": [float(v) for v in x], "ys": [float(v) for v in y]}
            ).all()
        for i, level, code in rows:
            out[level][i - 1] = code
        return out

    def rename_division(self, code: str, name: str) -> None:
        """Answer with ``name`` for division ``code`` from now on (the names are the only
        thing this locator holds)."""
        old = self.by_code.get(code)
        if old is not None:
            self.by_code[code] = replace(old, name=name)

    def locate(self, lon: float, lat: float, *, crs_tag: str = "CGCS2000") -> list[dict]:
        """Divisions containing the point, province first: ``[{code, name, level}, ...]``
        (empty outside every polygon). Raises InvalidInput for bad coordinates or tags."""
        if crs_tag != "CGCS2000":
            lon, lat = crs.point_to_cgcs2000(lon, lat, crs_tag)
        elif not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or _looks_swapped(lon, lat):
            crs.validate_lon_lat(lon, lat)  # raises with the Chinese message
        found = self._lookup(np.array([float(lon)]), np.array([float(lat)]))
        return [
            {
                "code": str(found[lvl][0]),
                "name": self.by_code[str(found[lvl][0])].name,
                "level": lvl,
            }
            for lvl in LOCATOR_LEVELS
            if found[lvl][0]
        ]

    def locate_levels(self, lons, lats) -> dict[str, np.ndarray]:
        """Per level, the code of the containing polygon for each point ('' if none)."""
        x, y = crs.validate_lon_lat(lons, lats)
        shape_ = x.shape
        found = self._lookup(x.ravel(), y.ravel())
        return {lvl: codes.reshape(shape_) for lvl, codes in found.items()}

    def locate_many(self, lons, lats, *, crs_tag: str = "CGCS2000") -> np.ndarray:
        """Code of the lowest division containing each point ('' outside all); see
        :meth:`gazetteer.reverse.DivisionLocator.locate_many`."""
        if crs_tag != "CGCS2000":
            x, y = crs.to_cgcs2000(lons, lats, crs_tag)
        else:
            x, y = crs.validate_lon_lat(lons, lats)
        shape_ = x.shape
        found = self._lookup(x.ravel(), y.ravel())
        result = found["county"].copy()
        for lvl in ("city", "province"):
            missing = result == ""
            result[missing] = found[lvl][missing]
        return result.reshape(shape_)


def division_locator(store: Store):
    """The locator for ``store``: PostGIS on PostgreSQL, the in-memory grid on SQLite."""
    if store.dialect == "postgresql":
        return PostGISDivisionLocator(store)
    from gazetteer.reverse import DivisionLocator

    return DivisionLocator.from_store(store)
