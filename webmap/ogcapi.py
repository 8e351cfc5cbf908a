"""OGC API - Features (Part 1 Core, Part 2 CRS by reference, Part 3 queryables, filtering,
CQL2 text and JSON, sorting and property selection) without a web framework.

Each handler takes an ``ApiRequest`` and returns an ``ApiResponse`` (status, headers and a
JSON-ready body); ``webmap.ogc`` adapts Flask to it, as pygeoapi's flask_app does. The
collections are the layer providers of ``webmap.layers``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import numpy as np
import shapely
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from werkzeug.http import parse_etags, unquote_etag

from gazetteer.core.crs import (
    CGCS2000_URI,
    CRS84_URI,
    OGC_CRS_URIS,
    geometry_from_ogc_crs,
)
from gazetteer.core.errors import InvalidInput, NotFound, naming_field
from gazetteer.core.spatial import BBox, check_bbox
from gazetteer.core.store import Store
from gazetteer.cql import FILTER_LANGUAGES, and_all, equals_all, parse_filter
from gazetteer.features import FeatureProvider, parse_datetime
from gazetteer.tiles import MAX_ZOOM, MVT_MEDIA_TYPE, encode_tile

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/property-selection",
]
GEOJSON = "application/geo+json"
GEOPACKAGE = "application/geopackage+sqlite3"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"  # OGC API - Features Part 5
JSON_SCHEMA = "application/schema+json"
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
WEB_MERCATOR_QUAD = "WebMercatorQuad"
WEB_MERCATOR_QUAD_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
# Paging: GDAL >= 3.8 and QGIS read ``default``/``maximum`` of ``limit`` from the OpenAPI
# document and ask for up to 1,000 a page; older GDAL asks for 10 and follows ``next``
# links, which the rate limiter counts against a separate paging budget (webmap.security).
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
OUTPUT_FORMATS = ("json", "html")


def _comma_separated(value):
    """``1,2,3,4`` -> ["1", "2", "3", "4"] (OpenAPI ``style: form, explode: false``)."""
    return value.split(",") if isinstance(value, str) else value


def _true_or_false(value):
    """An OpenAPI boolean in a query string is ``true`` or ``false``, nothing else."""
    if value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool):
        return value
    raise ValueError("应为 true 或 false")


def _written_integer(value):
    """A query-string integer is written one way (docs/security.md): ASCII digits without
    leading zeros; pydantic would also read ``01``, ``+1``, ``١`` or ``１`` as 1."""
    if not isinstance(value, str):
        return value
    if value.isascii() and value.isdigit() and (value == "0" or not value.startswith("0")):
        return int(value)
    raise ValueError("应为不带前导零的 ASCII 数字")


CrsUri = Literal[OGC_CRS_URIS]
QueryBoolean = Annotated[bool, BeforeValidator(_true_or_false)]
QueryInteger = Annotated[int, BeforeValidator(_written_integer)]


class OgcQuery(BaseModel):
    """The query parameters of a landing, conformance, collection, schema or tile-set
    document (``f``). The names a layer's queryables add are let through here and checked
    by ``check_params`` (/req/core/query-param-unknown) and their fields' ``coerce``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    f: Literal[OUTPUT_FORMATS] | None = Field(None, description="json 或 html（网页）")


class FeatureQuery(OgcQuery):
    """One feature: its CRS, which properties, and whether to leave out the geometry."""

    crs: CrsUri | None = Field(
        None,
        description="CRS of the returned geometries (default CRS84); see Content-Crs",
        json_schema_extra={"format": "uri", "example": CRS84_URI},
    )
    properties: str | None = Field(None, description="comma-separated properties to return")
    skipGeometry: QueryBoolean = False  # noqa: N815 (the OGC parameter's own name)


