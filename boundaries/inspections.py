"""Joint inspection rounds (联检) and per-marker inspection records.

A round covers one line and its markers, with both sides' teams, a plan and a period:
planned -> in_progress -> completed. An inspection record states the found state, an
optional measured position (CGCS2000 lon/lat degrees) with its method and accuracy, and
is signed by one member of each side's team. Records carry a client-made UUID, so an
offline device can resend them: the same id twice is a no-op returning the stored record.

Moved rule: a marker is flagged moved when the geodesic displacement from its registered
position exceeds ``tolerance_m + measurement_accuracy_m``. Markers are registered by survey
to centimetres; the tolerance (``MARKER_MOVED_TOLERANCE_M``, default 1.0 m) is larger than
what a tilted 1 m marker's top shifts (about 0.26 m at 15 degrees) so tilt is not
mistaken for a move; adding the stated accuracy (RTK ~0.05 m, handheld GNSS ~5 m) means a
coarse measurement can never flag a move it cannot resolve.

Distance guard: a record that would flag a move, or whose position is further from the
registered one than the guard of its survey method, is refused with
ConfirmationRequired (details: distance_m, guard_m) until it carries
``moved_confirmed: true`` — the inspector's explicit "the marker has moved".

Amendments: a marker has one record per round; a second visit or a correction amends that
record (``amend_inspection``), keeping the earlier finding in ``inspection_amendments``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from boundaries import staff
from boundaries.lines import line_named_in
from boundaries.markers import set_marker_state
from boundaries.tables import (
    boundary_lines,
    inspection_amendments,
    inspection_rounds,
    inspections,
    maintenance_tasks,
    markers,
    round_teams,
)
from boundaries.vocabulary import (
    AMENDMENT_KINDS,
    CONCLUSION_MAX_CHARS,
    MEASUREMENT_METHODS,
    METHOD_NAMES,
    NOTES_MAX_CHARS,
    REASON_MAX_CHARS,
    STATE_NAMES,
    marker_state,
)
from gazetteer.core import idempotency
from gazetteer.core.actors import require_role
from gazetteer.core.dates import (
    LOCAL_TZ,
    aware_utc,
    format_local_time,
    local_date,
    parse_date,
    utc_iso,
)
from gazetteer.core.errors import (
    ConfirmationRequired,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    naming_field,
)
from gazetteer.core.geodesy import bearing_distance
from gazetteer.core.geojson_input import check_lon_lat
from gazetteer.core.store import Store, first_or_not_found, is_unique_violation, read_all, row_by_id
from gazetteer.core.text import form_text

DEFAULT_TOLERANCE_M = 1.0  # gazetteer.core.settings MARKER_MOVED_TOLERANCE_M default
# Distance guard (m) by survey method: a measured position further than this from the
# registered one is taken only with the inspector's explicit "the marker has moved"
# (gazetteer.core.settings MARKER_DISTANCE_GUARD_M; these are its defaults).
DEFAULT_DISTANCE_GUARD_M = {"rtk": 1.0, "total_station": 1.0, "gnss_handheld": 10.0}


def distance_guards(configured: Mapping[str, float]) -> dict[str, float]:
    """The distance guard of every survey method: ``configured`` (the setting
    MARKER_DISTANCE_GUARD_M) over the defaults, so that a setting naming some methods keeps
    the others guarded. ``ValueError`` naming a method that is not one (a typo such as
    ``rtkk`` would otherwise change nothing and say nothing)."""
    unknown = sorted(set(configured) - set(DEFAULT_DISTANCE_GUARD_M))
    if unknown:
        raise ValueError(
            f"unknown survey method(s) {', '.join(unknown)}: "
            f"expected {', '.join(DEFAULT_DISTANCE_GUARD_M)}"
        )
    return {**DEFAULT_DISTANCE_GUARD_M, **configured}


@dataclass(frozen=True)
class DistanceLimits:
    """How far (metres) a measured position may lie from the registered one: beyond
    ``tolerance_m`` plus the measurement's accuracy the marker counts as moved; beyond
    ``guard_m[method]`` the record needs the inspector's confirmation. The app builds it
    from the settings MARKER_MOVED_TOLERANCE_M and MARKER_DISTANCE_GUARD_M."""

    tolerance_m: float = DEFAULT_TOLERANCE_M
    guard_m: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DISTANCE_GUARD_M))


DEFAULT_LIMITS = DistanceLimits()
FIVE_YEAR_RULE_YEARS = 5  # 《行政区域界线管理条例》 Art. 12: joint inspection every five years
# Typical horizontal accuracy (m) of a method, used by the moved rule when the record does
# not state one (the record then stores the accuracy as unknown).
METHOD_ACCURACY_M = {"rtk": 0.05, "total_station": 0.02, "gnss_handheld": 5.0}
# Beyond this the measurement is more likely a wrong marker or unconverted GCJ-02/BD-09
# coordinates (offsets of hundreds of metres in Guangdong) than a moved marker.
MAX_PLAUSIBLE_DISPLACEMENT_M = 300.0
# Guangdong upkeep contract: a finding in an urgent state (loss, damage: the ``urgent``
# column of boundaries/data/marker_states.csv) is reported within 12 hours.
REPORT_WITHIN_HOURS = 12
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHINESE_NUMERALS = "零一二三四五六七八九十"


def round_title(line_name: str, round_no: int) -> str:
    numeral = CHINESE_NUMERALS[round_no] if round_no <= 10 else str(round_no)
    return f"{line_name}第{numeral}轮联合检查"


# ---- the pure rules --------------------------------------------------------------------


def marker_displacement_m(
    registered_lon: float, registered_lat: float, measured_lon: float, measured_lat: float
) -> tuple[float, float]:
    """(displacement_m, bearing_deg) from the registered to the measured position:
    geodesic on the CGCS2000 ellipsoid, lon/lat degrees in."""
    bearing, distance = bearing_distance(registered_lon, registered_lat, measured_lon, measured_lat)
    return distance, bearing


def assess(
    found_state: str, displacement_m: float | None, tolerance_m: float, accuracy_m: float | None
) -> tuple[str, bool]:
    """(assessed_state, flagged_moved) of a finding; InvalidInput when the finding
    contradicts itself. See the module docstring for the moved rule; which states a
    flagged displacement turns into "moved" is their ``displaced_becomes_moved`` column
    (``boundaries.vocabulary``)."""
    state = marker_state(found_state)
    if found_state == "lost" and displacement_m is not None:
        raise InvalidInput(
            "界桩记为丢失时不应有实测位置；若找到了界桩，请记为移位或其他状态",
            details={"field": "found_state"},
        )
    if displacement_m is None:
        if found_state == "moved":
            raise InvalidInput(
                "记为移位须附实测坐标，以便计算位移", details={"field": "measured_lon"}
            )
        return found_state, False
    threshold = tolerance_m + (accuracy_m or 0.0)
    flagged = displacement_m > threshold
    if found_state == "moved" and not flagged:
        raise InvalidInput(
            f"实测位移 {displacement_m:.2f} 米未超过判定阈值 {threshold:.2f} 米"
            f"（容差 {tolerance_m} 米 + 测量精度 {accuracy_m or 0} 米），不能记为移位",
            details={"field": "found_state"},
        )
    if flagged and state.displaced_becomes_moved:
        return "moved", True
    return found_state, flagged


def tasks_for(assessed_state: str, found_state: str, flagged_moved: bool) -> list[str]:
    """Maintenance task kinds a finding opens: its state's ``task_kind`` (declared with the
    state in ``boundaries.vocabulary``), and restore when the marker was found moved."""
    kinds = []
    if task_kind := marker_state(found_state).task_kind:
        kinds.append(task_kind)
    if flagged_moved and found_state != "lost":
        kinds.append("restore")
    return kinds


# ---- rounds ------------------------------------------------------------------------------


def create_round(store: Store, data: dict, actor, *, idempotency_key: str | None = None) -> dict:
    """Plan a round: ``line`` (name) or ``line_id``, ``round_no``, ``plan``, ``planned_start``/
    ``planned_end`` (ISO dates), ``teams``: one per side {side_code, organisation, leader,
    members: [usernames]}, ``is_demonstration``. ``idempotency_key``: a retry of the same
    request answers the round planned the first time; the same key with other content is a
    ``Conflict`` carrying it (``gazetteer.core.idempotency``)."""
    require_role(actor, {"officer"}, "制定联检计划")

    def insert(conn) -> int:
        line = line_named_in(conn, data)._asdict()
        try:
            round_no = int(data.get("round_no"))
        except (TypeError, ValueError):
            raise InvalidInput("联检轮次应为正整数", details={"field": "round_no"}) from None
        if round_no < 1:
            raise InvalidInput("联检轮次应为正整数", details={"field": "round_no"})
        with naming_field("planned_start"):
            start = parse_date(data.get("planned_start"), "计划开始日期")
        with naming_field("planned_end"):
            end = parse_date(data.get("planned_end"), "计划结束日期")
        if start is None or end is None:
            raise InvalidInput(
                "请填写计划开始和结束日期（联检计划须写明时间）",
                details={"field": "planned_start" if start is None else "planned_end"},
            )
        if end < start:
            raise InvalidInput("计划结束日期早于开始日期", details={"field": "planned_end"})
        plan = data.get("plan")
        if not isinstance(plan, str) or not plan.strip():
            raise InvalidInput("请填写联检计划（检查范围与方法）", details={"field": "plan"})
        staff.require_side(
            conn, actor, (line["side_a_code"], line["side_b_code"]), "制定该界线的联检计划"
        )
        _refuse_second_open_round(conn, line["id"], line["name"])
        section = _section(data)
        teams = data.get("teams") or []
        sides = {line["side_a_code"], line["side_b_code"]}
        if {t.get("side_code") for t in teams} != sides or len(teams) != 2:
            raise InvalidInput(
                f"联检须有界线两侧各一支队伍：{'、'.join(sorted(sides))}",
                details={"field": "teams"},
            )
        for team in teams:
            members = team.get("members")
            if (
                not isinstance(members, list)
                or not members
                or not all(isinstance(m, str) and m for m in members)
            ):
                raise InvalidInput("每支联检队伍须列出成员用户名", details={"field": "teams"})
            for member in members:
                side = staff.side_of(conn, member)
                if side is not None and side != team["side_code"]:
                    raise InvalidInput(
                        f"{staff.display_name(conn, member)}（{member}）属于"
                        f"{staff.side_name(conn, side)}一方，"
                        f"不能编入{staff.side_name(conn, team['side_code'])}一方的联检队伍",
                        details={"field": "teams", "member": member, "side_code": side},
                    )
        exists = conn.execute(
            sa.select(inspection_rounds.c.id).where(
                inspection_rounds.c.line_id == line["id"], inspection_rounds.c.round_no == round_no
            )
        ).first()
        if exists:
            raise Conflict(
                f"{line['name']}第 {round_no} 轮联检已存在", details={"round_id": exists.id}
            )
        round_id = conn.execute(
            inspection_rounds.insert().values(
                line_id=line["id"],
                round_no=round_no,
                title=form_text(
                    data.get("title"),
                    "联检标题",
                    200,
                    field="title",
                    required=False,
                    single_line=True,
                )
                or round_title(line["name"], round_no),
                plan=plan.strip(),
                planned_start=start,
                planned_end=end,
                status="planned",
                created_by=actor.username,
                is_demonstration=bool(data.get("is_demonstration", False)),
                section_from_seq=section[0],
                section_to_seq=section[1],
            )
        ).inserted_primary_key[0]
        conn.execute(
            round_teams.insert(),
            [
                {
                    "round_id": round_id,
                    "side_code": t["side_code"],
                    "organisation": t.get("organisation"),
                    "leader": t.get("leader"),
                    "members": list(t["members"]),
                }
                for t in teams
            ],
        )
        return round_id

    return idempotency.create_once(
        store, actor, "round", idempotency_key, data, insert, lambda i: get_round(store, i)
    )


# A marker's sequence number along its line: what a round's section may start or end at.
MAX_SECTION_SEQ = 9999


def _section(data: dict) -> tuple[int | None, int | None]:
    """(first, last) marker sequence numbers of a round over part of a line; None = open."""
    bounds = []
    for key, label in (("section_from_seq", "起始界桩序号"), ("section_to_seq", "终止界桩序号")):
        value = data.get(key)
        if value in (None, ""):
            bounds.append(None)
            continue
        if (
            isinstance(value, bool)
            or not str(value).isdigit()
            or not 1 <= int(value) <= MAX_SECTION_SEQ
        ):
            raise InvalidInput(
                f"{label}（{key}）应为 1–{MAX_SECTION_SEQ} 的整数", details={"field": key}
            )
        bounds.append(int(value))
    if bounds[0] and bounds[1] and bounds[1] < bounds[0]:
        raise InvalidInput("终止界桩序号小于起始序号", details={"field": "section_to_seq"})
    return bounds[0], bounds[1]


def in_section(rnd, seq: int) -> bool:
    """Whether a marker's sequence number lies in the round's section (a row or dict)."""
    get = rnd.get if isinstance(rnd, dict) else lambda k: getattr(rnd, k)
    first, last = get("section_from_seq"), get("section_to_seq")
    return (first is None or seq >= first) and (last is None or seq <= last)


def _section_filter(rnd):
    cond = [markers.c.line_id == rnd.line_id, markers.c.state != "retired"]
    if rnd.section_from_seq is not None:
        cond.append(markers.c.seq >= rnd.section_from_seq)
    if rnd.section_to_seq is not None:
        cond.append(markers.c.seq <= rnd.section_to_seq)
    return cond


def get_round(store: Store, round_id: int) -> dict:
    with store.read() as conn:
        row = first_or_not_found(
            conn,
            sa.select(
                inspection_rounds,
                boundary_lines.c.name.label("line_name"),
                boundary_lines.c.side_a_code,
                boundary_lines.c.side_b_code,
            )
            .join(boundary_lines, boundary_lines.c.id == inspection_rounds.c.line_id)
            .where(inspection_rounds.c.id == round_id),
            f"联检轮次不存在：{round_id}",
        )
        result = row._asdict()
        result["teams"] = [
            r._asdict()
            for r in conn.execute(
                sa.select(round_teams)
                .where(round_teams.c.round_id == round_id)
                .order_by(round_teams.c.side_code)
            )
        ]
    return result


def list_rounds(store: Store, line_id: int | None = None) -> list[dict]:
    query = sa.select(inspection_rounds, boundary_lines.c.name.label("line_name")).join(
        boundary_lines, boundary_lines.c.id == inspection_rounds.c.line_id
    )
    return read_all(
        store, query, inspection_rounds.c.id, where={inspection_rounds.c.line_id: line_id}
    )


def _refuse_second_open_round(conn, line_id: int, line_name: str, but: int | None = None) -> None:
    """Conflict when the line already has a round in progress (other than ``but``): one
    joint inspection of a line at a time, so each marker has one record per inspection."""
    query = sa.select(inspection_rounds.c.id, inspection_rounds.c.title).where(
        inspection_rounds.c.line_id == line_id, inspection_rounds.c.status == "in_progress"
    )
    if but is not None:
        query = query.where(inspection_rounds.c.id != but)
    busy = conn.execute(query).first()
    if busy:
        raise Conflict(
            f"{line_name}已有进行中的联检（{busy.title}），须先完成该轮，才能再安排或开始新的一轮",
            details={"round_id": busy.id},
        )


def start_round(store: Store, round_id: int, actor) -> dict:
    """Start a planned round: an officer of one of the line's sides, and no other round of
    the line in progress."""
    require_role(actor, {"officer"}, "开始联检")
    with store.write(actor=actor) as conn:
        rnd = first_or_not_found(
            conn,
            sa.select(
                inspection_rounds.c.line_id,
                boundary_lines.c.name,
                boundary_lines.c.side_a_code,
                boundary_lines.c.side_b_code,
            )
            .join(boundary_lines, boundary_lines.c.id == inspection_rounds.c.line_id)
            .where(inspection_rounds.c.id == round_id),
            f"联检轮次不存在：{round_id}",
        )
        staff.require_side(conn, actor, (rnd.side_a_code, rnd.side_b_code), "开始该界线的联检")
        _refuse_second_open_round(conn, rnd.line_id, rnd.name, but=round_id)
        _transition_in(conn, round_id, "planned", "in_progress", started_at=_now())
    return get_round(store, round_id)


def complete_round(store: Store, round_id: int, actor) -> dict:
    """Close a round: every marker of the line inspected and every record signed by both sides."""
    require_role(actor, {"officer"}, "完成联检")
    with store.write(actor=actor) as conn:
        rnd = row_by_id(conn, inspection_rounds, round_id, f"联检轮次不存在：{round_id}")
        uninspected = conn.execute(
            sa.select(sa.func.count())
            .select_from(markers)
            .where(
                *_section_filter(rnd),
                ~markers.c.id.in_(
                    sa.select(inspections.c.marker_id).where(inspections.c.round_id == round_id)
                ),
            )
        ).scalar()
        unsigned = conn.execute(
            sa.select(sa.func.count())
            .select_from(inspections)
            .where(
                inspections.c.round_id == round_id,
                sa.or_(inspections.c.signed_a_by.is_(None), inspections.c.signed_b_by.is_(None)),
            )
        ).scalar()
        if uninspected or unsigned:
            raise IllegalTransition(
                f"尚有 {uninspected} 颗界桩未检查、{unsigned} 条记录未经双方签认，不能完成联检",
                details={"uninspected": uninspected, "unsigned": unsigned},
            )
        if not (rnd.concluded_a_by and rnd.concluded_b_by):
            raise IllegalTransition(
                "联检结论尚未经双方签署，不能完成联检",
                details={"conclusion_signed_by": [rnd.concluded_a_by, rnd.concluded_b_by]},
            )
    _transition(store, round_id, "in_progress", "completed", actor, completed_at=_now())
    return get_round(store, round_id)


def _transition(store: Store, round_id: int, old: str, new: str, actor, **values) -> None:
    with store.write(actor=actor) as conn:
        _transition_in(conn, round_id, old, new, **values)


def _transition_in(conn, round_id: int, old: str, new: str, **values) -> None:
    done = conn.execute(
        inspection_rounds.update()
        .where(inspection_rounds.c.id == round_id, inspection_rounds.c.status == old)
        .values(status=new, **values)
    )
    if done.rowcount == 0:
        status = conn.execute(
            sa.select(inspection_rounds.c.status).where(inspection_rounds.c.id == round_id)
        ).scalar()
        if status is None:
            raise NotFound(f"联检轮次不存在：{round_id}")
        raise IllegalTransition(f"联检状态为 {status}，不能改为 {new}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- inspection records ------------------------------------------------------------------


def record_inspection(
    store: Store, data: dict, actor, *, limits: DistanceLimits = DEFAULT_LIMITS
) -> tuple[dict, bool]:
    """Record one marker's inspection; returns (record, created).

    ``data``: id (client UUID), round_id, marker (number) or marker_id, found_state,
    measured_lon/measured_lat (CGCS2000 degrees, optional), measurement_method,
    measurement_accuracy_m, notes, photos (sha256 list), inspected_at (ISO, default now).
    Exactly-once: an id already stored returns the stored record, unchanged; sent again
    with other content it raises ``Conflict`` carrying the stored record (``details.stored``).
    """
    require_role(actor, {"inspector"}, "录入检查记录")
    try:
        with store.write(actor=actor) as conn:
            return record_inspection_in(conn, data, actor, limits=limits)
    except (sa.exc.IntegrityError, Conflict) as exc:
        if isinstance(exc, sa.exc.IntegrityError) and not is_unique_violation(exc):
            # A CHECK or foreign key refused the row (e.g. a state the store's constraint
            # does not allow yet): no concurrent entry, so not answered as one.
            raise
        # PostgreSQL (READ COMMITTED): a concurrent upload of the same record committed after
        # our existence check, so we saw its row as a clash or hit the unique key (SQLite's
        # BEGIN IMMEDIATE serialises the two instead). Answer as the later request would be.
        with store.read(primary=True) as conn:
            existing = conn.execute(
                sa.select(inspections).where(inspections.c.id == record_uuid(data.get("id")))
            ).first()
        if (
            existing is not None
            and existing.inspected_by == actor.username
            and not _replay_differences(existing._asdict(), data)
        ):
            return existing._asdict(), False
        if isinstance(exc, Conflict):
            raise
        raise Conflict("本轮该界桩的检查记录已由他人同时录入") from exc


def record_inspections(
    store: Store, records: Iterable[dict], actor, *, limits: DistanceLimits = DEFAULT_LIMITS
) -> dict[str, int]:
    """Offline sync: record ``records`` (as ``record_inspection`` takes one) in one
    transaction, all or nothing; ids already stored are skipped (exactly-once). The role
    is checked before ``records`` is read (an upload parsed lazily); an error names the
    record by its place (第 N 条记录). Returns {created, existing}."""
    require_role(actor, {"inspector"}, "导入检查记录")
    counts = {"created": 0, "existing": 0}
    with store.write(actor=actor) as conn:
        for index, record in enumerate(records, start=1):
            try:
                _, created = record_inspection_in(conn, record, actor, limits=limits)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"第 {index} 条记录：{exc.message}", details=exc.details
                ) from None
            counts["created" if created else "existing"] += 1
    return counts


# Fields of a resent record compared with the stored one (what the client chose; the
# server derives the rest).
_REPLAY_FIELDS = ("round_id", "marker_id", "found_state", "measured_lon", "measured_lat", "notes")


def _replay_differences(stored: dict, data: dict) -> list[str]:
    """The client-chosen fields in which a resent record differs from the stored one."""
    changed = [
        name
        for name in _REPLAY_FIELDS
        if name in data and (data[name] or None) != (stored.get(name) or None)
    ]
    if "photos" in data and sorted(data["photos"] or []) != sorted(stored.get("photos") or []):
        changed.append("photos")
    return changed


def record_inspection_in(
    conn, data: dict, actor, *, limits: DistanceLimits = DEFAULT_LIMITS
) -> tuple[dict, bool]:
    """``record_inspection`` inside the caller's transaction (batch imports: all or nothing)."""
    record_id = record_uuid(data.get("id"))
    existing = conn.execute(sa.select(inspections).where(inspections.c.id == record_id)).first()
    if existing is not None:
        if existing.inspected_by != actor.username:
            # Client ids are chosen by devices, so they are unique for everyone; a replay
            # answers only the account that made the record. Another account's record is
            # not shown (the id is all this one sent).
            raise Conflict(
                f"检查记录编号 {record_id} 已被另一检查员的记录使用：请为本记录生成新的 UUID（id）",
                details={"field": "id", "reason": "id_taken"},
            )
        stored = existing._asdict()
        changed = _replay_differences(stored, data)
        if changed:
            # Same id, other content: the client must not believe its new content was kept.
            raise Conflict(
                f"检查记录 {record_id} 已以不同内容保存：已保存的版本见 details.stored",
                details={"fields": changed, "stored": stored},
            )
        return stored, False
    rnd = row_by_id(
        conn, inspection_rounds, data.get("round_id"), f"联检轮次不存在：{data.get('round_id')}"
    )
    if rnd.status != "in_progress":
        raise IllegalTransition(f"联检状态为 {rnd.status}，只有进行中的联检可以录入检查记录")
    _require_member(conn, round_id=rnd.id, actor=actor)
    marker = _marker(conn, data, rnd.line_id)
    if not in_section(rnd, marker.seq):
        raise InvalidInput(
            f"界桩 {marker.number} 不在本轮联检的检查区段内", details={"field": _marker_key(data)}
        )
    # The body is checked before the clash below: a client fixes its input first, then
    # learns that the marker already has a record (a 409 would hide the 400).
    values = _measurement(data, marker, limits)
    inspected_at = _datetime(data.get("inspected_at"))
    photos = _photos(data)
    notes = _notes(data)
    clash = conn.execute(
        sa.select(inspections.c.id, inspections.c.inspected_by, inspections.c.found_state).where(
            inspections.c.round_id == rnd.id, inspections.c.marker_id == marker.id
        )
    ).first()
    if clash:
        # Who found what: the inspector decides whether theirs amends it (the other side's
        # finding may be the right one).
        by = staff.display_name(conn, clash.inspected_by)
        found = STATE_NAMES.get(clash.found_state, clash.found_state)
        raise Conflict(
            f"本轮已有界桩 {marker.number} 的检查记录（{by}：{found}）：请改为补充或更正该记录",
            details={
                "inspection_id": clash.id,
                "marker_id": marker.id,
                "marker": marker.number,
                "inspected_by": by,
                "found_state": clash.found_state,
            },
        )
    row = {
        "id": record_id,
        "round_id": rnd.id,
        "marker_id": marker.id,
        **values,
        "notes": notes,
        "photos": photos,
        "inspected_by": actor.username,
        "inspected_at": inspected_at,
        # Inspecting a demonstration marker yields demonstration records, whatever the round.
        "is_demonstration": bool(rnd.is_demonstration or marker.is_demonstration),
    }
    conn.execute(inspections.insert().values(**row))
    set_marker_state(conn, marker.id, values["assessed_state"])
    _open_tasks(conn, values, marker, rnd.id, record_id, inspected_at, row["is_demonstration"])
    stored = conn.execute(sa.select(inspections).where(inspections.c.id == record_id)).first()
    return stored._asdict(), True


