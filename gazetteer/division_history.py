"""Historical divisions: Guangdong's city- and county-level division changes since 1979
(data/division_changes.csv, built and sourced on its own: see data/README.md) imported as
history.

* ``import_division_changes`` loads the table into ``division_changes`` and makes each
  former name a historical place record (status ``historical``, source key
  ``divhist:<change_id>``) linked through ``place_links`` to its successor: the next former
  name of the same division or, at the end of the line, the division's current record. So a
  former name is found as a former name (番禺县 and 番禺市 → 番禺区, ``matched_form``
  ``former_name``), the place page lists it, and the registry's as-of reads see it. Rows of
  the same name (a new code, a new parent) continue the line without a record of their own.
  A division abolished with no successor keeps its historical record, unlinked.
* ``former_name_periods`` gives, for each historical record, the period its name was in use
  as the table states it (``1992``–``2000``, or exact days where known).
* ``divisions_as_of`` lists the city- and county-level divisions of a past date, by undoing
  the changes after it from today's divisions.

Dates: ``date`` is as precise as the table says (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``);
``effective_date`` is its first day, which as-of reads compare with (a change known only to
the year counts from 1 January of that year: the yearly code lists cannot say more).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from gazetteer import changes
from gazetteer.core.dates import date_as_known
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.pinyin import syllables
from gazetteer.registry_tables import place_links
from gazetteer.romanize import romanize
from gazetteer.tables import division_changes, divisions, places

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "division_changes.csv"
SOURCE_PREFIX = "divhist:"
# The columns of DATA_FILE, in order (scripts/build_division_changes.py writes them).
CHANGE_COLUMNS = (
    "change_id",
    "date",
    "date_precision",
    "change_type",
    "old_code",
    "old_name",
    "new_code",
    "new_name",
    "parent_code",
    "document",
    "source",
    "verified",
)
CHANGE_WORDS = {
    "rename": "更名",
    "county_to_city": "撤县设市",
    "city_to_district": "撤市设区",
    "county_to_district": "撤县设区",
    "merge": "合并",
    "split": "分设",
    "establish": "设立",
    "abolish": "撤销",
    "transfer": "改变隶属",
    "recode": "代码调整",
}
# Rows whose old name lives on in the new division (its name is a former name of it).
_SUCCESSION = {
    "rename",
    "county_to_city",
    "city_to_district",
    "county_to_district",
    "merge",
    "split",
}
_MAX_LINE = 50  # steps followed along one division's line (the table has at most a handful)


def effective_date(date: str, precision: str) -> dt.date:
    """The first day of a ``YYYY``/``YYYY-MM``/``YYYY-MM-DD`` date. Raises InvalidInput."""
    try:
        if precision == "year":
            return dt.date(int(date[:4]), 1, 1)
        if precision == "month":
            return dt.date(int(date[:4]), int(date[5:7]), 1)
        if precision == "day":
            return dt.date.fromisoformat(date)
    except ValueError:
        pass
    raise InvalidInput(f"无法识别的日期：{date!r}（精度 {precision!r}）")


def read_changes(path: Path = DATA_FILE) -> list[dict]:
    """Rows of the CSV as ``division_changes`` values, in date order."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append(
                {
                    "change_id": r["change_id"],
                    "date": r["date"],
                    "date_precision": r["date_precision"],
                    "effective_date": effective_date(r["date"], r["date_precision"]),
                    "change_type": r["change_type"],
                    "old_code": r["old_code"] or None,
                    "old_name": r["old_name"] or None,
                    "new_code": r["new_code"] or None,
                    "new_name": r["new_name"] or None,
                    "parent_code": r["parent_code"] or None,
                    "document": r["document"] or None,
                    "source": r["source"],
                    "verified": r["verified"] == "yes",
                }
            )
    return sorted(rows, key=lambda r: (r["effective_date"], r["change_id"]))


@dataclass
class FormerName:
    """One former name of the history: the old side of ``change``."""

    change: dict
    name: str
    code: str | None
    since: str | None  # the date the name came in, as precise as the table says
    until: str  # the date of the change that ended it
    successor: str | None  # change_id of the next former name on the line, or None
    current_code: str | None  # the division at the end of the line, if it is current

    @property
    def source_key(self) -> str:
        return SOURCE_PREFIX + self.change["change_id"]


