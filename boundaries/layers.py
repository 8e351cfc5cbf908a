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
from gazetteer.features import Field, table_layer

BOUNDARY_LINES = table_layer(
    boundary_lines,
    id="boundary_lines",
    title="行政区域界线",
    description="由区划面的共有边派生的省级、市级、县级行政区域界线，长度为 CGCS2000 椭球面测地长度；"
    "源数据已概化，长度短于实测（粤桂线实测 1,075 千米）。",
    geometry_type="MultiLineString",
    properties={
        "id": "编号",
        "name": "界线名称",
        "kind": "级别",
        "side_a_code": "一侧区划代码",
        "side_b_code": "另一侧区划代码",
        "length_km": "计算长度（千米）",
        "official_length_km": "实测长度",
        "pieces": "段数",
        "length_note": Field(
            "length_note", sa.literal(LENGTH_REASON, sa.Text), "string", "长度说明", queryable=False
        ),
    },
    enums={"kind": LINE_KINDS},
    tile_properties=("id", "name", "kind", "length_km"),
)

TRI_JUNCTIONS = table_layer(
    tri_junctions,
    id="tri_junctions",
    title="界线三交点",
    description="三个区划相交的三交点。",
    geometry_type="Point",
    properties={
        "id": "编号",
        "name": "名称",
        "kind": "级别",
        # the codes as one text ('/'-separated), which a filter can compare
        "codes": Field("codes", tri_junctions.c.key, "string", "相交区划代码（/ 分隔）"),
    },
    enums={"kind": LINE_KINDS},
)

BOUNDARY_MARKERS = table_layer(
    markers,
    source=markers.join(boundary_lines, boundary_lines.c.id == markers.c.line_id),
    id="boundary_markers",
    title="界桩",
    description="界桩（演示数据：真实界桩坐标不公开，此处位置为在真实界线上生成的演示数据）。",
    geometry_type="Point",
    properties={
        "id": "编号",
        "number": "界桩号",
        "line": Field("line", boundary_lines.c.name, "string", "所在界线"),
        "line_id": "界线编号",
        "seq": "序号",
        "type": "类型",
        "letter": "字母",
        "material": "材质",
        "elevation_m": "高程（米）",
        "location_desc_a": "A 侧位置",
        "location_desc_b": "B 侧位置",
        "reference_objects": "方位物",
        "installed_date": "埋设日期",
        "responsible_side": "管护方",
        "state": "状态",
        "is_demonstration": "演示数据",
        "version": "版本",
        "label": Field(
            "label",
            sa.case((markers.c.is_demonstration, DEMO_LABEL), else_=""),
            "string",
            "标注",
            queryable=False,
        ),
    },
    enums={"type": MARKER_TYPES, "state": MARKER_STATES},
    order_by=(boundary_lines.c.name, markers.c.seq, markers.c.letter, markers.c.id),
    demonstration=True,
    tile_properties=("id", "number", "line", "state", "label"),
)

BOUNDARY_LAYERS = (BOUNDARY_LINES, TRI_JUNCTIONS, BOUNDARY_MARKERS)
