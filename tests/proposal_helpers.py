"""Proposals in tests: the actors, a movable clock and short ways to draft and move a
proposal through the workflow (``gazetteer.workflow``) on a real store.

The fixtures built on these (``clock``, ``corpus``) are in ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gazetteer import registry, workflow
from gazetteer.core.actors import Actor
from gazetteer.registry_tables import proposal_events
from gazetteer.tables import places

CLERK = Actor("clerk_li", frozenset({"clerk"}))
OFFICER = Actor("officer_wang", frozenset({"officer"}))
APPROVER = Actor("approver_chen", frozenset({"approver"}))
APPROVER_2 = Actor("approver_zhou", frozenset({"approver"}))
# Holds every workflow role, but never drafts anything below, so it may decide.
EVERYONE = Actor("super_he", frozenset({"clerk", "officer", "approver"}))
PUBLIC = Actor("anonymous")
TIANHE = "440106"
ROAD_NEAR_YUNXI = {"type": "LineString", "coordinates": [[113.36, 23.14], [113.37, 23.145]]}
YUEZHOU = "440106001001"  # 岳洲社区居委会 (五山街道, 天河区)
# The decision of 天河区's government that ``step`` records when it approves.
TIANHE_APPROVAL = {"approving_body": "广州市天河区人民政府", "decision_ref": "穗天府函〔2024〕1号"}


class Clock:
    """An injectable clock (UTC instants) that tests move by whole days."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, days: int) -> None:
        self.now += dt.timedelta(days=days)

    @property
    def today(self) -> dt.date:
        return registry.civil_date(self.now)


def place_id_of(store, division_code: str) -> int:
    """The registry record of the division ``division_code`` (source key ``nbs:<code>``)."""
    with store.read() as conn:
        return conn.execute(
            sa.select(places.c.id).where(places.c.source_key == f"nbs:{division_code}")
        ).scalar_one()


def event_count(store, proposal_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(proposal_events)
    if proposal_id is not None:
        query = query.where(proposal_events.c.proposal_id == proposal_id)
    with store.read() as conn:
        return conn.execute(query).scalar()


def propose(
    store, kind: str, applicant: str, reasons: str, actor=CLERK, clock=registry.utcnow, **fields
) -> dict:
    """``workflow.create_proposal`` of a draft with kind, applicant and reasons in that
    order; ``fields`` are the draft's others (proposed, place_id, location)."""
    draft = workflow.ProposalDraft(kind, applicant, reasons, **fields)
    return workflow.create_proposal(store, actor, draft, clock=clock)


def draft_road(store, name="长乐路") -> dict:
    """A bare draft naming of a road in 天河区 (no type, location or clock)."""
    proposed = {"name": name, "feature_class": "交通运输设施", "division_code": TIANHE}
    return propose(store, "naming", "天河区住建局", "新建道路", proposed=proposed)


def new_naming(
    store,
    clock,
    name="长乐路",
    actor=CLERK,
    *,
    reasons="新建道路需要命名",
    meaning: str | None = "临近云溪公园，取其雅意",
) -> dict:
    """A draft naming of a road in 天河区 (a line near 云溪公园), applied for by the
    district's housing bureau."""
    proposed = {
        "name": name,
        "feature_class": "交通运输设施",
        "feature_type": "路",
        "division_code": TIANHE,
    }
    if meaning is not None:
        proposed["meaning"] = meaning
    return propose(
        store,
        "naming",
        "天河区住房和城乡建设局",
        reasons,
        actor,
        proposed=proposed,
        location=ROAD_NEAR_YUNXI,
        clock=clock,
    )


def renaming_of_yuezhou(store, clock, applicant="五山街道办事处", reasons="名实不符") -> dict:
    """A draft renaming of 岳洲社区居委会 to 岳溪社区居委会."""
    return propose(
        store,
        "renaming",
        applicant,
        reasons,
        proposed={"name": "岳溪社区居委会"},
        place_id=place_id_of(store, YUEZHOU),
        clock=clock,
    )


def perform(store, clock, p, action: str, actor, **params) -> dict:
    """``workflow.perform`` on ``p`` at its version, with only ``params`` (``step`` below
    fills in defaults and waits out the notice period; this does neither)."""
    return workflow.perform(
        store, p["id"], action, actor, version=p["version"], clock=clock, **params
    )


PATH = (
    "submit",
    "check",
    "start_review",
    "add_opinion",
    "confirm_romanization",
    "publish_notice",
    "approve",
    "announce",
    "bring_into_force",
)


def path_to(action: str) -> list[str]:
    """The actions of the happy path (``PATH``) up to and including ``action``."""
    return list(PATH[: PATH.index(action) + 1])


def step(store, clock, corpus, p, action, actor=None, **params):
    """Take ``action`` on ``p`` as the usual role with usual values (``params`` win); before
    a decision the clock moves past the 30-day notice period (MIN_NOTICE_DAYS)."""
    actors = {"submit": CLERK, "approve": APPROVER, "reject": APPROVER, "withdraw": CLERK}
    defaults = {
        "add_opinion": {
            "kind": "expert",
            "author": "地名专家委员会",
            "body": "名称含义健康，符合命名规则",
        },
        "publish_notice": {
            "notice_start": clock.today.isoformat(),
            "notice_end": (clock.today + dt.timedelta(days=29)).isoformat(),
        },
        "approve": TIANHE_APPROVAL,
        "reject": {"reason": "名称与辖区内现有道路重名"},
        "return": {"reason": "材料不全"},
        "withdraw": {"reason": "项目取消"},
        "override": {"reason": "经专家论证可以使用"},
        "file": {"filed_with": "广州市民政局"},
    }
    if action in ("approve", "reject"):
        clock.advance(30)
    kwargs = {**defaults.get(action, {}), **params}
    if action == "approve" and "approving_body" not in params and p.get("authority"):
        # The body the authority table gives (Art. 12): the county-level one, as in 天河区.
        kwargs["approving_body"] = p["authority"]["options"][-1]
    return perform(
        store, clock, p, action, actor or actors.get(action, OFFICER), corpus=corpus, **kwargs
    )


def walk(store, clock, corpus, p, until: str):
    """Take the happy path until the proposal is in state ``until``."""
    if p["state"] == until:
        return p
    for action in PATH:
        p = step(store, clock, corpus, p, action)
        if p["state"] == until and action != "add_opinion":
            return p
    raise AssertionError(f"never reached {until}")
