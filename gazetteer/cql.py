"""CQL2 filters (OGC API - Features Part 3): parsed by pygeofilter, translated into
SQLAlchemy expressions over a provider's queryable fields, so they run inside the store
(SQLite or PostGIS) — never as SQL text built by hand.

Supported: comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, CASEI/LOWER, and the
spatial predicates S_INTERSECTS / S_DISJOINT against a literal geometry or BBOX, with the
literal's coordinates in CRS84 (or ``filter-crs``). Unknown properties are refused.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from shapely.geometry import box, shape

from gazetteer.core.crs import CRS84_URI, geometry_from_ogc_crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.spatial import intersects_clause

FILTER_LANGUAGES = ("cql2-text", "cql2-json")


def _bbox_as_geojson(node: Any) -> Any:
    # pygeofilter 0.4 reads a CQL2-JSON {"bbox": [minx, miny, maxx, maxy]} into its Envelope
    # in the wrong order (x1, x2, y1, y2); hand it the same box as a GeoJSON polygon instead.
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list) and len(node["bbox"]) == 4:
            try:
                return box(*(float(v) for v in node["bbox"])).__geo_interface__
            except (TypeError, ValueError):
                raise InvalidInput("bbox 应为 4 个数") from None
        return {k: _bbox_as_geojson(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bbox_as_geojson(v) for v in node]
    return node


def parse_filter(text: str, lang: str | None = None) -> ast.Node:
    """A pygeofilter AST from a CQL2 text or CQL2 JSON ``filter`` parameter; raises
    InvalidInput with the parser's reason."""
    lang = lang or ("cql2-json" if text.lstrip().startswith("{") else "cql2-text")
    if lang not in FILTER_LANGUAGES:
        raise InvalidInput(f"filter-lang 应为 {' 或 '.join(FILTER_LANGUAGES)}")
    try:
        if lang == "cql2-json":
            return parse_cql2_json(_bbox_as_geojson(json.loads(text)))
        return parse_cql2_text(text)
    except InvalidInput:
        raise
    except Exception as exc:  # lark and pygeofilter raise many types; all mean bad input
        reason = str(exc).splitlines()[0][:200]
        raise InvalidInput(
            f"filter 无法解析（{lang}）：{reason}", details={"filter": text[:500]}
        ) from None


def equals_all(pairs: dict[str, Any]) -> ast.Node | None:
    """``a = 1 AND b = 'x'`` as an AST (the OGC API's property=value parameters)."""
    nodes = [ast.Equal(ast.Attribute(k), v) for k, v in pairs.items()]
    return and_all(nodes)


def and_all(nodes: list) -> ast.Node | None:
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return None
    out = nodes[0]
    for node in nodes[1:]:
        out = ast.And(out, node)
    return out


class _Translator(SQLAlchemyFilterEvaluator):
    """pygeofilter's SQLAlchemy evaluator with the provider's fields and the spatial
    predicates on this project's geometry columns (both stores)."""

    def __init__(self, provider, dialect: str, filter_crs: str):
        super().__init__({name: f.column for name, f in provider.queryable_fields().items()}, False)
        self.provider = provider
        self.dialect = dialect
        self.filter_crs = filter_crs

    @handle(ast.Attribute)
    def attribute(self, node):
        if node.name in ("geometry", "geom"):
            return self.provider.geometry
        if node.name not in self.field_mapping:
            raise InvalidInput(
                f"filter 中的属性 {node.name!r} 不可查询",
                details={"queryables": sorted(self.field_mapping)},
            )
        return self.field_mapping[node.name]

    def _geometry(self, value):
        if isinstance(value, values.Geometry):
            geom = shape(value.geometry)
        elif isinstance(value, values.Envelope):
            geom = shape(value.geometry)
        elif isinstance(value, ast.Function) and value.name.lower() == "bbox":
            geom = box(*(float(a) for a in value.arguments[:4]))
        else:
            raise InvalidInput("空间谓词的第二个参数应为几何对象或 BBOX")
        return geometry_from_ogc_crs(geom, self.filter_crs)

    def _spatial(self, node: ast.Node, negate: bool):
        if not (isinstance(node.lhs, ast.Attribute) and node.lhs.name in ("geometry", "geom")):
            raise InvalidInput("空间谓词的第一个参数应为 geometry")
        clause = intersects_clause(self.provider.geometry, self._geometry(node.rhs), self.dialect)
        clause = clause.is_(True) if self.dialect == "postgresql" else clause == 1
        return sa.not_(clause) if negate else clause

    # The spatial handlers take the unevaluated node (values are geometry literals).
    def evaluate(self, node, adopt_result=True):
        if isinstance(node, ast.GeometryIntersects):
            return self._spatial(node, False)
        if isinstance(node, ast.GeometryDisjoint):
            return self._spatial(node, True)
        if isinstance(
            node, ast.SpatialComparisonPredicate | ast.Relate | ast.SpatialDistancePredicate
        ):
            raise InvalidInput("只支持 S_INTERSECTS 与 S_DISJOINT 空间谓词")
        if isinstance(node, ast.BBox):
            return self._spatial(
                ast.GeometryIntersects(
                    node.lhs, ast.Function("bbox", [node.minx, node.miny, node.maxx, node.maxy])
                ),
                False,
            )
        if isinstance(node, ast.TemporalPredicate | ast.ArrayPredicate):
            raise InvalidInput(
                "不支持时间与数组谓词；日期请用比较运算，例如 named_date > DATE('2000-01-01')"
            )
        if isinstance(node, ast.Function) and node.name.lower() not in ("lower", "casei"):
            raise InvalidInput(f"不支持的函数：{node.name}")
        return super().evaluate(node, adopt_result)

    @handle(ast.Function)
    def function(self, node, *arguments):
        return sa.func.lower(arguments[0])


def to_sql(node: ast.Node, provider, dialect: str, filter_crs: str = CRS84_URI):
    """A SQLAlchemy boolean expression for ``node`` over ``provider``'s fields."""
    return _Translator(provider, dialect, filter_crs).evaluate(node)
