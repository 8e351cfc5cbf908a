"""Writing geometries as RFC 7946 GeoJSON text, once per geometry.

A feature page used to turn every stored geometry into shapely, orient and round it, build a
dict of coordinate lists and serialise that with ``json`` on every request; for the county
polygons that was most of the answer's time. Here a geometry's GeoJSON text is made by GEOS
(``shapely.to_geojson``, vectorised) the first time it is asked for, and kept in a bounded
LRU cache keyed by the stored WKB bytes and the output CRS. The key is the geometry itself,
so a changed geometry is simply a new key: nothing has to be invalidated, on either store,
whichever process wrote it.

Responses are serialised with orjson; a ``GeometryJSON`` is copied into them verbatim
(``orjson.Fragment``). Coordinates: CGCS2000 lon/lat in storage (EPSG:4490, x = lon).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import cachetools
import numpy as np
import shapely

from gazetteer.core.crs import CRS84_URI, geometries_to_ogc_crs

COORDINATE_DECIMALS = 7  # about 1 cm; RFC 7946 section 11.2 advises no more than needed
# The cache holds the GeoJSON text and its WKB key; 128 MB covers every layer of the
# shipped data in two CRSs several times over.
CACHE_BYTES = 128 * 1024 * 1024


class GeometryJSON:
    """One geometry as RFC 7946 GeoJSON text (UTF-8 ``text``) with its ``type``
    ('Point', 'MultiPolygon', …); responses copy ``text`` verbatim."""

    __slots__ = ("text", "type")

    def __init__(self, text: bytes, geom_type: str):
        self.text = text
        self.type = geom_type

    def __repr__(self) -> str:
        return f"GeometryJSON({self.type}, {len(self.text)} bytes)"


_cache: cachetools.LRUCache = cachetools.LRUCache(
    maxsize=CACHE_BYTES, getsizeof=lambda g: 2 * len(g.text) + 100
)
_lock = threading.Lock()


def rfc7946(geoms, crs: str = CRS84_URI):
    """Shapely geometries in CGCS2000 lon/lat as RFC 7946 wants them: exterior rings
    counter-clockwise and holes clockwise (section 3.1.6), transformed to ``crs`` (an OGC CRS
    URI, in that CRS's axis order) and rounded to 7 decimals. Vectorised."""
    oriented = shapely.orient_polygons(np.asarray(geoms, dtype=object), exterior_cw=False)
    if crs != CRS84_URI:
        oriented = geometries_to_ogc_crs(oriented, crs)
    return shapely.transform(oriented, lambda xy: np.round(xy, COORDINATE_DECIMALS))


def geometries_json(wkbs: Sequence[bytes | None], crs: str = CRS84_URI) -> list:
    """``GeometryJSON`` (or None for a missing geometry) for each stored WKB geometry
    (CGCS2000 lon/lat), in ``crs``; made once per distinct geometry and CRS."""
    out: list[GeometryJSON | None] = [None] * len(wkbs)
    missing: list[int] = []
    with _lock:
        for i, wkb in enumerate(wkbs):
            if wkb is not None:
                hit = _cache.get((crs, wkb))
                if hit is None:
                    missing.append(i)
                else:
                    out[i] = hit
    if missing:
        geoms = rfc7946(shapely.from_wkb([wkbs[i] for i in missing]), crs)
        texts = shapely.to_geojson(geoms)
        types = shapely.get_type_id(geoms)
        made = [
            GeometryJSON(text.encode(), _TYPE_NAMES[type_id]) for text, type_id in zip(texts, types)
        ]
        with _lock:
            for i, geometry in zip(missing, made):
                out[i] = geometry
                _cache[(crs, wkbs[i])] = geometry
    return out


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",  # a LinearRing is written as a LineString
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