def _notes(data: dict) -> str | None:
    """A record's notes (an amendment's too): text of at most ``NOTES_MAX_CHARS``, or None."""
    notes = data.get("notes")
    if notes is None or notes == "":
        return None
    if not isinstance(notes, str):
        raise InvalidInput("备注应为文字", details={"field": "notes"})
    if len(notes) > NOTES_MAX_CHARS:
        raise InvalidInput(
            f"备注过长：{len(notes)} 字，最多 {NOTES_MAX_CHARS} 字",
            details={"field": "notes", "max_chars": NOTES_MAX_CHARS},
        )
    return notes


def _photos(data: dict) -> list[str]:
    photos = data.get("photos") or []
    if not isinstance(photos, list) or not all(
        isinstance(p, str) and _SHA256.match(p) for p in photos
    ):
        raise InvalidInput("照片应为已上传照片的 SHA-256 列表", details={"field": "photos"})
    return photos


def _open_tasks(
    conn,
    values: dict,
    marker,
    round_id: int,
    inspection_id: str,
    at,
    demonstration: bool,
    *,
    amending: bool = False,
) -> None:
    """Open the maintenance tasks a finding calls for; an amendment skips the kinds already
    open for the marker (a second visit repeats the finding). A finding in an urgent state
    (loss, damage) is due to be reported within ``REPORT_WITHIN_HOURS``."""
    already_open = set()
    if amending:
        already_open = set(
            conn.execute(
                sa.select(maintenance_tasks.c.kind).where(
                    maintenance_tasks.c.marker_id == marker.id,
                    maintenance_tasks.c.status.in_(("open", "in_progress")),
                )
            ).scalars()
        )
    found = (values["assessed_state"], values["found_state"], values["flagged_moved"])
    kinds = [kind for kind in tasks_for(*found) if kind not in already_open]
    if not kinds:
        return
    urgent = marker_state(values["found_state"]).urgent
    # One INSERT for all the finding's tasks: they differ only in their kind.
    conn.execute(
        maintenance_tasks.insert().values(
            marker_id=marker.id,
            inspection_id=inspection_id,
            round_id=round_id,
            status="open",
            responsible_side=marker.responsible_side,
            opened_at=at,
            report_due_at=at + dt.timedelta(hours=REPORT_WITHIN_HOURS) if urgent else None,
            is_demonstration=demonstration,
        ),
        [{"kind": kind} for kind in kinds],
    )