def plan(rows: list[dict], current: dict[str, str]) -> list[FormerName]:
    """The former names of ``rows`` (date order) and how they link. ``current``: {code:
    name} of today's divisions."""
    named = [r for r in rows if r["old_name"] and r["old_name"] != r["new_name"]]
    by_old: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["old_code"] and r["old_name"]:
            by_old.setdefault((r["old_code"], r["old_name"]), []).append(r)

    def next_on_line(code: str, name: str, after: dict) -> dict | None:
        """The first later row whose old side is (code, name)."""
        for r in by_old.get((code, name), []):
            if (r["effective_date"], r["change_id"]) > (
                after["effective_date"],
                after["change_id"],
            ):
                return r
        return None

    def since_of(r: dict) -> str | None:
        # The latest earlier row that brought this name in under another name (or set it up).
        best = None
        for p in rows:
            if (p["effective_date"], p["change_id"]) >= (r["effective_date"], r["change_id"]):
                break
            if p["new_name"] == r["old_name"] and p["old_name"] != p["new_name"]:
                best = p
        return best["date"] if best else None

    out = []
    for r in named:
        successor, current_code = None, None
        if r["change_type"] in _SUCCESSION and r["new_code"]:
            code, name, at = r["new_code"], r["new_name"], r
            for _ in range(_MAX_LINE):
                nxt = next_on_line(code, name, at)
                if nxt is None:
                    if current.get(code) == name:
                        current_code = code
                    break
                if nxt["old_name"] != nxt["new_name"] or not nxt["new_code"]:
                    successor = nxt["change_id"]  # the next former name (or its end)
                    break
                code, name, at = nxt["new_code"], nxt["new_name"], nxt  # same name, new code
        out.append(
            FormerName(
                r, r["old_name"], r["old_code"], since_of(r), r["date"], successor, current_code
            )
        )
    return out


def _nearest_division(code: str | None, known: set[str]) -> str:
    """The code itself, its city (first four digits) or the province, whichever exists."""
    for c in (code, code and code[:4] + "00", "440000"):
        if c and c in known:
            return c
    return "440000"


def import_division_changes(store: Store, path: Path = DATA_FILE) -> dict:
    """Load the table and its former names, idempotently (rows matched by ``change_id``,
    records by source key; nothing is deleted). Returns counts."""
    rows = read_changes(path)
    counts = {"changes": 0, "records": 0, "links": 0}
    with store.write(actor="system:import") as conn:
        have = {r.change_id: r._asdict() for r in conn.execute(sa.select(division_changes))}
        for r in rows:
            old = have.get(r["change_id"])
            if old is None:
                conn.execute(division_changes.insert().values(**r))
                counts["changes"] += 1
            elif any(old[k] != v for k, v in r.items()):
                conn.execute(
                    division_changes.update()
                    .where(division_changes.c.change_id == r["change_id"])
                    .values(**r)
                )
                counts["changes"] += 1
        div = dict(
            conn.execute(
                sa.select(divisions.c.code, divisions.c.name).where(
                    divisions.c.level.in_(("province", "city", "county"))
                )
            ).all()
        )
        current_ids = dict(
            conn.execute(
                sa.select(places.c.own_division_code, places.c.id).where(
                    places.c.own_division_code.in_(list(div)), places.c.status == "in_force"
                )
            ).all()
        )
        former = plan(rows, div)
        ids = dict(
            conn.execute(
                sa.select(places.c.source_key, places.c.id).where(
                    places.c.source_key.like(SOURCE_PREFIX + "%")
                )
            ).all()
        )
        known = set(div)
        for f in former:
            if f.source_key in ids:
                continue
            syl = syllables(f.name)
            roman = romanize(f.name)
            change = f.change
            words = CHANGE_WORDS.get(change["change_type"], change["change_type"])
            note = f"{change['date']} {words}：{f.name}" + (
                f" → {change['new_name']}" if change["new_name"] else ""
            )
            if change["document"]:
                note += f"（{change['document']}）"
            ids[f.source_key] = conn.execute(
                places.insert().values(
                    source_key=f.source_key,
                    name=f.name,
                    romanized=roman.text,
                    romanized_toned=roman.toned,
                    specific_term=roman.specific,
                    generic_term=roman.generic,
                    pinyin_key=" ".join(syl),
                    feature_class="行政区域",
                    feature_type="行政区划（历史）",
                    division_code=_nearest_division(
                        change["parent_code"] if change["change_type"] == "abolish" else f.code,
                        known,
                    ),
                    status="historical",
                    named_date=effective_date(f.since, _precision(f.since)) if f.since else None,
                    retired_date=change["effective_date"],
                    history=note,
                    source="data/division_changes.csv "
                    + change["change_id"]
                    + ("" if change["verified"] else "（未经核实）"),
                )
            ).inserted_primary_key[0]
            counts["records"] += 1
        linked = {
            (r.old_place_id, r.new_place_id)
            for r in conn.execute(sa.select(place_links.c.old_place_id, place_links.c.new_place_id))
        }
        for f in former:
            target = (
                ids.get(SOURCE_PREFIX + f.successor)
                if f.successor
                else current_ids.get(f.current_code)
            )
            if target is None or (ids[f.source_key], target) in linked:
                continue
            conn.execute(
                place_links.insert().values(
                    old_place_id=ids[f.source_key],
                    new_place_id=target,
                    kind="merged" if f.change["change_type"] == "merge" else "renamed",
                    effective_date=f.change["effective_date"],
                )
            )
            counts["links"] += 1
        if counts["records"] or counts["links"]:
            changes.places_changed(conn)
    return counts


