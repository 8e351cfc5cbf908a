"""The boundaries domain's layers, one ``gazetteer.features.FeatureProvider`` each:
boundary lines, tri-junctions and (demonstration) boundary markers."""

from __future__ import annotations

import sqlalchemy as sa

from boundaries.markers import DEMO_LABEL
from boundaries.naming import LENGTH_REASON
from boundaries.tables import (
    LINE_KINDS,
    MARKER_STATES,
    MARKER_TYPES,
    boundary_lines,
    markers,
    tri_junctions,
)
from gazetteer.features import FeatureProvider, Field

BOUNDARY_LINES = FeatureProvider(
    id="boundary_lines",
    title="行政区域界线",
    description="由区划面的共有边派生的省级、市级、县级行政区域界线，长度为 CGCS2000 椭球面测地长度；"
    "源数据已概化，长度短于实测（粤桂线实测 1,075 千米）。",
    geometry_type="MultiLineString",
    source=boundary_lines,
    id_field="id",
    fields=(
        Field("id", boundary_lines.c.id, "integer", "编号"),
        Field("name", boundary_lines.c.name, "string", "界线名称"),
        Field("kind", boundary_lines.c.kind, "string", "级别", enum=LINE_KINDS),
        Field("side_a_code", boundary_lines.c.side_a_code, "string", "一侧区划代码"),
        Field("side_b_code", boundary_lines.c.side_b_code, "string", "另一侧区划代码"),
        Field("length_km", boundary_lines.c.length_km, "number", "计算长度（千米）"),
        Field("official_length_km", boundary_lines.c.official_length_km, "number", "实测长度"),
        Field("pieces", boundary_lines.c.pieces, "integer", "段数"),
        Field(
            "length_note",
            sa.literal(LENGTH_REASON, sa.Text),
            "string",
            "长度说明",
            queryable=False,
        ),
    ),
    geometry=boundary_lines.c.geom,
    bounds=(
        boundary_lines.c.minx,
        boundary_lines.c.miny,
        boundary_lines.c.maxx,
        boundary_lines.c.maxy,
    ),
    order_by=(boundary_lines.c.id,),
    parse_id=int,
    tile_properties=("id", "name", "kind", "length_km"),
)

TRI_JUNCTIONS = FeatureProvider(
    id="tri_junctions",
    title="界线三交点",
    description="三个区划相交的三交点。",
    geometry_type="Point",
    source=tri_junctions,
    id_field="id",
    fields=(
        Field("id", tri_junctions.c.id, "integer", "编号"),
        Field("name", tri_junctions.c.name, "string", "名称"),
        Field("kind", tri_junctions.c.kind, "string", "级别", enum=LINE_KINDS),
        Field("codes", tri_junctions.c.key, "string", "相交区划代码（/ 分隔）"),
    ),
    geometry=tri_junctions.c.geom,
    bounds=(tri_junctions.c.lon, tri_junctions.c.lat, tri_junctions.c.lon, tri_junctions.c.lat),
    order_by=(tri_junctions.c.id,),
    parse_id=int,
)

_MARKER_LINE = markers.join(boundary_lines, boundary_lines.c.id == markers.c.line_id)

BOUNDARY_MARKERS = FeatureProvider(
    id="boundary_markers",
    title="界桩",
    description="界桩（演示数据：真实界桩坐标不公开，此处位置为在真实界线上生成的演示数据）。",
    geometry_type="Point",
    source=_MARKER_LINE,
    id_field="id",
    fields=(
        Field("id", markers.c.id, "integer", "编号"),
        Field("number", markers.c.number, "string", "界桩号"),
        Field("line", boundary_lines.c.name, "string", "所在界线"),
        Field("line_id", markers.c.line_id, "integer", "界线编号"),
        Field("seq", markers.c.seq, "integer", "序号"),
        Field("type", markers.c.type, "string", "类型", enum=MARKER_TYPES),
        Field("letter", markers.c.letter, "string", "字母"),
        Field("material", markers.c.material, "string", "材质"),
        Field("elevation_m", markers.c.elevation_m, "number", "高程（米）"),
        Field("location_desc_a", markers.c.location_desc_a, "string", "A 侧位置"),
        Field("location_desc_b", markers.c.location_desc_b, "string", "B 侧位置"),
        Field(
            "reference_objects", markers.c.reference_objects, "string", "方位物", queryable=False
        ),
        Field("installed_date", markers.c.installed_date, "string", "埋设日期", format="date"),
        Field("responsible_side", markers.c.responsible_side, "string", "管护方"),
        Field("state", markers.c.state, "string", "状态", enum=MARKER_STATES),
        Field("is_demonstration", markers.c.is_demonstration, "boolean", "演示数据"),
        Field("version", markers.c.version, "integer", "版本"),
        Field(
            "label",
            sa.case((markers.c.is_demonstration, DEMO_LABEL), else_=""),
            "string",
            "标注",
            queryable=False,
        ),
    ),
    geometry=markers.c.geom,
    bounds=(markers.c.lon, markers.c.lat, markers.c.lon, markers.c.lat),
    order_by=(boundary_lines.c.name, markers.c.seq, markers.c.letter, markers.c.id),
    demonstration=True,
    parse_id=int,
    tile_properties=("id", "number", "line", "state", "label"),
)

BOUNDARY_LAYERS = (BOUNDARY_LINES, TRI_JUNCTIONS, BOUNDARY_MARKERS)
