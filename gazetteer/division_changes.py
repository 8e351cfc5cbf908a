"""Division changes by their own path (《地名管理条例》 Art. 12: administrative divisions are
named and renamed under the division regulations, 《行政区划管理条例》, not by the place-name
authority).

A division's name (township level and up) changes only through :func:`record_division_rename`,
which in the caller's write transaction

* checks the approval (approving body, document number 批准文号, approval date) and the dates;
* runs the new name through the same naming-rules checker as a place proposal
  (:func:`rules_findings`): a blocking finding refuses the change (``RuleViolation``) unless
  the officer records ``rules_override_reason``; the findings are kept on the change record;
* renames the ``divisions`` row (the code stays: a rename is not a recode);
* renames the division's registry record the way the registry renames any record: the old
  record becomes historical (findable as history) and a new record in force carries the new
  name and its romanization (``registry.rename_place``, which writes ``place_versions``);
* appends a ``division_change_records`` row (the approval) and a ``division_changes``
  row (the public division history, shared with the shipped 1979-2023 changes).

It runs on a connection so that a higher layer can change what depends on division names in
the same transaction: the boundaries domain renames its line names
(``boundaries.division_changes.rename_division`` is the service the web layer and the CLI
call). The ordinary place workflow refuses division records (``is_division``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gazetteer import changes, reservations
from gazetteer.core.actors import Actor, require_role
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import InvalidInput, RuleViolation
from gazetteer.core.store import first_or_not_found, row_by_id
from gazetteer.core.text import form_text
from gazetteer.law_tables import division_change_records
from gazetteer.pinyin import syllables, unconfirmed
from gazetteer.registry import civil_date, jsonable, rename_place
from gazetteer.romanize import romanize
from gazetteer.tables import division_changes as division_history
from gazetteer.tables import divisions, places

# Division levels whose names change only by a division change (乡镇级以上).
DIVISION_LEVELS = ("province", "city", "county", "township")
LEVEL_NAMES_ZH = {"province": "省级", "city": "地级", "county": "县级", "township": "乡级"}
DIVISION_CLASS = "行政区域"
REFUSAL = (
    "行政区划的命名、更名按照《行政区划管理条例》办理（《地名管理条例》第十二条），"
    "不能通过地名命名更名程序办理；请在“区划变更”中登记批准文件"
)


def is_division(conn, *, feature_class: str | None, own_division_code: str | None) -> bool:
    """True for a record naming a division of township level or higher, or a new name of
    the division class (village and residents' committees are not divisions)."""
    if own_division_code:
        level = conn.execute(
            sa.select(divisions.c.level).where(divisions.c.code == own_division_code)
        ).scalar()
        return level in DIVISION_LEVELS
    return feature_class == DIVISION_CLASS


def rules_findings(conn, corpus, *, division, new_name: str, record_id) -> list[dict]:
    """The naming-rules findings (``gazetteer.rules.check_name``, the checker every place
    proposal passes) for ``new_name`` as the name of ``division`` (a ``divisions`` row),
    compared with the names in force except the division's own record ``record_id``, plus the
    names other proposals hold (name reservation). Ordered blocking, warning, note."""
    from gazetteer.rules import check_name

    path = division.path.split("/") if division.path else []
    findings = [
        f.to_dict()
        for f in check_name(new_name, DIVISION_CLASS, path, corpus, exclude_id=record_id)
    ]
    findings += reservations.reservation_findings(
        conn, name=new_name, feature_class=DIVISION_CLASS, division_code=division.code
    )
    findings.sort(key=lambda f: ("blocking", "warning", "note").index(f["severity"]))
    return findings


def record_division_rename(
    conn,
    actor: Actor,
    *,
    code,
    new_name,
    approving_body,
    document_number,
    approval_date,
    reason,
    effective_date=None,
    rules_override_reason=None,
    corpus,
    now: dt.datetime,
) -> dict:
    """Rename division ``code`` on ``conn`` (inside the caller's write transaction).

    The approval's fields come as entered (a page's form, an API body): each must be given,
    and an empty or wrong one is ``InvalidInput``. Dates are civil dates (ISO strings or
    ``datetime.date``); ``effective_date`` defaults to the approval date and may not be in
    the future or before the approval. ``corpus`` is the
    ``NameCorpus`` the new name is checked against (《地名管理条例》 Art. 9, as for any name):
    a blocking finding raises ``RuleViolation`` (details: the findings) unless
    ``rules_override_reason`` says why the approval stands anyway. Returns the change record
    with its ``findings``. Raises ``Forbidden`` (officers only), ``NotFound``,
    ``InvalidInput``, ``RuleViolation``."""
    require_role(actor, {"officer"}, "登记行政区划变更")
    code = str(code or "").strip()
    row = first_or_not_found(
        conn,
        sa.select(divisions).where(divisions.c.code == code),
        f"没有代码为 {code or '（空）'} 的行政区划",
    )
    if row.level not in DIVISION_LEVELS:
        raise InvalidInput("村级组织不是行政区划：其名称按地名命名更名程序办理")
    new_name = form_text(new_name, "新名称", 100, field="new_name", single_line=True)
    if new_name == row.name:
        raise InvalidInput("新名称与现名称相同")
    body = form_text(approving_body, "批准机关", 200, field="approving_body", single_line=True)
    number = form_text(document_number, "批准文号", 100, field="document_number", single_line=True)
    reason = form_text(reason, "变更理由", 5000, field="reason")
    approved = parse_date(approval_date, "批准日期")
    if approved is None:
        raise InvalidInput("请填写批准日期")
    effective = parse_date(effective_date, "生效日期") or approved
    today = civil_date(now)
    if approved > today:
        raise InvalidInput("批准日期不能晚于今天")
    if not approved <= effective <= today:
        raise InvalidInput("生效日期应在批准日期与今天之间")
    clash = conn.execute(
        sa.select(divisions.c.code).where(
            divisions.c.name == new_name,
            divisions.c.parent_code == row.parent_code,
            divisions.c.code != code,
        )
    ).first()
    if clash is not None:
        raise InvalidInput(f"同一上级区划下已有“{new_name}”（{clash.code}）")
    record = conn.execute(
        sa.select(places).where(places.c.own_division_code == code, places.c.status == "in_force")
    ).first()
    findings = rules_findings(
        conn,
        corpus,
        division=row,
        new_name=new_name,
        record_id=record.id if record is not None else None,
    )
    override = rules_override_reason.strip() if isinstance(rules_override_reason, str) else ""
    blocking = [f for f in findings if f["severity"] == "blocking"]
    if blocking and not override:
        raise RuleViolation(
            "新名称未通过命名规则审查："
            + "；".join(f["message"] for f in blocking)
            + "。如批准文件已对此作出说明，请填写“审查意见豁免理由”后重新登记",
            details={"findings": findings},
        )
    conn.execute(
        divisions.update()
        .where(divisions.c.code == code)
        .values(name=new_name, name_source=f"区划变更 {number}")
    )
    new_place_id = None
    if record is not None:
        rom = romanize(new_name, DIVISION_CLASS)
        new_place_id = rename_place(
            conn,
            record.id,
            {
                "name": new_name,
                "romanized": rom.text,
                "romanized_toned": rom.toned,
                "specific_term": rom.specific,
                "generic_term": rom.generic,
                "pinyin_key": " ".join(syllables(new_name)),
                "heteronyms": rom.heteronyms or None,
                "heteronyms_confirmed": not unconfirmed(rom.heteronyms),
                "registering_unit": body,
            },
            effective_date=effective,
            reason=f"行政区划更名：{body} {number}；{reason}",
            actor=actor,
            now=now,
        )
    changes.places_changed(conn)  # listeners (search index, name corpus) hear after commit
    result = conn.execute(
        division_change_records.insert().values(
            division_code=code,
            change_type="rename",
            old_name=row.name,
            new_name=new_name,
            approving_body=body,
            document_number=number,
            approval_date=approved,
            effective_date=effective,
            reason=reason,
            findings=findings,
            rules_override_reason=override or None,
            old_place_id=record.id if record is not None else None,
            new_place_id=new_place_id,
            recorded_by=actor.username,
            recorded_at=now,
        )
    )
    change_id = result.inserted_primary_key[0]
    # The public division history (the same table the shipped 1979-2023 changes live in)
    # gets the change too, so that the former name is found and listed like any other.
    conn.execute(
        division_history.insert().values(
            change_id=f"REC{change_id:06d}",
            date=approved.isoformat(),
            date_precision="day",
            effective_date=effective,
            change_type="rename",
            old_code=code,
            old_name=row.name,
            new_code=code,
            new_name=new_name,
            parent_code=row.parent_code,
            document=f"{body} {number}",
            source=f"区划变更记录 {change_id}（本系统登记）",
            verified=True,
        )
    )
    return get_change(conn, change_id)


def set_lines_renamed(conn, change_id: int, renamed: list[dict]) -> None:
    """Note on the change record which boundary lines it renamed (written by boundaries)."""
    conn.execute(
        division_change_records.update()
        .where(division_change_records.c.id == change_id)
        .values(lines_renamed=renamed)
    )


def _as_dict(row) -> dict:
    return {k: jsonable(v) for k, v in row._asdict().items()}


def get_change(conn, change_id: int) -> dict:
    row = row_by_id(
        conn, division_change_records, change_id, f"没有编号为 {change_id} 的区划变更记录"
    )
    return _as_dict(row)


def list_changes(conn, *, code: str | None = None, limit: int = 100) -> list[dict]:
    """Recorded division changes, newest first (optionally of one division)."""
    query = (
        sa.select(division_change_records)
        .order_by(division_change_records.c.id.desc())
        .limit(limit)
    )
    if code:
        query = query.where(division_change_records.c.division_code == code)
    return [_as_dict(r) for r in conn.execute(query)]
