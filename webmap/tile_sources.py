"""Base-map tile sources, declared once from the settings: the 天地图 presets, a custom XYZ
URL, or the operator's offline MBTiles package served by the app (``webmap.basemap``).

天地图 serves CGCS2000-registered tiles in Web Mercator (``_w`` layers): no GCJ-02 offset,
so the app's CGCS2000 data overlays them directly. The key (``tk``) comes from the
environment (GDGIS_TIANDITU_KEY) and appears in tile URLs only, which the browser needs.
"""

from __future__ import annotations

from gazetteer.core.errors import NotFound
from gazetteer.core.mbtiles import MBTiles

TILE_PATH = "/basemap/tiles/{z}/{x}/{y}.png"
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
_TIANDITU_LAYERS = {
    "tianditu_vector": ("天地图 矢量", "vec", "cva"),
    "tianditu_imagery": ("天地图 影像", "img", "cia"),
}
ROUND_PADDING_DEG = 0.01  # about 1 km around the round's markers
MAX_ROUND_ZOOM = 16


def tile_sources(config) -> dict:
    """The base map the pages draw ({id, name, layers: [{url, subdomains, attribution,
    max_zoom}], offline}) and the offline package's tile URL when there is one."""
    kind = config["BASEMAP"]
    if kind == "none" and config.get("TILE_URL"):
        kind = "custom"  # TILE_URL alone keeps drawing its base map, as before BASEMAP existed
    offline = config.get("OFFLINE_BASEMAP")
    doc: dict = {"id": kind, "name": "无底图", "layers": [], "offline_tiles": None}
    if offline:
        doc["offline_tiles"] = TILE_PATH
        doc["offline_max_mb"] = config["OFFLINE_TILES_MAX_MB"]
    if kind in _TIANDITU_LAYERS and config.get("TIANDITU_KEY"):
        name, base, labels = _TIANDITU_LAYERS[kind]
        doc["name"] = name
        doc["layers"] = [
            {
                "url": _TIANDITU.format(s="{s}", layer=layer, key=config["TIANDITU_KEY"]),
                "subdomains": "01234567",
                "attribution": "© 天地图（国家地理信息公共服务平台）",
                "max_zoom": 18,
            }
            for layer in (base, labels)
        ]
    elif kind == "custom" and config.get("TILE_URL"):
        doc["name"] = "自定义底图"
        doc["layers"] = [
            {
                "url": config["TILE_URL"],
                "subdomains": "abc",
                "attribution": config.get("TILE_ATTRIBUTION") or "",
                "max_zoom": 18,
            }
        ]
    elif kind == "offline" and offline:
        low, high = package(config).zoom_range()
        doc["name"] = "离线底图"
        doc["layers"] = [
            {
                "url": TILE_PATH,
                "subdomains": "",
                "attribution": package(config).metadata().get("attribution", "离线底图包"),
                "max_zoom": 18,
                "max_native_zoom": high,
                "min_zoom": low,
            }
        ]
    return doc


def external_tile_url(config) -> str | None:
    """The one outside tile host the Content-Security-Policy must allow, if any."""
    sources = tile_sources(config)
    urls = [layer["url"] for layer in sources["layers"] if layer["url"].startswith("http")]
    return urls[0] if urls else None


def package(config) -> MBTiles:
    path = config.get("OFFLINE_BASEMAP")
    if not path or not path.exists():
        raise NotFound("未配置离线底图包（GDGIS_OFFLINE_BASEMAP）")
    return MBTiles(path)
