"""Public notices (公示), public opinions on them, announcements (公告) and the change feed.

The law makes the notice of a proposed name public so that people can comment; this module
is what the public sees and may do, without Flask:

* ``list_notices`` / ``get_notice``: proposals on notice, with their reasons, location,
  division and notice period (open or ended);
* ``submit_public_opinion``: anyone may leave an opinion while the notice period runs. It is
  stored as a ``proposal_opinions`` row of kind ``public`` (officers see it on the
  proposal), with limits: the text's length, a honeypot field that people never fill, and
  per-address limits counted on a keyed digest of the sender's address (the address itself
  is never stored);
* ``list_announcements``: announced and in-force proposals with the announcement text;
* ``registry_changes``: every change to the registry (``place_versions``), oldest first,
  from a sequence number or an instant, for harvesters. Staff account names are left out.

Dates (notice period, announcement) are civil dates in China; instants are UTC.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from shapely.geometry import mapping

from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.core.store import Store
from gazetteer.core.text import canonical_number, clean_text
from gazetteer.place_view import map_context
from gazetteer.registry import Clock, as_utc, civil_date, division_info, jsonable, utcnow
from gazetteer.registry_tables import place_versions, proposal_opinions, proposals
from gazetteer.workflow import KIND_NAMES_ZH, record_of

OPINION_MIN_CHARS = 5
OPINION_MAX_CHARS = 2000
AUTHOR_MAX_CHARS = 50
# Per address: opinions on one notice, and opinions on all notices in one civil day. A
# household or an office behind one address may well send a few; a script sends many.
OPINIONS_PER_NOTICE_PER_ADDRESS = 3
OPINIONS_PER_DAY_PER_ADDRESS = 10
PUBLIC_AUTHOR = "公众（未署名）"
PUBLIC_RECORDER = "public"  # recorded_by of public opinions: not an account
MAX_FEED_ITEMS = 1000
# Record fields a harvester gets in the change feed (no staff account names).
FEED_RECORD_FIELDS = (
    "id",
    "name",
    "specific_term",
    "generic_term",
    "romanized",
    "feature_class",
    "feature_type",
    "division_code",
    "own_division_code",
    "status",
    "named_date",
    "retired_date",
    "meaning",
    "source",
)


def _public_opinion_count(conn, proposal_ids: list[int]) -> dict[int, int]:
    if not proposal_ids:
        return {}
    return dict(
        conn.execute(
            sa.select(proposal_opinions.c.proposal_id, sa.func.count())
            .where(
                proposal_opinions.c.proposal_id.in_(proposal_ids),
                proposal_opinions.c.kind == "public",
            )
            .group_by(proposal_opinions.c.proposal_id)
        ).all()
    )


# A notice stays public after it closes, with what came of it (the public read it and may
# have commented: they may come back to see the outcome).
OUTCOME_ZH = {
    "on_notice": "公示中",
    "approved": "已批准，待公告",
    "announced": "已批准并公告",
    "in_force": "已批准并生效",
    "rejected": "不予批准",
    "withdrawn": "申请已撤回",
}


def _was_on_notice(row) -> bool:
    """Whether the public has seen the proposal on notice (and so may read it still)."""
    return row is not None and row.notice_start is not None and row.state in OUTCOME_ZH


def _notice(conn, row, today: dt.date, counts: dict[int, int]) -> dict:
    proposed = dict(row.proposed or {})
    # A renaming or retirement is about a record: the public must see which (its name as
    # it stands, and where it is when the proposal gives no location of its own).
    place = record_of(conn, row.place_id)
    location = row.location if row.location is not None else (place.geom if place else None)
    on_notice = row.state == "on_notice" and row.notice_end is not None
    open_ = on_notice and row.notice_start <= today <= row.notice_end
    # Published ahead of its start (an officer may set a later start): not closed, not yet open.
    upcoming = on_notice and today < row.notice_start
    if upcoming:
        outcome_zh = f"即将公示（{row.notice_start.isoformat()} 开始）"
    elif on_notice and not open_:
        outcome_zh = "公示期满，待审批"
    elif row.state == "withdrawn" and row.decision == "approved":
        outcome_zh = "已批准，后因原记录变更或名称已被占用而终止"
    else:
        outcome_zh = OUTCOME_ZH[row.state]
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_zh": KIND_NAMES_ZH[row.kind],
        "name": proposed.get("name") or (place.name if place else None),
        "romanized": proposed.get("romanized"),
        "feature_class": proposed.get("feature_class"),
        "place_id": row.place_id,
        "place_name": place.name if place else None,
        "applicant": row.applicant,
        "reasons": row.reasons,
        "division": division_info(conn, row.division_code),
        "location": mapping(location) if location is not None else None,
        "notice_start": jsonable(row.notice_start),
        "notice_end": jsonable(row.notice_end),
        "open": open_,
        "upcoming": upcoming,
        # Days the notice still runs, today included (both ends count): 30 on the first
        # day of a 30-day notice, 1 on its last, the whole period before it starts, 0 after.
        "days_left": (row.notice_end - max(today, row.notice_start)).days + 1
        if open_ or upcoming
        else 0,
        "state": row.state,
        "outcome_zh": outcome_zh,
        "result_place_id": row.result_place_id
        or (row.place_id if row.state in ("announced", "in_force") else None),
        "announced": row.state in ("announced", "in_force"),
        "public_opinions": counts.get(row.id, 0),
    }


def list_notices(store: Store, *, clock: Clock = utcnow) -> list[dict]:
    """Proposals on notice (公示中), newest notice first."""
    today = civil_date(clock())
    with store.read() as conn:
        rows = conn.execute(
            sa.select(proposals)
            .where(proposals.c.state == "on_notice")
            .order_by(proposals.c.notice_start.desc(), proposals.c.id.desc())
        ).all()
        counts = _public_opinion_count(conn, [r.id for r in rows])
        return [_notice(conn, r, today, counts) for r in rows]


def get_notice(store: Store, proposal_id: int, *, clock: Clock = utcnow) -> dict:
    """One proposal that is or was on notice, with its outcome (``state``, ``outcome_zh``)
    once the notice closed. Raises ``NotFound`` when it never was on notice."""
    today = civil_date(clock())
    with store.read() as conn:
        row = conn.execute(sa.select(proposals).where(proposals.c.id == proposal_id)).first()
        if not _was_on_notice(row):
            raise NotFound(f"没有编号为 {proposal_id} 的公示")
        notice = _notice(conn, row, today, _public_opinion_count(conn, [row.id]))
        # The page's map draws the location among its division and the neighbouring ones.
        notice["map_context"] = map_context(conn, row.division_code)
        return notice


def submit_public_opinion(
    store: Store,
    proposal_id: int,
    *,
    body,
    author=None,
    honeypot=None,
    source_digest: str,
    clock: Clock = utcnow,
) -> dict:
    """Record an opinion from the public on a proposal on notice.

    ``source_digest``: a keyed digest of the sender's address (the web layer makes it with
    the app's secret), used only to count. Raises ``InvalidInput`` for a filled honeypot,
    a missing, too short or too long text; ``NotFound`` when the proposal never was on
    notice; ``Conflict`` when the notice period is not running (or the notice closed), the
    same text was already sent from the address, or an address limit is reached."""
    if honeypot:
        # People never see the field; only form-filling scripts fill it.
        raise InvalidInput("提交未被接受", details={"field": "website"})
    if body is not None and not isinstance(body, str):
        raise InvalidInput("意见内容应为文字（字符串）", details={"field": "body"})
    if not body or not body.strip():
        raise InvalidInput("请填写意见内容", details={"field": "body"})
    body = clean_text(body.strip(), "body", label="意见内容")
    if not OPINION_MIN_CHARS <= len(body) <= OPINION_MAX_CHARS:
        raise InvalidInput(
            f"意见内容应为 {OPINION_MIN_CHARS}～{OPINION_MAX_CHARS} 个字符（现为 {len(body)} 个）",
            details={"field": "body", "length": len(body)},
        )
    if author is not None and not isinstance(author, str):
        raise InvalidInput("署名应为文字", details={"field": "author"})
    author = (
        clean_text((author or "").strip(), "author", label="署名", single_line=True)
        or PUBLIC_AUTHOR
    )
    if len(author) > AUTHOR_MAX_CHARS:
        raise InvalidInput(f"署名最多 {AUTHOR_MAX_CHARS} 个字符", details={"field": "author"})
    if not source_digest:
        raise InvalidInput("缺少来源标识")
    now = clock()
    today = civil_date(now)
    with store.write(actor=PUBLIC_RECORDER) as conn:
        row = conn.execute(sa.select(proposals).where(proposals.c.id == proposal_id)).first()
        if not _was_on_notice(row):
            raise NotFound(f"没有编号为 {proposal_id} 的公示")
        if row.state != "on_notice":
            ended = (
                "申请已撤回，该公示已终止"
                if row.state == "withdrawn"
                else f"该公示已结束（{OUTCOME_ZH[row.state]}）"
            )
            raise Conflict(f"{ended}，不再接受意见", details={"state": row.state})
        if not (row.notice_start <= today <= row.notice_end):
            raise Conflict(
                f"公示期为 {row.notice_start.isoformat()} 至 {row.notice_end.isoformat()}，"
                + (
                    "公示尚未开始，开始后才能提交意见"
                    if today < row.notice_start
                    else "公示期已过，不能再提交意见"
                )
            )
        mine = proposal_opinions.c.source_digest == source_digest
        same = conn.execute(
            sa.select(proposal_opinions.c.id).where(
                mine,
                proposal_opinions.c.proposal_id == proposal_id,
                proposal_opinions.c.body == body,
            )
        ).first()
        if same is not None:  # a second click or a resend: keep one copy
            raise Conflict("这条意见已经提交过了，无需重复提交", details={"opinion_id": same.id})
        on_this = conn.execute(
            sa.select(sa.func.count()).where(mine, proposal_opinions.c.proposal_id == proposal_id)
        ).scalar()
        if on_this >= OPINIONS_PER_NOTICE_PER_ADDRESS:
            raise Conflict(
                f"同一网络地址对同一公示最多提交 {OPINIONS_PER_NOTICE_PER_ADDRESS} 条意见",
                details={"limit": OPINIONS_PER_NOTICE_PER_ADDRESS},
            )
        # The civil day in China began at 16:00 UTC the day before.
        day_start = dt.datetime.combine(today, dt.time(), dt.UTC) - dt.timedelta(hours=8)
        today_count = conn.execute(
            sa.select(sa.func.count()).where(mine, proposal_opinions.c.recorded_at >= day_start)
        ).scalar()
        if today_count >= OPINIONS_PER_DAY_PER_ADDRESS:
            raise Conflict(
                f"同一网络地址每天最多提交 {OPINIONS_PER_DAY_PER_ADDRESS} 条意见，请明天再试",
                details={"limit": OPINIONS_PER_DAY_PER_ADDRESS},
            )
        opinion_id = conn.execute(
            proposal_opinions.insert().values(
                proposal_id=proposal_id,
                kind="public",
                author=author,
                body=body,
                recorded_by=PUBLIC_RECORDER,
                recorded_at=now,
                source_digest=source_digest,
            )
        ).inserted_primary_key[0]
    return {
        "id": opinion_id,
        "proposal_id": proposal_id,
        "author": author,
        "body": body,
        "recorded_at": jsonable(as_utc(now)),
    }


def list_announcements(store: Store, *, limit: int = 100) -> list[dict]:
    """Announced (公告) proposals, newest first, with the announcement text."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit 应在 1 到 500 之间")
    with store.read() as conn:
        rows = conn.execute(
            sa.select(proposals)
            .where(
                proposals.c.state.in_(("announced", "in_force")),
                proposals.c.announced_on.is_not(None),
            )
            .order_by(proposals.c.announced_on.desc(), proposals.c.id.desc())
            .limit(limit)
        ).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "kind_zh": KIND_NAMES_ZH[r.kind],
                "name": dict(r.proposed or {}).get("name"),
                "state": r.state,
                "announced_on": jsonable(r.announced_on),
                "effective_date": jsonable(r.effective_date),
                "approving_body": r.approving_body,
                "decision_ref": r.decision_ref,
                "decision_date": jsonable(r.decision_date),
                "text": r.announcement_text,
                "place_id": r.result_place_id or r.place_id,
                "division": division_info(conn, r.division_code),
                "updated_at": jsonable(as_utc(r.updated_at)),
            }
            for r in rows
        ]