def _precision(date: str) -> str:
    return {4: "year", 7: "month"}.get(len(date), "day")


def period_of(conn, change_id: str) -> dict | None:
    """{"since", "until"} of the old name of one change: until the change's date, since the
    latest earlier change that brought that name in (None when the table does not say)."""
    row = conn.execute(
        sa.select(division_changes).where(division_changes.c.change_id == change_id)
    ).first()
    if row is None:
        return None
    before = conn.execute(
        sa.select(division_changes.c.date)
        .where(
            division_changes.c.new_name == row.old_name,
            sa.or_(
                division_changes.c.old_name.is_(None),
                division_changes.c.old_name != division_changes.c.new_name,
            ),
            sa.or_(
                division_changes.c.effective_date < row.effective_date,
                sa.and_(
                    division_changes.c.effective_date == row.effective_date,
                    division_changes.c.change_id < row.change_id,
                ),
            ),
        )
        .order_by(division_changes.c.effective_date.desc(), division_changes.c.change_id.desc())
    ).first()
    return {"since": before.date if before else None, "until": row.date}


def record_periods(conn, place_ids) -> dict[int, dict]:
    """{record id: {"since", "until"}} for those of ``place_ids`` that this module made
    (historical division names): their dates as precise as the table states them (``1992``,
    ``2000-05-21``), where the record's own date columns hold the first day of the period."""
    keys = conn.execute(
        sa.select(places.c.id, places.c.source_key).where(
            places.c.id.in_(list(place_ids)), places.c.source_key.like(SOURCE_PREFIX + "%")
        )
    ).all()
    out = {}
    for pid, key in keys:
        period = period_of(conn, key[len(SOURCE_PREFIX) :])
        if period is not None:
            out[pid] = period
    return out


def former_name_periods(store: Store) -> dict[int, dict]:
    """{historical record id: {"since", "until", "change_id", "document", "verified"}} for
    the records this module made: the period as precise as the table says."""
    with store.read() as conn:
        rows = [r._asdict() for r in conn.execute(sa.select(division_changes))]
        if not rows:
            return {}
        ids = dict(
            conn.execute(
                sa.select(places.c.source_key, places.c.id).where(
                    places.c.source_key.like(SOURCE_PREFIX + "%")
                )
            ).all()
        )
    rows.sort(key=lambda r: (r["effective_date"], r["change_id"]))
    out = {}
    for f in plan(rows, {}):
        pid = ids.get(f.source_key)
        if pid is not None:
            out[pid] = {
                "since": f.since,
                "until": f.until,
                "change_id": f.change["change_id"],
                "document": f.change["document"],
                "verified": f.change["verified"],
            }
    return out


