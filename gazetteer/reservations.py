"""Name reservation: a name under proposal holds its place in its jurisdiction.

From submission until it comes into force, is withdrawn or is rejected, a naming or renaming
proposal reserves its specific term (专名) in the jurisdiction where the name must be unique
(《地名管理条例》 Art. 9 (7)–(8); the group and level come from ``rules/data/jurisdictions.csv``
as for names in force). A second proposal for the same specific term there gets a blocking
``reserved`` finding at the compliance check; one with the same toneless pinyin a
``reserved.homophone`` warning.

The check at ``check`` is not enough on its own: two proposals may pass it before either is
decided (or one may be overridden). ``in_force_conflicts`` is therefore run again when a
proposal comes into force, inside the write transaction, after ``lock_name`` has serialised
every writer that could register the same specific term (SQLite: ``BEGIN IMMEDIATE`` already
does; PostgreSQL: a transaction-level advisory lock on the jurisdiction and specific term).
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa

from gazetteer import pinyin
from gazetteer.registry_tables import proposal_events, proposals
from gazetteer.romanize import split_name
from gazetteer.rules.corpus import CORPUS_COLUMNS, NameCorpus
from gazetteer.rules.lexicons import load_rule_data
from gazetteer.tables import divisions, places

# A proposal holds its name from submission until it ends (in force, withdrawn, rejected).
RESERVING_STATES = ("submitted", "checked", "in_review", "on_notice", "approved", "announced")
# What ``_reserving`` reads of each pending proposal (not its whole row: there may be thousands).
_RESERVING_COLUMNS = (
    proposals.c.id,
    proposals.c.state,
    proposals.c.division_code,
    proposals.c.proposed,
)


def reservation_keys(name: str) -> dict[str, str | None]:
    """The columns by which a proposal's ``name`` reserves it: ``reserved_term``, its
    specific term (专名, as the rule corpus splits it), and ``reserved_reading``, that
    term's toneless pinyin; None for a name with no specific term. Stored with the
    proposal when its name is written, so a check looks up the few proposals holding the
    same term or reading rather than splitting every pending proposal's name."""
    specific, _ = split_name(name.strip())
    return {
        "reserved_term": specific or None,
        "reserved_reading": pinyin.pinyin_key(specific) if specific else None,
    }


def division_path(conn, code: str | None) -> list[str]:
    """Codes from the province down to ``code`` (``divisions.path``); [] when unknown."""
    if not code:
        return []
    path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
    return path.split("/") if path else [code]


def _entry(conn, corpus: NameCorpus, name, feature_class, division_code, *, id=None):
    """``corpus``'s entry (group, jurisdiction, specific term) for a name in the division
    ``division_code``; ``id`` None for a name not registered yet."""
    return corpus.index_entry(
        id=id,
        name=name,
        feature_class=feature_class,
        division_path=division_path(conn, division_code),
    )


def _reserving(conn, corpus: NameCorpus, query):
    """(index entry, conflict dict) for each proposal of ``query`` (in id order) that
    names a place: what a reservation is compared by, and what a finding reports."""
    paths: dict[str | None, list[str]] = {}  # proposals share a few divisions: one read each
    for row in conn.execute(query.order_by(proposals.c.id)):
        proposed = row.proposed or {}
        if not proposed.get("name") or not proposed.get("feature_class"):
            continue
        if row.division_code not in paths:
            paths[row.division_code] = division_path(conn, row.division_code)
        entry = corpus.index_entry(
            id=row.id,
            name=proposed["name"],
            feature_class=proposed["feature_class"],
            division_path=paths[row.division_code],
        )
        conflict = {
            "proposal_id": row.id,
            "name": proposed["name"],
            "state": row.state,
            "division_code": row.division_code,
        }
        yield entry, conflict


