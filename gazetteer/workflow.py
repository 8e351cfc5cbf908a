"""Naming, renaming and retirement (命名、更名、销名) as one explicit state machine.

The machine is the data table ``STEPS``: each step names its action, the states it may
start from, the state it leads to (None = stays: edits, opinions, overrides, romanization
confirmation) and the roles allowed to take it. ``perform`` is the only way a proposal
changes; inside one ``store.write()`` transaction it checks role, expected version, state
and the step's preconditions, applies the step, moves the state with an optimistic guard
(``UPDATE ... WHERE id=? AND version=? AND state=?``; 0 rows -> ``Conflict``) and appends
one ``proposal_events`` row with who, when and why. Any failure rolls all of it back.

The path: draft -> submitted -> checked (naming rules) -> in_review (专家论证、征求意见)
-> on_notice (公示) -> approved | rejected -> announced (公告) -> in_force (the registry
changes). ``return`` sends a proposal back to draft; ``withdraw`` ends it.

``clock`` returns the current UTC instant; tests inject one to walk through dates.
Dates (notice period, decision, effective date) are civil dates in China.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from shapely.geometry import mapping

from gazetteer import approval, placement, protection, reservations
from gazetteer.core import idempotency
from gazetteer.core.actors import Actor, require_role
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import (
    Conflict,
    DamagedRecord,
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    RuleViolation,
)
from gazetteer.core.paging import Page
from gazetteer.core.settings import SETTING_DEFAULTS
from gazetteer.core.store import Store, first_or_not_found, row_by_id
from gazetteer.core.text import clean_text, form_text, optional_choice
from gazetteer.division_changes import REFUSAL as DIVISION_REFUSAL
from gazetteer.division_changes import is_division
from gazetteer.divisions import division_exists
from gazetteer.pinyin import (
    has_tone_marks,
    is_reading_of,
    spells_alike,
    syllables,
    unconfirmed,
    without_tones,
)
from gazetteer.registry import (
    Clock,
    as_utc,
    check_page,
    civil_date,
    create_place,
    division_info,
    jsonable,
    rename_place,
    retire_place,
    utcnow,
)
from gazetteer.registry_tables import (
    OPINION_KINDS,
    PROPOSAL_KINDS,
    PROPOSAL_STATES,
    proposal_events,
    proposal_opinions,
    proposals,
)
from gazetteer.registry_tables import PROPOSAL_KIND_NAMES_ZH as KIND_NAMES_ZH
from gazetteer.registry_tables import PROPOSAL_STATE_NAMES_ZH as STATE_NAMES_ZH
from gazetteer.romanize import romanize
from gazetteer.tables import FEATURE_CLASSES, PLACE_DESCRIPTION_COLUMNS, divisions, places


@dataclass(frozen=True)
class Step:
    action: str
    sources: tuple[str, ...]
    target: str | None  # None: the proposal stays in its state
    roles: frozenset[str]
    label_zh: str
    reason_required: bool = False


STEPS: tuple[Step, ...] = (
    Step("edit", ("draft",), None, frozenset({"clerk"}), "修改申请"),
    Step("submit", ("draft",), "submitted", frozenset({"clerk"}), "提交申请"),
    Step("check", ("submitted",), "checked", frozenset({"officer"}), "合规审查"),
    Step(
        "return",
        ("submitted", "checked", "in_review"),
        "draft",
        frozenset({"officer"}),
        "退回修改",
        True,
    ),
    Step(
        "override", ("checked", "in_review"), None, frozenset({"officer"}), "记录审查意见豁免", True
    ),
    Step(
        "start_review", ("checked",), "in_review", frozenset({"officer"}), "开始专家论证和征求意见"
    ),
    Step("add_opinion", ("in_review",), None, frozenset({"officer"}), "记录论证或征求意见"),
    Step(
        "confirm_romanization",
        ("checked", "in_review", "on_notice"),
        None,
        frozenset({"officer"}),
        "确认罗马字母拼写",
    ),
    Step("publish_notice", ("in_review",), "on_notice", frozenset({"officer"}), "发布公示"),
    Step("approve", ("on_notice",), "approved", frozenset({"approver"}), "批准"),
    Step("reject", ("on_notice",), "rejected", frozenset({"approver"}), "不予批准", True),
    Step("announce", ("approved",), "announced", frozenset({"officer"}), "发布公告"),
    Step("file", ("approved", "announced", "in_force"), None, frozenset({"officer"}), "报送备案"),
    Step("bring_into_force", ("announced",), "in_force", frozenset({"officer"}), "登记生效"),
    # The way out for a decided proposal that can no longer come into force because its
    # record was renamed or retired (or its name taken) since: ended with a recorded reason.
    Step(
        "lapse",
        ("approved", "announced"),
        "withdrawn",
        frozenset({"officer"}),
        "因记录已变更终止",
        True,
    ),
    Step(
        "withdraw",
        ("draft", "submitted", "checked", "in_review", "on_notice"),
        "withdrawn",
        frozenset({"clerk", "officer"}),
        "撤回申请",
        True,
    ),
)
STEPS_BY_ACTION = {s.action: s for s in STEPS}
# Who drafts a proposal (pages show the drafting links to these roles only).
DRAFTING_ROLES = frozenset({"clerk"})
# The record values an application proposes (its name spellings are derived, not typed).
EDITABLE_FIELDS = ("name", *PLACE_DESCRIPTION_COLUMNS)
# The extra values each action accepts (anything else is refused).
STEP_PARAMS = {
    "edit": ("applicant", "reasons", "location", *EDITABLE_FIELDS),
    "add_opinion": ("kind", "author", "body"),
    "confirm_romanization": ("romanized", "romanized_toned"),
    "publish_notice": ("notice_start", "notice_end"),
    "approve": (
        "approving_body",
        "decision_ref",
        "authority_override_reason",
        "protection_measures",
    ),
    "file": ("filed_with", "filing_ref", "filed_on"),
    "reject": ("approving_body", "decision_ref"),
    "bring_into_force": ("effective_date",),
}
TERMINAL_STATES = ("rejected", "in_force", "withdrawn")
PUBLIC_STATES = ("on_notice", "announced", "in_force")  # what the public may read
ANNOUNCEMENT_DEADLINE_DAYS = approval.ANNOUNCEMENT_DEADLINE_DAYS  # 《地名管理条例》 Art. 14
DEFAULT_MIN_NOTICE_DAYS = SETTING_DEFAULTS["MIN_NOTICE_DAYS"]


# Proposed values that are one line (names, romanizations); the others (a meaning, a
# history) may span lines.
SINGLE_LINE_FIELDS = frozenset({"name", "romanized", "romanized_toned", "short_name", "map_name"})
# Loose plausibility box for CGCS2000 lon/lat input (China), degrees.


def _location(value):
    """A shapely geometry (or GeoJSON mapping) in CGCS2000 lon/lat; None allowed. The
    shared input check (``gazetteer.core.geojson_input``) says what is wrong."""
    if value is None:
        return None
    from gazetteer.core.errors import naming_field
    from gazetteer.core.geojson_input import parse_geometry

    with naming_field("location"):
        return parse_geometry(value, field="位置")


@dataclass(frozen=True)
class ProposalDraft:
    """What a clerk drafts: the ``kind`` (naming, renaming or retirement), who applies and
    why; ``proposed``, the record values asked for (``name``, ``feature_class``,
    ``division_code``, ``aliases``, ``meaning``, ``history`` ...); ``place_id``, the record
    to rename or retire; ``location``, a geometry (GeoJSON or shapely) in CGCS2000 lon/lat."""

    kind: str
    applicant: str
    reasons: str
    proposed: dict | None = None
    place_id: int | None = None
    location: object = None


def validate_new_proposal(conn, draft: ProposalDraft) -> dict:
    """Check a draft's values and derive the rest (division, romanization); returns the
    ``proposals`` column values. Raises ``InvalidInput`` or ``NotFound``."""
    kind, place_id, proposed = draft.kind, draft.place_id, draft.proposed or {}
    if kind not in PROPOSAL_KINDS:
        raise InvalidInput(f"申请类型应为 {', '.join(PROPOSAL_KINDS)} 之一")
    values = {
        "kind": kind,
        "applicant": form_text(draft.applicant, "申请人", 200, field="applicant", single_line=True),
        "reasons": form_text(draft.reasons, "申请理由", 5000, field="reasons"),
        "location": _location(draft.location),
    }
    if kind != "retirement" and not isinstance(draft.proposed, dict):
        raise InvalidInput(
            f"{KIND_NAMES_ZH[kind]}申请须填写申请内容 proposed（拟用名称等）",
            details={"field": "proposed"},
        )
    # The record values sit inside ``proposed``: a refusal names them by that path.
    clean = {k: proposed[k] for k in EDITABLE_FIELDS if proposed.get(k) not in (None, "", [])}
    aliases = clean.get("aliases")
    if aliases is not None and not (
        isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)
    ):
        raise InvalidInput("别名应为文字列表", details={"field": "proposed.aliases"})
    if aliases is not None:
        clean["aliases"] = [
            clean_text(a, "proposed.aliases", label="别名", single_line=True).strip()
            for a in aliases
        ]
    for key in set(clean) - {"aliases"}:
        clean[key] = form_text(
            clean[key],
            key,
            2000,
            field=f"proposed.{key}",
            required=False,
            single_line=key in SINGLE_LINE_FIELDS,
        )
    target = None
    if kind == "naming":
        if place_id is not None:
            raise InvalidInput("命名申请不针对已有地名记录", details={"field": "place_id"})
    else:
        if place_id is None:
            raise InvalidInput(
                f"{KIND_NAMES_ZH[kind]}申请须指明地名记录编号（place_id）",
                details={"field": "place_id"},
            )
        target = row_by_id(
            conn, places, place_id, f"没有编号为 {place_id} 的地名记录", field="place_id"
        )
        if target.status != "in_force":
            raise InvalidInput(
                f"地名“{target.name}”不是现行地名，不能{KIND_NAMES_ZH[kind]}",
                details={"field": "place_id"},
            )
        if is_division(
            conn, feature_class=target.feature_class, own_division_code=target.own_division_code
        ):
            raise InvalidInput(
                DIVISION_REFUSAL,
                details={"field": "place_id", "division_code": target.own_division_code},
            )
        clean.setdefault("feature_class", target.feature_class)
        clean["division_code"] = target.division_code
    if kind == "retirement":
        clean = {
            "name": target.name,
            "feature_class": target.feature_class,
            "romanized": target.romanized,
            "division_code": target.division_code,
        }
        return {
            **values,
            "place_id": place_id,
            "division_code": target.division_code,
            "proposed": clean,
            "heteronyms_confirmed": True,
        }
    name = form_text(clean.get("name"), "拟用名称", 100, field="proposed.name", single_line=True)
    if target is not None and name == target.name:
        raise InvalidInput("新名称与现名称相同", details={"field": "proposed.name"})
    if clean.get("feature_class") not in FEATURE_CLASSES:
        raise InvalidInput(
            f"地名类别应为 {'、'.join(FEATURE_CLASSES)} 之一",
            details={"field": "proposed.feature_class"},
        )
    if target is None and is_division(
        conn, feature_class=clean["feature_class"], own_division_code=None
    ):
        raise InvalidInput(DIVISION_REFUSAL, details={"field": "proposed.feature_class"})
    if not clean.get("division_code"):
        raise InvalidInput(
            "请填写所在行政区划（proposed.division_code）",
            details={"field": "proposed.division_code"},
        )
    if not division_exists(conn, clean["division_code"]):
        raise NotFound(
            f"没有代码为 {clean['division_code']} 的行政区划",
            details={"field": "proposed.division_code"},
        )
    rom = romanize(name, clean["feature_class"])
    clean.update(
        name=name,
        romanized=rom.text,
        romanized_toned=rom.toned,
        specific_term=rom.specific,
        generic_term=rom.generic,
        pinyin_key=" ".join(syllables(name)),
        heteronyms=rom.heteronyms or None,
    )
    return {
        **values,
        "place_id": place_id,
        "division_code": clean["division_code"],
        "proposed": clean,
        # Heteronyms the reviewed reading table settles need no confirmation.
        "heteronyms_confirmed": not unconfirmed(rom.heteronyms),
        **reservations.reservation_keys(name),
    }


def _date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def announcement_text(conn, row, today: dt.date) -> str:
    """The public announcement (公告) of an approved proposal: name, romanization, division,
    location, approving body and date, as 《地名管理条例》 Art. 14 requires."""
    proposed = row.proposed or {}
    division = division_info(conn, row.division_code) or {}
    where = division.get("full_name") or division.get("name") or row.division_code or "（区划未详）"
    geom = row.location
    old = None
    if row.place_id is not None:
        old = conn.execute(
            sa.select(places.c.name, places.c.geom).where(places.c.id == row.place_id)
        ).first()
        geom = geom if geom is not None else old.geom
    if geom is not None:
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        position = f"东经 {point.x:.5f}°、北纬 {point.y:.5f}°（CGCS2000）"
    else:
        position = "无图形"
    kind_zh = KIND_NAMES_ZH[row.kind]
    ref = f"（{row.decision_ref}）" if row.decision_ref else ""
    if row.kind == "naming":
        kind_of = proposed.get("feature_class") + (
            f"（{proposed['feature_type']}）" if proposed.get("feature_type") else ""
        )
        body = (
            f"将位于{where}的一处{kind_of}命名为“{proposed['name']}”，罗马字母拼写为"
            f"“{proposed.get('romanized')}”。"
        )
    elif row.kind == "renaming":
        body = (
            f"将位于{where}的“{old.name}”更名为“{proposed['name']}”，罗马字母拼写为"
            f"“{proposed.get('romanized')}”；“{old.name}”作为历史地名保留。"
        )
    else:
        body = (
            f"对位于{where}的“{old.name}”予以销名，该名称作为历史地名保留。销名理由：{row.reasons}"
        )
    return "\n".join(
        [
            f"{row.approving_body}关于{kind_zh}“{proposed.get('name')}”的公告",
            "",
            f"根据《地名管理条例》，经{row.approving_body}于{_date_zh(row.decision_date)}批准{ref}，{body}",
            f"所在行政区划：{where}",
            f"位置：{position}",
            "特此公告。",
            "",
            f"{row.approving_body}",
            _date_zh(today),
        ]
    )


def workflow_table() -> list[dict]:
    return [
        {
            "action": s.action,
            "label_zh": s.label_zh,
            "from": list(s.sources),
            "to": s.target,
            "roles": sorted(s.roles),
            "reason_required": s.reason_required,
        }
        for s in STEPS
    ]


# ---------------------------------------------------------------- reading


# JSON columns of a proposal and their names in messages. A hand edit can leave one that
# does not parse; the store reads it as null (``gazetteer.core.store``), which here would
# look like "nothing proposed" or "not checked", so ``_load`` also reads the stored text.
_JSON_FIELDS_ZH = {"proposed": "申请内容", "findings": "合规审查结果"}


# The name of the division a proposal lies in, read with it: pages show 天河区, not 440106.
_DIVISION_NAME = (
    sa.select(divisions.c.name)
    .where(divisions.c.code == proposals.c.division_code)
    .scalar_subquery()
    .label("division_name")
)
# A draft that an officer sent back (it was submitted once): the list says so, since its
# drafter has changes to make, where a fresh draft only waits to be submitted.
_RETURNED = (
    sa.exists()
    .where(proposal_events.c.proposal_id == proposals.c.id, proposal_events.c.action == "return")
    .label("returned")
)


def _load(conn, proposal_id: int):
    stored = (sa.cast(proposals.c[f], sa.Text).label(f"{f}_stored") for f in _JSON_FIELDS_ZH)
    return first_or_not_found(
        conn,
        sa.select(proposals, _DIVISION_NAME, _RETURNED, *stored).where(
            proposals.c.id == proposal_id
        ),
        f"没有编号为 {proposal_id} 的申请",
        field="proposal_id",
    )


def damaged_fields(row) -> list[str]:
    """The JSON fields of a proposal ``row`` (as ``_load`` reads it) whose stored text
    does not parse: read as null, though something other than null was stored."""
    return [
        f
        for f in _JSON_FIELDS_ZH
        if getattr(row, f) is None and (getattr(row, f"{f}_stored", None) or "null") != "null"
    ]


def _refuse_damaged(row, label_zh: str) -> None:
    damaged = damaged_fields(row)
    if damaged:
        shown = "、".join(_JSON_FIELDS_ZH[f] for f in damaged)
        raise DamagedRecord(
            f"申请 {row.id} 的记录已损坏（{shown}无法读取），不能{label_zh}；"
            "请管理员运行 gdgis admin repair-text 查看并修复",
            details={"proposal_id": row.id, "damaged_fields": damaged},
        )


OWN_DECISION_ZH = "审批人不能审批自己提交的申请"


def _may_decide(actor: Actor, created_by: str | None) -> bool:
    """Whether ``actor`` may approve or reject a proposal drafted by ``created_by``: never
    their own (the one who asks is not the one who decides)."""
    return created_by != actor.username


def due_items(store: Store, actor: Actor, today: dt.date, *, include_open=False) -> list[dict]:
    """The office's due list (``approval.due_items``) as ``actor`` reads it, with the
    drafts sent back to ``actor`` for changes (kind ``returned``, due the day they came
    back). A decision ``actor`` may not take carries ``held_zh``: that it waits for an
    approver, or for another one (``actor``'s own proposal: the refusal ``approve`` gives)."""
    items = approval.due_items(store, today, include_open=include_open)
    for item in items:
        if item["kind"] != "decision":
            continue
        if "approver" not in actor.roles:
            item["held_zh"] = "待审批人决定"
        elif not _may_decide(actor, item["created_by"]):
            item["held_zh"] = OWN_DECISION_ZH + "，待其他审批人决定"
    if "clerk" in actor.roles:
        items = _returned_to(store, actor, today) + items
    return items


def _returned_to(store: Store, actor: Actor, today: dt.date) -> list[dict]:
    """``actor``'s drafts (as an owner) that an officer sent back, longest waiting first."""
    returned_at = (
        sa.select(sa.func.max(proposal_events.c.at))
        .where(
            proposal_events.c.proposal_id == proposals.c.id, proposal_events.c.action == "return"
        )
        .scalar_subquery()
    )
    query = (
        sa.select(proposals, returned_at.label("returned_at"))
        .where(proposals.c.state == "draft", _RETURNED)
        .order_by(sa.literal_column("returned_at"), proposals.c.id)
    )
    with store.read() as conn:
        rows = [r for r in conn.execute(query) if owns(actor, r)]
    items = []
    for row in rows:
        since = civil_date(row.returned_at)
        items.append(
            {
                "kind": "returned",
                "kind_zh": approval.KIND_ZH["returned"],
                "proposal_id": row.id,
                "name": (row.proposed or {}).get("name"),
                "division_code": row.division_code,
                "created_by": row.created_by,
                "due": since.isoformat(),
                "status": "waiting",
                "status_zh": approval.STATUS_ZH["waiting"],
                "days_left": (since - today).days,
            }
        )
    return items


# Steps on a proposal's own content are its owners': the drafter, and the clerks of the
# office it was drafted in (so the work goes on when the drafter is away). A clerk of
# another office, or one with no office, acts only on what they drafted. Officers
# withdraw any proposal in their review.
DRAFTER_STEPS = frozenset({"edit", "submit", "withdraw"})


def owns(actor: Actor, row) -> bool:
    """Whether ``actor`` is an owner of the proposal ``row``: its drafter, or a clerk of
    the office it was drafted in."""
    return is_owner(actor, row.created_by, row.office)


def is_owner(actor: Actor, created_by: str | None, office: str | None) -> bool:
    """``owns`` of a proposal drafted by ``created_by`` in ``office`` (a proposal's dict
    carries both for staff)."""
    if created_by == actor.username:
        return True
    return office is not None and office == actor.office and actor.has_any({"clerk"})


def _may_act_as_owner(actor: Actor, action: str, row) -> bool:
    if action not in DRAFTER_STEPS or owns(actor, row):
        return True
    # A draft is its owners' until submitted: an officer's review starts at submission.
    return action == "withdraw" and actor.has_any({"officer"}) and row.state != "draft"


# The opinions Art. 11 asks for before a name goes on notice: an expert's, or the views of
# those concerned. An assessment or a public opinion recorded early does not stand for them.
NOTICE_OPINION_KINDS = ("expert", "consultation")
# Steps for a particular situation (a blocking finding to override, a decided proposal
# whose record changed, a spelling to correct): when it is absent they are not offered,
# and not listed as waiting either.
SITUATIONAL_STEPS = frozenset({"override", "lapse", "confirm_romanization"})


def _held(conn, actor: Actor, action: str, row, today: dt.date) -> Exception | None:
    """Why ``actor``'s ``action`` would be refused on the proposal ``row`` on ``today``
    (Beijing's civil date), read on ``conn``: their own proposal to decide, a notice still
    running, a filing already made, no opinion recorded yet, nothing to override. None if
    nothing holds it. ``perform`` raises it; ``allowed_actions`` leaves the step out and
    the proposal's ``held_actions`` say why."""
    if action in ("approve", "reject") and not _may_decide(actor, row.created_by):
        return Forbidden(OWN_DECISION_ZH)
    if action in ("approve", "reject") and row.notice_end and today <= row.notice_end:
        return IllegalTransition(
            f"公示期至 {row.notice_end.isoformat()} 结束，公示期满后才能作出决定"
        )
    if action == "approve" and row.kind != "retirement" and not row.heteronyms_confirmed:
        return IllegalTransition("罗马字母拼写中的多音字尚未经审核人员确认")
    if action == "file" and row.decision != "approved":
        return IllegalTransition("只有已批准的申请需要备案")
    if action == "file" and row.filed_on is not None:
        return IllegalTransition(f"已于 {row.filed_on.isoformat()} 备案")
    if action == "override" and not _blocking(row):
        return InvalidInput("合规审查没有阻断性问题，无需豁免")
    if action == "publish_notice" and _blocking(row) and not row.override_reasons:
        return RuleViolation(
            "合规审查有阻断性问题，须由审核人员记录豁免理由后才能公示",
            details={"findings": _blocking(row)},
        )
    if action == "publish_notice" and row.kind != "retirement" and not _notice_opinions(conn, row):
        return IllegalTransition(
            "尚未记录专家论证或征求意见（综合评估、公众意见不能代替），不能公示"
            "（《地名管理条例》第十一条）"
        )
    if action in ("lapse", "announce", "bring_into_force"):
        cause = _lapse_cause(conn, row) if row.decision == "approved" else None
        if action == "lapse" and cause is None:
            return IllegalTransition(
                "该申请针对的记录未变更、名称也未被占用，仍可登记生效，不能终止",
                details={"state": row.state},
            )
        if action == "bring_into_force" and cause is not None:
            return _cannot_come_into_force(cause)
        if action == "announce" and cause is not None:
            # Not announced to the public as a name it can no longer become.
            return IllegalTransition(
                f"该申请已不能生效（{_cause_zh(cause)}），不能公告；"
                "请说明理由后“因记录已变更终止”本申请",
                details=cause,
            )
    if action == "confirm_romanization" and row.kind == "retirement":
        return InvalidInput("销名申请没有需要确认的拼写")
    if action == "confirm_romanization" and row.state == "on_notice" and row.heteronyms_confirmed:
        return IllegalTransition(
            "拼写已确认；公示期间不能更改公示的内容（如需更正拼写，请撤回申请后重新提交）"
        )
    return None


def _open_steps(actor: Actor, row) -> list[Step]:
    """The steps this actor's roles and ownership allow from the proposal's state, held or
    not; none on a damaged record (``damaged_fields``)."""
    if damaged_fields(row):
        return []
    return [
        s
        for s in STEPS
        if row.state in s.sources
        and actor.has_any(s.roles)
        and _may_act_as_owner(actor, s.action, row)
    ]


def _step_refusals(conn, actor: Actor, row, today: dt.date | None) -> list[tuple]:
    """(step, ``_held``'s refusal or None) for each step open to ``actor`` (``_open_steps``)
    on ``today`` (Beijing's civil date; None is today): what is offered and what waits,
    found once for both."""
    today = today or civil_date(utcnow())
    return [(s, _held(conn, actor, s.action, row, today)) for s in _open_steps(actor, row)]


def record_of(conn, place_id: int | None):
    """(name, geom) of the record a renaming or retirement is about, or None."""
    if place_id is None:
        return None
    return conn.execute(
        sa.select(places.c.name, places.c.geom).where(places.c.id == place_id)
    ).first()


def _offered(steps: list[tuple]) -> list[str]:
    return [s.action for s, refusal in steps if refusal is None]


def _waiting(steps: list[tuple]) -> list[dict]:
    """The held steps with why, for pages to show as waiting (``SITUATIONAL_STEPS`` are not
    listed: absent their situation they are simply not offered)."""
    return [
        {"action": s.action, "label_zh": s.label_zh, "reason": str(refusal)}
        for s, refusal in steps
        if refusal is not None and s.action not in SITUATIONAL_STEPS
    ]


def allowed_actions(conn, actor: Actor, row, today: dt.date | None = None) -> list[str]:
    """Actions this actor may take on the proposal now (for pages; ``perform`` re-checks):
    allowed by role, ownership and state, and not held (``_held``, read on ``conn``) on
    ``today`` (Beijing's civil date; None is today)."""
    return _offered(_step_refusals(conn, actor, row, today))


def _summary(row) -> dict:
    proposed = dict(row.proposed or {})
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_zh": KIND_NAMES_ZH[row.kind],
        "state": row.state,
        "state_zh": STATE_NAMES_ZH[row.state],
        # a draft sent back for changes (not one that only waits to be submitted)
        "returned": row.state == "draft" and bool(row.returned),
        "name": proposed.get("name"),
        "romanized": proposed.get("romanized"),
        # The record the proposal concerns: for a naming, the one it created once in force.
        "place_id": row.place_id if row.place_id is not None else row.result_place_id,
        "result_place_id": row.result_place_id,
        "division_code": row.division_code,
        "division_name": row.division_name,
        "notice_start": jsonable(row.notice_start),
        "notice_end": jsonable(row.notice_end),
        "version": row.version,
        "updated_at": jsonable(as_utc(row.updated_at)),
    }


