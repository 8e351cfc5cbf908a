"""Checks on each row of an office's file before anything is written.

``RowChecker`` turns a chunk of mapped rows into ``RowPlan`` objects: the record values
the registry would hold (CGCS2000 lon/lat geometry, romanization, division), what would
happen to it (insert, update, unchanged or error), the errors that stop the row and the
naming-rule findings (``gazetteer.rules.check_name``, the same check a proposal gets;
listed, never blocking an import of existing official names).

Errors: no name; an unknown class; coordinates that cannot be read or converted; an
invalid geometry; a place outside Guangdong; a division that cannot be resolved; the same
row key or the same name, class and division twice in the file; the same name, class and
division already in the registry from another source; a record that the registry has
since renamed or retired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
import sqlalchemy as sa

from gazetteer.division_history import CHANGE_WORDS, FormerDivision, former_divisions
from gazetteer.office_import import coords
from gazetteer.office_import.fields import FEATURE_CLASS_OF_TYPE
from gazetteer.office_import.readers import Chunk
from gazetteer.pinyin import syllables
from gazetteer.reservations import ReservedNames
from gazetteer.romanize import romanize
from gazetteer.rules import check_name
from gazetteer.rules.corpus import NameCorpus
from gazetteer.rules.lexicons import load_rule_data
from gazetteer.tables import PLACE_DESCRIPTION_COLUMNS, PLACE_NAME_COLUMNS, divisions, places

ACTIONS = ("insert", "update", "unchanged", "error")
ACTIONS_ZH = {"insert": "新增", "update": "更新", "unchanged": "不变", "error": "错误"}
# The columns an import writes and compares (geometry compared separately).
WRITTEN = (
    *PLACE_NAME_COLUMNS,
    # office files carry no minority-language name
    *(c for c in PLACE_DESCRIPTION_COLUMNS if c not in ("minority_name", "minority_language")),
    "named_date",
    "retired_date",
    "status",
    "registering_unit",
    "geometry_source",
)
# Column lengths of ``places`` (gazetteer.tables) that file values must fit.
TEXT_LIMITS = {
    "name": 200,
    "specific_term": 200,
    "generic_term": 50,
    "romanized": 400,
    "feature_type": 40,
    "short_name": 100,
    "map_name": 200,
    "registering_unit": 200,
}
_SPLIT = re.compile(r"[、，,;；/|]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL or a lone surrogate
_YEAR = re.compile(r"^(\d{4})(?:[-./年](\d{1,2})(?:[-./月](\d{1,2})日?)?)?")
GEOMETRY_MATCH_DEG = 1e-7  # about 1 cm: a geometry moved less than this is unchanged


@dataclass
class RowPlan:
    row: int
    source_key: str
    values: dict = field(default_factory=dict)
    geom: object = None
    errors: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    action: str = "error"
    place_id: int | None = None
    place_version: int | None = None

    def summary(self) -> dict:
        """The row as the preview table shows it (JSON-safe)."""
        lon = lat = None
        if self.geom is not None:
            point = shapely.point_on_surface(self.geom)
            lon, lat = round(point.x, 7), round(point.y, 7)
        return {
            "row": self.row,
            "action": self.action,
            "action_zh": ACTIONS_ZH[self.action],
            "name": self.values.get("name"),
            "feature_class": self.values.get("feature_class"),
            "division_code": self.values.get("division_code"),
            "lon": lon,
            "lat": lat,
            "place_id": self.place_id,
            "errors": self.errors,
            "findings": [f"{f['rule_id']}：{f['message']}" for f in self.findings],
        }


def source_key(source_name: str, layer: str, row_key: str) -> str:
    """The stable key of an imported record: the same source, layer and row key (the
    row's 地名代码 when mapped, else its row number) always give the same key."""
    digest = hashlib.sha1(f"{source_name}\x1f{layer}\x1f{row_key}".encode()).hexdigest()
    return f"imp:{digest[:40]}"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def parse_date(value) -> dt.date | None:
    """A year (1985), a date (1985-06-01, 1985年6月1日) or a date cell; None when empty.
    Raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and float(value).is_integer():
        value = int(value)
    match = _YEAR.match(str(value).strip())
    if not match:
        raise ValueError(value)
    year, month, day = (int(g) if g else 1 for g in match.groups())
    return dt.date(year, month, day)


# Names in one office's file rarely repeat: a small cache, so memory stays flat on big files.
@lru_cache(maxsize=4096)
def _romanized(name: str, feature_class: str):
    return romanize(name, feature_class)


class DivisionNames:
    """Division names as officers write them (天河区, 广州市天河区, 广东省广州市天河区) ->
    codes, built from the ``divisions`` table; former names (番禺市, 顺德市) -> the division
    that carries them on today, from the division history (``division_changes``)."""

    def __init__(self, conn):
        rows = conn.execute(
            sa.select(divisions.c.code, divisions.c.name, divisions.c.path).where(
                divisions.c.in_guangdong
            )
        ).all()
        self.paths = {r.code: tuple(r.path.split("/")) for r in rows}
        names = {r.code: r.name for r in rows}
        self.names = names
        self.by_text: dict[str, list[str]] = {}
        for code, path in self.paths.items():
            chain = [names[c] for c in path if c in names]
            for start in range(len(chain)):
                self.by_text.setdefault("".join(chain[start:]), []).append(code)
        # A former name is written bare, or after today's parents (广州市番禺市) or the
        # province (广东省顺德市); a name in use today always wins over a former one.
        self.former: dict[str, list[FormerDivision]] = {}
        for name, entries in former_divisions(conn, names).items():
            for entry in entries:
                path = self.paths.get(entry.current_code)
                if path is None:
                    continue
                parents = [names[c] for c in path[:-1] if c in names]
                for prefix in {"".join(parents[start:]) for start in range(len(parents) + 1)} | {
                    parents[0] if parents else ""
                }:
                    text = prefix + name
                    if text not in self.by_text:
                        self.former.setdefault(text, []).append(entry)

    def label(self, code: str) -> str:
        """广州市番禺区: the division's name after its parents below the province."""
        return "".join(self.names[c] for c in self.paths[code][1:] if c in self.names)

    def resolve(
        self, text: str, located: set[str]
    ) -> tuple[list[str], list[str], list[FormerDivision]]:
        """(codes, unresolved parts, former names used) for a division text; several
        divisions separated by 、 or commas. An ambiguous name is settled by the divisions
        the geometry lies in."""
        codes, unresolved, formers = [], [], []
        for part in _SPLIT.split(text):
            part = part.strip()
            if not part:
                continue
            candidates = self.by_text.get(part, [])
            former = [] if candidates else self.former.get(part, [])
            if former:
                candidates = [f.current_code for f in former]
            if len(candidates) > 1 and located:
                narrowed = [c for c in candidates if located & set(self.paths[c])]
                # Of nested candidates (宝安县 -> 深圳市 and 宝安区) the lowest is meant.
                narrowed = [
                    c for c in narrowed if not any(c != o and c in self.paths[o] for o in narrowed)
                ]
                candidates = narrowed or candidates
            if len(candidates) == 1:
                codes.append(candidates[0])
                formers.extend(f for f in former if f.current_code == candidates[0])
            else:
                unresolved.append(part)
        return codes, unresolved, formers


class RowChecker:
    """Checks rows against the registry as it stands on ``conn`` (the write transaction's
    connection while writing, so what is checked is what is written)."""

    def __init__(
        self,
        conn,
        *,
        source_name: str,
        office: str,
        layer: str,
        file_name: str,
        mapping: dict,
        crs_tag: str,
        locator,
        corpus,
        today: dt.date,
    ):
        self.conn = conn
        self.source_name = source_name
        self.office = office
        self.layer = layer
        self.file_name = file_name
        self.mapping = mapping
        self.crs_tag = crs_tag
        self.locator = locator
        self.corpus = corpus  # None: no naming-rule findings (the write pass; they never block)
        self.today = today
        self.division_names = DivisionNames(conn)
        # Names held by pending proposals (read once: no query per row). Checked on the write
        # pass too (a proposal may have been submitted since the preview): they block a row.
        self.reserved = ReservedNames(conn, corpus or NameCorpus(data=load_rule_data()))
        # Rows seen so far, by hash of their key (8 bytes each, not the strings: memory
        # stays small on a 500,000-row file; a 64-bit collision is vanishingly unlikely).
        self.seen_keys: dict[int, int] = {}
        self.seen_names: dict[int, int] = {}
        # Names already in force in the registry: (name, class, division) -> (id, source_key).
        self.registry_names: dict[tuple, tuple[int, str | None]] = {}
        for r in conn.execute(
            sa.select(
                places.c.id,
                places.c.name,
                places.c.feature_class,
                places.c.division_code,
                places.c.source_key,
            ).where(places.c.status == "in_force")
        ):
            self.registry_names.setdefault(
                (r.name, r.feature_class, r.division_code), (r.id, r.source_key)
            )

    # ------------------------------------------------------------------ one chunk

    def check(self, chunk: Chunk) -> list[RowPlan]:
        m = self.mapping
        plans = []
        for row, values in zip(chunk.rows, chunk.values, strict=True):
            code = _text(values.get(m["code"])) if "code" in m else None
            plans.append(
                RowPlan(row, source_key(self.source_name, self.layer, code or f"row:{row}"))
            )
        geoms = self._geometries(chunk, plans)
        lon, lat = coords.representative_xy([g if g is not None else None for g in geoms])
        has_point = np.isfinite(lon)
        levels = self.locator.locate_levels(
            np.where(has_point, lon, 0.0), np.where(has_point, lat, 0.0)
        )
        existing = self._existing([p.source_key for p in plans])
        for i, (plan, values) in enumerate(zip(plans, chunk.values, strict=True)):
            plan.geom = geoms[i]
            located = (
                {str(levels[lvl][i]) for lvl in levels if levels[lvl][i]} if has_point[i] else set()
            )
            old = existing.get(plan.source_key)
            self._check_row(plan, values, located, levels, i if has_point[i] else None, old)
            self._decide(plan, old)
        return plans

    def _geometries(self, chunk: Chunk, plans: list[RowPlan]) -> list:
        """Each row's geometry in CGCS2000 (None when the row has none or it is unusable;
        the reason goes into the row's errors)."""
        m = self.mapping
        raw = list(chunk.geoms) if chunk.geoms else [None] * len(plans)
        xs = np.full(len(plans), np.nan)
        ys = np.full(len(plans), np.nan)
        for i, values in enumerate(chunk.values):
            if "wkt" in m and values.get(m["wkt"]):
                try:
                    raw[i] = shapely.from_wkt(str(values[m["wkt"]]))
                except shapely.errors.ShapelyError:
                    plans[i].errors.append("WKT 几何无法解析")
                    raw[i] = None
            elif "x" in m:
                try:
                    x = coords.parse_number(values.get(m["x"]))
                    y = coords.parse_number(values.get(m["y"]))
                except ValueError as exc:
                    plans[i].errors.append(f"坐标无法识别：{exc}")
                    continue
                typed = (values.get(m["x"]), values.get(m["y"]))
                if any(
                    isinstance(t, str) and v is not None and not np.isfinite(v)
                    for t, v in zip(typed, (x, y), strict=True)
                ):
                    # Text "NaN" parses as a float: a row error, not a silently missing point
                    # (a null number cell of a typed column is read as NaN and stays missing).
                    plans[i].errors.append("坐标不能是 NaN 或无穷大")
                elif x is not None and y is not None:
                    xs[i], ys[i] = x, y
                elif (x is None) != (y is None):
                    plans[i].errors.append("只有一个坐标值")
        points = np.isfinite(xs)
        if points.any():
            lon, lat = coords.to_cgcs2000_xy(xs[points], ys[points], self.crs_tag)
            for j, i in enumerate(np.flatnonzero(points)):
                if np.isfinite(lon[j]):
                    raw[i] = shapely.Point(lon[j], lat[j])
                else:
                    plans[i].errors.append(
                        f"坐标 ({xs[i]}, {ys[i]}) 不能按 {self.crs_tag} 转换，请检查坐标系"
                    )
            converted = raw
            file_geoms = [None if points[i] else raw[i] for i in range(len(raw))]
        else:
            converted = [None] * len(raw)
            file_geoms = raw
        if any(g is not None for g in file_geoms):
            transformed = coords.geoms_to_cgcs2000(file_geoms, self.crs_tag)
            for i, g in enumerate(file_geoms):
                if g is None:
                    continue
                if transformed[i] is None:
                    plans[i].errors.append(f"几何坐标不能按 {self.crs_tag} 转换，请检查坐标系")
                converted[i] = transformed[i]
        out = []
        for i, g in enumerate(converted):
            if g is not None and g.is_empty:
                g = None
            if g is not None and not shapely.is_valid(g):
                plans[i].errors.append(f"几何无效：{shapely.is_valid_reason(g)}")
                g = None
            out.append(g)
        return out

    def _check_row(self, plan: RowPlan, values: dict, located: set, levels, index, old) -> None:
        m = self.mapping

        def get(key):
            return _text(values.get(m[key])) if key in m else None

        name = get("name")
        if not name:
            plan.errors.append("缺少标准名称")
        raw_class = get("feature_class")
        feature_class = FEATURE_CLASS_OF_TYPE.get(raw_class or "")
        feature_type = raw_class if raw_class and raw_class != feature_class else None
        if not raw_class:
            plan.errors.append("缺少地名类别")
        elif feature_class is None:
            plan.errors.append(f"地名类别“{raw_class}”无法对应到 12 个大类")
        if plan.geom is not None and index is not None:
            if levels["province"][index] != coords.GUANGDONG_CODE:
                point = shapely.point_on_surface(plan.geom)
                plan.errors.append(
                    f"位置 ({point.x:.6f}, {point.y:.6f}) 不在广东省内，请检查坐标与坐标系"
                )
        division_code = self._division(
            plan, get("division_code"), get("division"), located, levels, index
        )
        if plan.geom is None and division_code is None and not plan.errors:
            plan.errors.append("既无坐标也无所在行政区，无法登记")
        dates = {}
        for key in ("named_date", "established_year", "abolished_year"):
            try:
                dates[key] = parse_date(values.get(m[key])) if key in m else None
            except ValueError:
                plan.errors.append(f"“{values.get(m[key])}”不是年份或日期")
                dates[key] = None
        if not (name and feature_class):
            plan.values = {"name": name, "feature_class": raw_class}  # for the report
            return
        rom = _romanized(name, feature_class)
        history = get("history")
        if dates["established_year"]:
            line = f"设立于 {dates['established_year'].year} 年"
            history = f"{history}\n{line}" if history and line not in history else (history or line)
        aliases = [a for a in _SPLIT.split(get("aliases") or "") if a.strip()]
        abolished = dates["abolished_year"]
        plan.values = {
            "name": name,
            "specific_term": rom.specific,
            "generic_term": rom.generic,
            "romanized": get("romanized") or rom.text,
            "romanized_toned": rom.toned,
            "pinyin_key": " ".join(syllables(name)),
            "heteronyms": rom.heteronyms or None,
            "feature_class": feature_class,
            "feature_type": feature_type,
            "division_code": division_code,
            "aliases": aliases or None,
            "short_name": get("short_name"),
            "map_name": get("map_name"),
            "meaning": get("meaning"),
            "history": history,
            "description": get("description"),
            "named_date": dates["named_date"],
            "retired_date": abolished,
            "status": "historical" if abolished else "in_force",
            "registering_unit": get("registering_unit") or self.office,
            "source": self._provenance(plan.row),
            "geometry_source": f"导入：{self.source_name}（{self.crs_tag} 转 CGCS2000）"[:100]
            if plan.geom is not None
            else None,
        }
        self._check_text(plan)
        path = self.division_names.paths.get(division_code, ()) if division_code else ()
        reserved = self.reserved.findings(name, feature_class, path)
        if old is None or old.name != name:
            # A name a pending proposal holds cannot be taken by an import: that proposal
            # could then never come into force. An error, skipped only by explicit choice.
            for finding in reserved:
                if finding["severity"] == "blocking":
                    plan.errors.append(f"名称已被进行中的申请保留：{finding['message']}")
        if self.corpus is not None:
            findings = check_name(
                name,
                feature_class,
                path,
                self.corpus,
                exclude_id=old.id if old is not None else None,
            )
            plan.findings = [f.to_dict() for f in findings] + reserved + plan.findings

    def _check_text(self, plan: RowPlan) -> None:
        """Text the store cannot hold: longer than its column, or NUL / lone surrogates
        (PostgreSQL refuses both, and one bad value would fail the whole transaction)."""
        for key, value in plan.values.items():
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if not isinstance(text, str):
                    continue
                if _UNSTORABLE.search(text):
                    plan.errors.append(f"“{key}”含有无效字符（空字符或残缺的 Unicode 代理项）")
                limit = TEXT_LIMITS.get(key)
                if limit and len(text) > limit:
                    plan.errors.append(f"“{key}”超过 {limit} 字：{text[:20]}…")

    def _provenance(self, row: int) -> str:
        label = f"导入 {self.file_name}｜图层 {self.layer}｜第 {row} 行｜{self.today.isoformat()}"
        return label if len(label) <= 200 else label[:199] + "…"

    def _division(self, plan, code, text, located, levels, index) -> str | None:
        """The lowest division: a stated code, else the stated name, else the geometry's."""
        if code:
            code = code.split(".")[0]
            if code not in self.division_names.paths:
                plan.errors.append(f"行政区划代码 {code} 不存在（应为广东省的统计用区划代码）")
                return None
            self._matches_geometry(plan, [code], located)
            return code
        if text:
            codes, unresolved, formers = self.division_names.resolve(text, located)
            if unresolved:
                plan.errors.append(
                    f"所在行政区“{'、'.join(unresolved)}”无法识别或有重名，请写全称或填代码"
                )
                return None
            for former in formers:
                plan.findings.append(
                    {
                        "rule_id": "import.former-division",
                        "severity": "note",
                        "message": f"所在行政区“{former.name}”是旧称（{former.until} "
                        f"{CHANGE_WORDS.get(former.change_type, '变更')}，{former.change_id}），"
                        f"已按今“{self.division_names.label(former.current_code)}”"
                        f"（{former.current_code}）登记",
                    }
                )
            if codes:
                self._matches_geometry(plan, codes, located)
                # A place crossing several divisions is filed under their lowest common one.
                return _common_division([self.division_names.paths[c] for c in codes])
        if index is None:
            return None
        for lvl in ("county", "city"):
            found = str(levels[lvl][index])
            if found:
                return found
        return None

    def _matches_geometry(self, plan: RowPlan, codes: list[str], located: set) -> None:
        if not located or plan.errors:
            return
        if not any(located & set(self.division_names.paths.get(c, ())) for c in codes):
            plan.findings.append(
                {
                    "rule_id": "import.division-mismatch",
                    "severity": "warning",
                    "message": "坐标不在所注行政区内：请核对坐标、坐标系或所在行政区",
                }
            )

    def _existing(self, keys: list[str]) -> dict:
        rows = self.conn.execute(sa.select(places).where(places.c.source_key.in_(keys))).all()
        return {r.source_key: r for r in rows}

    def _decide(self, plan: RowPlan, existing) -> None:
        first = self.seen_keys.setdefault(hash(plan.source_key), plan.row)
        if first != plan.row:
            plan.errors.append(f"与文件第 {first} 行的地名代码（或行号）相同")
        v = plan.values
        if "division_code" in v:  # a complete record (rows missing name or class are not)
            name_key = (v["name"], v["feature_class"], v["division_code"])
            first_name = self.seen_names.setdefault(hash(name_key), plan.row)
            if first_name != plan.row:
                plan.errors.append(f"与文件第 {first_name} 行重复（同名、同类别、同一行政区）")
            other = self.registry_names.get(name_key)
            if other is not None and other[1] != plan.source_key:
                plan.errors.append(
                    f"登记册中已有同名同类别的记录（编号 {other[0]}，同一行政区），"
                    "请核对是否为同一地名"
                )
        if existing is not None:
            plan.place_id, plan.place_version = existing.id, existing.version
            if existing.status != "in_force" and existing.status != v.get("status"):
                plan.errors.append(f"登记册中的记录 {existing.id} 已更名或销名，导入不再修改它")
        if plan.errors:
            plan.action = "error"
        elif existing is None:
            plan.action = "insert"
        elif _differs(existing, v, plan.geom):
            plan.action = "update"
        else:
            plan.action = "unchanged"


def _common_division(paths: list[tuple[str, ...]]) -> str:
    common = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(common), len(path)) and common[n] == path[n]:
            n += 1
        common = common[:n]
    return common[-1] if common else paths[0][-1]


def _differs(existing, values: dict, geom) -> bool:
    for key in WRITTEN:
        if key == "source":  # the provenance names the import date: not a change by itself
            continue
        old, new = getattr(existing, key), values.get(key)
        if isinstance(old, dt.datetime):
            old = old.date()
        if (old or None) != (new or None):
            return True
    old_geom = existing.geom
    if (old_geom is None) != (geom is None):
        return True
    return geom is not None and not geom.equals_exact(old_geom, GEOMETRY_MATCH_DEG)
