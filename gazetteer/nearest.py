"""Nearest named places: :class:`NearestPlaces` finds the places nearest a point by
geodesic distance on the CGCS2000 ellipsoid (:mod:`gazetteer.core.geodesy`).

All coordinates are CGCS2000 longitude/latitude in degrees (EPSG:4490, x = lon, y = lat).
Each place is indexed by one point (a point on the surface of a line or polygon). The
points are kept in flat arrays sorted by longitude (candidates in a lon/lat box are a
binary search and a vectorised latitude test), and the records as packed JSON
(``gazetteer.packed``): built in memory, or written once with :meth:`NearestPlaces.save`
and memory-mapped by every worker with :meth:`NearestPlaces.load`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import shapely
import sqlalchemy as sa

from gazetteer.core import crs
from gazetteer.core.geodesy import cgcs2000_geod
from gazetteer.packed import IdIndex, PackedStrings, load_arrays, save_arrays

_MIN_M_PER_DEG_LAT = 110_574.0  # metres per degree of latitude at the equator (the smallest)
_M_PER_DEG_LON_EQUATOR = 111_320.0


def points_of(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's point: itself if a point, else a point on its surface."""
    return np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))


class NearestPlaces:
    """Named places with a geometry, indexed for nearest-place queries.

    Each record is a dict with at least ``id``, ``name`` and ``geometry`` (shapely, CGCS2000
    lon/lat); its other keys (feature_class, status ...; JSON values) are passed through in
    results. Lines and polygons are represented by ``representative_point()`` (a point
    guaranteed on them). Record ids are all integers or all strings.

    Kept current without a rebuild: :meth:`add` appends a place after the base's points
    (scanned linearly: a few thousand changes cost microseconds), :meth:`discard` marks one
    dead. Thread-safe: one lock serialises queries with updates."""

    def __init__(self, records: Iterable[dict] = ()):
        self._lock = threading.RLock()
        self.mapped_from: str | None = None
        records = [
            r for r in records if r.get("geometry") is not None and not r["geometry"].is_empty
        ]
        geoms = np.array([r["geometry"] for r in records], dtype=object)
        xy = shapely.get_coordinates(points_of(geoms)) if len(geoms) else np.empty((0, 2))
        order = np.argsort(xy[:, 0], kind="stable")
        self._set_base(
            {
                "lons": xy[:, 0].copy(),
                "lats": xy[:, 1].copy(),
                "by_lon": order.astype(np.int64),
                "sorted_lons": xy[order, 0].copy(),
            }
            | IdIndex.of([r.get("id") for r in records]).arrays("idx")
            | PackedStrings.of([_record_json(r) for r in records]).arrays("records")
        )

    def _set_base(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays = arrays
        self._base_lons, self._base_lats = arrays["lons"], arrays["lats"]
        self._by_lon, self._sorted_lons = arrays["by_lon"], arrays["sorted_lons"]
        self._id_index = IdIndex.from_arrays(arrays, "idx")
        self._base_records = PackedStrings.from_arrays(arrays, "records")
        self._n_base = len(self._base_lons)
        self._alive = np.ones(self._n_base, bool)  # the one array each process writes
        # Places added after the base: records, points, and positions by id.
        self._extra_records: list[dict] = []
        self._extra_lons = np.empty(0)
        self._extra_lats = np.empty(0)
        self._extra_pos_by_id: dict = {}

    @classmethod
    def from_store(cls, store, *, statuses: Sequence[str] | None = ("in_force",)) -> NearestPlaces:
        """Places of the store's ``places`` table that have a geometry (in force by default)."""
        from gazetteer.tables import places as t

        query = sa.select(
            t.c.id, t.c.name, t.c.feature_class, t.c.status, t.c.division_code, t.c.geom
        ).where(t.c.geom.is_not(None))
        if statuses:
            query = query.where(t.c.status.in_(list(statuses)))
        with store.read() as conn:
            rows = conn.execute(query).mappings().all()
        return cls(
            {**{k: v for k, v in r.items() if k != "geom"}, "geometry": r["geom"]} for r in rows
        )

    def save(self, directory) -> None:
        """Write the base (the places it was built with) to ``directory``."""
        save_arrays(directory, self._arrays, {})

    @classmethod
    def load(cls, directory) -> NearestPlaces:
        """The places saved in ``directory``, memory-mapped read-only (shared by every
        process that loads it)."""
        self = cls()
        self._set_base(load_arrays(directory)[0])
        self.mapped_from = str(directory)
        return self

    def __len__(self) -> int:
        return int(self._alive.sum())

    def _position(self, record_id) -> int | None:
        pos = self._extra_pos_by_id.get(record_id)
        if pos is None:
            pos = self._id_index.get(record_id)
        return pos if pos is not None and self._alive[pos] else None

    def __contains__(self, record_id) -> bool:
        return self._position(record_id) is not None

    def _record(self, pos: int) -> dict:
        if pos < self._n_base:
            return json.loads(self._base_records[pos])
        return self._extra_records[pos - self._n_base]

    def _lon_lat(self, pos: int) -> tuple[float, float]:
        if pos < self._n_base:
            return float(self._base_lons[pos]), float(self._base_lats[pos])
        return float(self._extra_lons[pos - self._n_base]), float(
            self._extra_lats[pos - self._n_base]
        )

    def add(self, record: dict) -> None:
        """Add one place (replacing a live one with the same id); a record without
        geometry is ignored."""
        geom = record.get("geometry")
        if geom is None or geom.is_empty:
            return
        point = points_of(np.array([geom], dtype=object))[0]
        with self._lock:
            self.discard(record.get("id"))
            self._extra_pos_by_id[record.get("id")] = len(self._alive)
            self._extra_records.append({k: v for k, v in record.items() if k != "geometry"})
            self._extra_lons = np.append(self._extra_lons, point.x)
            self._extra_lats = np.append(self._extra_lats, point.y)
            self._alive = np.append(self._alive, True)

    def discard(self, record_id) -> None:
        """Remove the place with ``record_id`` if it is in the index."""
        with self._lock:
            pos = self._position(record_id)
            if pos is not None:
                self._alive[pos] = False
                self._extra_pos_by_id.pop(record_id, None)

    def points(self) -> list[tuple[dict, float, float]]:
        """(record without geometry, lon, lat) of every live place, in index order."""
        with self._lock:
            return [(self._record(i), *self._lon_lat(i)) for i in np.flatnonzero(self._alive)]

    def nearest(self, lon: float, lat: float, k: int = 5) -> list[dict]:
        """The ``k`` places nearest (lon, lat) CGCS2000 degrees, nearest first.

        Each result: the record's fields (without geometry) plus ``distance_m`` (geodesic,
        metres, to the place's point) and ``lon``/``lat`` of that point. Exact: a degree box
        is grown until it holds k places; the k-th geodesic distance among them bounds the
        answer, and every place in the box around that circle is measured."""
        crs.validate_lon_lat(lon, lat)
        with self._lock:
            alive = len(self)
            if k <= 0 or not alive:
                return []
            k = min(k, alive)
            radius_m = 500.0
            found = self._within_box(lon, lat, radius_m)
            while found.size < k:
                radius_m *= 4
                found = self._within_box(lon, lat, radius_m)
            bound_m = float(np.sort(self._distances_m(lon, lat, found))[k - 1])
            candidates = self._within_box(lon, lat, bound_m)
            dist = self._distances_m(lon, lat, candidates)
            order = np.lexsort((candidates, dist))[:k]  # ties by record order: deterministic
            out = []
            for i in order:
                j = int(candidates[i])
                lon_j, lat_j = self._lon_lat(j)
                out.append(
                    self._record(j) | {"distance_m": float(dist[i]), "lon": lon_j, "lat": lat_j}
                )
            return out

    def _coordinates(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self._extra_records:
            return self._base_lons[idx], self._base_lats[idx]
        lons = np.concatenate([self._base_lons, self._extra_lons])
        lats = np.concatenate([self._base_lats, self._extra_lats])
        return lons[idx], lats[idx]

    def _distances_m(self, lon: float, lat: float, idx: np.ndarray) -> np.ndarray:
        lons, lats = self._coordinates(idx)
        _, _, dist = cgcs2000_geod().inv(np.full(idx.size, lon), np.full(idx.size, lat), lons, lats)
        return np.asarray(dist, dtype=float)

    def _within_box(self, lon: float, lat: float, radius_m: float) -> np.ndarray:
        """Positions of live places in a lon/lat box that contains the geodesic circle of
        radius_m (metres) around the point; the whole world once the radius passes 20,000 km."""
        if radius_m > 2.0e7:
            return np.flatnonzero(self._alive)
        dlat = radius_m / _MIN_M_PER_DEG_LAT * 1.01 + 1e-9
        lat_far = min(89.0, abs(lat) + dlat)
        dlon = min(
            360.0, radius_m / (_M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat_far))) * 1.01 + 1e-9
        )
        if abs(lat) + dlat >= 89.0:
            dlon = 360.0
        lo = np.searchsorted(self._sorted_lons, lon - dlon, side="left")
        hi = np.searchsorted(self._sorted_lons, lon + dlon, side="right")
        found = self._by_lon[lo:hi]
        found = found[np.abs(self._base_lats[found] - lat) <= dlat]
        if self._extra_records:  # places added since the base was built
            tail = np.arange(len(self._extra_records))
            inside = (np.abs(self._extra_lats - lat) <= dlat) & (
                np.abs((self._extra_lons - lon + 180.0) % 360.0 - 180.0) <= dlon
            )
            found = np.concatenate([found, self._n_base + tail[inside]])
        return found[self._alive[found]]


def _record_json(record: dict) -> str:
    """A record's fields but its geometry, as JSON (values the store gives: str, int, None)."""
    return json.dumps(
        {k: v for k, v in record.items() if k != "geometry"}, ensure_ascii=False, default=str
    )


def nearest_places(
    lon: float, lat: float, k: int, places: NearestPlaces | Iterable[dict]
) -> list[dict]:
    """The ``k`` named places nearest (lon, lat) CGCS2000 degrees by geodesic distance (m).

    ``places`` is a :class:`NearestPlaces` index (build it once and keep it) or records
    ``{id, name, geometry, ...}`` that are indexed for this one call."""
    index = places if isinstance(places, NearestPlaces) else NearestPlaces(places)
    return index.nearest(lon, lat, k)
