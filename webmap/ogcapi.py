"""OGC API - Features (Part 1: Core) without a web framework.

Each handler takes an ``ApiRequest`` and returns an ``ApiResponse`` (status, headers and
a JSON-ready body); ``webmap.ogc`` adapts Flask to it, as pygeoapi's flask_app does. The
collections are the providers of ``webmap.collections`` (gazetteer and boundaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from gazetteer.core.errors import InvalidInput, NotFound
from gazetteer.core.spatial import parse_bbox
from gazetteer.core.store import Store
from gazetteer.cql import equals_all
from gazetteer.features import FeatureProvider, parse_datetime

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"
GEOJSON = "application/geo+json"
MAX_LIMIT = 10_000
KNOWN_ITEM_PARAMS = {"bbox", "limit", "offset", "datetime", "f", "bbox-crs"}


@dataclass
class ApiRequest:
    base_url: str  # e.g. "http://127.0.0.1:5000/ogc" (no trailing slash)
    args: Mapping[str, str] = field(default_factory=dict)
    format: str = "json"  # "json" or "html"


@dataclass
class ApiResponse:
    body: dict[str, Any]
    status: int = 200
    media_type: str = "application/json"
    template: str | None = None  # HTML rendering of the same body


class OgcApi:
    def __init__(self, store: Store, collections: tuple[FeatureProvider, ...], title: str):
        self.store = store
        self.collections = {c.id: c for c in collections}
        self.title = title

    def _collection(self, collection_id: str) -> FeatureProvider:
        try:
            return self.collections[collection_id]
        except KeyError:
            raise NotFound(f"没有名为 {collection_id!r} 的图层集合") from None

    @staticmethod
    def _links(base: str, path: str, rel_self_type: str, alternates: bool = True) -> list[dict]:
        links = [
            {"href": f"{base}{path}?f=json", "rel": "self", "type": rel_self_type, "title": "JSON"}
        ]
        if alternates:
            links.append(
                {
                    "href": f"{base}{path}?f=html",
                    "rel": "alternate",
                    "type": "text/html",
                    "title": "HTML",
                }
            )
        return links

    def landing(self, req: ApiRequest) -> ApiResponse:
        base = req.base_url
        body = {
            "title": self.title,
            "description": "广东省标准地名、行政区划、行政区域界线与界桩（界桩为演示数据）的 OGC API - Features 服务。",
            "links": self._links(base, "", "application/json")
            + [
                {
                    "href": f"{base}/api",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "OpenAPI",
                },
                {
                    "href": f"{base}/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "一致性类",
                },
                {
                    "href": f"{base}/collections",
                    "rel": "data",
                    "type": "application/json",
                    "title": "图层集合",
                },
            ],
        }
        return ApiResponse(body, template="ogc/landing.html")

    def conformance(self, req: ApiRequest) -> ApiResponse:
        return ApiResponse({"conformsTo": CONFORMANCE}, template="ogc/conformance.html")

    def _collection_body(self, req: ApiRequest, c: FeatureProvider) -> dict:
        base = req.base_url
        extent = c.extent(self.store)
        body = {
            "id": c.id,
            "title": c.display_title,
            "description": c.description,
            "itemType": "feature",
            "crs": [CRS84],
            "storageCrs": STORAGE_CRS,
            "links": self._links(base, f"/collections/{c.id}", "application/json")
            + [
                {
                    "href": f"{base}/collections/{c.id}/items?f=json",
                    "rel": "items",
                    "type": GEOJSON,
                    "title": "要素",
                },
                {
                    "href": f"{base}/collections/{c.id}/items?f=html",
                    "rel": "items",
                    "type": "text/html",
                    "title": "要素（网页）",
                },
            ],
        }
        if extent:
            body["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
        if c.demonstration:
            body["demonstration"] = True
        return body

    def collections_list(self, req: ApiRequest) -> ApiResponse:
        body = {
            "links": self._links(req.base_url, "/collections", "application/json"),
            "collections": [self._collection_body(req, c) for c in self.collections.values()],
        }
        return ApiResponse(body, template="ogc/collections.html")

    def collection(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        return ApiResponse(
            self._collection_body(req, self._collection(collection_id)),
            template="ogc/collection.html",
        )

    @staticmethod
    def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
        raw = args.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"参数 {name} 应为整数：{raw!r}") from None

    def items(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        c = self._collection(collection_id)
        args = req.args
        if args.get("bbox-crs") not in (None, "", CRS84):
            raise InvalidInput("只支持 bbox-crs=CRS84（经度,纬度）")
        limit = self._int_arg(args, "limit", 10)
        offset = self._int_arg(args, "offset", 0)
        bbox = parse_bbox(args["bbox"]) if args.get("bbox") else None
        interval = parse_datetime(args["datetime"]) if args.get("datetime") else None
        queryables = c.queryable_fields()
        equals = {
            k: queryables[k].coerce(v)
            for k, v in args.items()
            if k not in KNOWN_ITEM_PARAMS and k in queryables
        }
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit 应在 1 到 {MAX_LIMIT} 之间")
        page = c.query(
            self.store,
            bbox=bbox,
            filters=equals_all(equals),
            limit=limit,
            offset=offset,
            datetime=interval,
        )
        base = f"{req.base_url}/collections/{c.id}/items"
        keep = {k: v for k, v in args.items() if k not in ("offset", "f")}

        def link(rel: str, off: int, media: str, fmt: str) -> dict:
            return {
                "href": f"{base}?{urlencode({**keep, 'offset': off, 'f': fmt})}",
                "rel": rel,
                "type": media,
            }

        links = [
            link("self", offset, GEOJSON, "json"),
            link("alternate", offset, "text/html", "html"),
            {
                "href": f"{req.base_url}/collections/{c.id}",
                "rel": "collection",
                "type": "application/json",
            },
        ]
        if offset + len(page.features) < page.number_matched:
            links.append(link("next", offset + limit, GEOJSON, "json"))
        if offset > 0:
            links.append(link("prev", max(0, offset - limit), GEOJSON, "json"))
        body = {
            "type": "FeatureCollection",
            "features": page.features,
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "links": links,
            "title": c.display_title,
            "demonstration": c.demonstration,
        }
        return ApiResponse(body, media_type=GEOJSON, template="ogc/items.html")

    def item(self, req: ApiRequest, collection_id: str, feature_id: str) -> ApiResponse:
        c = self._collection(collection_id)
        feature = c.get(self.store, feature_id)
        base = f"{req.base_url}/collections/{c.id}"
        feature["links"] = [
            {"href": f"{base}/items/{feature_id}?f=json", "rel": "self", "type": GEOJSON},
            {"href": f"{base}/items/{feature_id}?f=html", "rel": "alternate", "type": "text/html"},
            {"href": f"{base}?f=json", "rel": "collection", "type": "application/json"},
        ]
        return ApiResponse(feature, media_type=GEOJSON, template="ogc/item.html")