def division_changes_of(conn, code: str | None) -> list[dict]:
    """The changes on the line of the current division ``code`` (its former names and what
    happened to them), oldest first, for its place page."""
    if not code:
        return []
    pid = conn.execute(
        sa.select(places.c.id).where(
            places.c.own_division_code == code, places.c.status == "in_force"
        )
    ).scalar()
    if pid is None:
        return []
    links = conn.execute(sa.select(place_links.c.old_place_id, place_links.c.new_place_id)).all()
    older: dict[int, list[int]] = {}
    for old, new in links:
        older.setdefault(new, []).append(old)
    seen, frontier = set(), [pid]
    while frontier:
        p = frontier.pop()
        for o in older.get(p, []):
            if o not in seen:
                seen.add(o)
                frontier.append(o)
    if not seen:
        return []
    keys = dict(
        conn.execute(
            sa.select(places.c.id, places.c.source_key).where(
                places.c.id.in_(seen), places.c.source_key.like(SOURCE_PREFIX + "%")
            )
        ).all()
    )
    change_ids = {k[len(SOURCE_PREFIX) :]: i for i, k in keys.items()}
    rows = conn.execute(
        sa.select(division_changes)
        .where(division_changes.c.change_id.in_(list(change_ids)))
        .order_by(division_changes.c.effective_date, division_changes.c.change_id)
    ).all()
    return [
        {
            "change_id": r.change_id,
            "place_id": change_ids[r.change_id],
            "former_name": r.old_name,
            "valid_to": date_as_known(r.date),
            "valid_from": date_as_known((period_of(conn, r.change_id) or {}).get("since")),
            "description": f"{date_as_known(r.date)}{CHANGE_WORDS.get(r.change_type, r.change_type)}"
            + (f"为{r.new_name}" if r.new_name else ""),
            "document": r.document,
            "verified": r.verified,
        }
        for r in rows
    ]


FIRST_YEAR = 1979  # the first year of the change table (宝安县, the first code list)


def divisions_as_of(store: Store, day: dt.date) -> list[dict]:
    """Guangdong's city- and county-level divisions on ``day`` (a civil date), by undoing
    every change that took effect after it: [{code, name, parent_code}] sorted by code.

    The table covers changes since 1979: earlier dates are refused (InvalidInput)."""
    if not isinstance(day, dt.date):
        raise InvalidInput("日期格式应为 YYYY-MM-DD", details={"field": "date"})
    if day.year < FIRST_YEAR:
        raise InvalidInput(f"历史区划数据自 {FIRST_YEAR} 年起", details={"field": "date"})
    with store.read() as conn:
        now = {
            r.code: {"code": r.code, "name": r.name, "parent_code": r.parent_code}
            for r in conn.execute(
                sa.select(divisions.c.code, divisions.c.name, divisions.c.parent_code).where(
                    divisions.c.in_guangdong,
                    divisions.c.level.in_(("city", "county")),
                )
            )
        }
        later = conn.execute(
            sa.select(division_changes)
            .where(division_changes.c.effective_date > day)
            .order_by(division_changes.c.effective_date.desc(), division_changes.c.change_id.desc())
        ).all()
    for r in later:  # newest first: undo each
        if (
            r.new_code
            and r.change_type not in ("merge",)
            and now.get(r.new_code, {}).get("name") == r.new_name
        ):
            del now[r.new_code]
        if r.old_name and r.change_type != "establish":
            # A division before the first code list (宝安县, 1979) has no code in the table.
            code = r.old_code or f"({r.change_id})"
            parent = r.parent_code if r.change_type == "abolish" else (code[:4] + "00")
            if parent == code or not r.old_code:
                parent = r.parent_code or "440000"
            now[code] = {"code": r.old_code, "name": r.old_name, "parent_code": parent}
    return sorted(now.values(), key=lambda d: d["code"] or "")


@dataclass(frozen=True)
class FormerDivision:
    """A former division name and the division in force today that carries it on."""

    name: str
    current_code: str
    change_id: str  # the change that ended the name
    until: str  # its date, as precise as the table says
    change_type: str


def former_divisions(conn, current: dict[str, str]) -> dict[str, list[FormerDivision]]:
    """{former name: the divisions of today it became} from ``division_changes`` (the
    shipped 1979-2023 table and every rename recorded since), following each line through
    its later former names to the division in force (番禺县 → 番禺市 → 番禺区).
    ``current``: {code: name} of today's divisions. A name that led to several of today's
    divisions lists each; a name that ended with no successor is left out."""
    rows = [
        r._asdict()
        for r in conn.execute(
            sa.select(division_changes).order_by(
                division_changes.c.effective_date, division_changes.c.change_id
            )
        )
    ]
    names = plan(rows, current)
    by_change = {f.change["change_id"]: f for f in names}
    out: dict[str, list[FormerDivision]] = {}
    for f in names:
        end = f
        for _ in range(_MAX_LINE):
            if end.current_code or end.successor not in by_change:
                break
            end = by_change[end.successor]
        if not end.current_code:
            continue
        entries = out.setdefault(f.name, [])
        if all(e.current_code != end.current_code for e in entries):
            entries.append(
                FormerDivision(
                    f.name,
                    end.current_code,
                    f.change["change_id"],
                    f.until,
                    f.change["change_type"],
                )
            )
    return out
