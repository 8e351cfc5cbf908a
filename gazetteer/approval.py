"""Approval authority (《地名管理条例》 Art. 12), filing (备案, Art. 13) and announcement
(公告, Art. 14) deadlines.

Who approves is data: ``rules/data/approval_authority.csv`` gives, by feature class and
generic term, the bodies that may approve, as templates resolved for the proposal's division
(``{city}人民政府`` -> 广州市人民政府). The approve step records one of those bodies, or a
body typed by hand with a recorded reason (``authority_override_reason``); for facilities the
competent department is named by hand (the table says so with ``{department}``).

Filing and announcement are each due within ``FILING_DEADLINE_DAYS`` /
``ANNOUNCEMENT_DEADLINE_DAYS`` days of the approval (decision) date. ``due_items`` lists what
an officer must do soon: notices ending, decisions waiting after a notice, filings and
announcements due or overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa

from gazetteer.core.errors import InvalidInput
from gazetteer.core.vocabulary import labels
from gazetteer.registry import division_info
from gazetteer.registry_tables import proposals
from gazetteer.romanize import generic_base, split_name
from gazetteer.rules.lexicons import _rows  # the rule-data CSV reader (comments, header)
from gazetteer.vocabulary import DUE_KIND_TERMS, DUE_STATUS_TERMS

FILING_DEADLINE_DAYS = 15  # 《地名管理条例》 Art. 13
ANNOUNCEMENT_DEADLINE_DAYS = 15  # 《地名管理条例》 Art. 14
DUE_SOON_DAYS = 5  # shown as "due" this many days before the deadline
DEPARTMENT = "{department}"


@dataclass(frozen=True)
class AuthorityRule:
    key: str
    feature_class: str  # '*' = any
    generics: frozenset[str] | None
    bodies: tuple[str, ...]
    source: str
    note: str


@lru_cache(maxsize=1)
def authority_table() -> tuple[AuthorityRule, ...]:
    out = []
    for row in _rows("approval_authority.csv", None):
        generics = row["generics"].strip()
        out.append(
            AuthorityRule(
                row["key"].strip(),
                row["class"].strip(),
                None if generics == "*" else frozenset(g for g in generics.split("|") if g),
                tuple(b for b in (row.get("bodies") or "").split("|") if b.strip()),
                row["source"].strip(),
                (row.get("note") or "").strip(),
            )
        )
    return tuple(out)


def authority_rule(name: str, feature_class: str) -> AuthorityRule:
    """The first table row that matches the class and the name's generic term."""
    generic = generic_base(split_name(name)[1])
    for rule in authority_table():
        if rule.feature_class not in ("*", feature_class):
            continue
        if rule.generics is None or generic in rule.generics:
            return rule
    raise LookupError(f"approval_authority.csv has no row for {feature_class}")


def _levels(conn, division_code: str | None) -> dict[str, str]:
    """Full names of the city and county-level division the place lies in."""
    info = division_info(conn, division_code) or {}
    chain = info.get("chain") or []
    out = {}
    names = []
    for link in chain:
        names.append(link["name"])
        if link.get("level") in ("city", "county"):
            out[link["level"]] = "".join(names[1:]) if len(names) > 1 else link["name"]
    out.setdefault("county", out.get("city", ""))
    return out


def authority_options(conn, row) -> dict:
    """The bodies that may approve proposal ``row``: {key, source, note, options: [{body}],
    department: bool (the competent department is named by hand)}."""
    proposed = row.proposed or {}
    rule = authority_rule(proposed.get("name") or "", proposed.get("feature_class") or "")
    levels = _levels(conn, row.division_code)
    options = []
    for template in rule.bodies:
        if template == DEPARTMENT:
            continue
        try:
            body = template.format(**levels)
        except KeyError:
            continue
        if body and body not in options and not body.startswith("人民政府"):
            options.append(body)
    return {
        "key": rule.key,
        "source": rule.source,
        "note": rule.note,
        "options": options,
        "department": DEPARTMENT in rule.bodies,
    }