def _cancel_tasks_corrected_away(conn, inspection_id: str, before, values: dict, actor) -> None:
    """A correction says the earlier finding was wrong: the tasks that finding opened and
    the corrected one does not call for are cancelled, with the correction as the reason, if
    nobody has started them (work begun is the task team's to close). A re-inspection does
    not come here: the earlier finding was true when it was made."""
    still_called_for = tasks_for(
        values["assessed_state"], values["found_state"], values["flagged_moved"]
    )
    was, now = (STATE_NAMES.get(s, s) for s in (before.found_state, values["found_state"]))
    conn.execute(
        maintenance_tasks.update()
        .where(
            maintenance_tasks.c.inspection_id == inspection_id,
            maintenance_tasks.c.status == "open",
            maintenance_tasks.c.kind.not_in(still_called_for),
        )
        .values(
            status="cancelled",
            result=f"检查记录已更正（原为{was}，现为{now}），不再需要此任务",
            closed_at=_now(),
            closed_by=actor.username,
        )
    )


def record_uuid(value, field: str = "id") -> str:
    """``value`` as a UUID's canonical text. ``field`` is the input it came from: the
    body's ``id`` (a client-made UUID), or a path's ``inspection_id`` (a record's id)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        message = (
            "检查记录须带客户端生成的 UUID（id），用于离线同步去重"
            if field == "id"
            else f"检查记录编号（{field}）应为 UUID：{str(value)[:80]!r}"
        )
        raise InvalidInput(message, details={"field": field}) from None


def _marker_key(data: dict) -> str:
    """The key that named a record's marker: ``marker_id`` when given, else ``marker``."""
    return "marker_id" if data.get("marker_id") is not None else "marker"


