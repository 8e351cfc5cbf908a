"""The place-name registry: records, their versions over time, rename links, as-of reads.

Nothing is deleted. Every change to a record goes through this module and leaves an
append-only snapshot in ``place_versions`` valid over ``[valid_from, valid_to)`` (calendar
dates), so a record can be read as it stood on any past date. A renaming creates a new
record (new id; ids are never reused) and keeps the old one as a historical name, linked
both ways through ``place_links``; a retirement marks the record ``retired`` with reason
and date. Records imported before the registry existed get a baseline snapshot (valid
since their ``named_date``, or since always when unknown) the first time they change.

Geometries are CGCS2000 lon/lat (EPSG:4490). Timestamps are UTC; dates are civil dates in
China (UTC+8), which is what officers write on notices and decisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from shapely.geometry import mapping

from gazetteer import changes
from gazetteer.core.actors import Actor
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.core.store import Store, bbox_columns, row_by_id
from gazetteer.divisions import division_chain
from gazetteer.registry_tables import place_links, place_versions
from gazetteer.tables import PLACE_DESCRIPTION_COLUMNS, PLACE_NAME_COLUMNS, divisions, places

Clock = Callable[[], dt.datetime]
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
STATUS_NAMES_ZH = {"in_force": "现行", "historical": "历史", "retired": "已销名"}
MAX_PAGE = 500  # the most records one list answer holds (places, proposals)

# Columns copied to a renamed record's successor (name, identity and life dates are not).
CARRIED_ON_RENAME = (
    "feature_class",
    "feature_type",
    "division_code",
    "geom",
    "minx",
    "miny",
    "maxx",
    "maxy",
    "geometry_source",
    "description",
    "minority_language",
    "source",
    "registering_unit",
)
# Values a proposal may set on a record.
PROPOSABLE = (
    *PLACE_NAME_COLUMNS,
    "heteronyms_confirmed",
    *PLACE_DESCRIPTION_COLUMNS,
    "registering_unit",
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def offset_clock(days: int) -> Clock:
    """A clock running ``days`` days ahead of real time: the training clock of a training
    instance (setting TRAINING_CLOCK_OFFSET_DAYS, docs/training.md), so that a 30-day notice
    can be walked to in force in one session. Never used on a live registry."""
    offset = dt.timedelta(days=days)

    def now() -> dt.datetime:
        return utcnow() + offset

    return now


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back without zone; they were written as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def civil_date(instant: dt.datetime) -> dt.date:
    """The date in China (UTC+8) at a UTC instant."""
    return as_utc(instant).astimezone(CHINA_TZ).date()


def jsonable(value):
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- writing (inside store.write())


def _row(conn, place_id: int):
    return row_by_id(conn, places, place_id, f"没有编号为 {place_id} 的地名记录", field="place_id")


def _record(row) -> dict:
    """The snapshot of a places row: every column but the geometry, JSON-safe."""
    return {k: jsonable(v) for k, v in row._asdict().items() if k != "geom"}


@dataclass(frozen=True)
class VersionStamp:
    """What every history entry of one registry change records: who (``actor``), when
    (``now``, a UTC instant), the civil date the change takes effect (``effective``), why
    (``reason``) and under which proposal."""

    actor: Actor
    now: dt.datetime
    effective: dt.date | None
    reason: str | None = None
    proposal_id: int | None = None


def _append_version(conn, row, change: str, stamp: VersionStamp) -> None:
    """Snapshot ``row`` as a history entry of kind ``change``, valid from ``stamp.effective``."""
    conn.execute(
        place_versions.insert().values(
            place_id=row.id,
            version=row.version,
            valid_from=stamp.effective,
            valid_to=None,
            name=row.name,
            status=row.status,
            change=change,
            change_reason=stamp.reason,
            proposal_id=stamp.proposal_id,
            record=_record(row),
            geom=row.geom,
            recorded_at=stamp.now,
            recorded_by=stamp.actor.username,
        )
    )


def _close_current(conn, row, stamp: VersionStamp) -> None:
    """End the version valid now on ``stamp.effective``; an imported record first gets its
    baseline snapshot."""
    has_versions = conn.execute(
        sa.select(sa.func.count())
        .select_from(place_versions)
        .where(place_versions.c.place_id == row.id)
    ).scalar()
    if not has_versions:
        _append_version(conn, row, "baseline", VersionStamp(stamp.actor, stamp.now, row.named_date))
    conn.execute(
        place_versions.update()
        .where(place_versions.c.place_id == row.id, place_versions.c.valid_to.is_(None))
        .values(valid_to=stamp.effective)
    )


def _update_in_force(conn, row, values: dict) -> None:
    """Change a record that must still be in force at the version read (else ``Conflict``)."""
    result = conn.execute(
        places.update()
        .where(
            places.c.id == row.id, places.c.version == row.version, places.c.status == "in_force"
        )
        .values(**values, version=places.c.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"地名记录 {row.id}（{row.name}）已被更改或已不是现行地名，请刷新后重试")


def _appended(text: str | None, line: str) -> str:
    return f"{text}\n{line}" if text else line


def _end_in_force(
    conn, row, status: str, change: str, history_line: str, stamp: VersionStamp, **values
) -> None:
    """End the in-force record ``row`` on ``stamp.effective``: it takes ``status``
    (historical, retired) and ``values``, its history gains the dated ``history_line``, and
    the version that follows is recorded as ``change``. Raises ``Conflict`` if ``row`` is no
    longer in force at the version read."""
    _close_current(conn, row, stamp)
    dated_line = f"{stamp.effective.isoformat()} {history_line}"
    _update_in_force(
        conn,
        row,
        {
            "status": status,
            "retired_date": stamp.effective,
            "history": _appended(row.history, dated_line),
            "updated_at": stamp.now,
            **values,
        },
    )
    _append_version(conn, _row(conn, row.id), change, stamp)


def create_place(
    conn,
    values: dict,
    *,
    effective_date: dt.date,
    actor: Actor,
    now: dt.datetime,
    proposal_id: int | None = None,
) -> int:
    """Insert a new in-force record named on ``effective_date``; returns its id."""
    geom = values.get("geom")
    values = {k: v for k, v in values.items() if k in PROPOSABLE}
    stamp = VersionStamp(actor, now, effective_date, proposal_id=proposal_id)
    return _insert_in_force(conn, values, geom, bbox_columns(geom), "named", stamp)


def _insert_in_force(conn, values: dict, geom, bbox: dict, change: str, stamp: VersionStamp) -> int:
    """Insert an in-force record (version 1) named on ``stamp.effective`` and its first
    history entry (``change``: named, renamed); returns the new id."""
    result = conn.execute(
        places.insert().values(
            **values,
            geom=geom,
            **bbox,
            status="in_force",
            named_date=stamp.effective,
            registered_by=stamp.actor.username,
            registered_at=stamp.now,
            updated_at=stamp.now,
            version=1,
        )
    )
    place_id = result.inserted_primary_key[0]
    changes.places_changed(conn)
    _append_version(conn, _row(conn, place_id), change, stamp)
    return place_id


def rename_place(
    conn,
    old_id: int,
    new_values: dict,
    *,
    effective_date: dt.date,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    proposal_id: int | None = None,
    location=None,
) -> int:
    """Rename: a new record carries the new name from ``effective_date``; the old record
    becomes historical (its name stays findable) and the two are linked both ways.

    ``location`` (shapely, CGCS2000 lon/lat) replaces the carried-over geometry when given.
    Returns the new record's id. Raises ``Conflict`` if the old record is no longer in force."""
    old = _row(conn, old_id)
    changes.places_changed(conn)
    new_name = new_values["name"]
    note = f"{effective_date.isoformat()} 由“{old.name}”更名为“{new_name}”"
    carried = {k: getattr(old, k) for k in CARRIED_ON_RENAME}
    if location is not None:
        carried.update(geom=location, **bbox_columns(location))
    proposed = {k: v for k, v in new_values.items() if k in PROPOSABLE and v not in (None, "", [])}
    stamp = VersionStamp(actor, now, effective_date, reason, proposal_id)
    # The division a record names moves to the successor: it is the division's name now.
    _end_in_force(
        conn, old, "historical", "superseded", f"更名为“{new_name}”", stamp, own_division_code=None
    )
    geom = carried.pop("geom")
    bbox = {k: carried.pop(k) for k in ("minx", "miny", "maxx", "maxy")}
    values = {"meaning": old.meaning, "aliases": old.aliases, **carried, **proposed}
    values["history"] = _appended(proposed.get("history") or old.history, note)
    new_id = _insert_in_force(
        conn, {**values, "own_division_code": old.own_division_code}, geom, bbox, "renamed", stamp
    )
    if old.own_division_code:
        # A village-level organisation is renamed as a place (区划变更 covers township and
        # above): its division row, whose name every chain below it shows, takes the new
        # name in the same transaction (a user test read 棠下社区居委会 at the end of
        # 棠溪社区居委会's chain). The indexes apply it in place, as a renaming
        # (gazetteer.changes.division_renames: this transaction also links the new record).
        conn.execute(
            divisions.update()
            .where(divisions.c.code == old.own_division_code, divisions.c.level == "village")
            .values(name=new_name, name_source=f"地名更名 {effective_date.isoformat()}")
        )
    conn.execute(
        place_links.insert().values(
            old_place_id=old_id,
            new_place_id=new_id,
            kind="renamed",
            effective_date=effective_date,
            proposal_id=proposal_id,
        )
    )
    return new_id


