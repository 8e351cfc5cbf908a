"""The division-change service: a division renamed under the division regulations, with
everything that depends on its name changed in the same transaction.

gazetteer records the change (divisions table, registry record and its history, the change
record: ``gazetteer.division_changes``); this module, one layer up, renames the boundary
lines whose rule-made names use the division's short form (番禺区 → 番山区 turns 番禺—南沙线
into 番山—南沙线). Names set from the official table or by an officer are left as they are
and listed, so the officer can correct them by hand. The web layer and the CLI call
:func:`rename_division`; nothing else renames a division.
"""

from __future__ import annotations

import sqlalchemy as sa

from boundaries import naming
from boundaries.tables import boundary_lines
from gazetteer import division_changes
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.registry import Clock, utcnow
from gazetteer.tables import divisions


def refresh_line_names(conn, code: str) -> tuple[list[dict], list[dict]]:
    """Recompute the rule-made names of lines with a side at or below ``code`` (a city's
    name is part of its counties' short forms when their own is one character). Returns
    (renamed, kept): ``[{id, old, new}]`` and the officer/table-named lines not touched."""
    by_code = {
        r.code: r._asdict()
        for r in conn.execute(
            sa.select(
                divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.parent_code
            )
        )
    }
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
    given). Returns the change record plus ``lines_kept`` (lines whose names were set by the
    table or an officer and may need a hand correction)."""
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
        change = division_changes.get_change(conn, change["id"])
    return {**change, "lines_kept": kept}