def resolve_approving_body(conn, row, body: str, override_reason: str | None) -> dict:
    """The approving body to record: one of the table's options (matched also without the
    city prefix: 天河区人民政府), a named competent department where the table asks for one,
    or any body with a recorded ``override_reason``. Returns {approving_body,
    approval_authority, authority_override_reason}; raises ``InvalidInput``."""
    table = authority_options(conn, row)
    body = (body or "").strip()
    reason = (override_reason or "").strip() or None
    if not body and len(table["options"]) == 1 and not table["department"]:
        body = table["options"][0]
    if not body:
        choices = "、".join(table["options"]) or "有关主管部门"
        raise InvalidInput(
            f"请选择批准机关：{choices}（{table['source']}）",
            details={"field": "approving_body", "authority": table},
        )
    for option in table["options"]:
        if body == option or option.endswith(body) and len(body) >= 4:
            return {
                "approving_body": option,
                "approval_authority": table["key"],
                "authority_override_reason": None,
            }
    if table["department"] and not reason:
        return {
            "approving_body": body,
            "approval_authority": table["key"],
            "authority_override_reason": None,
        }
    if not reason:
        choices = "、".join(table["options"])
        raise InvalidInput(
            f"“{body}”不是该类地名的批准机关（{table['source']}：{choices}）；"
            "如确由其他机关批准，请说明理由",
            details={"field": "approving_body", "authority": table},
        )
    return {
        "approving_body": body,
        "approval_authority": table["key"],
        "authority_override_reason": reason,
    }


def deadline(decision_date: dt.date, days: int) -> dt.date:
    return decision_date + dt.timedelta(days=days)


def _status(due: dt.date, today: dt.date) -> str:
    if today > due:
        return "overdue"
    if (due - today).days <= DUE_SOON_DAYS:
        return "due"
    return "open"


# Most urgent first: due_items sorts by this order.
STATUS_ZH = labels(DUE_STATUS_TERMS)
KIND_ZH = labels(DUE_KIND_TERMS)


def due_items(store, today: dt.date, *, include_open: bool = False) -> list[dict]:
    """What officers must do soon, most urgent first: [{kind, kind_zh, proposal_id, name,
    division_code, created_by, due (ISO date), status, status_zh, days_left}]."""
    items = []
    with store.read() as conn:
        rows = conn.execute(
            sa.select(proposals).where(
                sa.or_(
                    proposals.c.state == "on_notice",
                    sa.and_(
                        proposals.c.decision == "approved",
                        sa.or_(proposals.c.filed_on.is_(None), proposals.c.announced_on.is_(None)),
                    ),
                )
            )
        ).all()
    for row in rows:
        name = (row.proposed or {}).get("name")
        found = []
        if row.state == "on_notice":
            if today > row.notice_end:
                found.append(("decision", row.notice_end + dt.timedelta(days=1), "overdue"))
            else:
                found.append(("notice_ending", row.notice_end, None))
        if row.decision == "approved" and row.decision_date is not None:
            if row.filed_on is None:
                found.append(("filing", deadline(row.decision_date, FILING_DEADLINE_DAYS), None))
            if row.announced_on is None:
                found.append(
                    (
                        "announcement",
                        deadline(row.decision_date, ANNOUNCEMENT_DEADLINE_DAYS),
                        None,
                    )
                )
        for kind, due, status in found:
            if kind == "decision":
                status = "waiting"  # for the approver, who has no statutory deadline
            status = status or _status(due, today)
            if status == "open" and not include_open:
                continue
            items.append(
                {
                    "kind": kind,
                    "kind_zh": KIND_ZH[kind],
                    "proposal_id": row.id,
                    "name": name,
                    "division_code": row.division_code,
                    "created_by": row.created_by,
                    "due": due.isoformat(),
                    "status": status,
                    "status_zh": STATUS_ZH[status],
                    "days_left": (due - today).days,
                }
            )
    urgency = list(STATUS_ZH)
    items.sort(key=lambda i: (urgency.index(i["status"]), i["due"], i["proposal_id"]))
    return items
