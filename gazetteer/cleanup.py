"""The 大、洋、怪、重 clean-up worklist (民发〔2018〕146号, the 2018–2020 national campaign to
clean up non-standard place names, 不规范地名整治).

The names in force that the naming rules (``gazetteer.rules.check_name``, the checker every
proposal passes) flag as 大 (exaggerated), 洋 (foreign), 怪 (odd) or 重 (duplicate or
homophone in the jurisdiction of Art. 9 (7)–(8)) become a worklist, one item per record,
with a status an officer works through:

* ``to_review`` — flagged, not yet decided;
* ``kept`` — kept as it is, with the officer's reason (a historical or friendship name, an
  approved use of the word …);
* ``rename_proposed`` — a renaming (or retirement) proposal of the record is under way:
  derived from the proposals, linked to the one under way, never stored, so it cannot
  disagree with the workflow;
* ``done`` — the record is no longer in force (renamed or retired through the workflow).

Only the decision ``to_review``/``kept`` is stored (table ``cleanup_items``); a note-level
finding (a transliteration, a historical duplicate) does not put a name on the list.
Progress is counted per prefecture city, as the province reported the campaign.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gazetteer.core.actors import Actor, require_role
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.core.paging import Page
from gazetteer.core.store import Store
from gazetteer.core.text import optional_choice
from gazetteer.law_tables import cleanup_items
from gazetteer.registry import Clock, jsonable, utcnow
from gazetteer.registry_tables import proposals
from gazetteer.tables import divisions, places

if TYPE_CHECKING:
    from gazetteer.rules import NameCorpus

CLEANUP_ROLES = frozenset({"officer"})
SOURCE = "民发〔2018〕146号（清理整治不规范地名：大、洋、怪、重）"
KINDS = "大洋怪重"
KIND_NAMES_ZH = {"大": "夸大", "洋": "崇洋", "怪": "怪异", "重": "重名同音"}
# Rule ids (gazetteer/rules/data/rules.csv) -> the clean-up's four kinds.
_KIND_BY_PREFIX = (("big.", "大"), ("foreign.", "洋"), ("odd.", "怪"))
_DUPLICATE_RULES = frozenset(
    {"duplicate", "duplicate.variant", "duplicate.national", "homophone", "homophone.national"}
)
STATUS_NAMES_ZH = {
    "to_review": "待审查",
    "kept": "保留",
    "rename_proposed": "已提出更名",
    "done": "已完成",
}
STATUSES = tuple(STATUS_NAMES_ZH)
# Proposals that change the record (a renaming or a retirement) and are still open.
_CHANGING_KINDS = ("renaming", "retirement")
_CLOSED_STATES = ("rejected", "withdrawn")
CSV_COLUMNS = (
    "place_id",
    "name",
    "city",
    "county",
    "kinds",
    "status",
    "status_zh",
    "reason",
    "proposal_id",
    "findings",
)


def kind_of(rule_id: str) -> str | None:
    """Which of 大洋怪重 a naming-rules finding belongs to (None for the others)."""
    if rule_id in _DUPLICATE_RULES:
        return "重"
    for prefix, kind in _KIND_BY_PREFIX:
        if rule_id.startswith(prefix):
            return kind
    return None


def flagged_findings(findings) -> tuple[str, list[dict]]:
    """(kinds, findings) of the 大洋怪重 findings that are not notes; kinds in 大洋怪重 order."""
    kept = [
        {"rule_id": f["rule_id"], "severity": f["severity"], "message": f["message"]}
        for f in findings
        if f["severity"] != "note" and kind_of(f["rule_id"])
    ]
    kinds = {kind_of(f["rule_id"]) for f in kept}
    return "".join(k for k in KINDS if k in kinds), kept


def build_worklist(
    store: Store,
    actor: Actor,
    corpus_of: Callable[[], NameCorpus],
    *,
    division: str | None = None,
    clock: Clock = utcnow,
) -> dict:
    """Check every name in force (of ``division`` and below, a division code, when given)
    with the naming rules against the corpus ``corpus_of()`` returns (a ``NameCorpus`` of the
    store, asked for only once the actor and the division pass: it is costly to build;
    duplicates are still sought in the whole jurisdiction) and put the flagged ones on the
    worklist. Run again after the rules or the
    names change: new flags are added, the findings of undecided items refreshed; items
    already decided or no longer flagged stay (their history is the campaign's record).
    Returns ``{"checked", "flagged", "added", "refreshed"}``. Officers only."""
    require_role(actor, CLEANUP_ROLES, "生成不规范地名清理工作清单")
    from gazetteer.rules import check_name

    with store.read() as conn:
        paths = {
            code: (path.split("/") if path else [code])
            for code, path in conn.execute(sa.select(divisions.c.code, divisions.c.path))
        }
        rows = conn.execute(
            sa.select(
                places.c.id,
                places.c.name,
                places.c.feature_class,
                places.c.division_code,
                places.c.own_division_code,
            ).where(places.c.status == "in_force")
        ).all()
    if division not in (None, "") and division not in paths:
        raise InvalidInput(f"没有代码为 {division} 的行政区划", details={"field": "division"})
    corpus = corpus_of()
    flagged: dict[int, tuple[str, list[dict], list[str]]] = {}
    checked = 0
    for row in rows:
        path = paths.get(row.own_division_code or row.division_code, [])
        if division and division not in path:
            continue
        checked += 1
        try:
            findings = check_name(
                row.name, row.feature_class, path, corpus, exclude_id=row.id, data=corpus.data
            )
        except ValueError:  # an empty name is the registry's problem, not the campaign's
            continue
        kinds, kept = flagged_findings([f.to_dict() for f in findings])
        if kinds:
            flagged[row.id] = (kinds, kept, path)
    now = clock()
    added = refreshed = 0
    with store.write(actor=actor) as conn:
        existing = dict(
            conn.execute(sa.select(cleanup_items.c.place_id, cleanup_items.c.decision)).all()
        )
        names = dict((r.id, r.name) for r in rows)
        for place_id, (kinds, kept, path) in flagged.items():
            if place_id not in existing:
                conn.execute(
                    cleanup_items.insert().values(
                        place_id=place_id,
                        name=names[place_id],
                        city_code=path[1] if len(path) > 1 else None,
                        county_code=path[2] if len(path) > 2 else None,
                        kinds=kinds,
                        findings=kept,
                        decision="to_review",
                        flagged_at=now,
                        version=1,
                    )
                )
                added += 1
            elif existing[place_id] == "to_review":
                conn.execute(
                    cleanup_items.update()
                    .where(cleanup_items.c.place_id == place_id)
                    .values(kinds=kinds, findings=kept)
                )
                refreshed += 1
    return {"checked": checked, "flagged": len(flagged), "added": added, "refreshed": refreshed}


def _items(conn) -> list[dict]:
    """Every item with its derived status: the open proposal that changes its record, and
    whether the record is still in force."""
    rows = conn.execute(
        sa.select(cleanup_items, places.c.status.label("place_status")).join(
            places, places.c.id == cleanup_items.c.place_id
        )
    ).all()
    open_by_place: dict[int, dict] = {}
    for p in conn.execute(
        sa.select(proposals.c.id, proposals.c.place_id, proposals.c.kind, proposals.c.state)
        .where(
            proposals.c.kind.in_(_CHANGING_KINDS),
            proposals.c.state.not_in(_CLOSED_STATES),
            proposals.c.place_id.in_(sa.select(cleanup_items.c.place_id)),
        )
        .order_by(proposals.c.id)
    ):
        open_by_place.setdefault(p.place_id, {"id": p.id, "kind": p.kind, "state": p.state})
    names = dict(conn.execute(sa.select(divisions.c.code, divisions.c.name)).all())
    out = []
    for r in rows:
        proposal = open_by_place.get(r.place_id)
        if r.place_status != "in_force":
            status = "done"
        elif proposal is not None:
            status = "rename_proposed"
        else:
            status = r.decision
        out.append(
            {
                "id": r.id,
                "place_id": r.place_id,
                "name": r.name,
                "city_code": r.city_code,
                "city": names.get(r.city_code),
                "county_code": r.county_code,
                "county": names.get(r.county_code),
                "kinds": r.kinds,
                "findings": r.findings,
                "status": status,
                "status_zh": STATUS_NAMES_ZH[status],
                "decision_reason": r.decision_reason,
                "decided_by": r.decided_by,
                "decided_at": jsonable(r.decided_at),
                "proposal": proposal,
                "version": r.version,
            }
        )
    return out


@dataclass(frozen=True)
class WorklistFilter:
    """Which worklist items to list: those of a city or county (codes), in a status, of a
    kind (one of 大洋怪重) and with a text in the name. None or "" is any."""

    city: str | None = None
    county: str | None = None
    status: str | None = None
    kind: str | None = None
    q: str | None = None

    def checked(self) -> WorklistFilter:
        """These filters, or ``InvalidInput`` for a status or kind not the worklist's."""
        return replace(
            self,
            status=optional_choice(self.status, STATUSES, "状态"),
            kind=optional_choice(self.kind, KINDS, "类型"),
        )

    def matches(self, item: dict) -> bool:
        """Whether the worklist ``item`` passes every filter given."""
        return (
            (not self.city or item["city_code"] == self.city)
            and (not self.county or item["county_code"] == self.county)
            and (not self.status or item["status"] == self.status)
            and (not self.kind or self.kind in item["kinds"])
            and (not self.q or self.q in item["name"])
        )


def worklist(
    store: Store, actor: Actor, filters: WorklistFilter = WorklistFilter(), page: Page = Page(100)
) -> dict:
    """The worklist items that pass ``filters``, one ``page`` of them, with progress per
    city over the whole list (not the filter). Staff only. ``{"total", "items",
    "progress": [{city_code, city, total, <status counts>, resolved, percent}], "totals":
    {...}, "source"}``; resolved = kept + done."""
    require_role(actor, {"clerk", "officer", "approver"}, "查看不规范地名清理工作清单")
    filters = filters.checked()
    offset, limit = page.offset, page.limit
    if not (isinstance(offset, int) and isinstance(limit, int)) or offset < 0 or limit < 1:
        raise InvalidInput("offset 应为不小于 0 的整数，limit 应为正整数")
    with store.read() as conn:
        items = _items(conn)
    progress = _progress(items)
    chosen = [i for i in items if filters.matches(i)]
    chosen.sort(key=lambda i: (STATUSES.index(i["status"]), i["city_code"] or "", i["name"]))
    return {
        "total": len(chosen),
        "offset": offset,
        "limit": limit,
        "items": page.of(chosen),
        "progress": progress,
        "totals": _count(items),
        "source": SOURCE,
    }


def _count(items: list[dict]) -> dict:
    counts = Counter(i["status"] for i in items)
    total = len(items)
    resolved = counts["kept"] + counts["done"]
    return {
        "total": total,
        **{s: counts[s] for s in STATUSES},
        "resolved": resolved,
        "percent": round(100.0 * resolved / total, 1) if total else 0.0,
    }


def _progress(items: list[dict]) -> list[dict]:
    by_city: dict[str | None, list[dict]] = {}
    for i in items:
        by_city.setdefault(i["city_code"], []).append(i)
    return [
        {"city_code": code, "city": group[0]["city"] or "（省级）", **_count(group)}
        for code, group in sorted(by_city.items(), key=lambda kv: kv[0] or "")
    ]


def decide(
    store: Store,
    actor: Actor,
    item_id: int,
    *,
    decision,
    reason=None,
    version,
    clock: Clock = utcnow,
) -> dict:
    """Record the officer's decision on item ``item_id``: ``kept`` (``reason`` required: why
    the name stays) or ``to_review`` (reopen). ``version`` is the item version the officer
    saw. Renaming is not decided here: it goes through the workflow, and the item follows
    the proposal. Raises ``Forbidden`` (officers only), ``NotFound``, ``InvalidInput``,
    ``Conflict`` (changed meanwhile, or a renaming is under way or done)."""
    require_role(actor, CLEANUP_ROLES, "处理不规范地名")
    if decision not in ("kept", "to_review"):
        raise InvalidInput(
            "处理结果应为 kept（保留）或 to_review（重新审查）；更名请起草更名申请",
            details={"field": "decision"},
        )
    reason = reason.strip() if isinstance(reason, str) else ""
    if decision == "kept" and not reason:
        raise InvalidInput(
            "保留不规范地名须说明理由（如：历史地名、友好地名、经批准使用）",
            details={"field": "reason"},
        )
    if len(reason) > 2000:
        raise InvalidInput("理由过长（最多 2000 字）", details={"field": "reason"})
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("version 应为整数（页面上看到的版本号）", details={"field": "version"})
    now = clock()
    with store.write(actor=actor) as conn:
        current = next((i for i in _items(conn) if i["id"] == item_id), None)
        if current is None:
            raise NotFound(f"清理工作清单中没有编号为 {item_id} 的条目")
        if current["status"] in ("rename_proposed", "done"):
            raise Conflict(
                f"“{current['name']}”{current['status_zh']}，按更名申请的结果处理",
                details={"proposal": current["proposal"]},
            )
        result = conn.execute(
            cleanup_items.update()
            .where(cleanup_items.c.id == item_id, cleanup_items.c.version == version)
            .values(
                decision=decision,
                decision_reason=reason or None,
                decided_by=actor.username,
                decided_at=now,
                version=cleanup_items.c.version + 1,
            )
        )
        if result.rowcount != 1:
            raise Conflict(
                f"“{current['name']}”已被他人处理，请刷新后重试",
                details={"current_version": current["version"]},
            )
        return next(i for i in _items(conn) if i["id"] == item_id)


def worklist_csv(store: Store, actor: Actor, filters: WorklistFilter = WorklistFilter()) -> str:
    """The filtered worklist as CSV (UTF-8 with BOM, so Excel opens it), one row per name."""
    result = worklist(store, actor, filters, Page(limit=10**9))
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for i in result["items"]:
        writer.writerow(
            [
                i["place_id"],
                i["name"],
                i["city"] or "",
                i["county"] or "",
                i["kinds"],
                i["status"],
                i["status_zh"],
                i["decision_reason"] or "",
                (i["proposal"] or {}).get("id", ""),
                "；".join(f["message"] for f in i["findings"]),
            ]
        )
    return out.getvalue()