def _marker(conn, data: dict, line_id: int):
    if data.get("marker_id") is None and data.get("marker") in (None, ""):
        raise InvalidInput(
            "请填写界桩：界桩编号（marker_id）或界桩号（marker）", details={"field": "marker_id"}
        )
    query = sa.select(markers)
    if data.get("marker_id") is not None:
        row = conn.execute(query.where(markers.c.id == data["marker_id"])).first()
    else:
        row = conn.execute(query.where(markers.c.number == data.get("marker"))).first()
    if row is None:
        raise NotFound(
            f"界桩不存在：{data.get('marker') or data.get('marker_id')}",
            details={"field": _marker_key(data)},
        )
    if row.line_id != line_id:
        raise InvalidInput(
            f"界桩 {row.number} 不在本轮联检的界线上", details={"field": _marker_key(data)}
        )
    if row.state == "retired":
        raise InvalidInput(
            f"界桩 {row.number} 已撤销，不再检查", details={"field": _marker_key(data)}
        )
    return row


def _measured_position(data: dict) -> tuple[float, float] | tuple[None, None]:
    """``measured_lon``/``measured_lat`` (CGCS2000 degrees, lon first; numbers, or text
    from a CSV import), both or neither. Refused naming the key at fault: one missing,
    not a number, swapped (lat given as lon), out of range or outside China."""
    keys = ("measured_lon", "measured_lat")
    lon, lat = (data.get(k) for k in keys)
    if lon in (None, "") and lat in (None, ""):
        return None, None
    for key, value in zip(keys, (lon, lat), strict=True):
        if value in (None, ""):
            raise InvalidInput("实测经度、纬度须同时填写", details={"field": key})
        try:
            if isinstance(value, bool):
                raise TypeError
            float(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                "实测坐标应为数字（CGCS2000 十进制度）", details={"field": key}
            ) from None
    lon, lat = float(lon), float(lat)
    check_lon_lat(lon, lat, "实测位置", keys=keys)
    return lon, lat