def retire_place(
    conn,
    place_id: int,
    *,
    effective_date: dt.date,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    proposal_id: int | None = None,
) -> None:
    """Retire (销名): the record stays, marked retired with reason and date."""
    row = _row(conn, place_id)
    changes.places_changed(conn)
    stamp = VersionStamp(actor, now, effective_date, reason, proposal_id)
    _end_in_force(conn, row, "retired", "retired", f"销名：{reason}", stamp)


# ---------------------------------------------------------------- reading


def _links(conn, place_ids: list[int], as_of: dt.date | None = None) -> dict[int, dict]:
    """{place_id: {"supersedes": [ids], "superseded_by": [ids]}} for links in effect on ``as_of``."""
    out = {pid: {"supersedes": [], "superseded_by": []} for pid in place_ids}
    if not place_ids:
        return out
    query = sa.select(place_links).where(
        sa.or_(place_links.c.old_place_id.in_(place_ids), place_links.c.new_place_id.in_(place_ids))
    )
    if as_of is not None:
        query = query.where(place_links.c.effective_date <= as_of)
    for link in conn.execute(query.order_by(place_links.c.effective_date, place_links.c.id)):
        if link.old_place_id in out:
            out[link.old_place_id]["superseded_by"].append(link.new_place_id)
        if link.new_place_id in out:
            out[link.new_place_id]["supersedes"].append(link.old_place_id)
    return out


