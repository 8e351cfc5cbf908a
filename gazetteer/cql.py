"""CQL2 filters (OGC API - Features Part 3): parsed by pygeofilter, translated into
SQLAlchemy expressions over a provider's queryable fields, so they run inside the store
(SQLite or PostGIS) — never as SQL text built by hand.

Supported: comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, CASEI/LOWER, and the
spatial predicates S_INTERSECTS / S_DISJOINT against a literal geometry or BBOX, with the
literal's coordinates in CRS84 (or ``filter-crs``). Unknown properties are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import sqlalchemy as sa
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from shapely.errors import ShapelyError
from shapely.geometry import box, shape

from gazetteer.core.crs import CRS84_URI, geometry_from_ogc_crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.spatial import intersects_clause
from gazetteer.core.text import STORE_INT_MAX, check_document_text

FILTER_LANGUAGES = ("cql2-text", "cql2-json")
# Bounds on a filter's tree, checked before it is translated: a left-deep chain of 320 ORs
# used to exhaust Python's recursion in the translator (a 500). IN takes long value lists.
MAX_FILTER_DEPTH = 64
MAX_FILTER_NODES = 1000
# pygeofilter's CQL2-text grammar ends a string at the first ' and has no '' escape, which
# CQL2 defines; a doubled apostrophe is carried through the parser as this private-use
# character and turned back into ' in the tree.
_APOSTROPHE = "\ue000"


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
        raise InvalidInput(
            f"filter-lang 应为 {' 或 '.join(FILTER_LANGUAGES)}", details={"field": "filter-lang"}
        )
    try:
        if lang == "cql2-json":
            document = json.loads(text)
            try:  # a "\ud800" escape is a lone surrogate once read
                check_document_text(document, "filter")
            except InvalidInput as exc:
                raise InvalidInput(exc.message, details={"field": "filter"}) from None
            return parse_cql2_json(_bbox_as_geojson(document))
        if _APOSTROPHE in text:
            raise InvalidInput("filter 含有不允许的字符 U+E000")
        return _restore_apostrophes(parse_cql2_text(_escape_apostrophes(text)))
    except InvalidInput:
        raise
    except Exception as exc:  # lark and pygeofilter raise many types; all mean bad input
        reason = str(exc).splitlines()[0][:200]
        raise InvalidInput(
            f"filter 无法解析（{lang}）：{reason}",
            details={"field": "filter", "filter": text[:500]},
        ) from None


def _escape_apostrophes(text: str) -> str:
    """CQL2 text with each '' inside a string literal replaced by ``_APOSTROPHE``."""
    out, in_string, i = [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "'" and in_string and text[i + 1 : i + 2] == "'":
            out.append(_APOSTROPHE)
            i += 2
            continue
        if ch == "'":
            in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def _restore_apostrophes(node: Any) -> Any:
    """The parsed tree with ``_APOSTROPHE`` turned back into ' in every string literal."""
    if isinstance(node, str):
        return node.replace(_APOSTROPHE, "'")
    if isinstance(node, list):
        return [_restore_apostrophes(v) for v in node]
    if isinstance(node, ast.Node):
        for name, value in vars(node).items():
            if isinstance(value, str | list | ast.Node):
                setattr(node, name, _restore_apostrophes(value))
    return node


_SPATIAL = (ast.SpatialComparisonPredicate, ast.Relate, ast.SpatialDistancePredicate, ast.BBox)


def _kind(field) -> str:
    """The comparison kind of a queryable: 'number', 'boolean', 'date' or 'string'."""
    if field.format == "date":
        return "date"
    return "number" if field.type in ("integer", "number") else field.type


def _literal_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "string"
    return None