class ItemsQuery(FeatureQuery):
    """A page of features (OGC API - Features Parts 1-3, sorting, property selection)."""

    bbox: (
        Annotated[
            list[Annotated[float, Field(allow_inf_nan=False)]],
            BeforeValidator(_comma_separated),
            Field(min_length=4, max_length=4),
        ]
        | None
    ) = Field(None, description="minx,miny,maxx,maxy in bbox-crs axis order (CRS84: lon,lat)")
    bbox_crs: CrsUri | None = Field(
        None,
        alias="bbox-crs",
        description="CRS of bbox (default CRS84)",
        json_schema_extra={"format": "uri", "example": CRS84_URI},
    )
    # Part 1 (/req/core/fc-limit-response-1): a limit above the server's maximum is read as
    # the maximum, not refused; so the document declares no maximum and says so instead.
    limit: Annotated[QueryInteger, Field(ge=1)] = Field(
        DEFAULT_LIMIT,
        description=f"features per page (default {DEFAULT_LIMIT}; a larger value than "
        f"{MAX_LIMIT} is read as {MAX_LIMIT})",
    )
    offset: Annotated[QueryInteger, Field(ge=0, le=2**63 - 1)] = Field(
        0, description="features to skip"
    )
    datetime: str | None = Field(
        None, description="instant or interval (a/b, '..' open) on places' named/retired dates"
    )
    filter: str | None = Field(
        None, description="CQL2 text or CQL2 JSON over the collection's queryables"
    )
    filter_lang: Literal[FILTER_LANGUAGES] | None = Field(
        None, alias="filter-lang", description="cql2-text (default) or cql2-json"
    )
    filter_crs: CrsUri | None = Field(
        None,
        alias="filter-crs",
        description="CRS of geometry literals in filter (default CRS84)",
        json_schema_extra={"format": "uri", "example": CRS84_URI},
    )
    sortby: str | None = Field(
        None, description="comma-separated queryables, '-' for descending (e.g. -area_km2,name)"
    )


def ogc_params(model: type[OgcQuery]) -> tuple[str, ...]:
    """The parameter names ``model`` declares, as a client writes them."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


def item_params(c: FeatureProvider) -> tuple[str, ...]:
    """The query parameters ``items`` of ``c`` accepts (the OpenAPI document lists the same):
    ``datetime`` only where the layer has dates to filter on, then its queryables."""
    standard = tuple(p for p in ogc_params(ItemsQuery) if p != "datetime" or c.temporal is not None)
    return (*standard, *c.queryable_fields())


def check_format(f: str | None) -> None:
    """``f`` is json or html (or absent); anything else is a 400, not a silent JSON answer."""
    if f is not None and f not in OUTPUT_FORMATS:
        raise InvalidInput(
            f"不支持的输出格式 f={f!r}（可选：{'、'.join(OUTPUT_FORMATS)}）",
            details={"field": "f", "f": f, "allowed": list(OUTPUT_FORMATS)},
        )


def parsed_args(model: type[OgcQuery], args: Mapping[str, str], allowed) -> OgcQuery:
    """``args`` checked: an unknown name is a 400 (``check_params``), and so is a value the
    document does not allow for its parameter (an empty CRS, ``skipGeometry=yes``), naming
    the parameter."""
    check_params(args, allowed)
    try:
        return model.model_validate(dict(args))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        raise InvalidInput(
            f"参数 {name} 的值不符合 OpenAPI 文档：{args.get(name)!r}",
            details={"field": name, "parameter": name},
        ) from None


COLLECTION_PARAMS = ogc_params(OgcQuery)
FEATURE_PARAMS = ogc_params(FeatureQuery)


@dataclass
class ApiRequest:
    base_url: str  # e.g. "http://127.0.0.1:5000/ogc" (no trailing slash)
    args: Mapping[str, str] = field(default_factory=dict)
    format: str = "json"  # "json" or "html"
    if_none_match: str | None = None
    if_modified_since: str | None = None
    path: str = ""  # the request path, part of the ETag (tiles differ only by path)


@dataclass
class ApiResponse:
    body: Any
    status: int = 200
    media_type: str = "application/json"
    template: str | None = None  # HTML rendering of the same body
    headers: dict[str, str] = field(default_factory=dict)


def check_params(args: Mapping[str, str], allowed) -> None:
    """OGC API Part 1 (/req/core/query-param-unknown): an unknown parameter is a 400."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"不支持的查询参数：{', '.join(unknown)}",
            details={"field": unknown[0], "unknown": unknown, "allowed": sorted(allowed)},
        )


def _properties(c: FeatureProvider, query: FeatureQuery) -> list[str] | None:
    """The ``properties`` asked for (None: all), each one the layer has (else a 400 naming
    ``properties``)."""
    if query.properties is None:
        return None
    properties = [p.strip() for p in query.properties.split(",") if p.strip()]
    with naming_field("properties"):
        for name in properties:
            c.field(name)
    return properties