def division_info(conn, code: str | None) -> dict | None:
    if not code:
        return None
    path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
    if path is None:
        return {"code": code, "name": None, "chain": []}
    chain = division_chain(conn, path)
    return {
        "code": code,
        "name": chain[-1]["name"] if chain else None,
        "full_name": "".join(d["name"] for d in chain),
        "chain": chain,
    }


def divisions_crossed(conn, geom) -> list[dict]:
    """County-level divisions whose polygons a line or polygon lies in or crosses (the
    lowest level that has polygons). Points give []: their division is ``division_code``."""
    if geom is None or geom.geom_type == "Point":
        return []
    minx, miny, maxx, maxy = geom.bounds
    rows = conn.execute(
        sa.select(divisions.c.code, divisions.c.name, divisions.c.geom).where(
            divisions.c.level == "county",
            divisions.c.minx <= maxx,
            divisions.c.maxx >= minx,
            divisions.c.miny <= maxy,
            divisions.c.maxy >= miny,
        )
    )
    return [
        {"code": r.code, "name": r.name}
        for r in rows
        if r.geom is not None and r.geom.intersects(geom)
    ]


def _public_record(record: dict, geom, *, with_geometry: bool) -> dict:
    out = {k: v for k, v in record.items() if k not in ("minx", "miny", "maxx", "maxy")}
    out["status_zh"] = STATUS_NAMES_ZH.get(out.get("status"), out.get("status"))
    out["has_geometry"] = geom is not None
    if with_geometry:
        out["geometry"] = mapping(geom) if geom is not None else None
    return out


def _as_of_version(conn, place_id: int, as_of: dt.date):
    """The snapshot valid on ``as_of``; None if the record has no snapshots at all.
    Raises ``NotFound`` if it has snapshots but none covers the date (not yet named)."""
    versions = conn.execute(
        sa.select(place_versions)
        .where(place_versions.c.place_id == place_id)
        .order_by(place_versions.c.version.desc())
    ).all()
    if not versions:
        return None
    for v in versions:
        if (v.valid_from is None or v.valid_from <= as_of) and (
            v.valid_to is None or as_of < v.valid_to
        ):
            return v
    raise NotFound(f"地名记录 {place_id} 在 {as_of.isoformat()} 尚未登记")