def reservation_conflicts(
    conn, *, name: str, feature_class: str, division_code: str, exclude_proposal_id=None
) -> dict[str, list[dict]]:
    """Other proposals in ``RESERVING_STATES`` whose name would be a duplicate
    (``"same"``) or a homophone (``"homophone"``) of ``name`` in its jurisdiction. Each is
    ``{proposal_id, name, state, division_code}``."""
    corpus = NameCorpus(data=load_rule_data())
    mine = _entry(conn, corpus, name, feature_class, division_code)
    out: dict[str, list[dict]] = {"same": [], "homophone": []}
    if not (mine.jcode and mine.specific):
        return out

    # A name is reserved by the proposal submitted first: the order of the (latest) submit
    # events. A proposal checked after a later one for the same name keeps its claim.
    def submitted(proposal_id):  # its latest submit event: one index lookup a proposal
        return (
            sa.select(sa.func.max(proposal_events.c.id))
            .where(proposal_events.c.proposal_id == proposal_id)
            .where(proposal_events.c.action == "submit")
            .scalar_subquery()
        )

    query = sa.select(*_RESERVING_COLUMNS).where(
        proposals.c.state.in_(RESERVING_STATES),
        proposals.c.kind.in_(("naming", "renaming")),
        # The same term or reading (two index lookups); and proposals stored before the
        # keys were (revision 0043), which are compared as they always were.
        sa.or_(
            proposals.c.reserved_term == mine.specific,
            proposals.c.reserved_reading == mine.pinyin_key,
            proposals.c.reserved_term.is_(None),
        ),
    )
    if exclude_proposal_id is not None:
        query = query.where(proposals.c.id != exclude_proposal_id)
        my_seq = conn.execute(sa.select(submitted(exclude_proposal_id))).scalar()
        if my_seq is not None:
            seq = submitted(proposals.c.id)
            query = query.where(sa.or_(seq.is_(None), seq < my_seq))
    for other, conflict in _reserving(conn, corpus, query):
        if (other.group, other.jcode) != (mine.group, mine.jcode) or not other.specific:
            continue
        if other.specific == mine.specific:
            out["same"].append(conflict)
        elif other.pinyin_key == mine.pinyin_key:
            out["homophone"].append(conflict)
    return out


def lock_name(conn, *, name: str, feature_class: str, division_code: str) -> None:
    """Serialise writers registering the same specific term in the same jurisdiction until
    this transaction ends. SQLite's ``BEGIN IMMEDIATE`` already serialises every writer."""
    if conn.dialect.name != "postgresql":
        return
    entry = _entry(conn, NameCorpus(data=load_rule_data()), name, feature_class, division_code)
    key = f"name:{entry.group}:{entry.jcode}:{entry.specific}".encode()
    # A signed 64-bit key for pg_advisory_xact_lock (crc32 twice: stable across processes).
    value = (zlib.crc32(key) << 32 | zlib.crc32(key[::-1])) - (1 << 63)
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": value})


def in_force_conflicts(
    conn, *, name: str, feature_class: str, division_code: str, exclude_place_id=None
) -> list[dict]:
    """Places in force whose specific term repeats ``name``'s in its jurisdiction, read on
    ``conn`` (inside the write transaction, so it sees every committed registration):
    ``[{id, name, status, division_code}]``."""
    corpus = NameCorpus(data=load_rule_data())
    mine = _entry(conn, corpus, name, feature_class, division_code)
    if not (mine.jcode and mine.specific):
        return []
    query = sa.select(*CORPUS_COLUMNS).where(
        places.c.status == "in_force",
        places.c.feature_class == feature_class,
        sa.or_(places.c.specific_term == mine.specific, places.c.name.startswith(mine.specific)),
    )
    if exclude_place_id is not None:
        query = query.where(places.c.id != exclude_place_id)
    out = []
    for row in conn.execute(query.order_by(places.c.id)):
        code = row.own_division_code or row.division_code
        other = corpus.index_entry(
            id=row.id,
            name=row.name,
            feature_class=row.feature_class,
            division_path=division_path(conn, code),
            specific_term=row.specific_term,
        )
        if (other.group, other.jcode, other.specific) == (mine.group, mine.jcode, mine.specific):
            out.append(
                {"id": row.id, "name": row.name, "status": "in_force", "division_code": code}
            )
    return out