def check_filter(node: Any, fields: dict) -> None:
    """Refuse (InvalidInput) a parsed filter that is not a well-typed predicate over
    ``fields`` (name -> Field): every operand a queryable, a literal of the queryable's type
    (dates as DATE('…') or ISO text), LOWER/CASEI of text; IN over a list; LIKE with a text
    pattern; NOT/AND/OR over predicates; at most MAX_FILTER_DEPTH deep and MAX_FILTER_NODES
    nodes. ISO date text is turned into dates in place. Walks the tree with an explicit
    stack, so no input can exhaust recursion."""

    def bad(message: str, **details):
        raise InvalidInput(f"filter 无效：{message}", details={"field": "filter", **details})

    def kind(expr: Any) -> str:
        if isinstance(expr, ast.Attribute):
            if expr.name not in fields:
                bad(f"属性 {expr.name!r} 不可查询", queryables=sorted(fields))
            return _kind(fields[expr.name])
        if isinstance(expr, ast.Function):
            if expr.name.lower() not in ("lower", "casei") or len(expr.arguments) != 1:
                bad(f"不支持的函数：{expr.name}")
            if kind(expr.arguments[0]) != "string":
                bad(f"{expr.name} 只用于文本")
            return "string"
        found = _literal_kind(expr)
        if found is None:
            bad(f"不是单个值：{str(expr)[:80]}")
        if isinstance(expr, float) and not math.isfinite(expr):
            bad("数值超出范围（应为有限数）")  # 1e400 is read as inf
        if isinstance(expr, int) and not isinstance(expr, bool) and abs(expr) > STORE_INT_MAX:
            bad(f"整数超出范围（绝对值至多 {STORE_INT_MAX}）")  # no column holds it
        return found

    def same(a: Any, b: Any) -> tuple[Any, Any]:
        """``(a, b)`` if they have one type; ISO text against a date comes back as a date
        (PostgreSQL will not compare a date column with text)."""
        ka, kb = kind(a), kind(b)
        if ka == kb:
            return a, b
        if {ka, kb} == {"date", "string"}:
            try:
                if isinstance(a, str):
                    return dt.date.fromisoformat(a), b
                if isinstance(b, str):
                    return a, dt.date.fromisoformat(b)
            except ValueError:
                pass
        bad(f"类型不符：{str(a)[:40]} 与 {str(b)[:40]}（{ka} / {kb}）")

    count = 0
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        count += 1
        if depth > MAX_FILTER_DEPTH or count > MAX_FILTER_NODES:
            bad(f"过于复杂（最多 {MAX_FILTER_DEPTH} 层、{MAX_FILTER_NODES} 个节点；多个值请用 IN）")
        if isinstance(current, ast.And | ast.Or):
            stack += [(current.lhs, depth + 1), (current.rhs, depth + 1)]
        elif isinstance(current, ast.Not):
            stack.append((current.sub_node, depth + 1))
        elif isinstance(current, ast.Include):
            pass
        elif isinstance(current, ast.Comparison):
            current.lhs, current.rhs = same(current.lhs, current.rhs)
        elif isinstance(current, ast.Between):
            current.lhs, current.low = same(current.lhs, current.low)
            current.lhs, current.high = same(current.lhs, current.high)
        elif isinstance(current, ast.Like):
            if kind(current.lhs) != "string" or not isinstance(current.pattern, str):
                bad("LIKE 只用于文本属性与文本模式")
        elif isinstance(current, ast.In):
            if not isinstance(current.sub_nodes, list) or not current.sub_nodes:
                bad("IN 的第二个参数应为非空的值列表")
            count += len(current.sub_nodes)
            current.sub_nodes = [same(current.lhs, value)[1] for value in current.sub_nodes]
        elif isinstance(current, ast.IsNull):
            kind(current.lhs)
        elif isinstance(current, _SPATIAL + (ast.TemporalPredicate, ast.ArrayPredicate)):
            pass  # the translator checks their operands or refuses them with its own message
        else:
            bad(f"不是条件：{str(current)[:80]}")


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
        try:
            if isinstance(value, values.Geometry | values.Envelope):
                geom = shape(value.geometry)
            elif isinstance(value, ast.Function) and value.name.lower() == "bbox":
                geom = box(*(float(a) for a in value.arguments[:4]))
            else:
                raise InvalidInput("空间谓词的第二个参数应为几何对象或 BBOX")
            return geometry_from_ogc_crs(geom, self.filter_crs)
        except (ValueError, TypeError, KeyError, IndexError, ShapelyError) as exc:
            # e.g. coordinates ["a", 1], a ring of two positions
            raise InvalidInput(
                f"空间谓词中的几何对象无效：{str(exc)[:120]}",
                details={"geometry": str(getattr(value, "geometry", value))[:300]},
            ) from None

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
    """A SQLAlchemy boolean expression for ``node`` over ``provider``'s fields (checked by
    ``check_filter`` first, so every refusal is an InvalidInput)."""
    check_filter(node, provider.queryable_fields())
    return _Translator(provider, dialect, filter_crs).evaluate(node)