def parse_bbox_in(numbers, bbox_crs: str) -> BBox:
    """OGC ``bbox`` (4 numbers in ``bbox_crs``'s axis order) -> CGCS2000 lon/lat box,
    degrees. A box in a projected CRS becomes the lon/lat box around its outline."""
    a, b, c, d = numbers
    if not all(math.isfinite(v) for v in (a, b, c, d)):
        raise InvalidInput("bbox 含有非有限数值")
    if bbox_crs == CRS84_URI:
        return check_bbox((a, b, c, d))
    if a > c or b > d:
        raise InvalidInput("bbox 的最小值大于最大值")
    # 16 points along each side: a box in a projected CRS is curved in lon/lat
    t = np.linspace(0.0, 1.0, 17)
    xs = np.concatenate([a + (c - a) * t, np.full(17, c), c - (c - a) * t, np.full(17, a)])
    ys = np.concatenate([np.full(17, b), b + (d - b) * t, np.full(17, d), d - (d - b) * t])
    outline = shapely.multipoints(np.column_stack([xs, ys]))
    with np.errstate(all="ignore"):
        bounds = geometry_from_ogc_crs(outline, bbox_crs).bounds
    if not all(math.isfinite(v) for v in bounds):
        raise InvalidInput("bbox 超出该坐标参考系的有效范围")
    return check_bbox(tuple(bounds))


def _not_modified_since(header: str | None, changed_at) -> bool:
    """RFC 9110 If-Modified-Since: true when the layer has not changed since then."""
    if not header or changed_at is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110 section 13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return changed_at.replace(microsecond=0) <= since


