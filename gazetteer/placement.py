"""Putting a name that has no geometry onto the map (无图形地名上图).

Guangzhou alone checked and placed 1,172 such names in 2019. An officer picks a point
for the record; the change goes through the registry's versioning like any other change
to a record: the record's ``version`` goes up by one and a ``place_versions`` snapshot
(change ``corrected``) keeps the record as it now stands, so the history shows who
placed the name, when and why. A record imported without geometry first gets its
baseline snapshot (see ``gazetteer.registry``).

Coordinates are CGCS2000 lon/lat degrees (EPSG:4490).
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from shapely.geometry import Point

from gazetteer import changes
from gazetteer.core.actors import Actor, require_role
from gazetteer.core.errors import Conflict, InvalidInput
from gazetteer.core.store import Store, bbox_columns
from gazetteer.registry import (
    Clock,
    VersionStamp,
    _append_version,
    _close_current,
    _row,
    civil_date,
    get_place,
    utcnow,
)
from gazetteer.tables import divisions, places

PLACING_ROLES = frozenset({"officer"})
# Guangdong with a margin (its islands reach 20.2°N; the Pearl River mouth 113-114.5°E).
GUANGDONG_BOX = (109.0, 20.0, 118.0, 25.6)
GEOMETRY_SOURCE = "officer_placed"


def validate_point(lon, lat) -> Point:
    """A CGCS2000 point from lon/lat degrees; ``InvalidInput`` when not numbers or outside
    Guangdong (a swapped lat/lon lands outside, which is the common mistake). The error
    names the first bad one of ``lon``, ``lat`` (``details.field``)."""
    numbers = []
    for name, value in (("lon", lon), ("lat", lat)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                "经度、纬度应为数字（CGCS2000 十进制度）", details={"field": name}
            ) from None
        if not math.isfinite(number):
            raise InvalidInput("经度、纬度不能是 NaN 或无穷大", details={"field": name})
        numbers.append(number)
    lon, lat = numbers
    minx, miny, maxx, maxy = GUANGDONG_BOX
    if not (minx <= lon <= maxx and miny <= lat <= maxy):
        raise InvalidInput(
            f"位置（{lon:.5f}, {lat:.5f}）不在广东省范围内：请确认经度在前、纬度在后，"
            "坐标为 CGCS2000（不是高德/腾讯 GCJ-02 或百度 BD-09）",
            details={"field": "lon" if not minx <= lon <= maxx else "lat"},
        )
    return Point(lon, lat)


def county_at(conn, point: Point) -> dict | None:
    """The county-level division whose polygon holds ``point`` (None outside all)."""
    rows = conn.execute(
        sa.select(divisions.c.code, divisions.c.name, divisions.c.path, divisions.c.geom).where(
            divisions.c.level == "county",
            divisions.c.minx <= point.x,
            divisions.c.maxx >= point.x,
            divisions.c.miny <= point.y,
            divisions.c.maxy >= point.y,
        )
    )
    for row in rows:
        if row.geom is not None and row.geom.covers(point):
            return {"code": row.code, "name": row.name, "path": row.path}
    return None


def check_county(conn, row, point: Point) -> tuple[dict | None, str | None]:
    """(the county at ``point``, the record's division path); ``InvalidInput`` when the
    point lies in another county than the one the places ``row`` is registered in, since a
    wrong click there would put the name in another jurisdiction."""
    county = county_at(conn, point)
    path = conn.execute(
        sa.select(divisions.c.path).where(divisions.c.code == row.division_code)
    ).scalar()
    if path and county is not None and not _on_one_chain(path, county["path"]):
        raise InvalidInput(f"所选位置在{county['name']}，不在该地名登记的行政区划内，请核对位置")
    return county, path


def location_findings(conn, division_path: str | None, point: Point) -> list[dict]:
    """A blocking finding (as ``Finding.to_dict``) when ``point`` (CGCS2000 lon, lat) lies
    outside every county of the province, or in a county off the chain of the division
    whose path is ``division_path``: a name proposed for 440106 with its location in
    another city or province would enter the registry in the wrong jurisdiction."""
    county = county_at(conn, point)
    where = f"（{point.x:.5f}, {point.y:.5f}）"
    if county is None:
        message = f"申报位置{where}不在本省任何县级行政区划内，请核对位置或所属区划"
    elif division_path and not _on_one_chain(division_path, county["path"]):
        message = f"申报位置{where}在{county['name']}，不在拟命名所属的行政区划内，请核对"
    else:
        return []
    return [
        {
            "rule_id": "location_in_division",
            "severity": "blocking",
            "message": message,
            "source": "行政区划界线（区划数据）",
            "conflicts": [],
        }
    ]


def _on_one_chain(record_path: str, county_path: str) -> bool:
    """True when the record's division holds the county or lies inside it (paths are
    codes joined by '/', province first)."""
    return (
        county_path.startswith(record_path + "/")
        or county_path == record_path
        or record_path.startswith(county_path + "/")
    )


def place_on_map(
    store: Store,
    place_id: int,
    lon,
    lat,
    *,
    actor: Actor,
    version: int,
    reason: str | None = None,
    clock: Clock = utcnow,
) -> dict:
    """Give record ``place_id`` a point geometry at (``lon``, ``lat``), CGCS2000 degrees.

    ``version`` is the record version the officer saw (optimistic concurrency). Refuses
    (``InvalidInput``) a record that already has geometry — moving a placed feature is a
    correction with its own review — and a point outside the county the record is
    registered in, since a wrong click there would put the name in another jurisdiction.
    Raises ``Forbidden`` without the officer role, ``Conflict`` if the record changed or
    is no longer in force, ``NotFound`` for an unknown id. Returns the updated record."""
    require_role(actor, PLACING_ROLES, "为地名上图")
    point = validate_point(lon, lat)
    now = clock()
    with store.write(actor=actor) as conn:
        _place(
            conn, _row(conn, place_id), point, version=version, reason=reason, actor=actor, now=now
        )
    return get_place(store, place_id)


def _place(conn, row, point: Point, *, version: int, reason, actor: Actor, now) -> None:
    """Give the places ``row`` the point geometry ``point`` (CGCS2000 lon/lat) on ``conn``,
    inside the caller's write transaction: the checks and the recorded change of
    :func:`place_on_map`, shared with the CSV placement of many names."""
    place_id = row.id
    if row.geom is not None:
        raise InvalidInput(f"地名记录 {place_id}（{row.name}）已有图形，修改位置请走更正流程")
    if row.version != version:
        raise Conflict(
            f"地名记录 {place_id}（{row.name}）已被更改，请刷新后重试",
            details={"current_version": row.version},
        )
    check_county(conn, row, point)
    stamp = VersionStamp(actor, now, civil_date(now), reason or "无图形地名上图")
    _close_current(conn, row, stamp)
    changes.places_changed(conn)
    # Public text: who placed it is kept in place_versions and the audit log, not here.
    note = f"{civil_date(now).isoformat()} 无图形地名上图"
    result = conn.execute(
        places.update()
        .where(
            places.c.id == place_id,
            places.c.version == version,
            places.c.status == "in_force",
            places.c.geom.is_(None),
        )
        .values(
            geom=point,
            **bbox_columns(point),
            geometry_source=GEOMETRY_SOURCE,
            updated_at=now,
            version=places.c.version + 1,
            history=sa.func.coalesce(places.c.history + "\n", "") + note,
        )
    )
    if result.rowcount != 1:
        raise Conflict(f"地名记录 {place_id}（{row.name}）已被更改或已不是现行地名，请刷新后重试")
    _append_version(conn, _row(conn, place_id), "corrected", stamp)