def _detail(conn, row, actor: Actor, today: dt.date | None = None) -> dict:
    """The proposal ``row`` as ``actor`` may see it; the steps offered are those open on
    ``today`` (Beijing's civil date; None is today)."""
    out = _summary(row)
    out.update(
        applicant=row.applicant,
        reasons=row.reasons,
        proposed=dict(row.proposed or {}),
        location=mapping(row.location) if row.location is not None else None,
        heteronyms_confirmed=row.heteronyms_confirmed,
        effective_date=jsonable(row.effective_date),
        announcement_text=row.announcement_text,
        announced_on=jsonable(row.announced_on),
        # Fields whose stored text does not parse: pages say the record is damaged
        # instead of showing them as empty (or a step as done).
        damaged_fields=damaged_fields(row),
    )
    # The record a renaming or retirement is about, by name (its name as it stands), and
    # where it is (the proposal has no location of its own unless it moves the record).
    place = record_of(conn, row.place_id)
    out.update(
        place_name=place.name if place else None,
        place_location=mapping(place.geom) if place and place.geom is not None else None,
    )
    if row.state in ("announced", "in_force") or actor.is_staff:
        out.update(
            decision=row.decision,
            decision_reasons=row.decision_reasons,
            decided_by=row.decided_by if actor.is_staff else None,
            decision_date=jsonable(row.decision_date),
            approving_body=row.approving_body,
            decision_ref=row.decision_ref,
            filed_on=jsonable(row.filed_on),
            filed_with=row.filed_with,
            filing_ref=row.filing_ref,
        )
    if actor.is_staff:
        out.update(
            approval_authority=row.approval_authority,
            authority_override_reason=row.authority_override_reason,
        )
        if row.kind != "retirement" or row.proposed:
            try:
                out["authority"] = approval.authority_options(conn, row)
            except LookupError:
                out["authority"] = None
        if row.decision == "approved" and row.decision_date is not None:
            out["deadlines"] = {
                "filing": approval.deadline(
                    row.decision_date, approval.FILING_DEADLINE_DAYS
                ).isoformat(),
                "announcement": approval.deadline(
                    row.decision_date, approval.ANNOUNCEMENT_DEADLINE_DAYS
                ).isoformat(),
            }
    if actor.is_staff:
        steps = _step_refusals(conn, actor, row, today)
        out.update(
            created_by=row.created_by,
            office=row.office,
            created_at=jsonable(as_utc(row.created_at)),
            findings=row.findings,
            checked_at=jsonable(as_utc(row.checked_at)),
            override_reasons=row.override_reasons,
            override_by=row.override_by,
            allowed_actions=_offered(steps),
            held_actions=_waiting(steps),
        )
        out["opinions"] = [
            {
                "id": o.id,
                "kind": o.kind,
                "author": o.author,
                "body": o.body,
                "recorded_by": o.recorded_by,
                "recorded_at": jsonable(as_utc(o.recorded_at)),
            }
            for o in conn.execute(
                sa.select(proposal_opinions)
                .where(proposal_opinions.c.proposal_id == row.id)
                .order_by(proposal_opinions.c.id)
            )
        ]
        out["events"] = proposal_event_list(conn, row.id)
    return out


