"""The division-change service: a division renamed under the division regulations, with
everything that depends on its name changed in the same transaction.

gazetteer records the change (divisions table, registry record and its history, the change
record: ``gazetteer.division_changes``); this module, one layer up, renames the boundary
lines whose rule-made names use the division's short form (番禺区 → 番山区 turns 番禺—南沙线
into 番山—南沙线) and the tri-junctions named after it (荔湾海珠番禺三交点 →
荔湾海珠番山三交点). Line names set from the official table or by an officer are left as they
are and listed, so the officer can correct them by hand. The web layer and the CLI call
:func:`rename_division`; nothing else renames a division.
"""

from __future__ import annotations

import sqlalchemy as sa

from boundaries import naming
from boundaries.tables import boundary_lines, tri_junctions
from gazetteer import division_changes
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.registry import Clock, utcnow
from gazetteer.tables import divisions


def _divisions_by_code(conn) -> dict[str, dict]:
    return {
        r.code: r._asdict()
        for r in conn.execute(
            sa.select(
                divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.parent_code
            )
        )
    }


def refresh_tri_junction_names(conn, code: str) -> list[dict]:
    """Recompute the names of the tri-junctions where a division at or below ``code`` meets
    others (their names are always made by the rule). Returns ``[{id, old, new}]``."""
    by_code = _divisions_by_code(conn)
    prefix = code.rstrip("0") or code
    renamed = []
    for point in conn.execute(
        sa.select(tri_junctions.c.id, tri_junctions.c.name, tri_junctions.c.codes)
    ):
        codes = list(point.codes)
        if not any(c.startswith(prefix) for c in codes) or not all(c in by_code for c in codes):
            continue
        name = naming.tri_junction_name(codes, by_code)
        if name != point.name:
            conn.execute(
                tri_junctions.update().where(tri_junctions.c.id == point.id).values(name=name)
            )
            renamed.append({"id": point.id, "old": point.name, "new": name})
    return renamed


def refresh_line_names(conn, code: str) -> tuple[list[dict], list[dict]]:
    """Recompute the rule-made names of lines with a side at or below ``code`` (a city's
    name is part of its counties' short forms when their own is one character). Returns
    (renamed, kept): ``[{id, old, new}]`` and the officer/table-named lines not touched."""
    by_code = _divisions_by_code(conn)
    prefix = code.rstrip("0") or code
    touched = conn.execute(
        sa.select(boundary_lines).where(
            sa.or_(
                boundary_lines.c.side_a_code.startswith(prefix),
                boundary_lines.c.side_b_code.startswith(prefix),
            )
        )
    ).all()
    renamed, kept = [], []
    for line in touched:
        a, b = by_code.get(line.side_a_code), by_code.get(line.side_b_code)
        if a is None or b is None:
            continue
        name, source = naming.line_name(
            line.kind,
            naming.short_form(a, by_code),
            naming.short_form(b, by_code),
            line.side_a_code,
            line.side_b_code,
        )
        if line.name_source != "rule":
            kept.append({"id": line.id, "name": line.name, "name_source": line.name_source})
            continue
        if name != line.name:
            conn.execute(
                boundary_lines.update()
                .where(boundary_lines.c.id == line.id)
                .values(name=name, name_source=source)
            )
            renamed.append({"id": line.id, "old": line.name, "new": name})
    return renamed, kept


def rename_division(
    store: Store, actor: Actor, *, clock: Clock = utcnow, corpus=None, **fields
) -> dict:
    """Record a division rename (``fields``: code, new_name, approving_body, document_number,
    approval_date, effective_date, reason, rules_override_reason) and rename the dependent
    line names, all in one write transaction. The new name is checked by the naming rules
    against ``corpus`` (the app's kept-current ``NameCorpus``; built from the store when not
    given). Tri-junction names follow in the same transaction. Returns the change record plus
    ``lines_kept`` (lines whose names were set by the table or an officer and may need a hand
    correction)."""
    if corpus is None:
        from gazetteer.rules import NameCorpus

        corpus = NameCorpus.from_store(store)
    now = clock()
    with store.write(actor=actor) as conn:
        change = division_changes.record_division_rename(
            conn, actor, corpus=corpus, now=now, **fields
        )
        renamed, kept = refresh_line_names(conn, change["division_code"])
        division_changes.set_lines_renamed(conn, change["id"], renamed)
        refresh_tri_junction_names(conn, change["division_code"])
        change = division_changes.get_change(conn, change["id"])
    return {**change, "lines_kept": kept}