def _sort(text: str | None) -> list[tuple[str, bool]]:
    """``sortby=name,-area_km2`` -> [("name", False), ("area_km2", True)]."""
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        out.append((part.lstrip("+-"), descending))
    return out


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

    # ---- caching ---------------------------------------------------------------------------

    def validator(self, c: FeatureProvider, req: ApiRequest) -> tuple[str, Any]:
        """(ETag, last change time or None) of what ``req`` reads from ``c``: the newest
        audit-log entry of the layer's tables (every write is audited by triggers) and the
        request's own parameters."""
        newest_id, newest_at = c.last_change(self.store)
        key = f"{c.id}|{newest_id}|{req.path}|{req.format}|{sorted(req.args.items())}"
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"', newest_at

    def _cached(self, c: FeatureProvider, req: ApiRequest, build) -> ApiResponse:
        etag, changed_at = self.validator(c, req)
        headers = {"ETag": etag}
        if changed_at is not None:
            if changed_at.tzinfo is None:  # SQLite hands back naive UTC
                changed_at = changed_at.replace(tzinfo=dt.UTC)
            changed_at = changed_at.astimezone(dt.UTC)
            headers["Last-Modified"] = format_datetime(changed_at, usegmt=True)
        if req.if_none_match is not None:
            # RFC 9110 13.1.2: If-None-Match uses weak comparison, so W/"x" matches "x"
            # (nginx weakens ETags when it compresses).
            fresh = parse_etags(req.if_none_match).contains_weak(unquote_etag(etag)[0])
        else:
            fresh = _not_modified_since(req.if_modified_since, changed_at)
        if fresh:
            return ApiResponse(None, status=304, headers=headers)
        response = build()
        response.headers.update(headers)
        return response

    # ---- landing, conformance, collections -------------------------------------------------

    def landing(self, req: ApiRequest) -> ApiResponse:
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
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
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
        return ApiResponse({"conformsTo": CONFORMANCE}, template="ogc/conformance.html")

    def _collection_body(self, req: ApiRequest, c: FeatureProvider) -> dict:
        base = req.base_url
        extent = c.extent(self.store)
        here = f"{base}/collections/{c.id}"
        body = {
            "id": c.id,
            "title": c.display_title,
            "description": c.description,
            "itemType": "feature",
            "crs": list(c.crs),
            "storageCrs": CGCS2000_URI,
            "links": self._links(base, f"/collections/{c.id}", "application/json")
            + [
                {"href": f"{here}/items?f=json", "rel": "items", "type": GEOJSON, "title": "要素"},
                {
                    "href": f"{here}/items?f=html",
                    "rel": "items",
                    "type": "text/html",
                    "title": "要素（网页）",
                },
                {
                    "href": f"{here}/queryables",
                    "rel": QUERYABLES_REL,
                    "type": JSON_SCHEMA,
                    "title": "可查询属性",
                },
                # GDAL's OAPIF driver types its fields from the describedBy schema.
                *(
                    {"href": f"{here}/schema", "rel": rel, "type": JSON_SCHEMA, "title": "要素模式"}
                    for rel in ("describedBy", SCHEMA_REL)
                ),
                {
                    "href": f"{here}/download.gpkg",
                    "rel": "enclosure",
                    "type": GEOPACKAGE,
                    "title": "整层下载（GeoPackage，EPSG:4490）",
                },
            ],
        }
        if c.tile_properties:
            body["links"].append(
                {
                    "href": f"{here}/tiles",
                    "rel": TILESETS_REL,
                    "type": "application/json",
                    "title": "矢量瓦片（Mapbox Vector Tiles）",
                }
            )
        if extent:
            body["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84_URI}}
        if c.demonstration:
            body["demonstration"] = True
        return body

    def collections_list(self, req: ApiRequest) -> ApiResponse:
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
        body = {
            "links": self._links(req.base_url, "/collections", "application/json"),
            "collections": [self._collection_body(req, c) for c in self.collections.values()],
        }
        return ApiResponse(body, template="ogc/collections.html")

    def collection(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
        c = self._collection(collection_id)
        return self._cached(
            c,
            req,
            lambda: ApiResponse(self._collection_body(req, c), template="ogc/collection.html"),
        )

    def queryables(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        """JSON Schema of what filter, sortby and property=value accept (Part 3)."""
        return self._json_schema(req, collection_id, "queryables", FeatureProvider.queryables)

    def schema(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        """JSON Schema of the collection's features: every property with its type."""
        return self._json_schema(req, collection_id, "schema", FeatureProvider.feature_schema)

    def _json_schema(self, req: ApiRequest, collection_id: str, name: str, build) -> ApiResponse:
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
        c = self._collection(collection_id)
        body = build(c)
        body["$id"] = f"{req.base_url}/collections/{c.id}/{name}"
        return ApiResponse(body, media_type=JSON_SCHEMA, template="ogc/schema.html")

    # ---- features --------------------------------------------------------------------------

    def items(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        c = self._collection(collection_id)
        if "datetime" in req.args and c.temporal is None:
            raise InvalidInput(
                f"图层 {c.id} 没有时间属性，不接受 datetime（某日的区划见 "
                "/api/divisions/as-of?date=YYYY-MM-DD）",
                details={"parameter": "datetime", "collection": c.id},
            )
        query = parsed_args(ItemsQuery, req.args, item_params(c))
        return self._cached(c, req, lambda: self._items(req, c, query))

    def _items(self, req: ApiRequest, c: FeatureProvider, query: ItemsQuery) -> ApiResponse:
        args = req.args
        queryables = c.queryable_fields()
        crs = query.crs or CRS84_URI
        limit = min(query.limit, MAX_LIMIT)  # Part 1: a larger limit is not an error
        offset = query.offset
        bbox = None
        if query.bbox is not None:
            with naming_field("bbox"):
                bbox = parse_bbox_in(query.bbox, query.bbox_crs or CRS84_URI)
        with naming_field("datetime"):
            interval = parse_datetime(query.datetime) if query.datetime else None
        equals = equals_all(
            {k: queryables[k].coerce(v) for k, v in args.items() if k in queryables}
        )
        cql = None
        if query.filter:
            with naming_field("filter"):
                cql = parse_filter(query.filter, query.filter_lang)
        properties = _properties(c, query)
        filter_crs = query.filter_crs or CRS84_URI
        page = c.query(
            self.store,
            bbox=bbox,
            filters=and_all([equals, cql]),
            filter_crs=filter_crs,
            sort=_sort(query.sortby),
            properties=properties,
            limit=limit,
            offset=offset,
            crs=crs,
            skip_geometry=query.skipGeometry,
            datetime=interval,
        )
        base = f"{req.base_url}/collections/{c.id}/items"
        keep = {k: v for k, v in args.items() if k not in ("offset", "f", "limit")}

        def link(rel: str, off: int, media: str, fmt: str) -> dict:
            query = urlencode({**keep, "limit": limit, "offset": off, "f": fmt})
            return {"href": f"{base}?{query}", "rel": rel, "type": media}

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
        return ApiResponse(
            body,
            media_type=GEOJSON,
            template="ogc/items.html",
            headers={"Content-Crs": f"<{crs}>"},
        )

    def item(self, req: ApiRequest, collection_id: str, feature_id: str) -> ApiResponse:
        c = self._collection(collection_id)
        query = parsed_args(FeatureQuery, req.args, FEATURE_PARAMS)
        return self._cached(c, req, lambda: self._item(req, c, feature_id, query))

    def _item(
        self, req: ApiRequest, c: FeatureProvider, feature_id: str, query: FeatureQuery
    ) -> ApiResponse:
        crs = query.crs or CRS84_URI
        properties = _properties(c, query)
        feature = c.get(
            self.store,
            feature_id,
            crs=crs,
            properties=properties,
            skip_geometry=query.skipGeometry,
        )
        base = f"{req.base_url}/collections/{c.id}"
        feature["links"] = [
            {"href": f"{base}/items/{feature_id}?f=json", "rel": "self", "type": GEOJSON},
            {"href": f"{base}/items/{feature_id}?f=html", "rel": "alternate", "type": "text/html"},
            {"href": f"{base}?f=json", "rel": "collection", "type": "application/json"},
        ]
        return ApiResponse(
            feature,
            media_type=GEOJSON,
            template="ogc/item.html",
            headers={"Content-Crs": f"<{crs}>"},
        )

    # ---- vector tiles (OGC API - Tiles shape) -----------------------------------------------

    def _tiled(self, collection_id: str) -> FeatureProvider:
        c = self._collection(collection_id)
        if not c.tile_properties:
            raise NotFound(f"图层 {collection_id} 不提供矢量瓦片")
        return c

    def tilesets(self, req: ApiRequest, collection_id: str) -> ApiResponse:
        parsed_args(OgcQuery, req.args, COLLECTION_PARAMS)
        c = self._tiled(collection_id)
        here = f"{req.base_url}/collections/{c.id}/tiles/{WEB_MERCATOR_QUAD}"
        body = {
            "tilesets": [
                {
                    "title": f"{c.display_title}（矢量瓦片）",
                    "dataType": "vector",
                    "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                    "tileMatrixSetURI": WEB_MERCATOR_QUAD_URI,
                    "minzoom": 0,
                    "maxzoom": MAX_ZOOM,
                    "tileMatrixSetLimits": [
                        {
                            "tileMatrix": str(z),
                            "minTileRow": 0,
                            "maxTileRow": 2**z - 1,
                            "minTileCol": 0,
                            "maxTileCol": 2**z - 1,
                        }
                        for z in range(MAX_ZOOM + 1)
                    ],
                    "links": [
                        {
                            "href": here + "/{tileMatrix}/{tileRow}/{tileCol}",
                            "rel": "item",
                            "type": MVT_MEDIA_TYPE,
                            "templated": True,
                        }
                    ],
                    "layers": [{"id": c.id, "propertiesSchema": list(c.tile_properties)}],
                }
            ]
        }
        return ApiResponse(body, template="ogc/tilesets.html")

    def tile(
        self,
        req: ApiRequest,
        collection_id: str,
        matrix_set: str,
        tileMatrix: int,  # noqa: N803 (the OGC path parameters' own names)
        tileRow: int,  # noqa: N803
        tileCol: int,  # noqa: N803
    ) -> ApiResponse:
        """One Mapbox Vector Tile; queryables as parameters narrow it (``?level=county``)."""
        z, y, x = tileMatrix, tileRow, tileCol
        c = self._tiled(collection_id)
        if matrix_set != WEB_MERCATOR_QUAD:
            raise NotFound(f"只提供 {WEB_MERCATOR_QUAD} 瓦片矩阵集")
        queryables = c.queryable_fields()
        check_params(req.args, tuple(queryables))
        equals = equals_all({k: queryables[k].coerce(v) for k, v in req.args.items()})
        return self._cached(
            c,
            req,
            lambda: ApiResponse(
                encode_tile(c, self.store, z, x, y, equals),
                media_type=MVT_MEDIA_TYPE,
                headers={"Cache-Control": "public, max-age=300"},
            ),
        )
