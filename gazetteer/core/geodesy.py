"""Geodesic measurements on the CGCS2000 ellipsoid.

All inputs are longitude/latitude in degrees (x=lon, y=lat), CGCS2000 (EPSG:4490).
Lengths are metres and areas square metres, measured on the ellipsoid with
``pyproj.Geod`` (Karney's algorithms), so no projection distorts them.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS, Geod
from shapely.geometry.base import BaseGeometry


@lru_cache(maxsize=1)
def cgcs2000_geod() -> Geod:
    """The CGCS2000 ellipsoid (a = 6378137 m, 1/f = 298.257222101)."""
    return CRS.from_epsg(4490).get_geod()


def length_m(geom: BaseGeometry) -> float:
    """Geodesic length of a (multi)line or of a polygon's rings, in metres."""
    return float(cgcs2000_geod().geometry_length(geom))


def area_m2(geom: BaseGeometry) -> float:
    """Geodesic area of a (multi)polygon, in square metres (always positive)."""
    area, _ = cgcs2000_geod().geometry_area_perimeter(geom)
    return abs(float(area))


def distance_m(lon1_deg: float, lat1_deg: float, lon2_deg: float, lat2_deg: float) -> float:
    """Geodesic distance between two points, in metres."""
    _, _, dist = cgcs2000_geod().inv(lon1_deg, lat1_deg, lon2_deg, lat2_deg)
    return float(dist)


def bearing_distance(
    lon1_deg: float, lat1_deg: float, lon2_deg: float, lat2_deg: float
) -> tuple[float, float]:
    """Forward azimuth from point 1 to point 2 in degrees clockwise from north (0..360),
    and the geodesic distance in metres."""
    az, _, dist = cgcs2000_geod().inv(lon1_deg, lat1_deg, lon2_deg, lat2_deg)
    return float(az % 360.0), float(dist)


def destination(
    lon_deg: float, lat_deg: float, azimuth_deg: float, distance_m_: float
) -> tuple[float, float]:
    """The point reached from (lon, lat) along ``azimuth_deg`` after ``distance_m_`` metres."""
    lon2, lat2, _ = cgcs2000_geod().fwd(lon_deg, lat_deg, azimuth_deg, distance_m_)
    return float(lon2), float(lat2)
