"""The offline base map: tiles of the operator's MBTiles package, and the list of them
around a round's markers that a device saves for offline use (within OFFLINE_TILES_MAX_MB).
The sources themselves are declared in ``webmap.tile_sources``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from boundaries import inspections as inspection_service
from boundaries.markers import list_markers
from gazetteer.core.errors import InvalidInput, NotFound
from gazetteer.core.mbtiles import tiles_in_bbox
from webmap.context import store
from webmap.tile_sources import MAX_ROUND_ZOOM, ROUND_PADDING_DEG, TILE_PATH, package

bp = Blueprint("basemap", __name__, url_prefix="/basemap")


@bp.get("/tiles/<int:z>/<int:x>/<int:y>.png")
def tile(z: int, x: int, y: int):
    """A tile of the package; 204 (no content) where the package has none, so a map that
    pans past the package's area shows blank tiles instead of errors."""
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound("瓦片坐标超出范围")
    data = package(current_app.config).tile(z, x, y)
    if data is None:
        response = Response(status=204)
    else:
        response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/round-tiles")
def round_tiles():
    """The offline package's tiles around a round's markers that fit the device limit
    (OFFLINE_TILES_MAX_MB): highest zooms are dropped first. {tiles: [url], bytes,
    limit_bytes, zooms, left_out_zooms}."""
    raw = request.args.get("round_id", "")
    if not raw.isdigit():
        raise InvalidInput("参数 round_id 应为整数")
    rnd = inspection_service.get_round(store(), int(raw))
    tiles_package = package(current_app.config)
    points = [
        (m["lon"], m["lat"])
        for m in list_markers(store(), line_id=rnd["line_id"])
        if inspection_service.in_section(rnd, m["seq"])
    ]
    if not points:
        return jsonify({"tiles": [], "bytes": 0, "limit_bytes": 0, "zooms": []})
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    box = (
        min(lons) - ROUND_PADDING_DEG,
        min(lats) - ROUND_PADDING_DEG,
        max(lons) + ROUND_PADDING_DEG,
        max(lats) + ROUND_PADDING_DEG,
    )
    low, high = tiles_package.zoom_range()
    limit = current_app.config["OFFLINE_TILES_MAX_MB"] * 1024 * 1024
    chosen, total, left_out = [], 0, []
    for z in range(low, min(high, MAX_ROUND_ZOOM) + 1):
        sizes = tiles_package.tile_sizes(tiles_in_bbox(*box, [z]))
        size = sum(sizes.values())
        if total + size > limit:
            left_out.append(z)
            continue
        chosen.extend(sizes)
        total += size
    return jsonify(
        {
            "tiles": [TILE_PATH.format(z=z, x=x, y=y) for z, x, y in chosen],
            "bytes": total,
            "limit_bytes": limit,
            "zooms": sorted({z for z, _, _ in chosen}),
            "left_out_zooms": left_out,
        }
    )