def get_place(
    store: Store, place_id: int, *, as_of: dt.date | None = None, with_geometry: bool = True
) -> dict:
    """One record as it stands now, or as it stood on ``as_of`` (a civil date), with its
    division chain, the divisions it crosses and its rename links in effect on that date.

    Raises ``NotFound`` for an unknown id or a date before the record was named."""
    with store.read() as conn:
        row = _row(conn, place_id)
        record, geom, version_info = _record(row), row.geom, None
        if as_of is not None:
            version = _as_of_version(conn, place_id, as_of)
            if version is None:
                if row.named_date is not None and as_of < row.named_date:
                    raise NotFound(f"地名记录 {place_id} 在 {as_of.isoformat()} 尚未登记")
            else:
                record, geom = dict(version.record), version.geom
                version_info = {
                    "version": version.version,
                    "valid_from": jsonable(version.valid_from),
                    "valid_to": jsonable(version.valid_to),
                    "change": version.change,
                }
        out = _public_record(record, geom, with_geometry=with_geometry)
        out["as_of"] = jsonable(as_of)
        out["version_valid"] = version_info
        out["division"] = division_info(conn, record.get("division_code"))
        out["divisions_crossed"] = divisions_crossed(conn, geom)
        out.update(_links(conn, [place_id], as_of)[place_id])
    return out


def place_history(store: Store, place_id: int) -> dict:
    """Every version of a record (oldest first) and the whole rename chain it belongs to,
    predecessors and successors, each with its name and dates."""
    with store.read() as conn:
        row = _row(conn, place_id)
        versions = [
            {
                "version": v.version,
                "name": v.name,
                "status": v.status,
                "change": v.change,
                "change_reason": v.change_reason,
                "valid_from": jsonable(v.valid_from),
                "valid_to": jsonable(v.valid_to),
                "proposal_id": v.proposal_id,
                "recorded_by": v.recorded_by,
                "recorded_at": jsonable(as_utc(v.recorded_at)),
            }
            for v in conn.execute(
                sa.select(place_versions)
                .where(place_versions.c.place_id == place_id)
                .order_by(place_versions.c.version)
            )
        ]
        if not versions:  # never changed since import: the current record is the only version
            versions = [
                {
                    "version": row.version,
                    "name": row.name,
                    "status": row.status,
                    "change": "baseline",
                    "change_reason": None,
                    "valid_from": jsonable(row.named_date),
                    "valid_to": None,
                    "proposal_id": None,
                    "recorded_by": row.registered_by,
                    "recorded_at": jsonable(as_utc(row.registered_at)),
                }
            ]
        chain_ids, frontier = {place_id}, [place_id]
        while frontier:  # walk links both ways; chains are short
            links = _links(conn, frontier)
            frontier = [
                i
                for pid in frontier
                for i in links[pid]["supersedes"] + links[pid]["superseded_by"]
                if i not in chain_ids
            ]
            chain_ids.update(frontier)
        chain_rows = conn.execute(
            sa.select(
                places.c.id,
                places.c.name,
                places.c.status,
                places.c.named_date,
                places.c.retired_date,
            ).where(places.c.id.in_(chain_ids))
        ).all()
        links = _links(conn, sorted(chain_ids))
    chain = sorted(
        (
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "named_date": jsonable(r.named_date),
                "retired_date": jsonable(r.retired_date),
                **links[r.id],
            }
            for r in chain_rows
        ),
        key=lambda c: (c["named_date"] or "", c["id"]),
    )
    return {
        "place_id": place_id,
        "name": row.name,
        "status": row.status,
        "versions": versions,
        "name_chain": chain,
    }