def _measurement(data: dict, marker, limits: DistanceLimits) -> dict:
    found_state = marker_state(data.get("found_state")).code  # unknown: 400 naming it
    method = data.get("measurement_method") or "none"
    if method not in MEASUREMENT_METHODS:
        choices = "、".join(f"{METHOD_NAMES[m]}（{m}）" for m in MEASUREMENT_METHODS)
        raise InvalidInput(
            f"测量方法不可识别：{method!r}（可选 {choices}）",
            details={"field": "measurement_method"},
        )
    lon, lat = _measured_position(data)
    displacement = bearing = None
    accuracy = _accuracy_m(data.get("measurement_accuracy_m"), measured=lon is not None)
    if lon is not None:
        if method == "none":
            raise InvalidInput(
                "填写了实测坐标时须注明测量方法（rtk、total_station、gnss_handheld）",
                details={"field": "measurement_method"},
            )
        displacement, bearing = marker_displacement_m(marker.lon, marker.lat, lon, lat)
        if displacement > MAX_PLAUSIBLE_DISPLACEMENT_M:
            raise InvalidInput(
                f"实测位置距登记位置 {displacement:.0f} 米，超过 {MAX_PLAUSIBLE_DISPLACEMENT_M:.0f} 米："
                "请核对界桩编号，并确认坐标为 CGCS2000（不是高德/腾讯 GCJ-02 或百度 BD-09）；"
                "界桩若确被移至远处，请记为丢失并在备注中说明",
                details={"field": "measured_lon"},
            )
    assumed = METHOD_ACCURACY_M.get(method) if accuracy is None else accuracy
    assessed, flagged = assess(found_state, displacement, limits.tolerance_m, assumed)
    confirmed = data.get("moved_confirmed") is True
    guard = (limits.guard_m or DEFAULT_DISTANCE_GUARD_M).get(method)
    if displacement is not None and not confirmed:
        beyond_guard = guard is not None and displacement > guard
        if flagged or beyond_guard:
            raise ConfirmationRequired(
                f"实测位置距登记位置 {displacement:.1f} 米"
                + (f"，超过{METHOD_NAMES[method]}的距离阈值 {guard:g} 米" if beyond_guard else "")
                + "：若界桩确已移位，请确认“界桩已移位”后再保存；否则请核对位置或不填实测坐标",
                details={
                    "distance_m": round(displacement, 1),
                    "guard_m": guard,
                    "method": method,
                    "bearing_deg": round(bearing, 1),
                },
            )
    return {
        "found_state": found_state,
        "measured_lon": lon,
        "measured_lat": lat,
        "measurement_method": method,
        "measurement_accuracy_m": accuracy,
        "displacement_m": None if displacement is None else round(displacement, 3),
        "displacement_bearing_deg": None if bearing is None else round(bearing, 1),
        "tolerance_m": limits.tolerance_m,
        "flagged_moved": flagged,
        "assessed_state": assessed,
        "moved_confirmed": confirmed and displacement is not None,
    }


