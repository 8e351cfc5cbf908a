"""One feature provider per layer: the single way a layer is read, by the web map, the
OGC API, the exports and the vector tiles (pygeoapi's provider shape).

A ``FeatureProvider`` describes one layer over the store (its columns as typed ``Field``s,
its geometry column and bounding columns) and answers

* ``query(store, bbox=, filters=, sort=, properties=, limit=, offset=, crs=,
  skip_geometry=, datetime=)`` -> ``Page`` (GeoJSON features + numberMatched),
* ``get(store, id)`` -> one feature,
* ``queryables()`` -> a JSON Schema of the filterable properties,
* ``extent(store)`` from the layer's own rows and ``last_change(store)``,
* ``frame(store)`` -> the whole layer as a GeoDataFrame for the exports.

Every filter (the OGC API's ``property=value`` parameters and CQL2 alike) is a pygeofilter
AST translated into SQLAlchemy expressions (``gazetteer.cql``), so it runs inside the store on
SQLite and PostGIS. Geometries are stored in CGCS2000 lon/lat (EPSG:4490, x = lon); output is
RFC 7946 GeoJSON (right-hand rings, 7 decimals) in CRS84 unless another CRS is asked for.
The gazetteer's layers are in ``gazetteer.layers``, the boundaries' in ``boundaries.layers``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
import sqlalchemy as sa

from gazetteer.core.account_tables import audit_log
from gazetteer.core.crs import CRS84_URI, OGC_CRS_URIS
from gazetteer.core.errors import InvalidInput, NotFound, naming_field
from gazetteer.core.geojson_output import COORDINATE_DECIMALS, geometries_json
from gazetteer.core.spatial import BBox, box_intersects_clause, stored_wkb
from gazetteer.core.store import Store
from gazetteer.core.text import TEXT_PATTERN, canonical_number

DEMONSTRATION_LABEL = "演示数据"

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


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # flat: the same cell in GPKG/CSV
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def integer_id(text: str) -> int:
    """A feature id from a URL as the integer key it names (ASCII digits, no leading zeros:
    ``canonical_number``); ``ValueError`` (answered 404) for any other spelling."""
    number = canonical_number(text)
    if number is None:
        raise ValueError(text)
    return number


# What a query-string value of each type must be, in the words of a refusal.
_COERCED_KINDS = {
    "integer": "整数（ASCII 数字，不带前导零）",
    "number": "有限数值",
    "boolean": "true 或 false",
    "date": "日期（YYYY-MM-DD）",
}


@dataclass(frozen=True)
class Field:
    """One property of a layer: its name, the SQL expression it is read from, and its JSON
    Schema type ('string', 'integer', 'number', 'boolean'; dates are strings with
    format 'date'). Only queryable fields may appear in filters and sortby."""

    name: str
    column: Any
    type: str
    title: str = ""
    format: str | None = None
    queryable: bool = True
    enum: tuple | None = None

    def schema(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        if self.title:
            out["title"] = self.title
        if self.format:
            out["format"] = self.format
        if self.enum:
            out["enum"] = list(self.enum)
        elif self.type == "string" and not self.format:
            # The control-character rule every text value is checked against.
            out["pattern"] = TEXT_PATTERN
        return out

    def coerce(self, text: str) -> Any:
        """A query-string value as this field's type (raises InvalidInput naming the field).
        Numbers are read as written in ASCII only (``int``/``float`` also read ``١``, ``１``,
        ``+1`` and ``01``, so one value would answer to many spellings); an integer has no
        leading zeros (docs/security.md) and a number is finite."""
        try:
            if self.type == "integer":
                number = canonical_number(text.removeprefix("-")) if text.isascii() else None
                if number is None or text in ("-0", "-"):
                    raise ValueError(text)
                return -number if text.startswith("-") else number
            if self.type == "number":
                number = float(text) if text.isascii() else math.nan
                if not math.isfinite(number):
                    raise ValueError(text)
                return number
            if self.type == "boolean":
                return {"true": True, "false": False, "1": True, "0": False}[text.lower()]
            if self.format == "date":
                return dt.date.fromisoformat(text)
        except (ValueError, KeyError):
            kind = _COERCED_KINDS.get(self.format or self.type, self.type)
            raise InvalidInput(
                f"参数 {self.name} 的值不是{kind}：{text!r}", details={"field": self.name}
            ) from None
        if self.enum and text not in self.enum:  # the queryables document lists the values
            raise InvalidInput(
                f"参数 {self.name} 应为以下之一：{'、'.join(map(str, self.enum))}",
                details={"field": self.name, "allowed": list(self.enum)},
            )
        return text


@dataclass
class Page:
    features: list[dict]
    number_matched: int


_MIN_MIN_MAX_MAX = (sa.func.min, sa.func.min, sa.func.max, sa.func.max)


def _outward(bounds) -> BBox:
    """(minx, miny, maxx, maxy) rounded outward to 7 decimals (about 1 cm), so that the
    rounded box still holds every geometry."""
    scale = 10**COORDINATE_DECIMALS
    minx, miny, maxx, maxy = (float(v) * scale for v in bounds)
    return (
        math.floor(minx) / scale,
        math.floor(miny) / scale,
        math.ceil(maxx) / scale,
        math.ceil(maxy) / scale,
    )


@dataclass(frozen=True)
class FeatureProvider:
    """One layer over the store. ``source`` is the table (or join) the fields come from;
    ``bounds`` the (minx, miny, maxx, maxy) columns in degrees used to prefilter by box
    (for point tables the lon/lat columns twice); ``where`` is always applied."""

    id: str
    title: str  # zh, without the demonstration label (``display_title`` adds it once)
    description: str
    geometry_type: str
    source: Any
    id_field: str
    fields: tuple[Field, ...]
    geometry: Any
    bounds: tuple
    order_by: tuple = ()
    where: tuple = ()
    temporal: tuple | None = None  # (start column, end column): valid during [start, end)
    demonstration: bool = False
    parse_id: Callable[[str], Any] = str
    crs: tuple[str, ...] = field(default=OGC_CRS_URIS)
    tile_properties: tuple[str, ...] = ()  # properties in the vector tiles; () = no tiles
    # False when a row's bounding columns may be larger than its geometry (places)
    bounds_are_envelopes: bool = True

    # ---- metadata ------------------------------------------------------------------------

    @property
    def display_title(self) -> str:
        return f"{self.title}（{DEMONSTRATION_LABEL}）" if self.demonstration else self.title

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise InvalidInput(
            f"图层 {self.id} 没有属性 {name!r}",
            details={"property": name, "known": [f.name for f in self.fields]},
        )

    def queryable_fields(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields if f.queryable}

    def queryables(self) -> dict:
        """JSON Schema of what ``filters`` and ``sort`` may name (OGC API Part 3)."""
        props = {name: f.schema() for name, f in self.queryable_fields().items()}
        props["geometry"] = {
            "format": f"geometry-{self.geometry_type.lower().replace('multi', '')}",
            "title": "图形（CRS84 经度,纬度）",
        }
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "type": "object",
            "title": self.display_title,
            "properties": props,
            "additionalProperties": False,
        }

    def feature_schema(self) -> dict:
        """JSON Schema of one GeoJSON feature of this layer, every property with its type
        (dates: string, format date). Clients read it to type their fields instead of
        guessing from a first page (GDAL 3.6 follows the collection's ``describedBy`` link:
        with a page of null dates it would otherwise make them text)."""
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "type": "object",
            "title": self.display_title,
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": self.field(self.id_field).type},
                "geometry": {
                    "format": f"geometry-{self.geometry_type.lower().replace('multi', '')}",
                    "title": "图形（CRS84 经度,纬度）",
                },
                "properties": {
                    "type": "object",
                    "properties": {f.name: f.schema() for f in self.fields},
                },
            },
        }

    def extent(self, store: Store) -> BBox | None:
        """(minlon, minlat, maxlon, maxlat) of the layer's own geometries, degrees.

        Taken from the geometries, not the bounding columns: a place that is a division is
        stored as a point (its label position) with the division's box as its bounding
        columns (for zooming to it), so the columns' box is the divisions' box."""
        # a row without bounding columns has no (or an empty) geometry; a range on minx
        # (degrees, never below -180) lets SQLite find the others through the bbox index
        where = (*self.where, self.geometry.is_not(None), self.bounds[0] >= -180)
        with store.read() as conn:
            if store.dialect == "postgresql":
                box2d = sa.func.ST_Extent(self.geometry)
                row = conn.execute(
                    sa.select(
                        sa.func.ST_XMin(box2d),
                        sa.func.ST_YMin(box2d),
                        sa.func.ST_XMax(box2d),
                        sa.func.ST_YMax(box2d),
                    )
                    .select_from(self.source)
                    .where(*where)
                ).one()
                return _outward(row) if row[0] is not None else None
            if self.bounds_are_envelopes:
                row = conn.execute(
                    sa.select(*(agg(col) for agg, col in zip(_MIN_MIN_MAX_MAX, self.bounds)))
                    .select_from(self.source)
                    .where(*where)
                ).one()
                return _outward(row) if row[0] is not None else None
            wkbs = conn.execute(
                sa.select(stored_wkb(self.geometry, store.dialect))
                .select_from(self.source)
                .where(*where)
            ).scalars()
            geoms = shapely.from_wkb(list(wkbs))
        if len(geoms) == 0:
            return None
        return _outward(shapely.total_bounds(geoms))

    def last_change(self, store: Store) -> tuple[int | None, Any]:
        """(id, time) of the newest audit-log entry on the layer's tables: every write is
        recorded there by triggers, so this changes whenever the layer may have changed
        (a validator for HTTP caching and tile caches)."""
        tables = sorted({t.name for t in sa.sql.util.find_tables(self.source)})
        with store.read() as conn:
            # One max() per table: each is a seek on ix_audit_log_table_name_id (an IN list
            # would scan every entry of the tables).
            newest = [
                conn.execute(
                    sa.select(sa.func.max(audit_log.c.id)).where(audit_log.c.table_name == name)
                ).scalar()
                for name in tables
            ]
            newest_id = max((i for i in newest if i is not None), default=None)
            if newest_id is None:
                return None, None
            newest_at = conn.execute(
                sa.select(audit_log.c.at).where(audit_log.c.id == newest_id)
            ).scalar_one()
        return newest_id, newest_at

    # ---- reading -------------------------------------------------------------------------

    def _where(
        self,
        store: Store,
        bbox: BBox | None,
        filters,
        datetime: Interval | None,
        filter_crs: str = CRS84_URI,
    ) -> list:
        from gazetteer.cql import to_sql  # cql imports Field from here

        where = list(self.where)
        if bbox is not None:
            where.append(box_intersects_clause(self.geometry, self.bounds, bbox, store.dialect))
        if filters is not None:
            with naming_field("filter"):  # property=value parameters are checked before
                where.append(to_sql(filters, self, store.dialect, filter_crs))
        if datetime is not None and self.temporal is not None:
            start_col, end_col = self.temporal
            start, end = datetime
            # valid during [start_col, end_col): overlaps the requested interval
            if end is not None:
                where.append(sa.or_(start_col.is_(None), start_col <= end))
            if start is not None:
                where.append(sa.or_(end_col.is_(None), end_col > start))
        return where

    def _names(self, properties: Sequence[str] | None) -> list[str]:
        """The properties a feature carries: ``properties`` (each checked) or all fields."""
        if properties is None:
            return [f.name for f in self.fields]
        for name in properties:
            self.field(name)
        return list(properties)

    def _columns(self, names: Sequence[str], geometry) -> list:
        """The SELECT list: the properties ``names``, then the id, then ``geometry`` (an
        expression for the geometry column, or None to leave it out)."""
        columns = [self.field(n).column.label(n) for n in names]
        columns.append(self.field(self.id_field).column.label("gd_id"))
        if geometry is not None:
            columns.append(geometry.label("gd_geom"))
        return columns

    def _features(self, rows, names: Sequence[str], crs: str, skip_geometry: bool) -> list[dict]:
        """GeoJSON features for rows of ``_columns(names, stored_wkb(...))``; the geometry
        is a ``GeometryJSON`` (RFC 7946 text, made once per geometry and CRS)."""
        n = len(names)
        geometries = (
            geometries_json([row[n + 1] for row in rows], crs)
            if not skip_geometry
            else [None] * len(rows)
        )
        # lists and dicts (JSON columns) go out flat: the same cell as in GPKG/CSV
        flat = [name for name in names if isinstance(self.field(name).column.type, sa.JSON)]
        out = []
        for row, geometry in zip(rows, geometries):
            props = dict(zip(names, row))
            for name in flat:
                props[name] = _json_value(props[name])
            if self.demonstration:
                props["demonstration"] = True
            out.append({"type": "Feature", "id": row[n], "geometry": geometry, "properties": props})
        return out

    def query(
        self,
        store: Store,
        *,
        bbox: BBox | None = None,
        filters=None,
        sort: Sequence[tuple[str, bool]] = (),
        properties: Sequence[str] | None = None,
        limit: int | None = 10,
        offset: int = 0,
        crs: str = CRS84_URI,
        skip_geometry: bool = False,
        datetime: Interval | None = None,
        filter_crs: str = CRS84_URI,
    ) -> Page:
        """A page of features and how many match. ``bbox`` is (minlon, minlat, maxlon,
        maxlat) CGCS2000 degrees, exact (geometry intersects the box); ``filters`` a
        pygeofilter AST over ``queryables()``; ``sort`` (property, descending) pairs, the id
        breaking ties so pages are stable; ``properties`` the properties to return (None:
        all); ``limit`` None for every feature; ``crs`` an OGC CRS URI for the output;
        ``filter_crs`` the CRS of geometry literals in ``filters``."""
        if limit is not None and limit < 1:
            raise InvalidInput("limit 应为正整数")
        if offset < 0:
            raise InvalidInput("offset 不能为负数")
        where = self._where(store, bbox, filters, datetime, filter_crs)
        order = []
        for name, descending in sort:
            f = self.queryable_fields().get(name)
            if f is None:
                raise InvalidInput(
                    f"不能按 {name!r} 排序（可用：见 queryables）", details={"field": "sortby"}
                )
            order.append(f.column.desc() if descending else f.column.asc())
        order.extend(self.order_by or (self.field(self.id_field).column,))
        names = self._names(properties)
        geometry = None if skip_geometry else stored_wkb(self.geometry, store.dialect)
        page = sa.select(self.field(self.id_field).column).select_from(self.source).where(*where)
        page = page.order_by(*order).offset(offset)
        if limit is not None:
            page = page.limit(limit)
        # Deferred join: skip ``offset`` rows over the ids alone (a narrow index, e.g.
        # ix_places_id on SQLite), then read the wide rows of the page only.
        in_page = [self.field(self.id_field).column.in_(page)] if offset else []
        query = (
            sa.select(*self._columns(names, geometry))
            .select_from(self.source)
            .where(*where, *in_page)
            .order_by(*order)
        )
        if not offset and limit is not None:
            query = query.limit(limit)
        with store.read() as conn:
            rows = conn.execute(query).all()
            if (limit is None or len(rows) < limit) and (rows or offset == 0):
                matched = offset + len(rows)  # the last page: no second pass over the filter
            else:
                matched = conn.execute(
                    sa.select(sa.func.count()).select_from(self.source).where(*where)
                ).scalar_one()
        return Page(self._features(rows, names, crs, skip_geometry), int(matched))

    def shapes(
        self, store: Store, *, bbox: BBox, properties: Sequence[str], filters=None
    ) -> list[tuple[dict, Any]]:
        """(properties, shapely geometry in CGCS2000 lon/lat) of every feature whose geometry
        intersects ``bbox``: the raw rows the vector tiles are cut from."""
        where = self._where(store, bbox, filters, None)
        query = (
            sa.select(*self._columns(properties, self.geometry))
            .select_from(self.source)
            .where(*where)
        )
        with store.read() as conn:
            rows = conn.execute(query).all()
        return [
            ({name: _json_value(r._mapping[name]) for name in properties}, r._mapping["gd_geom"])
            for r in rows
        ]

    def get(
        self,
        store: Store,
        feature_id: str,
        *,
        crs: str = CRS84_URI,
        properties: Sequence[str] | None = None,
        skip_geometry: bool = False,
    ) -> dict:
        """One feature by id; raises NotFound."""
        # featureId: the path parameter's name in the OGC API document.
        missing = NotFound(
            f"{self.display_title}中没有编号为 {feature_id} 的要素", details={"field": "featureId"}
        )
        try:
            key = self.parse_id(str(feature_id))
        except (ValueError, TypeError):
            raise missing from None
        if isinstance(key, int) and not -(2**63) <= key < 2**63:
            raise missing  # beyond any stored integer id (and the database's integer type)
        names = self._names(properties)
        geometry = None if skip_geometry else stored_wkb(self.geometry, store.dialect)
        query = (
            sa.select(*self._columns(names, geometry))
            .select_from(self.source)
            .where(*self.where, self.field(self.id_field).column == key)
        )
        with store.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise missing
        return self._features(rows, names, crs, skip_geometry)[0]

    def frame(self, store: Store, *, filters=None):
        """The whole layer as a GeoDataFrame (EPSG:4490, lon/lat) for the exports, with the
        same properties as the API (a demonstration layer carries ``demonstration``)."""
        from gazetteer.layers import frame_from_rows

        with store.read() as conn:
            rows = conn.execute(
                sa.select(*self._columns(self._names(None), self.geometry))
                .select_from(self.source)
                .where(*self._where(store, None, filters, None))
                .order_by(*(self.order_by or (self.field(self.id_field).column,)))
            ).all()
        records = []
        for row in rows:
            values = row._mapping
            record = {f.name: _json_value(values[f.name]) for f in self.fields}
            if self.demonstration:
                record["demonstration"] = True
            record["geom"] = values["gd_geom"]
            records.append(record)
        frame = frame_from_rows(records)
        # ISO text in the frame; write_layer declares these GeoPackage DATE columns.
        frame.attrs["date_columns"] = [f.name for f in self.fields if f.format == "date"]
        return frame


_JSON_SCHEMA_TYPES = (
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.Float, "number"),
    (sa.Numeric, "number"),
)


def _column_field(column: sa.Column, title: str, enum: tuple | None) -> Field:
    """The ``Field`` for a table column, its JSON Schema type read from the column's SQL
    type (a date column is a string of format 'date'). A JSON column is written out flat as
    text (``_json_value``) and cannot be compared with a query-string value, so it is not
    queryable."""
    kind = column.type
    schema_type = next((t for sql, t in _JSON_SCHEMA_TYPES if isinstance(kind, sql)), "string")
    return Field(
        column.name,
        column,
        schema_type,
        title,
        format="date" if isinstance(kind, sa.Date) else None,
        queryable=not isinstance(kind, sa.JSON),
        enum=enum,
    )


def table_layer(
    table: sa.Table,
    *,
    properties: dict[str, str | Field],
    enums: dict[str, tuple] | None = None,
    source: Any = None,
    **options: Any,
) -> FeatureProvider:
    """A ``FeatureProvider`` over one table (``source`` may widen it to a join).

    ``properties`` maps each property name, in output order, to its zh title when it is the
    table's column of that name (its type comes from the column), or to a whole ``Field``
    for anything else (a computed value, a joined or renamed column); ``enums`` gives the
    allowed values of some columns. From the table come the id (its one primary-key column,
    parsed as int when it is an integer), the geometry (``geom``), the bounding columns
    (``minx``..``maxy`` in degrees, or ``lon``/``lat`` twice for a point table) and the
    default order (the id). ``options`` are the other ``FeatureProvider`` fields."""
    enums = enums or {}
    (key,) = table.primary_key.columns
    fields = tuple(
        spec if isinstance(spec, Field) else _column_field(table.c[name], spec, enums.get(name))
        for name, spec in properties.items()
    )
    if "minx" in table.c:
        bounds = (table.c.minx, table.c.miny, table.c.maxx, table.c.maxy)
    else:
        bounds = (table.c.lon, table.c.lat, table.c.lon, table.c.lat)
    options.setdefault("order_by", (key,))
    if isinstance(key.type, sa.Integer):
        options.setdefault("parse_id", integer_id)
    return FeatureProvider(
        source=table if source is None else source,
        id_field=key.name,
        fields=fields,
        geometry=table.c.geom,
        bounds=bounds,
        **options,
    )
