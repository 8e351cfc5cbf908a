"""Maintenance tasks opened by inspection findings (or by an officer), tracked to done.

open -> in_progress -> done, or -> cancelled. Repairs happen with the adjacent side
present (《行政区域界线管理条例》), so closing physical work names the other side's
witness; relocating or retiring a marker needs both sides' approval first. When a marker's
last open task is done its state returns to intact (retired after a retire task).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from shapely.geometry import Point

from boundaries import staff
from boundaries.markers import set_marker_state
from boundaries.tables import boundary_lines, maintenance_tasks, markers
from boundaries.vocabulary import TASK_KIND_TERMS, TASK_STATUS_TERMS, labels, require_code
from gazetteer.core import idempotency
from gazetteer.core.actors import require_role
from gazetteer.core.errors import IllegalTransition, InvalidInput
from gazetteer.core.geojson_input import optional_point
from gazetteer.core.store import Store, first_or_not_found, read_all, read_by_id

TASK_NAMES = labels(TASK_KIND_TERMS)
STATUS_NAMES = labels(TASK_STATUS_TERMS)
NEEDS_BOTH_APPROVALS = ("relocate", "retire")
_NEXT = {"open": {"in_progress", "done", "cancelled"}, "in_progress": {"done", "cancelled"}}
# Closing a task says how it ended: done with its result, cancelled with the reason.
CLOSING_STATUSES = ("done", "cancelled")
_TASK_ROLES = {"officer", "inspector"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_task(store: Store, data: dict, actor, *, idempotency_key: str | None = None) -> dict:
    """An officer opens a task by hand (e.g. replace, relocate, retire): ``data`` is
    {marker_id, kind, note?}, as for the other records made by hand (``create_round``,
    ``create_dispute``). ``idempotency_key``: a retry of the same request answers the task
    opened the first time; the same key with other content is a ``Conflict`` carrying it
    (``gazetteer.core.idempotency``)."""
    require_role(actor, {"officer"}, "新建维护任务")
    marker_id, note = data.get("marker_id"), data.get("note")
    kind = require_code(data.get("kind"), TASK_KIND_TERMS, field="kind", what_zh="任务类型")

    def insert(conn) -> int:
        marker = first_or_not_found(
            conn,
            sa.select(markers.c.id, markers.c.responsible_side, markers.c.is_demonstration).where(
                markers.c.id == marker_id
            ),
            f"界桩不存在：{marker_id}",
            field="marker_id",
        )
        return conn.execute(
            maintenance_tasks.insert().values(
                marker_id=marker_id,
                kind=kind,
                status="open",
                responsible_side=marker.responsible_side,
                note=note,
                opened_at=_now(),
                is_demonstration=marker.is_demonstration,
            )
        ).inserted_primary_key[0]

    request = {"marker_id": marker_id, "kind": kind, "note": note}
    return idempotency.create_once(
        store, actor, "task", idempotency_key, request, insert, lambda i: get_task(store, i)
    )


def _with_marker_number():
    return sa.select(
        maintenance_tasks, markers.c.number.label("marker_number"), markers.c.line_id
    ).join(markers, markers.c.id == maintenance_tasks.c.marker_id)


def get_task(store: Store, task_id: int) -> dict:
    missing = f"维护任务不存在：{task_id}"
    return read_by_id(
        store, maintenance_tasks, task_id, missing, field="task_id", query=_with_marker_number()
    )


def list_tasks(
    store: Store,
    *,
    status: str | None = None,
    round_id: int | None = None,
    line_id: int | None = None,
) -> list[dict]:
    return read_all(
        store,
        _with_marker_number(),
        maintenance_tasks.c.id,
        where={
            maintenance_tasks.c.status: status,
            maintenance_tasks.c.round_id: round_id,
            markers.c.line_id: line_id,
        },
    )


def approve_task(store: Store, task_id: int, side_code: str, actor) -> dict:
    """One side's approval of a relocation or retirement, by an officer of that side."""
    require_role(actor, {"officer"}, "批准迁移或撤销界桩")
    with store.write(actor=actor) as conn:
        task = _task_with_sides(conn, task_id)
        if task.kind not in NEEDS_BOTH_APPROVALS:
            raise InvalidInput("只有迁移、撤销界桩需要双方批准")
        side = staff.sign_off_side(
            conn,
            task,
            side_code,
            actor,
            columns="approved",
            action_zh="批准",
            authorise=lambda: staff.require_side(conn, actor, side_code, "代表该方批准"),
            once=False,  # a side's officer may approve again (the later one is recorded)
        )
        conn.execute(
            maintenance_tasks.update()
            .where(maintenance_tasks.c.id == task_id)
            .values(**{f"approved_{side}_by": actor.username})
        )
    return get_task(store, task_id)


def _task_with_sides(conn, task_id: int):
    return first_or_not_found(
        conn,
        sa.select(
            maintenance_tasks,
            boundary_lines.c.side_a_code,
            boundary_lines.c.side_b_code,
            markers.c.version.label("marker_version"),
        )
        .join(markers, markers.c.id == maintenance_tasks.c.marker_id)
        .join(boundary_lines, boundary_lines.c.id == markers.c.line_id)
        .where(maintenance_tasks.c.id == task_id),
        f"维护任务不存在：{task_id}",
        field="task_id",
    )