LAST_POSSIBLE_SEQUENCE = 2**31 - 1


def parse_since(value) -> tuple[int | None, dt.datetime | None]:
    """``since`` of the change feed: a sequence number (0 or more) or an ISO 8601 instant
    with a time zone. Returns (sequence, instant), one of them None."""
    if value is None or value == "":
        return 0, None
    text = str(value).strip()
    sequence = canonical_number(text)  # ASCII digits only: "١٢" is not sequence 12
    if sequence is not None:
        # place_versions.id is a 32-bit integer on PostgreSQL: a larger sequence is after
        # every change there is, not bad input (the database would refuse the comparison).
        return min(sequence, LAST_POSSIBLE_SEQUENCE), None
    try:
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "since 应为序号（如 120）或带时区的时间（如 2024-05-01T00:00:00Z）",
            details={"field": "since", "since": text},
        ) from None
    if instant.tzinfo is None:
        raise InvalidInput(
            "since 的时间须带时区（如 Z 或 +08:00）", details={"field": "since", "since": text}
        )
    return None, instant.astimezone(dt.UTC)


def registry_changes(store: Store, since=None, *, limit: int = 100) -> dict:
    """Changes to the registry after ``since`` (a sequence number, exclusive, or an instant,
    inclusive), oldest first: {"changes": [...], "next_since": last sequence, "more": bool}.

    Each change is one ``place_versions`` row: its sequence number, the place id and version,
    what changed (named, renamed, superseded, retired, corrected, imported), the civil date
    it took effect, when it was recorded (UTC) and the public fields of the record."""
    if not 1 <= limit <= MAX_FEED_ITEMS:
        raise InvalidInput(f"limit 应在 1 到 {MAX_FEED_ITEMS} 之间")
    sequence, instant = parse_since(since)
    query = sa.select(place_versions).order_by(place_versions.c.id).limit(limit + 1)
    if sequence is not None:
        query = query.where(place_versions.c.id > sequence)
    else:
        query = query.where(place_versions.c.recorded_at >= instant)
    with store.read() as conn:
        rows = conn.execute(query).all()
        if not rows and instant is not None:  # nothing since then: resume after what exists
            sequence = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(place_versions.c.id), 0)).where(
                    place_versions.c.recorded_at < instant
                )
            ).scalar()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        {
            "sequence": r.id,
            "place_id": r.place_id,
            "version": r.version,
            "change": r.change,
            "name": r.name,
            "status": r.status,
            "valid_from": jsonable(r.valid_from),
            "valid_to": jsonable(r.valid_to),
            "proposal_id": r.proposal_id,
            "recorded_at": jsonable(as_utc(r.recorded_at)),
            "record": {k: (r.record or {}).get(k) for k in FEED_RECORD_FIELDS},
            "geometry": mapping(r.geom) if r.geom is not None else None,
        }
        for r in rows
    ]
    next_since = changes[-1]["sequence"] if changes else (sequence if sequence is not None else 0)
    return {"changes": changes, "next_since": next_since, "more": more}
