"""Feature class and type of the statistical division names, from level and name.

The census classes (GB/T 18521 based) are in ``gazetteer.tables.FEATURE_CLASSES``. A
county-level-and-above division, a township (乡, 镇) and a street office (街道) are
行政区域; a village or residents' committee is 群众自治组织; state farms and forest farms
(农场, 林场) and the statistics bureau's virtual living areas (虚拟生活区) are
非行政区域. The types by level are the ``division_types`` of the generic-term table
(``gazetteer.generic_terms``): the longest generic term ending the name wins.
"""

from __future__ import annotations

from gazetteer import generic_terms

_FALLBACK = {
    "province": ("行政区域", "省级"),
    "city": ("行政区域", "地级"),
    "county": ("行政区域", "县级"),
    "township": ("非行政区域", "其他乡级单位"),
    "village": ("群众自治组织", "其他村级单位"),
}


def classify_division_name(level: str, name: str) -> tuple[str, str]:
    """(feature_class, feature_type) of a statistical division name at ``level``."""
    return generic_terms.division_type(level, name) or _FALLBACK[level]