def proposal_event_list(conn, proposal_id: int) -> list[dict]:
    return [
        {
            "id": e.id,
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "actor": e.actor,
            "actor_roles": e.actor_roles,
            "at": jsonable(as_utc(e.at)),
            "reason": e.reason,
            "data": e.data,
        }
        for e in conn.execute(
            sa.select(proposal_events)
            .where(proposal_events.c.proposal_id == proposal_id)
            .order_by(proposal_events.c.id)
        )
    ]


def get_proposal(store: Store, proposal_id: int, actor: Actor, *, clock: Clock = utcnow) -> dict:
    """One proposal. The public sees only proposals on notice, announced or in force (others
    answer ``NotFound``, so drafts are not revealed) and not the internal fields. The steps
    offered are those open on ``clock``'s civil date (a training copy's clock)."""
    with store.read() as conn:
        row = _load(conn, proposal_id)
        if not actor.is_staff and row.state not in PUBLIC_STATES:
            raise NotFound(f"没有编号为 {proposal_id} 的申请")
        return _detail(conn, row, actor, civil_date(clock()))


@dataclass(frozen=True)
class ProposalFilter:
    """Which proposals to list: in a state, of a kind, on a place record (the record it
    renames or retires, or the one it made). None is any."""

    state: str | None = None
    kind: str | None = None
    place_id: int | None = None

    def where(self, query):
        """``query`` (a select over ``proposals``) narrowed to these filters. Raises
        ``InvalidInput`` for an unknown state or kind."""
        if optional_choice(self.state, PROPOSAL_STATES, "状态"):
            query = query.where(proposals.c.state == self.state)
        if optional_choice(self.kind, PROPOSAL_KINDS, "申请类型"):
            query = query.where(proposals.c.kind == self.kind)
        if self.place_id is not None:
            query = query.where(
                sa.or_(
                    proposals.c.place_id == self.place_id,
                    proposals.c.result_place_id == self.place_id,
                )
            )
        return query