def _accuracy_m(value, *, measured: bool) -> float | None:
    """The accuracy of a measured position in metres (0–100), or None: not given, stored as
    unknown (the moved rule then assumes the method's typical accuracy). An accuracy
    without a measured position has nothing to qualify: refused rather than dropped."""
    field = {"field": "measurement_accuracy_m"}
    if value in (None, ""):
        return None
    if not measured:
        raise InvalidInput(
            "未填写实测坐标时不应填写测量精度（measurement_accuracy_m）：请补填实测坐标或删去精度",
            details=field,
        )
    if isinstance(value, bool):
        raise InvalidInput("测量精度应为米数", details=field)
    try:
        accuracy = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("测量精度应为米数", details=field) from None
    if not 0 <= accuracy <= 100 or accuracy != accuracy:
        raise InvalidInput("测量精度应在 0–100 米之间", details=field)
    return accuracy


# A device's clock may run a little ahead of the server's; a record dated later than this
# beyond the server's time was not made yet. Offline devices send past dates (hours or
# days old), which are kept as recorded.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(minutes=10)


_HAS_TIME_OF_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def _datetime(value) -> dt.datetime:
    """``inspected_at`` as an aware instant (no offset: Beijing time); now when not given.
    Raises ``InvalidInput`` naming the field when it is not ISO 8601 or lies in the future
    beyond ``CLOCK_SKEW_ALLOWANCE``."""
    field = {"field": "inspected_at"}
    now = _now()
    if value in (None, ""):
        return now
    # A day alone is not an instant: it would be read as midnight and stored as a time
    # nobody recorded. A time of day is required (an offset may be left out: Beijing time).
    if not _HAS_TIME_OF_DAY.match(str(value)):
        raise InvalidInput(
            f"检查时间应为带时刻的 ISO 8601 时间（如 2026-11-29T09:30:00+08:00）：{str(value)[:40]!r}",
            details=field,
        )
    try:
        result = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"检查时间应为 ISO 8601：{value!r}", details=field) from None
    # Stored as UTC: the store keeps the clock reading of an aware value and drops its
    # offset (SQLite), so 09:00+08:00 must become 01:00 UTC here, not 09:00 "UTC".
    result = (result if result.tzinfo else result.replace(tzinfo=LOCAL_TZ)).astimezone(dt.UTC)
    if result > now + CLOCK_SKEW_ALLOWANCE:
        raise InvalidInput(
            f"检查时间 {value} 晚于当前时间：请核对设备的日期和时钟（允许误差 "
            f"{CLOCK_SKEW_ALLOWANCE.total_seconds() / 60:.0f} 分钟）",
            details=field,
        )
    return result


def _require_member(conn, round_id: int, actor, side_code: str | None = None) -> str:
    """The side the actor inspects for; Forbidden unless listed in a team of the round."""
    query = sa.select(round_teams.c.side_code, round_teams.c.members).where(
        round_teams.c.round_id == round_id
    )
    for side, members in conn.execute(query):
        if actor.username in (members or []) and (side_code is None or side == side_code):
            return side
    where = f"{staff.side_name(conn, side_code)}一方" if side_code else "本轮任一方"
    raise Forbidden(
        f"{staff.display_name(conn, actor.username)} 不是{where}的联检队伍成员",
        details={"side_code": side_code},
    )


def _authorise_signer(conn, round_id: int, actor, side_code: str) -> None:
    """On the side's team of the round AND of that side today: the team was formed earlier,
    and an inspector who has since moved to the other side (or whose side was withdrawn)
    no longer signs for the side the team lists."""
    _require_member(conn, round_id, actor, side_code)
    staff.require_side(conn, actor, side_code, "代表该方签认检查记录")


def sign_inspection(store: Store, inspection_id: str, side_code: str, actor) -> dict:
    """One side's sign-off on a record; the record is final once both sides have signed."""
    require_role(actor, {"inspector"}, "签认检查记录")
    inspection_id = record_uuid(inspection_id, "inspection_id")
    with store.write(actor=actor) as conn:
        rec = first_or_not_found(
            conn,
            sa.select(inspections, boundary_lines.c.side_a_code, boundary_lines.c.side_b_code)
            .join(inspection_rounds, inspection_rounds.c.id == inspections.c.round_id)
            .join(boundary_lines, boundary_lines.c.id == inspection_rounds.c.line_id)
            .where(inspections.c.id == inspection_id),
            f"检查记录不存在：{inspection_id}",
            field="inspection_id",
        )
        column = staff.sign_off_side(
            conn,
            rec,
            side_code,
            actor,
            columns="signed",
            action_zh="签认",
            authorise=lambda: _authorise_signer(conn, rec.round_id, actor, side_code),
            once=True,
        )
        conn.execute(
            inspections.update()
            .where(inspections.c.id == inspection_id)
            .values(
                **{
                    f"signed_{column}_by": actor.username,
                    f"signed_{column}_at": _now(),
                    f"signed_{column}_label": staff.signer_label(conn, actor.username),
                }
            )
        )
        return (
            conn.execute(sa.select(inspections).where(inspections.c.id == inspection_id))
            .first()
            ._asdict()
        )


def list_inspections(
    store: Store, round_id: int | None = None, marker_id: int | None = None
) -> list[dict]:
    query = sa.select(
        inspections, markers.c.number.label("marker_number"), markers.c.lon, markers.c.lat
    ).join(markers, markers.c.id == inspections.c.marker_id)
    return read_all(
        store,
        query,
        markers.c.seq,
        markers.c.letter,
        where={inspections.c.round_id: round_id, inspections.c.marker_id: marker_id},
    )


def is_signed_by_both(record: dict) -> bool:
    return bool(record.get("signed_a_by") and record.get("signed_b_by"))


# ---- amendments and re-inspections ----------------------------------------------------------

_FINDING_FIELDS = (
    "found_state",
    "measured_lon",
    "measured_lat",
    "measurement_method",
    "measurement_accuracy_m",
    "displacement_m",
    "displacement_bearing_deg",
    "tolerance_m",
    "flagged_moved",
    "assessed_state",
    "moved_confirmed",
    "notes",
    "photos",
    "inspected_by",
    "inspected_at",
)
_SIGNATURE = ("by", "at", "label")  # a side's sign-off: who, when, as shown then
_SIGNATURE_FIELDS = tuple(f"signed_{side}_{part}" for side in "ab" for part in _SIGNATURE)