def check_page(limit: int, offset: int) -> None:
    """Refuse a page of a list outside 1..MAX_PAGE records or before the first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit 应在 1 到 {MAX_PAGE} 之间", details={"field": "limit"})
    if offset < 0:
        raise InvalidInput("offset 不能为负", details={"field": "offset"})


def find_places(
    store: Store,
    *,
    name: str | None = None,
    q: str | None = None,
    as_of: dt.date | None = None,
    status: str | None = None,
    division_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict:
    """Records by exact ``name`` or name substring ``q``, optionally in one division (and
    below) or one status. With ``as_of`` the names are matched as they stood on that date,
    so an old name finds its record even after a rename.

    Returns {"total", "items": [summary]}; ``limit`` at most ``MAX_PAGE``."""
    check_page(limit, offset)
    if status is not None and status not in STATUS_NAMES_ZH:
        raise InvalidInput(f"未知的地名状态：{status!r}")

    def name_filter(column):
        if name:
            return column == name
        if q:
            return column.contains(q, autoescape=True)
        return sa.true()

    with store.read() as conn:
        if as_of is None:
            ids_query = sa.select(places.c.id).where(name_filter(places.c.name))
            if status:
                ids_query = ids_query.where(places.c.status == status)
        else:
            covering = sa.and_(
                sa.or_(place_versions.c.valid_from.is_(None), place_versions.c.valid_from <= as_of),
                sa.or_(place_versions.c.valid_to.is_(None), place_versions.c.valid_to > as_of),
            )
            versioned = sa.select(place_versions.c.place_id.label("id")).where(
                covering, name_filter(place_versions.c.name)
            )
            if status:
                versioned = versioned.where(place_versions.c.status == status)
            has_versions = sa.exists().where(place_versions.c.place_id == places.c.id)
            unversioned = sa.select(places.c.id).where(
                ~has_versions,
                name_filter(places.c.name),
                sa.or_(places.c.named_date.is_(None), places.c.named_date <= as_of),
            )
            if status:
                unversioned = unversioned.where(places.c.status == status)
            ids_query = sa.union(versioned, unversioned)
        ids_sub = ids_query.subquery()
        query = sa.select(places).where(places.c.id.in_(sa.select(ids_sub.c.id)))
        if division_code:
            path = conn.execute(
                sa.select(divisions.c.path).where(divisions.c.code == division_code)
            ).scalar()
            if path is None:
                raise NotFound(f"没有代码为 {division_code} 的行政区划")
            below = sa.select(divisions.c.code).where(
                sa.or_(divisions.c.path == path, divisions.c.path.startswith(path + "/"))
            )
            query = query.where(places.c.division_code.in_(below))
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
        rows = conn.execute(query.order_by(places.c.id).limit(limit).offset(offset)).all()
        links = _links(conn, [r.id for r in rows], as_of)
        items = []
        for r in rows:
            item = {
                "id": r.id,
                "name": r.name,
                "romanized": r.romanized,
                "feature_class": r.feature_class,
                "feature_type": r.feature_type,
                "division_code": r.division_code,
                "status": r.status,
                "status_zh": STATUS_NAMES_ZH[r.status],
                "named_date": jsonable(r.named_date),
                "retired_date": jsonable(r.retired_date),
                **links[r.id],
            }
            if as_of is not None:
                version = _as_of_version(conn, r.id, as_of)
                if version is not None:
                    item.update(
                        name=version.name,
                        status=version.status,
                        status_zh=STATUS_NAMES_ZH[version.status],
                        current_name=r.name,
                    )
            items.append(item)
    return {"total": total, "as_of": jsonable(as_of), "items": items}


# ---------------------------------------------------------------- imports (gazetteer.office_import)


def record_imported(
    conn,
    place_ids: list[int],
    *,
    reasons: dict[int, str],
    actor: Actor,
    now: dt.datetime,
) -> None:
    """Append an ``imported`` version for records an import has just inserted (each valid
    from its ``named_date``, or since always when unknown). Not an approval: no proposal."""
    if not place_ids:
        return
    rows = conn.execute(sa.select(places).where(places.c.id.in_(place_ids))).all()
    conn.execute(
        place_versions.insert(),
        [
            {
                "place_id": row.id,
                "version": row.version,
                "valid_from": row.named_date,
                "valid_to": None,
                "name": row.name,
                "status": row.status,
                "change": "imported",
                "change_reason": reasons.get(row.id),
                "proposal_id": None,
                "record": _record(row),
                "geom": row.geom,
                "recorded_at": now,
                "recorded_by": actor.username,
            }
            for row in rows
        ],
    )


def update_imported(
    conn,
    place_id: int,
    version: int,
    values: dict,
    *,
    effective_date: dt.date,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> None:
    """Apply an office's corrected values to a record it imported earlier: the version in
    force ends on ``effective_date`` and an ``imported`` version starts. ``values`` may set
    ``geom`` (CGCS2000 lon/lat); raises ``Conflict`` if the record changed meanwhile."""
    row = _row(conn, place_id)
    if row.version != version:
        raise Conflict(f"地名记录 {place_id}（{row.name}）已被更改，请重新预览")
    changes.places_changed(conn)
    stamp = VersionStamp(actor, now, effective_date, reason)
    _close_current(conn, row, stamp)
    geom = values.get("geom", row.geom)
    result = conn.execute(
        places.update()
        .where(places.c.id == place_id, places.c.version == version)
        .values(**values, **bbox_columns(geom), updated_at=now, version=places.c.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"地名记录 {place_id}（{row.name}）已被更改，请重新预览")
    _append_version(conn, _row(conn, place_id), "imported", stamp)