def list_proposals(
    store: Store, actor: Actor, filters: ProposalFilter = ProposalFilter(), page: Page = Page(50)
) -> dict:
    """The proposals that pass ``filters``, newest first, one ``page`` of them (at most
    ``MAX_PAGE``); the public sees only the states in ``PUBLIC_STATES``."""
    check_page(page.limit, page.offset)
    query = filters.where(sa.select(proposals, _DIVISION_NAME, _RETURNED))
    if not actor.is_staff:
        query = query.where(proposals.c.state.in_(PUBLIC_STATES))
    with store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
        rows = conn.execute(
            query.order_by(proposals.c.id.desc()).limit(page.limit).offset(page.offset)
        ).all()
    return {"total": total, "items": [_summary(r) for r in rows]}


# ---------------------------------------------------------------- changing


def _event(conn, actor: Actor, now: dt.datetime, **event) -> None:
    """Append a ``proposal_events`` row: ``event`` names its columns (proposal_id, action,
    from_state, to_state, reason, data); who (with the roles held then) and when are added."""
    conn.execute(
        proposal_events.insert().values(
            **event, actor=actor.username, actor_roles=",".join(sorted(actor.roles)), at=now
        )
    )


def create_proposal(
    store: Store,
    actor: Actor,
    draft: ProposalDraft,
    *,
    clock: Clock = utcnow,
    idempotency_key: str | None = None,
) -> dict:
    """Draft a naming, renaming or retirement proposal (clerks only). Romanization is
    generated here; heteronyms wait for an officer's confirmation.

    ``idempotency_key``: sending the same request again returns the proposal drafted the
    first time; the same key with different content raises ``Conflict`` carrying that
    proposal (``gazetteer.core.idempotency``)."""
    require_role(actor, DRAFTING_ROLES, "起草申请")
    now = clock()

    def create(conn) -> int:
        values = validate_new_proposal(conn, draft)
        _refuse_second_on_record(conn, values["place_id"], None)
        result = conn.execute(
            proposals.insert().values(
                **values,
                state="draft",
                created_by=actor.username,
                office=actor.office,
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        proposal_id = result.inserted_primary_key[0]
        _event(
            conn,
            actor,
            now,
            proposal_id=proposal_id,
            action="create",
            to_state="draft",
            reason=draft.reasons,
        )
        return proposal_id

    request = [
        draft.kind,
        draft.applicant,
        draft.reasons,
        draft.proposed,
        draft.place_id,
        getattr(draft.location, "wkt", draft.location),
    ]
    return idempotency.create_once(
        store,
        actor,
        "proposal",
        idempotency_key,
        request,
        create,
        lambda proposal_id: get_proposal(store, proposal_id, actor),
    )


def _step(action: str) -> Step:
    step = STEPS_BY_ACTION.get(action)
    if step is None:
        # ``action`` is the path parameter of POST /api/proposals/<id>/actions/<action>.
        raise InvalidInput(
            f"未知的操作（action）：{action!r}（可选 {'、'.join(STEPS_BY_ACTION)}）",
            details={"field": "action", "actions": list(STEPS_BY_ACTION)},
        )
    return step


def check_step_params(action: str, params: Mapping) -> None:
    """Refuse (``InvalidInput``) an unknown action or parameters its step does not take:
    the one whitelist, ``STEP_PARAMS``, for every caller."""
    unknown = set(params) - set(STEP_PARAMS.get(action, ()))
    if unknown:
        raise InvalidInput(
            f"“{_step(action).label_zh}”不接受这些参数：{', '.join(sorted(unknown))}",
            details={"field": sorted(unknown)[0], "unknown": sorted(unknown)},
        )


def perform(
    store: Store,
    proposal_id: int,
    action: str,
    actor: Actor,
    *,
    version: int | None = None,
    reason: str | None = None,
    clock: Clock = utcnow,
    corpus=None,
    min_notice_days: int = DEFAULT_MIN_NOTICE_DAYS,
    **params,
) -> dict:
    """Take one step of the workflow; returns the proposal as it now stands.

    ``min_notice_days`` is the shortest notice ``publish_notice`` accepts (the
    ``MIN_NOTICE_DAYS`` setting; calendar days counting both ends).

    ``version`` is the proposal version the caller saw: if the proposal has changed since,
    ``Conflict`` is raised (two officers acting at once: one wins). Raises ``Forbidden``
    (role, or deciding one's own proposal), ``IllegalTransition`` (not allowed from this
    state, or a precondition unmet), ``RuleViolation`` (blocking rule findings without an
    override), ``DamagedRecord`` (a JSON field that does not parse: ``damaged_fields``),
    ``InvalidInput`` and ``NotFound``."""
    step = _step(action)
    require_role(actor, step.roles, step.label_zh)
    check_step_params(action, params)
    reason = (str(reason or "")).strip() or None
    found_before = None
    if action == "check":
        # Found before the write transaction, which then only stores them: reading the
        # corpus, other proposals' names and the map must not keep other writers waiting
        # (SQLite lets one in at a time). Checked again inside if the proposal changed.
        if corpus is None:
            corpus = _rules()[0].from_store(store)
        with store.read(primary=True) as conn:
            row = _load(conn, proposal_id)
            # Only for a step that can go ahead: the refusals come from the transaction.
            if (
                row.state in step.sources
                and version in (None, row.version)
                and not damaged_fields(row)
            ):
                found_before = (row.version, _check_findings(conn, row, corpus))
    now = clock()
    with store.write(actor=actor) as conn:
        row = _load(conn, proposal_id)
        _refuse_damaged(row, step.label_zh)
        if version is not None and row.version != version:
            # Who moved it on, and how: another user, or this one in another tab or by a
            # second click.
            last = conn.execute(
                sa.select(proposal_events.c.actor, proposal_events.c.action)
                .where(proposal_events.c.proposal_id == row.id)
                .order_by(proposal_events.c.id.desc())
                .limit(1)
            ).first()
            done = (
                STEPS_BY_ACTION[last.action].label_zh if last.action in STEPS_BY_ACTION else "修改"
            )
            by = (
                f"您已在别处{done}"
                if last.actor == actor.username
                else f"已被他人处理（{last.actor}：{done}）"
            )
            raise Conflict(
                f"申请 {proposal_id} {by}，当前版本 {row.version}，您看到的是 {version}；"
                "请查看最新状态后再操作",
                details={"current_version": row.version, "current_state": row.state},
            )
        if row.state not in step.sources:
            raise IllegalTransition(
                f"申请处于“{STATE_NAMES_ZH[row.state]}”状态，不能{step.label_zh}",
                details={
                    "state": row.state,
                    "action": action,
                    "allowed_actions": allowed_actions(conn, actor, row, civil_date(now)),
                },
            )
        if not _may_act_as_owner(actor, action, row):
            raise Forbidden(
                f"只有申请起草人或其所在单位的经办人可以{step.label_zh}",
                details={"created_by_other": True},
            )
        held = _held(conn, actor, action, row, civil_date(now))
        if held is not None:
            raise held
        # After who may and whether it can: no one is asked for a reason, then refused.
        if step.reason_required and not reason:
            raise InvalidInput(f"“{step.label_zh}”须说明理由", details={"field": "reason"})
        context = _Context(
            conn,
            row,
            actor,
            now,
            civil_date(now),
            reason,
            params,
            corpus,
            min_notice_days,
            found_before,
        )
        changes, data = _HANDLERS[action](context)
        target = step.target or row.state
        result = conn.execute(
            proposals.update()
            .where(
                proposals.c.id == row.id,
                proposals.c.version == row.version,
                proposals.c.state == row.state,
            )
            .values(**changes, state=target, version=proposals.c.version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            raise Conflict(f"申请 {proposal_id} 已被他人处理，请刷新后重试")
        _event(
            conn,
            actor,
            now,
            proposal_id=row.id,
            action=action,
            from_state=row.state,
            to_state=target,
            reason=reason,
            data=data or None,
        )
    # The answer is read after the commit, so that building it does not keep the other
    # writers waiting (SQLite lets one in at a time). It is the proposal as it now stands:
    # this step, or a later one if another officer's came in between.
    with store.read(primary=True) as conn:
        return _detail(conn, _load(conn, proposal_id), actor, civil_date(now))


@dataclass
class _Context:
    conn: object
    row: object
    actor: Actor
    now: dt.datetime
    today: dt.date
    reason: str | None
    params: dict
    corpus: object
    min_notice_days: int = DEFAULT_MIN_NOTICE_DAYS
    # ``check``: (the proposal version, its findings) read before the write transaction.
    found_before: tuple[int, list[dict]] | None = None


def _edit(c: _Context):
    if not owns(c.actor, c.row):
        raise Forbidden("只有申请起草人或其所在单位的经办人可以修改草稿")
    unknown = set(c.params) - set(EDITABLE_FIELDS) - {"applicant", "reasons", "location"}
    if unknown:
        raise InvalidInput(
            f"不能修改的字段：{', '.join(sorted(unknown))}",
            details={"field": sorted(unknown)[0]},
        )
    proposed = {
        **(c.row.proposed or {}),
        **{k: v for k, v in c.params.items() if k in EDITABLE_FIELDS},
    }
    draft = ProposalDraft(
        kind=c.row.kind,
        applicant=c.params.get("applicant", c.row.applicant),
        reasons=c.params.get("reasons", c.row.reasons),
        proposed=proposed,
        place_id=c.row.place_id,
        location=c.params.get("location", c.row.location),
    )
    try:
        values = validate_new_proposal(c.conn, draft)
    except (InvalidInput, NotFound) as refusal:
        # The edit step takes the proposed values at the top level: name them so.
        field = str(refusal.details.get("field") or "")
        if field.startswith("proposed."):
            key = refusal.details["field"] = field.removeprefix("proposed.")
            refusal.message = refusal.message.replace(f"（{field}）", f"（{key}）")
        raise
    values.pop("kind"), values.pop("place_id")
    # The last check was of the old values: it is not shown as this draft's result.
    values.update(findings=None, checked_at=None, override_reasons=None, override_by=None)
    return values, {"fields": sorted(c.params)}


def _refuse_second_on_record(conn, place_id: int | None, proposal_id: int | None) -> None:
    """Refuse (``Conflict``) a proposal on a place record another open proposal already
    holds (in ``reservations.RESERVING_STATES``): whichever came into force first would
    leave the other stuck."""
    if place_id is None:
        return
    query = sa.select(proposals.c.id, proposals.c.kind, proposals.c.state).where(
        proposals.c.place_id == place_id, proposals.c.state.in_(reservations.RESERVING_STATES)
    )
    if proposal_id is not None:
        query = query.where(proposals.c.id != proposal_id)
    other = conn.execute(query.order_by(proposals.c.id)).first()
    if other is not None:
        raise Conflict(
            f"该地名记录已有进行中的{KIND_NAMES_ZH[other.kind]}申请（编号 {other.id}，"
            f"{STATE_NAMES_ZH[other.state]}）；须待其办结、撤回或终止后再提出",
            details={"other_proposal": {"id": other.id, "kind": other.kind, "state": other.state}},
        )


def _submit(c: _Context):
    _refuse_second_on_record(c.conn, c.row.place_id, c.row.id)
    return {}, None


def _rules():
    """The naming-rules checker (``gazetteer.rules``), imported when first needed: loading
    its lexicons costs start-up time that most workflow steps do not need."""
    from gazetteer.rules import NameCorpus, check_name

    return NameCorpus, check_name


def _check_findings(conn, row, corpus) -> list[dict]:
    """The compliance check's findings for the proposal ``row``, read on ``conn``: the
    naming rules, the location, names other proposals reserve, and protection."""
    findings = []
    if row.kind != "retirement":
        proposed = row.proposed
        path = conn.execute(
            sa.select(divisions.c.path).where(divisions.c.code == row.division_code)
        ).scalar()
        location = None
        if row.location is not None:
            point = row.location.representative_point()
            location = (point.x, point.y)
            findings += placement.location_findings(conn, path, point)
        findings += [
            f.to_dict()
            for f in _rules()[1](
                proposed["name"],
                proposed.get("feature_class"),
                path.split("/") if path else [],
                corpus,
                location=location,
                exclude_id=row.place_id,
            )
        ]
        # Names other proposals hold while they are being decided (name reservation).
        findings += reservations.reservation_findings(
            conn,
            name=proposed["name"],
            feature_class=proposed.get("feature_class"),
            division_code=row.division_code,
            exclude_proposal_id=row.id,
        )
    if row.place_id is not None:  # Art. 25: a listed name is generally not renamed
        current = conn.execute(sa.select(places.c.name).where(places.c.id == row.place_id)).scalar()
        findings += protection.protection_finding(conn, row.place_id, current or "")
    findings.sort(key=lambda f: ("blocking", "warning", "note").index(f["severity"]))
    return findings


def _check(c: _Context):
    _refuse_second_on_record(c.conn, c.row.place_id, c.row.id)
    found_before, findings = c.found_before or (None, None)
    if found_before != c.row.version:  # the proposal changed since: check it as it is
        findings = _check_findings(c.conn, c.row, c.corpus)
    blocking = sum(1 for f in findings if f.get("severity") == "blocking")
    return (
        {"findings": findings, "checked_at": c.now, "override_reasons": None, "override_by": None},
        {"findings": len(findings), "blocking": blocking},
    )


def _return(c: _Context):
    return {"override_reasons": None, "override_by": None}, None


def _blocking(row) -> list[dict]:
    return [f for f in (row.findings or []) if f.get("severity") == "blocking"]


def _override(c: _Context):
    return {"override_reasons": c.reason, "override_by": c.actor.username}, {
        "rules": sorted({f.get("rule_id") for f in _blocking(c.row)})
    }


def _start_review(c: _Context):
    return {}, None


def _add_opinion(c: _Context):
    kind, author, body = (c.params.get(k) for k in ("kind", "author", "body"))
    if kind not in OPINION_KINDS:
        raise InvalidInput(
            f"意见类型应为 {', '.join(OPINION_KINDS)} 之一", details={"field": "kind"}
        )
    for key, label in (("author", "意见提出人"), ("body", "意见内容")):
        if not str(c.params.get(key) or "").strip():
            raise InvalidInput(f"请填写{label}", details={"field": key})
    c.conn.execute(
        proposal_opinions.insert().values(
            proposal_id=c.row.id,
            kind=kind,
            author=str(author).strip(),
            body=str(body).strip(),
            recorded_by=c.actor.username,
            recorded_at=c.now,
        )
    )
    return {}, {"kind": kind, "author": str(author).strip()}


# The romanization's two spellings an officer may correct (confirm_romanization).
SPELLINGS = ("romanized", "romanized_toned")


def _confirm_romanization(c: _Context):
    proposed = dict(c.row.proposed)
    # Word breaks as one space each; blank: the generated spelling stays.
    given = {k: " ".join(str(c.params.get(k) or "").split()) for k in SPELLINGS}
    corrected = {k: v for k, v in given.items() if v and v != proposed.get(k)}
    if corrected and c.row.state == "on_notice":
        # The public reads the spelling on the notice: it is confirmed as noticed, or the
        # proposal goes back (withdrawn, submitted again) and is noticed anew.
        raise InvalidInput(
            "公示期间只能确认公示的拼写，不能更改（如需更正，请撤回申请后重新提交）",
            details={"field": next(iter(corrected))},
        )
    for key, spelling in corrected.items():
        # A correction chooses among the characters' readings (a heteronym read otherwise,
        # word division, capitals); it cannot put another name or a translation on record.
        if len(spelling) > 200 or not is_reading_of(proposed["name"], spelling):
            raise InvalidInput(
                f"更正后的拼写“{spelling[:60]}”不是“{proposed['name']}”的汉语拼音拼写："
                "只能改动多音字的读音、分词连写、大小写和隔音符号",
                details={"field": key},
            )
    if has_tone_marks(corrected.get("romanized", "")):
        raise InvalidInput(
            "罗马字母拼写（不带声调）不能有声调符号：声调写在带调拼写中",
            details={"field": "romanized"},
        )
    if "romanized_toned" in corrected and not has_tone_marks(corrected["romanized_toned"]):
        raise InvalidInput(
            "带调拼写应标出声调（如 Chángyuè Lù）", details={"field": "romanized_toned"}
        )
    for key, spelling in corrected.items():
        # GB/T 16159: each word of a place name starts with a capital, the rest lower case.
        if any(w[:1] != w[:1].upper() or w[1:] != w[1:].lower() for w in spelling.split()):
            raise InvalidInput(
                f"拼写“{spelling[:60]}”的大小写不合《汉语拼音正词法基本规则》：每个词首字母大写，其余小写",
                details={"field": key},
            )
    # The two spellings are one reading: a correction of one that the other does not
    # follow would leave the record saying two things (Changyue Lu beside Chánglè Lù).
    spelled = {k: corrected.get(k) or proposed.get(k) or "" for k in SPELLINGS}
    # Read alike, and written alike but for the tones (the same word breaks and capitals).
    if corrected and (
        not spells_alike(spelled["romanized"], spelled["romanized_toned"])
        or without_tones(spelled["romanized_toned"]) != spelled["romanized"]
    ):
        other = next(k for k in SPELLINGS if k not in corrected) if len(corrected) == 1 else None
        raise InvalidInput(
            "两种拼写不一致（除声调外应完全相同）：请同时更正"
            + ("带调拼写" if other == "romanized_toned" else "不带声调的拼写")
            if other
            else "两种拼写不一致：带调拼写去掉声调后应与不带声调的拼写完全相同",
            details={"field": other or "romanized_toned"},
        )
    proposed.update(corrected)
    return {"proposed": proposed, "heteronyms_confirmed": True}, {"corrected": corrected or None}


def _publish_notice(c: _Context):
    start = parse_date(c.params.get("notice_start"), "公示开始日期", "notice_start")
    end = parse_date(c.params.get("notice_end"), "公示结束日期", "notice_end")
    for key, label, day in (("notice_start", "开始", start), ("notice_end", "结束", end)):
        if day is None:
            raise InvalidInput(f"请填写公示{label}日期", details={"field": key})
    if end < start:
        raise InvalidInput("公示结束日期不能早于开始日期", details={"field": "notice_end"})
    if start < c.today:
        # The civil date is Beijing's (UTC+8): say so, a browser elsewhere may think otherwise.
        raise InvalidInput(
            f"公示开始日期不能早于今天（北京时间 {c.today.isoformat()}）",
            details={"field": "notice_start"},
        )
    days = (end - start).days + 1
    if days < c.min_notice_days:
        # The setting's name is for the operator (details), not for the officer's message.
        raise InvalidInput(
            f"公示期 {days} 天，短于规定的最短公示期 {c.min_notice_days} 天（起止日均计入）",
            details={
                "field": "notice_end",
                "days": days,
                "min_notice_days": c.min_notice_days,
                "setting": "MIN_NOTICE_DAYS",
            },
        )
    return {"notice_start": start, "notice_end": end}, {
        "notice_start": start.isoformat(),
        "notice_end": end.isoformat(),
    }


def _one_line(c: _Context, key: str, label: str, max_chars: int, *, required=False):
    """The step's parameter ``key``: a body or a document number, one line of at most
    ``max_chars`` (the announcement prints them; the column holds that many)."""
    return form_text(
        c.params.get(key), label, max_chars, field=key, required=required, single_line=True
    )


def _decide(c: _Context, decision: str):
    body = _one_line(c, "approving_body", "批准机关", 200)
    authority = {"approving_body": body}
    if decision == "approved":
        listed = protection.protection_of(c.conn, c.row.place_id)
        measures = str(c.params.get("protection_measures") or "").strip()
        if listed is not None and len(measures) < 4:
            raise InvalidInput(
                "该地名已列入地名保护名录：批准更名或销名须记录保护措施"
                "（《地名管理条例》第二十五条）",
                details={"field": "protection_measures", "protection": listed},
            )
        # Art. 12: the body comes from the authority table, or an override with a reason.
        authority = approval.resolve_approving_body(
            c.conn, c.row, body, c.params.get("authority_override_reason")
        )
    return (
        {
            "decision": decision,
            "decision_reasons": c.reason,
            "decided_by": c.actor.username,
            "decision_date": c.today,
            **authority,
            "decision_ref": _one_line(c, "decision_ref", "批准文号", 100),
        },
        {
            "decision": decision,
            **{k: v for k, v in authority.items() if v},
            **(
                {"protection_measures": str(c.params["protection_measures"]).strip()}
                if decision == "approved" and c.params.get("protection_measures")
                else {}
            ),
        },
    )


def _announce(c: _Context):
    text = announcement_text(c.conn, c.row, c.today)
    late_days = (c.today - c.row.decision_date).days - ANNOUNCEMENT_DEADLINE_DAYS
    return (
        {"announcement_text": text, "announced_on": c.today},
        {"late_days": late_days} if late_days > 0 else None,
    )


def _file(c: _Context):
    """备案 (Art. 13): filed with the next level up, due within 15 days of the approval."""
    filed_with = _one_line(
        c, "filed_with", "备案机关（上一级人民政府地名行政主管部门）", 200, required=True
    )
    filed_on = parse_date(c.params.get("filed_on"), "备案日期", "filed_on") or c.today
    if not c.row.decision_date <= filed_on <= c.today:
        raise InvalidInput("备案日期应在批准日期与今天之间", details={"field": "filed_on"})
    due = approval.deadline(c.row.decision_date, approval.FILING_DEADLINE_DAYS)
    late_days = (filed_on - due).days
    ref = _one_line(c, "filing_ref", "备案文号", 100)
    return (
        {"filed_on": filed_on, "filed_with": filed_with, "filing_ref": ref},
        {"filed_on": filed_on.isoformat(), "due": due.isoformat()}
        | ({"late_days": late_days} if late_days > 0 else {}),
    )


def _bring_into_force(c: _Context):
    row = c.row
    effective = parse_date(c.params.get("effective_date"), "生效日期", "effective_date") or c.today
    if not (row.decision_date <= effective <= c.today):
        raise InvalidInput("生效日期应在批准日期与今天之间", details={"field": "effective_date"})
    kwargs = dict(effective_date=effective, actor=c.actor, now=c.now, proposal_id=row.id)
    values = dict(
        row.proposed or {},
        heteronyms_confirmed=row.heteronyms_confirmed,
        registering_unit=row.approving_body,
    )
    changes = {"effective_date": effective}
    # A record no longer in force was refused by ``_held`` in this same transaction; a name
    # taken in force is checked again under the name lock.
    if row.kind != "retirement":
        _recheck_duplicates(c, values)
    if row.kind == "naming":
        values["division_code"] = row.division_code
        changes["result_place_id"] = create_place(
            c.conn, {**values, "geom": row.location}, **kwargs
        )
    elif row.kind == "renaming":
        changes["result_place_id"] = rename_place(
            c.conn, row.place_id, values, reason=row.reasons, location=row.location, **kwargs
        )
    else:
        retire_place(c.conn, row.place_id, reason=row.reasons, **kwargs)
    return changes, {
        "effective_date": effective.isoformat(),
        "place_id": changes.get("result_place_id", row.place_id),
    }


def _overridden_conflict_ids(row) -> set:
    """Places an officer knowingly accepted as duplicates (an override recorded at check)."""
    if not row.override_reasons:
        return set()
    return {
        conflict.get("id")
        for f in _blocking(row)
        if f.get("rule_id") == "duplicate"
        for conflict in f.get("conflicts") or ()
    }


def _recheck_duplicates(c: _Context, values: dict) -> None:
    """Re-check duplicates in force under the write transaction: another proposal for the
    same name may have come into force since this one was checked (name reservation)."""
    kwargs = dict(
        name=values["name"],
        feature_class=values.get("feature_class"),
        division_code=c.row.division_code,
    )
    reservations.lock_name(c.conn, **kwargs)
    conflicts = [
        found
        for found in reservations.in_force_conflicts(
            c.conn, **kwargs, exclude_place_id=c.row.place_id
        )
        if found["id"] not in _overridden_conflict_ids(c.row)
    ]
    if conflicts:
        raise _cannot_come_into_force({"conflicts": conflicts})


def _cause_zh(cause: dict) -> str:
    """A ``_lapse_cause`` in words, naming the record (as the refusals and held steps say)."""
    if "place_status" in cause:
        return f"原地名记录（编号 {cause['place_id']}）已不是现行地名"
    names = "、".join(f"“{f['name']}”（编号 {f['id']}）" for f in cause["conflicts"])
    return f"名称已被现行地名{names}占用"


def _cannot_come_into_force(cause: dict) -> DomainError:
    """The refusal of ``bring_into_force`` for a ``_lapse_cause``: the record is no longer
    in force (409), or the name is taken in force (422, the conflicts named)."""
    if "place_status" in cause:
        return IllegalTransition(
            "该申请针对的地名记录已不是现行地名（已被更名或销名），不能登记生效；"
            "可由审核人员说明理由后“因记录已变更终止”本申请",
            details=cause,
        )
    names = "、".join(f"“{f['name']}”（编号 {f['id']}）" for f in cause["conflicts"])
    return RuleViolation(
        f"同一范围内已有现行地名{names}，不能登记生效（《地名管理条例》第九条第（七）（八）项）；"
        "可由审核人员说明理由后“因记录已变更终止”本申请",
        details=cause,
    )


def _withdraw(c: _Context):
    return {}, None


def _notice_opinions(conn, row) -> int:
    """How many opinions of ``NOTICE_OPINION_KINDS`` the proposal has on record."""
    return conn.execute(
        sa.select(sa.func.count())
        .select_from(proposal_opinions)
        .where(
            proposal_opinions.c.proposal_id == row.id,
            proposal_opinions.c.kind.in_(NOTICE_OPINION_KINDS),
        )
    ).scalar()


def _lapse(c: _Context):
    """End a decided proposal that can no longer come into force (``_lapse_cause``); refused
    (``_held``) while it still can. The event keeps the cause (conflicts by id)."""
    cause = _lapse_cause(c.conn, c.row)
    if "conflicts" in cause:
        cause = {"conflicts": [f["id"] for f in cause["conflicts"]]}
    return {}, {"lapsed": cause}


def _lapse_cause(conn, row) -> dict | None:
    """Why the decided proposal ``row`` can no longer come into force: its record is no
    longer in force ({place_id, place_status}), or its name is now taken by a name in
    force ({conflicts: [{id, name, status, division_code}]}); None if it still can."""
    cause = None
    if row.place_id is not None:
        status = conn.execute(
            sa.select(places.c.status).where(places.c.id == row.place_id)
        ).scalar()
        if status != "in_force":
            cause = {"place_id": row.place_id, "place_status": status}
    if cause is None and row.kind != "retirement":
        conflicts = reservations.in_force_conflicts(
            conn,
            name=row.proposed["name"],
            feature_class=row.proposed.get("feature_class"),
            division_code=row.division_code,
            exclude_place_id=row.place_id,
        )
        conflicts = [f for f in conflicts if f["id"] not in _overridden_conflict_ids(row)]
        if conflicts:
            cause = {"conflicts": conflicts}
    return cause


_HANDLERS = {
    "edit": _edit,
    "submit": _submit,
    "check": _check,
    "return": _return,
    "override": _override,
    "start_review": _start_review,
    "add_opinion": _add_opinion,
    "confirm_romanization": _confirm_romanization,
    "publish_notice": _publish_notice,
    "approve": lambda c: _decide(c, "approved"),
    "reject": lambda c: _decide(c, "rejected"),
    "announce": _announce,
    "file": _file,
    "bring_into_force": _bring_into_force,
    "withdraw": _withdraw,
    "lapse": _lapse,
}
assert set(_HANDLERS) == set(STEPS_BY_ACTION)