def amend_inspection(
    store: Store,
    inspection_id: str,
    data: dict,
    actor,
    *,
    limits: DistanceLimits = DEFAULT_LIMITS,
) -> tuple[dict, bool]:
    """Replace the finding of a record with a later one: a second visit (``kind``
    reinspection) or a correction (amendment). ``data`` is a finding as for
    ``record_inspection`` plus ``id`` (the amendment's client UUID: sent twice, stored
    once), ``kind`` and ``reason``. The earlier finding is kept in inspection_amendments;
    both sides sign the amended record again. Returns (record, created)."""
    require_role(actor, {"inspector"}, "更正检查记录")
    amendment_id = record_uuid(data.get("id"))
    inspection_id = record_uuid(inspection_id, "inspection_id")
    kind = data.get("kind") or "amendment"
    if kind not in AMENDMENT_KINDS:
        raise InvalidInput(
            f"更正类型应为 {'、'.join(AMENDMENT_KINDS)}（更正或再次检查）",
            details={"field": "kind"},
        )
    with store.write(actor=actor) as conn:
        done = conn.execute(
            sa.select(inspection_amendments.c.inspection_id).where(
                inspection_amendments.c.id == amendment_id
            )
        ).first()
        if done is not None:
            row = conn.execute(
                sa.select(inspections).where(inspections.c.id == done.inspection_id)
            ).first()
            return row._asdict(), False
        rec = row_by_id(
            conn,
            inspections,
            inspection_id,
            f"检查记录不存在：{inspection_id}",
            field="inspection_id",
        )
        rnd = conn.execute(
            sa.select(inspection_rounds).where(inspection_rounds.c.id == rec.round_id)
        ).first()
        if rnd.status != "in_progress":
            raise IllegalTransition("只有进行中的联检可以更正检查记录")
        _require_member(conn, round_id=rnd.id, actor=actor)
        marker = conn.execute(sa.select(markers).where(markers.c.id == rec.marker_id)).first()
        _refuse_if_changed_since(conn, rec, marker, data.get("amends_inspected_at"))
        values = _measurement(data, marker, limits)
        photos = _photos(data)
        # The earlier finding, and the sign-offs the amendment withdraws: kept, never lost.
        previous = {
            k: (utc_iso(v) if isinstance(v, dt.datetime) else v)
            for k, v in rec._asdict().items()
            if k in _FINDING_FIELDS or (k in _SIGNATURE_FIELDS and v is not None)
        }
        reason = _reason(data)
        if kind == "amendment" and reason is None:
            # A correction says the record was wrong: the record keeps why.
            raise InvalidInput("更正原记录须填写原因（再次检查不必）", details={"field": "reason"})
        conn.execute(
            inspection_amendments.insert().values(
                id=amendment_id,
                inspection_id=inspection_id,
                kind=kind,
                reason=reason,
                previous=previous,
                amended_by=actor.username,
                amended_at=_now(),
            )
        )
        conn.execute(
            inspections.update()
            .where(inspections.c.id == inspection_id)
            .values(
                **values,
                notes=_notes(data),
                photos=sorted(set(rec.photos or []) | set(photos)),
                inspected_by=actor.username,
                inspected_at=_datetime(data.get("inspected_at")),
                **dict.fromkeys(_SIGNATURE_FIELDS),
            )
        )
        set_marker_state(conn, marker.id, values["assessed_state"])
        if kind == "amendment":
            _cancel_tasks_corrected_away(conn, inspection_id, rec, values, actor)
        _open_tasks(
            conn, values, marker, rnd.id, inspection_id, _now(), rec.is_demonstration, amending=True
        )
        row = conn.execute(sa.select(inspections).where(inspections.c.id == inspection_id)).first()
    return row._asdict(), True


def _refuse_if_changed_since(conn, rec, marker, seen) -> None:
    """An amendment made on the record as its device last knew it (``amends_inspected_at``:
    the record's ``inspected_at`` then, ISO 8601) is refused when the record has changed
    since (the other side corrected it meanwhile): saved, it would replace a finding its
    maker never saw. Without the field (an older client) nothing is checked."""
    if seen in (None, ""):
        return
    try:
        seen_at = dt.datetime.fromisoformat(str(seen))
    except ValueError:
        raise InvalidInput(
            f"amends_inspected_at 应为 ISO 8601 时间：{str(seen)[:40]!r}",
            details={"field": "amends_inspected_at"},
        ) from None
    stored = aware_utc(rec.inspected_at)
    if aware_utc(seen_at) == stored:
        return
    by = staff.display_name(conn, rec.inspected_by)
    found = STATE_NAMES.get(rec.found_state, rec.found_state)
    raise Conflict(
        f"界桩 {marker.number} 的本轮记录已由 {by} 改为{found}（{format_local_time(stored)}）："
        "您的修改是在此前的记录上做的，请查看现在的记录后再决定",
        details={
            "inspection_id": rec.id,
            "marker": marker.number,
            "inspected_by": by,
            "found_state": rec.found_state,
            "inspected_at": utc_iso(stored),
            "changed_since": True,
        },
    )


def _reason(data: dict) -> str | None:
    """An amendment's reason: text of at most ``REASON_MAX_CHARS``, refused (not cut)
    beyond."""
    return form_text(
        data.get("reason"), "更正原因", REASON_MAX_CHARS, field="reason", required=False
    )


def _with_offsets(amendment: dict) -> dict:
    """An amendment whose ``previous`` values were stored before they carried an offset:
    their instants are UTC, so say so."""
    previous = amendment.get("previous")
    if isinstance(previous, dict):
        for key, value in previous.items():
            if key.endswith("_at") and isinstance(value, str):
                try:
                    previous[key] = utc_iso(dt.datetime.fromisoformat(value))
                except ValueError:
                    pass  # not an instant: left as stored
    return amendment


def list_amendments(store: Store, inspection_id: str) -> list[dict]:
    """The amendments of one inspection record, oldest first; ``NotFound`` naming
    ``inspection_id`` when there is no such record (an empty list would say it has none)."""
    record_id = record_uuid(inspection_id, "inspection_id")
    with store.read() as conn:
        row_by_id(
            conn, inspections, record_id, f"检查记录不存在：{inspection_id}", field="inspection_id"
        )
        return [
            _with_offsets(r._asdict())
            for r in conn.execute(
                sa.select(inspection_amendments)
                .where(inspection_amendments.c.inspection_id == record_id)
                .order_by(inspection_amendments.c.amended_at)
            )
        ]


