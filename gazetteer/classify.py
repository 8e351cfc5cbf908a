"""Feature class and type of the statistical division names, from level and name.

The census classes (GB/T 18521 based) are in ``gazetteer.tables.FEATURE_CLASSES``. A
county-level-and-above division, a township (乡, 镇) and a street office (街道) are
行政区域; a village or residents' committee is 群众自治组织; state farms and forest farms
(农场, 林场) and the statistics bureau's virtual living areas (虚拟生活区) are
非行政区域. The rules are ordered: the first matching suffix wins.
"""

from __future__ import annotations

_TYPE_BY_SUFFIX: dict[str, tuple[tuple[str, str, str], ...]] = {
    # level: ((suffix, feature_class, feature_type), ...)
    "province": (
        ("自治区", "行政区域", "自治区"),
        ("特别行政区", "行政区域", "特别行政区"),
        ("省", "行政区域", "省"),
        ("市", "行政区域", "直辖市"),
    ),
    "city": (("自治州", "行政区域", "自治州"), ("市", "行政区域", "地级市")),
    "county": (
        ("自治县", "行政区域", "自治县"),
        ("区", "行政区域", "市辖区"),
        ("县", "行政区域", "县"),
        ("市", "行政区域", "县级市"),
    ),
    "township": (
        ("街道", "行政区域", "街道"),
        ("民族乡", "行政区域", "民族乡"),
        ("镇", "行政区域", "镇"),
        ("乡", "行政区域", "乡"),
        ("农场", "非行政区域", "农场"),
        ("林场", "非行政区域", "林场"),
        ("场", "非行政区域", "农林场"),
    ),
    "village": (
        ("虚拟生活区", "非行政区域", "统计虚拟生活区"),
        ("村民委员会", "群众自治组织", "村民委员会"),
        ("村委会", "群众自治组织", "村民委员会"),
        ("居民委员会", "群众自治组织", "居民委员会"),
        ("居委会", "群众自治组织", "居民委员会"),
    ),
}

_FALLBACK = {
    "province": ("行政区域", "省级"),
    "city": ("行政区域", "地级"),
    "county": ("行政区域", "县级"),
    "township": ("非行政区域", "其他乡级单位"),
    "village": ("群众自治组织", "其他村级单位"),
}


def classify_division_name(level: str, name: str) -> tuple[str, str]:
    """(feature_class, feature_type) of a statistical division name at ``level``."""
    for suffix, feature_class, feature_type in _TYPE_BY_SUFFIX[level]:
        if name.endswith(suffix):
            return feature_class, feature_type
    return _FALLBACK[level]