def _jurisdiction_label(conn, jcode: str) -> str:
    if jcode == "CN":
        return "全国"
    name = conn.execute(sa.select(divisions.c.name).where(divisions.c.code == jcode)).scalar()
    return name or jcode


def reservation_findings(
    conn, *, name: str, feature_class: str, division_code: str, exclude_proposal_id=None
) -> list[dict]:
    """Compliance findings (the checker's dict shape) for names reserved by other proposals:
    ``reserved`` (blocking) for the same specific term, ``reserved.homophone`` (warning)."""
    conflicts = reservation_conflicts(
        conn,
        name=name,
        feature_class=feature_class,
        division_code=division_code,
        exclude_proposal_id=exclude_proposal_id,
    )
    if not (conflicts["same"] or conflicts["homophone"]):
        return []
    data = load_rule_data()
    entry = _entry(conn, NameCorpus(data=data), name, feature_class, division_code)
    return _findings(conflicts, entry.specific, _jurisdiction_label(conn, entry.jcode), data)


def _findings(conflicts: dict[str, list[dict]], specific: str, label: str, data) -> list[dict]:
    out = []
    for rule_id, found in (
        ("reserved", conflicts["same"]),
        ("reserved.homophone", conflicts["homophone"]),
    ):
        if not found:
            continue
        meta = data.rules[rule_id]
        term = "、".join(f"申请 {c['proposal_id']}“{c['name']}”" for c in found)
        out.append(
            {
                "rule_id": rule_id,
                "severity": meta.severity,
                "message": meta.message.format(specific=specific, jurisdiction=label, term=term),
                "source": meta.source,
                "conflicts": found,
            }
        )
    return out


class ReservedNames:
    """Every name reserved by a pending proposal, read once on ``conn``, for checking many
    names against them without a query each (an office import checks every row).

    ``findings(name, feature_class, division_path)`` gives the same ``reserved`` /
    ``reserved.homophone`` findings as ``reservation_findings``."""

    def __init__(self, conn, corpus: NameCorpus):
        self.conn = conn
        self.corpus = corpus
        self.same: dict[tuple, list[dict]] = {}
        self.homophone: dict[tuple, list[dict]] = {}
        query = sa.select(*_RESERVING_COLUMNS).where(
            proposals.c.state.in_(RESERVING_STATES),
            proposals.c.kind.in_(("naming", "renaming")),
        )
        for entry, conflict in _reserving(conn, corpus, query):
            if not (entry.jcode and entry.specific):
                continue
            self.same.setdefault((entry.group, entry.jcode, entry.specific), []).append(conflict)
            self.homophone.setdefault((entry.group, entry.jcode, entry.pinyin_key), []).append(
                (entry.specific, conflict)
            )
        self._labels: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.same)

    def findings(self, name: str, feature_class: str, division_path) -> list[dict]:
        if not self.same:
            return []
        mine = self.corpus.index_entry(
            id=None, name=name, feature_class=feature_class, division_path=division_path
        )
        if not (mine.jcode and mine.specific):
            return []
        conflicts = {
            "same": self.same.get((mine.group, mine.jcode, mine.specific), []),
            "homophone": [
                c
                for specific, c in self.homophone.get((mine.group, mine.jcode, mine.pinyin_key), [])
                if specific != mine.specific
            ],
        }
        if not (conflicts["same"] or conflicts["homophone"]):
            return []
        if mine.jcode not in self._labels:
            self._labels[mine.jcode] = _jurisdiction_label(self.conn, mine.jcode)
        return _findings(conflicts, mine.specific, self._labels[mine.jcode], self.corpus.data)
