"""Mapbox Vector Tiles of any layer (``gazetteer.features.FeatureProvider``), in the Web
Mercator tile grid (OGC WebMercatorQuad, EPSG:3857; tile z/x/y with y counted from the top).

On PostgreSQL the tile is cut and encoded inside PostGIS (``ST_AsMVTGeom``/``ST_AsMVT``); on
SQLite the features in the tile are read through the provider, simplified to the tile's pixel
size with shapely, projected with pyproj and encoded by ``mapbox_vector_tile``. Both give
4096-unit tiles with a 64-unit buffer, one MVT layer named after the provider.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import SRID, Store

EXTENT = 4096  # tile units per side
BUFFER = 64  # tile units drawn beyond each edge, so strokes do not stop at tile seams
MAX_ZOOM = 18
WEB_MERCATOR_HALF_M = 20037508.342789244
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

_TO_MERCATOR = Transformer.from_crs(f"EPSG:{SRID}", "EPSG:3857", always_xy=True)


def check_tile(z: int, x: int, y: int) -> None:
    """Raises InvalidInput naming the OGC path parameter (tileMatrix, tileRow, tileCol)
    that lies outside the WebMercatorQuad matrix."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"瓦片层级应在 0 到 {MAX_ZOOM} 之间", details={"field": "tileMatrix"})
    for name, index in (("tileRow", y), ("tileCol", x)):
        if not 0 <= index < 2**z:
            raise InvalidInput(
                f"瓦片行列号超出第 {z} 级的范围 0..{2**z - 1}", details={"field": name}
            )


def tile_bounds_m(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 metres."""
    size = 2 * WEB_MERCATOR_HALF_M / 2**z
    minx = -WEB_MERCATOR_HALF_M + x * size
    maxy = WEB_MERCATOR_HALF_M - y * size
    return minx, maxy - size, minx + size, maxy


def tile_bounds_deg(z: int, x: int, y: int, buffer: float = 0.0) -> tuple[float, ...]:
    """(minlon, minlat, maxlon, maxlat) of tile z/x/y grown by ``buffer`` tile units, degrees."""

    def lon(tx: float) -> float:
        return tx / 2**z * 360.0 - 180.0

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / 2**z))))

    pad = buffer / EXTENT
    return (
        max(-180.0, lon(x - pad)),
        max(-85.06, lat(y + 1 + pad)),
        min(180.0, lon(x + 1 + pad)),
        min(85.06, lat(y - pad)),
    )


def encode_tile(provider, store: Store, z: int, x: int, y: int, filters=None) -> bytes:
    """The MVT bytes of ``provider``'s features in tile z/x/y (with its ``tile_properties``),
    optionally narrowed by ``filters`` (a pygeofilter AST, as in ``provider.query``)."""
    check_tile(z, x, y)
    if not provider.tile_properties:
        raise InvalidInput(f"图层 {provider.id} 不提供矢量瓦片")
    properties = provider.tile_properties
    if store.dialect == "postgresql":
        return _postgis_tile(provider, store, z, x, y, properties, filters)
    return _python_tile(provider, store, z, x, y, properties, filters)


def _postgis_tile(provider, store: Store, z: int, x: int, y: int, properties, filters) -> bytes:
    from gazetteer.cql import to_sql

    envelope = sa.func.ST_TileEnvelope(z, x, y)
    world = sa.func.ST_MakeEnvelope(
        -WEB_MERCATOR_HALF_M, -WEB_MERCATOR_HALF_M, WEB_MERCATOR_HALF_M, WEB_MERCATOR_HALF_M, 3857
    )
    margin = sa.func.ST_TileEnvelope(z, x, y, world, BUFFER / EXTENT)
    fields = [provider.field(name) for name in properties]
    rows = (
        sa.select(
            sa.func.ST_AsMVTGeom(
                sa.func.ST_Transform(provider.geometry, 3857), envelope, EXTENT, BUFFER, True
            ).label("geom"),
            *(f.column.label(f.name) for f in fields),
        )
        .select_from(provider.source)
        .where(
            *provider.where,
            *([to_sql(filters, provider, store.dialect)] if filters is not None else []),
            provider.geometry.op("&&")(sa.func.ST_Transform(margin, SRID)),
        )
        .subquery("tile_rows")
    )
    query = sa.select(
        sa.func.ST_AsMVT(rows.table_valued(), provider.id, EXTENT, "geom")
    ).select_from(rows)
    with store.read() as conn:
        data = conn.execute(query).scalar()
    return bytes(data or b"")


def _python_tile(provider, store: Store, z: int, x: int, y: int, properties, filters) -> bytes:
    import mapbox_vector_tile

    shapes = provider.shapes(
        store, bbox=tile_bounds_deg(z, x, y, BUFFER), properties=properties, filters=filters
    )
    if not shapes:
        return b""
    minx, miny, maxx, maxy = tile_bounds_m(z, x, y)
    units_per_m = EXTENT / (maxx - minx)

    def to_tile_units(xy):
        # lon/lat -> Web Mercator metres -> tile units (0..4096, y up; the encoder flips y)
        mx, my = _TO_MERCATOR.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(mx - minx) * units_per_m, (my - miny) * units_per_m])

    geoms = np.array([g for _, g in shapes], dtype=object)
    in_units = shapely.simplify(shapely.transform(geoms, to_tile_units), 0.5)
    clipped = shapely.clip_by_rect(in_units, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    snapped = shapely.set_precision(clipped, 1.0)  # integer tile units, still valid
    features = [
        {"geometry": g, "properties": {k: v for k, v in props.items() if v is not None}}
        for (props, _), g in zip(shapes, snapped)
        if g is not None and not g.is_empty
    ]
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": provider.id, "features": features}], default_options={"extents": EXTENT}
    )
