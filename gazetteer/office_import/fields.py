"""The registry fields an office's columns map onto, and the census form's column names.

``FIELDS`` is the one table of import targets: a key, its Chinese label and the column
names (of the second national place-name census registration form and their common
variants) recognised without help. ``guess_mapping`` maps a file's columns onto it;
``FEATURE_CLASS_OF_TYPE`` turns the census's finer type names into the 12 top classes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gazetteer.core.errors import InvalidInput
from gazetteer.tables import FEATURE_CLASSES


@dataclass(frozen=True)
class ImportField:
    key: str
    label_zh: str
    aliases: tuple[str, ...]
    help_zh: str = ""


FIELDS: tuple[ImportField, ...] = (
    ImportField("code", "地名代码", ("地名代码", "地名编码", "代码", "编码", "编号", "code")),
    ImportField("name", "标准名称", ("标准名称", "标准地名", "地名", "名称", "name"), "必填"),
    ImportField("aliases", "别名", ("别名", "又名", "曾用名", "alias")),
    ImportField("short_name", "简称", ("简称",)),
    ImportField("map_name", "图上名称", ("图上名称",)),
    ImportField(
        "romanized", "罗马字母拼写", ("罗马字母拼写", "汉语拼音", "拼音", "romanization", "pinyin")
    ),
    ImportField(
        "feature_class",
        "地名类别",
        ("地名类别", "地名类型", "类别", "类型", "分类", "class", "type"),
        "必填：12 个大类之一，或常见小类（路、街、山、河流……）",
    ),
    ImportField("meaning", "含义", ("含义", "地名含义", "meaning")),
    ImportField("history", "历史沿革", ("历史沿革", "来历", "地名来历", "沿革", "history")),
    ImportField(
        "description", "地理实体描述", ("地理实体描述", "实体描述", "地理实体概况", "描述", "概况")
    ),
    ImportField(
        "division",
        "所在（跨）行政区",
        (
            "所在（跨）行政区",
            "所在(跨)行政区",
            "所在行政区",
            "所属行政区",
            "所在政区",
            "行政区",
            "行政区划",
        ),
        "行政区名称，如“广州市天河区”；跨多个行政区时用顿号分隔",
    ),
    ImportField(
        "division_code", "行政区划代码", ("行政区划代码", "所在行政区代码", "区划代码", "adcode")
    ),
    ImportField(
        "x",
        "东经 / X（东坐标）",
        ("东经", "经度", "lon", "lng", "longitude", "x", "x坐标", "横坐标", "东坐标"),
        "十进制度或度分秒；投影坐标为米",
    ),
    ImportField(
        "y",
        "北纬 / Y（北坐标）",
        ("北纬", "纬度", "lat", "latitude", "y", "y坐标", "纵坐标", "北坐标"),
        "十进制度或度分秒；投影坐标为米",
    ),
    ImportField("wkt", "几何（WKT）", ("wkt", "geometry", "geom", "几何", "空间信息", "图形")),
    ImportField("named_date", "命名时间", ("命名时间", "命名日期", "命名年份", "批准时间")),
    ImportField("established_year", "设立年份", ("设立年份", "设立时间", "始建年份")),
    ImportField("abolished_year", "废止年份", ("废止年份", "废止时间", "撤销年份")),
    ImportField("registering_unit", "登记单位", ("登记单位", "填报单位")),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}

# Common finer types in census tables -> top class. The top classes map to themselves.
FEATURE_CLASS_OF_TYPE = {
    **{c: c for c in FEATURE_CLASSES},
    **dict.fromkeys(
        (
            "道路",
            "路",
            "街",
            "街道",
            "巷",
            "街巷",
            "大道",
            "桥",
            "桥梁",
            "隧道",
            "车站",
            "港口",
            "码头",
            "机场",
            "交通运输设施",
        ),
        "交通运输设施",
    ),
    **dict.fromkeys(("居民区", "小区", "住宅区", "村", "自然村", "居民点", "村庄"), "居民点"),
    **dict.fromkeys(("山", "山峰", "山脉", "岭", "峡谷", "洞", "岛", "岛屿", "半岛"), "陆地地形"),
    **dict.fromkeys(("河", "河流", "江", "溪", "湖", "湖泊", "泉", "瀑布", "水系"), "陆地水系"),
    **dict.fromkeys(("水库", "堤", "渠", "水闸", "电站", "发电站", "水利设施"), "水利电力通信设施"),
    **dict.fromkeys(("海湾", "海峡", "海", "港湾"), "海域"),
    **dict.fromkeys(("公园", "纪念地", "景点", "风景区", "旅游景点"), "纪念地旅游景点"),
    **dict.fromkeys(("大厦", "楼", "建筑", "广场", "体育馆"), "建筑物"),
    **dict.fromkeys(("学校", "医院", "机关", "企业", "事业单位"), "单位"),
    **dict.fromkeys(("村民委员会", "居民委员会", "社区", "村委会", "居委会"), "群众自治组织"),
    **dict.fromkeys(("开发区", "农场", "林场", "工业园区"), "非行政区域"),
}


def _norm(column: str) -> str:
    """Column names compared without width, case, spaces, bracket style or a unit suffix."""
    text = unicodedata.normalize("NFKC", str(column)).lower().strip()
    text = re.sub(r"\s+", "", text)
    return re.sub(r"[(\[（【].*?(度|米|m|°)[)\]）】]$", "", text)


_ALIASES = {_norm(a): f.key for f in FIELDS for a in f.aliases}


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """{field key: column} for the columns whose names are known (first match wins)."""
    mapping: dict[str, str] = {}
    for column in columns:
        key = _ALIASES.get(_norm(column))
        if key and key not in mapping:
            mapping[key] = column
    return mapping


def validate_mapping(mapping, columns: list[str]) -> dict[str, str]:
    """Check an officer's mapping: known field keys, existing columns, a name column, and
    coordinates either as x and y together or not at all. Raises InvalidInput."""
    if not isinstance(mapping, dict):
        raise InvalidInput("字段对应关系应为 {字段: 列名} 的对象")
    clean: dict[str, str] = {}
    for key, column in mapping.items():
        if column in (None, ""):
            continue
        if key not in FIELDS_BY_KEY:
            raise InvalidInput(f"未知的登记字段：{key}", details={"allowed": list(FIELD_KEYS)})
        if not isinstance(column, str) or column not in columns:
            raise InvalidInput(
                f"“{FIELDS_BY_KEY[key].label_zh}”对应的列“{column}”不在文件中",
                details={"field": key, "column": column, "columns": columns},
            )
        clean[key] = column
    if "name" not in clean:
        raise InvalidInput("请指定“标准名称”所在的列", details={"field": "name"})
    if ("x" in clean) != ("y" in clean):
        raise InvalidInput("东经/X 与北纬/Y 两列需同时指定", details={"fields": ["x", "y"]})
    return clean
