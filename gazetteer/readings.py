"""Correcting stored romanizations to the reviewed place readings (《地名管理条例》 Art. 15;
GB/T 16159), as recorded changes.

The shipped records were romanized with the everyday reading of some heteronyms (麻涌 Máyǒng
instead of Máchōng, 新圩 Xīnwéi instead of Xīnxū). ``reading_corrections`` lists every record in
force whose romanization the reading table now gives differently; ``apply_reading_corrections``
rewrites them in one write transaction, each with a ``place_versions`` entry (change
``corrected``) that keeps the old form and says why, so history keeps what was stored.

Records whose reading an officer confirmed (``heteronyms_confirmed``) are listed but never
changed: a person's confirmation outranks the table. After the correction a record's
heteronyms count as confirmed only when the reviewed table settles every one of them;
the others wait for an officer (``pinyin.unconfirmed``).
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer import changes, registry
from gazetteer.core.actors import Actor, require_role
from gazetteer.core.store import Store
from gazetteer.pinyin import unconfirmed
from gazetteer.registry import VersionStamp, _append_version, _close_current, _row, civil_date
from gazetteer.romanize import romanize
from gazetteer.tables import places

REASON = "地名读音更正：依审定的地名读音表 place_readings.csv（《地名管理条例》第十五条）"


def _candidates(conn) -> list[dict]:
    rows = conn.execute(
        sa.select(
            places.c.id,
            places.c.name,
            places.c.feature_class,
            places.c.romanized,
            places.c.romanized_toned,
            places.c.heteronyms_confirmed,
            places.c.version,
        )
        .where(places.c.status == "in_force", places.c.romanized_toned.is_not(None))
        .order_by(places.c.id)
    ).all()
    out = []
    for row in rows:
        rom = romanize(row.name, row.feature_class)
        if rom.toned == row.romanized_toned:
            continue
        out.append(
            {
                "id": row.id,
                "name": row.name,
                "old": row.romanized,
                "old_toned": row.romanized_toned,
                "new": rom.text,
                "new_toned": rom.toned,
                "confirmed_by_officer": bool(row.heteronyms_confirmed),
                "still_to_confirm": [h["char"] for h in unconfirmed(rom.heteronyms)],
                "version": row.version,
                "_rom": rom,
            }
        )
    return out


def reading_corrections(store: Store) -> list[dict]:
    """Records in force whose stored romanization differs from the reading table's:
    [{id, name, old, old_toned, new, new_toned, confirmed_by_officer, still_to_confirm}]."""
    with store.read() as conn:
        return [{k: v for k, v in c.items() if k != "_rom"} for c in _candidates(conn)]


def apply_reading_corrections(
    store: Store, actor: Actor, *, clock: registry.Clock = registry.utcnow
) -> dict:
    """Rewrite the romanizations ``reading_corrections`` lists (officers only), except those
    an officer confirmed. Returns {corrected, kept_confirmed}. One transaction."""
    require_role(actor, {"officer"}, "更正地名读音")
    now = clock()
    today = civil_date(now)
    corrected = kept = 0
    with store.write(actor=actor) as conn:
        for c in _candidates(conn):
            if c["confirmed_by_officer"]:
                kept += 1
                continue
            rom = c["_rom"]
            row = _row(conn, c["id"])
            stamp = VersionStamp(actor, now, today, f"{REASON}：{c['old_toned']} → {rom.toned}")
            _close_current(conn, row, stamp)
            conn.execute(
                places.update()
                .where(places.c.id == c["id"], places.c.version == row.version)
                .values(
                    romanized=rom.text,
                    romanized_toned=rom.toned,
                    heteronyms=rom.heteronyms or None,
                    heteronyms_confirmed=not unconfirmed(rom.heteronyms),
                    updated_at=now,
                    version=places.c.version + 1,
                )
            )
            _append_version(conn, _row(conn, c["id"]), "corrected", stamp)
            corrected += 1
        if corrected:
            changes.places_changed(conn)
    return {"corrected": corrected, "kept_confirmed": kept}