def update_task(
    store: Store,
    task_id: int,
    status: str,
    actor,
    *,
    result: str | None = None,
    witness_other_side: str | None = None,
    witness: dict | None = None,
    new_lon: float | None = None,
    new_lat: float | None = None,
) -> dict:
    """Move a task on. Done needs a result and the adjacent side's witness: an account of
    that side (``witness_other_side``: username) or a recorded external person
    (``witness``: {name, organisation, role}); relocate also the new position (CGCS2000
    lon/lat degrees); relocate/retire need both sides' approvals."""
    require_role(actor, _TASK_ROLES, "处理维护任务")
    require_code(status, TASK_STATUS_TERMS, field="status", what_zh="任务状态")
    with store.write(actor=actor) as conn:
        task = _task_with_sides(conn, task_id)
        if status not in _NEXT.get(task.status, set()):
            raise IllegalTransition(
                f"任务状态为{STATUS_NAMES[task.status]}，不能改为{STATUS_NAMES.get(status, status)}"
            )
        values: dict = {"status": status}
        if result:
            values["result"] = str(result)[:2000]
        if status in CLOSING_STATUSES:
            if not (result or "").strip():
                raise InvalidInput(
                    "完成或取消任务须填写处理结果或原因", details={"field": "result"}
                )
            values.update(closed_at=_now(), closed_by=actor.username)
        if status == "done":
            _check_done(task, new_lon, new_lat)
            values.update(_witness(conn, task, actor, witness_other_side, witness))
        conn.execute(
            maintenance_tasks.update().where(maintenance_tasks.c.id == task_id).values(**values)
        )
        if status == "done":
            _after_done(conn, task, new_lon, new_lat)
    return get_task(store, task_id)


def _witness(conn, task, actor, username: str | None, external: dict | None) -> dict:
    """The adjacent side's witness as task columns. The side doing the work is the actor's
    (their profile) or else the marker's responsible side; the witness is an account of
    the other side of the line, or an external person recorded with organisation and role."""
    sides = (task.side_a_code, task.side_b_code)
    doer = staff.side_of(conn, actor.username) or task.responsible_side
    if username not in (None, "") and external:
        # One witness is recorded; silently keeping one of two would lose the other.
        raise InvalidInput(
            "见证人只能填一种：相邻方人员（witness_other_side）或外部见证人（witness），不能同时填写",
            details={"field": "witness"},
        )
    if username not in (None, ""):
        if not isinstance(username, str):
            raise InvalidInput(
                "相邻方见证人应为该方人员的用户名", details={"field": "witness_other_side"}
            )
        side = staff.side_of(conn, username.strip())
        if side is None or side not in sides:
            raise InvalidInput(
                f"见证人 {username} 不是界线任一方登记的人员：请选择相邻方人员，"
                "或登记外部见证人的姓名、单位和身份",
                details={"field": "witness_other_side"},
            )
        if side == doer or username.strip() == actor.username:
            raise InvalidInput(
                "见证人须为相邻方（另一方）人员", details={"field": "witness_other_side"}
            )
        return {"witness_other_side": username.strip()}
    if external:
        if not isinstance(external, dict):
            raise InvalidInput(
                "外部见证人应为 {name, organisation, role}", details={"field": "witness"}
            )
        fields = {}
        for key, label, limit in (
            ("name", "姓名", 100),
            ("organisation", "单位", 200),
            ("role", "身份或职务", 100),
        ):
            value = external.get(key)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"外部见证人须登记{label}", details={"field": f"witness.{key}"})
            fields[f"witness_{key}"] = value.strip()[:limit]
        return fields
    raise InvalidInput(
        "界桩维护须有相邻方人员在场：请选择相邻方见证人或登记外部见证人",
        details={"field": "witness"},
    )


def _check_done(task, new_lon, new_lat) -> None:
    if task.kind in NEEDS_BOTH_APPROVALS and not (task.approved_a_by and task.approved_b_by):
        raise IllegalTransition("迁移或撤销界桩须经界线双方批准")
    if task.kind != "relocate":
        return
    if new_lon is None and new_lat is None:
        raise InvalidInput("迁移界桩须填写新位置（CGCS2000 经纬度）", details={"field": "new_lon"})
    # Both, numbers, in (lon, lat) order and in China: the same check as every position.
    optional_point({"new_lon": new_lon, "new_lat": new_lat}, "界桩新位置", "new_lon", "new_lat")


def _after_done(conn, task, new_lon, new_lat) -> None:
    still_open = conn.execute(
        sa.select(sa.func.count())
        .select_from(maintenance_tasks)
        .where(
            maintenance_tasks.c.marker_id == task.marker_id,
            maintenance_tasks.c.id != task.id,
            maintenance_tasks.c.status.in_(("open", "in_progress")),
        )
    ).scalar()
    if task.kind == "retire":
        set_marker_state(conn, task.marker_id, "retired", task.marker_version)
        return
    if task.kind == "relocate":
        lon, lat = float(new_lon), float(new_lat)
        conn.execute(
            markers.update()
            .where(markers.c.id == task.marker_id)
            .values(lon=lon, lat=lat, geom=Point(lon, lat))
        )
    if not still_open:
        set_marker_state(conn, task.marker_id, "intact", task.marker_version)