def round_amendments(store: Store, round_id: int) -> dict[str, list[dict]]:
    """The amendments of a round's records by record id, oldest first: what the round page
    shows under each record (the earlier findings and the sign-offs they withdrew)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(inspection_amendments)
            .join(inspections, inspections.c.id == inspection_amendments.c.inspection_id)
            .where(inspections.c.round_id == round_id)
            .order_by(inspection_amendments.c.amended_at)
        ).all()
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r.inspection_id, []).append(_with_offsets(r._asdict()))
    return out


# ---- the round's markers for a device, the joint conclusion, lines due -----------------------


# What a device keeps of each record of the round (``round_markers``).
_DEVICE_RECORD_FIELDS = (
    "id",
    "found_state",
    # the rest of the finding: a correction on the device starts from it
    "measured_lon",
    "measured_lat",
    "measurement_method",
    "measurement_accuracy_m",
    "notes",
    "assessed_state",
    "inspected_by",
    "inspected_at",
    "signed_a_by",
    "signed_b_by",
    "signed_a_label",
    "signed_b_label",
)


def round_markers(store: Store, round_id: int) -> list[dict]:
    """The markers of a round's section with this round's record of each (or None; who
    made it as ``inspected_by_label``): what a device caches so that it knows, offline too,
    which markers already have a record and whose it is."""
    with store.read() as conn:
        rnd = row_by_id(conn, inspection_rounds, round_id, f"联检轮次不存在：{round_id}")
        records = {
            r.marker_id: r
            for r in conn.execute(
                sa.select(
                    inspections.c.marker_id, *(inspections.c[f] for f in _DEVICE_RECORD_FIELDS)
                ).where(inspections.c.round_id == round_id)
            )
        }
        rows = conn.execute(
            sa.select(markers.c.id, markers.c.number, markers.c.seq, markers.c.state)
            .where(*_section_filter(rnd))
            .order_by(markers.c.seq, markers.c.letter)
        ).all()
    people = staff.labels(store, [r.inspected_by for r in records.values()])
    out = []
    for m in rows:
        rec = records.get(m.id)
        out.append(
            {
                "marker_id": m.id,
                "number": m.number,
                "state": m.state,
                "inspection": None
                if rec is None
                else {f: getattr(rec, f) for f in _DEVICE_RECORD_FIELDS}
                | {
                    "inspected_at": utc_iso(rec.inspected_at),
                    "inspected_by_label": people.get(rec.inspected_by, "—"),
                    "signed_by_both": bool(rec.signed_a_by and rec.signed_b_by),
                },
            }
        )
    return out


def sign_conclusion(store: Store, round_id: int, data: dict, actor) -> dict:
    """One side's officer signs the round's joint conclusion (``conclusion`` text,
    ``side_code``). Changing the text withdraws the other side's signature: both sides
    sign the same words. Signing the same words again changes nothing."""
    require_role(actor, {"officer"}, "签署联检结论")
    text = data.get("conclusion")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("请填写联检结论", details={"field": "conclusion"})
    text = text.strip()
    if len(text) > CONCLUSION_MAX_CHARS:
        raise InvalidInput(
            f"联检结论过长：{len(text)} 字，最多 {CONCLUSION_MAX_CHARS} 字",
            details={"field": "conclusion", "max_chars": CONCLUSION_MAX_CHARS},
        )
    side_code = data.get("side_code")
    if isinstance(side_code, int) and not isinstance(side_code, bool):
        side_code = str(side_code)  # a division code sent as a JSON number: same code
    with store.write(actor=actor) as conn:
        rnd = first_or_not_found(
            conn,
            sa.select(inspection_rounds, boundary_lines.c.side_a_code, boundary_lines.c.side_b_code)
            .join(boundary_lines, boundary_lines.c.id == inspection_rounds.c.line_id)
            .where(inspection_rounds.c.id == round_id),
            f"联检轮次不存在：{round_id}",
        )
        # What is wrong with the request is said before what the round's state forbids:
        # the sender mends the one, and only then learns of the other.
        if side_code not in (rnd.side_a_code, rnd.side_b_code):
            raise InvalidInput(
                f"签署方应为界线两侧之一：{rnd.side_a_code} 或 {rnd.side_b_code}",
                details={"field": "side_code"},
            )
        if rnd.status != "in_progress":
            raise IllegalTransition("只有进行中的联检可以签署结论")
        staff.require_side(conn, actor, side_code, "代表该方签署联检结论")
        column = "a" if side_code == rnd.side_a_code else "b"
        if text == (rnd.conclusion or "") and getattr(rnd, f"concluded_{column}_by"):
            # Already signed by this side, these words: a retry (offline, double tap) keeps
            # the signature as it was, its time and the signer's label of then.
            values = {}
        else:
            values = _conclusion_signature(conn, rnd, text, column, actor)
        if values:
            conn.execute(
                inspection_rounds.update()
                .where(inspection_rounds.c.id == round_id)
                .values(**values)
            )
    return get_round(store, round_id)


def _conclusion_signature(conn, rnd, text: str, column: str, actor) -> dict:
    """The columns of ``column``'s side signing ``text`` (withdrawing the other side's
    signature when the words change)."""
    other = "b" if column == "a" else "a"
    values = {
        f"concluded_{column}_by": actor.username,
        f"concluded_{column}_at": _now(),
        f"concluded_{column}_label": staff.signer_label(conn, actor.username),
    }
    if text != (rnd.conclusion or ""):
        values.update(conclusion=text, **{f"concluded_{other}_{part}": None for part in _SIGNATURE})
    elif getattr(rnd, f"concluded_{other}_by") == actor.username:
        raise IllegalTransition("同一人不能代表双方签署结论")
    return values


def lines_due(store: Store, today: dt.date) -> list[dict]:
    """Every line with its last completed joint inspection and when the next is due under
    the five-year rule; overdue first, then by due date. A line with no completed round on
    record is due now. ``today`` is the local (Asia/Shanghai) date."""
    from boundaries.tables import boundary_lines as lines_table

    with store.read() as conn:
        line_columns = ("id", "name", "kind", "side_a_code", "side_b_code", "length_km")
        lines = conn.execute(sa.select(*lines_table.c[line_columns])).all()
        round_columns = ("id", "line_id", "round_no", "status", "completed_at", "title")
        rounds = conn.execute(
            sa.select(*inspection_rounds.c[round_columns]).order_by(inspection_rounds.c.round_no)
        ).all()
        counts = dict(
            conn.execute(
                sa.select(markers.c.line_id, sa.func.count())
                .where(markers.c.state != "retired")
                .group_by(markers.c.line_id)
            ).all()
        )
    out = []
    for line in lines:
        own = [r for r in rounds if r.line_id == line.id]
        done = [r for r in own if r.status == "completed" and r.completed_at]
        last = max(done, key=lambda r: r.completed_at) if done else None
        last_date = local_date(last.completed_at) if last else None
        due = _add_years(last_date, FIVE_YEAR_RULE_YEARS) if last_date else today
        active = next((r for r in own if r.status != "completed"), None)
        out.append(
            {
                "line_id": line.id,
                "line_name": line.name,
                "kind": line.kind,
                "side_a_code": line.side_a_code,
                "side_b_code": line.side_b_code,
                "length_km": line.length_km,
                "markers": counts.get(line.id, 0),
                "last_round_id": last.id if last else None,
                "last_round_title": last.title if last else None,
                "last_inspected_on": last_date,
                "next_due_on": due,
                "overdue": due <= today,
                "days_left": (due - today).days,
                "next_round_no": max((r.round_no for r in own), default=0) + 1,
                "active_round_id": active.id if active else None,
                "active_round_status": active.status if active else None,
            }
        )
    return sorted(out, key=lambda r: (not r["overdue"], r["next_due_on"], r["line_name"]))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
