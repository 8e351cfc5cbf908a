"""NameCorpus: the in-memory index of names the duplicate and homophone rules search.

Jurisdiction (地名管理条例 Art. 9 (7)–(8)) comes from the data table
``rules/data/jurisdictions.csv``: by feature class and generic term a name belongs to a
*group* of features that are compared with each other (county-level divisions; townships;
village/residents' committees; streets; residential areas ...) and a *jurisdiction level*
(country / province / city / county) inside which the group must not repeat a specific term.

The statute's unit for streets, residential areas and buildings is the built-up area
(建成区), for which there is no data: it is approximated by the whole prefecture-level city
(the city code in the division path), which is stricter than the law in rural counties.

Division paths are lists of statistical division codes from the province down, e.g.
``["440000", "440100", "440113", "440113001"]``. A county-level jurisdiction is the deepest
six-digit code not ending in ``00``; cities not divided into counties (东莞, 中山) act as their
own county. A city jurisdiction is the six-digit code ending in ``00``; a county directly
under a province (省直辖县) acts as its own city.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from gazetteer import pinyin
from gazetteer.romanize import generic_base, split_name
from gazetteer.rules.lexicons import JurisdictionRule, RuleData, load_rule_data
from gazetteer.tables import divisions, places

# The ``places`` columns a corpus record is read from (see ``read_corpus_records``).
CORPUS_COLUMNS = (
    places.c.id,
    places.c.name,
    places.c.specific_term,
    places.c.feature_class,
    places.c.division_code,
    places.c.own_division_code,
    places.c.status,
)

STATUSES = ("in_force", "historical", "retired")
JURISDICTION_LABELS = {
    "country": "全国",
    "province": "本省",
    "city": "本市（近似建成区）",
    "county": "本县（市、区）",
}
# Leading modifiers that do not make a name different (a local rule: 新/大 added or dropped).
VARIANT_PREFIXES = ("新", "大")


def jurisdiction_code(level: str, division_path: list[str] | tuple[str, ...]) -> str | None:
    """The division code whose area is the jurisdiction at ``level`` for a place with
    ``division_path``; 'CN' for the whole country; None when the path is too short."""
    if level == "country":
        return "CN"
    six = [c for c in division_path if len(c) == 6]
    province = next((c for c in six if c.endswith("0000")), None)
    city = next((c for c in six if c.endswith("00") and not c.endswith("0000")), None)
    county = next((c for c in reversed(six) if not c.endswith("00")), None)
    if level == "province":
        return province or (division_path[0][:2] + "0000" if division_path else None)
    if level == "city":
        return city or county
    if level == "county":
        return county or city
    raise ValueError(f"unknown jurisdiction level {level!r}")


def jurisdiction_rule(feature_class: str, generic: str, data: RuleData) -> JurisdictionRule | None:
    """The first row of jurisdictions.csv that matches the class and generic term."""
    for rule in data.jurisdictions:
        if rule.feature_class == feature_class and (
            rule.generics is None or generic in rule.generics
        ):
            return rule
    return None


def variant_core(specific: str) -> str:
    """The specific term without a leading 新/大 when at least two characters remain
    (新塘村 -> 塘村; 新塘 stays 新塘). Used for near-duplicates."""
    core = specific
    for prefix in VARIANT_PREFIXES:
        if core.startswith(prefix) and len(core) - len(prefix) >= 2:
            core = core[len(prefix) :]
    return core


@dataclass(frozen=True)
class IndexedName:
    id: object
    name: str
    specific: str
    generic: str
    feature_class: str
    division_path: tuple[str, ...]
    status: str
    group: str | None
    jcode: str | None
    pinyin_key: str

    @property
    def division_code(self) -> str | None:
        return self.division_path[-1] if self.division_path else None

    def conflict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "division_code": self.division_code,
        }


class NameCorpus:
    """Names indexed by (group, jurisdiction code, specific term), by (group, jurisdiction
    code, toneless pinyin of the specific term) and by (group, jurisdiction code, specific
    without a leading 新/大). Records are dicts with ``id, name, feature_class,
    division_path, status`` and optionally ``specific_term``."""

    def __init__(self, records: Iterable[dict] = (), *, data: RuleData | None = None):
        self.data = data or load_rule_data()
        self._by_id: dict[object, IndexedName] = {}
        self._by_specific: dict[tuple, set] = defaultdict(set)
        self._by_pinyin: dict[tuple, set] = defaultdict(set)
        self._by_core: dict[tuple, set] = defaultdict(set)
        self.division_names: dict[str, str] = {}  # code -> name, for messages
        self.division_name_set: set[str] = set()  # names of divisions (广州市, 番禺区)
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, record_id) -> bool:
        return record_id in self._by_id

    def get(self, record_id) -> IndexedName | None:
        return self._by_id.get(record_id)

    def records(self) -> Iterable[IndexedName]:
        return self._by_id.values()

    def index_entry(
        self, *, id, name, feature_class, division_path, status="in_force", specific_term=None
    ) -> IndexedName:
        """The index entry a record would have (not added)."""
        name = name.strip()
        specific, generic = split_name(name)
        if specific_term and name.startswith(specific_term):
            specific, generic = specific_term, name[len(specific_term) :]
        path = tuple(division_path or ())
        rule = jurisdiction_rule(feature_class, generic_base(generic), self.data)
        jcode = jurisdiction_code(rule.jurisdiction, path) if rule else None
        return IndexedName(
            id,
            name,
            specific,
            generic,
            feature_class,
            path,
            status,
            rule.group if rule else None,
            jcode,
            pinyin.pinyin_key(specific) if specific else "",
        )

    def add(self, record: dict) -> IndexedName:
        """Index one record (replacing an earlier one with the same id)."""
        if record.get("status", "in_force") not in STATUSES:
            raise ValueError(f"unknown status {record.get('status')!r}")
        if record["id"] in self._by_id:
            self.remove(record["id"])
        entry = self.index_entry(
            id=record["id"],
            name=record["name"],
            feature_class=record["feature_class"],
            division_path=record.get("division_path") or (),
            status=record.get("status", "in_force"),
            specific_term=record.get("specific_term"),
        )
        self._by_id[entry.id] = entry
        if entry.jcode and entry.specific:
            self._by_specific[(entry.group, entry.jcode, entry.specific)].add(entry.id)
            self._by_pinyin[(entry.group, entry.jcode, entry.pinyin_key)].add(entry.id)
            self._by_core[(entry.group, entry.jcode, variant_core(entry.specific))].add(entry.id)
        if entry.feature_class == "行政区域" and entry.division_path:
            self.division_names.setdefault(entry.division_path[-1], entry.name)
            self.division_name_set.add(entry.name)
        return entry

    def remove(self, record_id) -> None:
        """Drop a record from every index (no error if it is not there)."""
        entry = self._by_id.pop(record_id, None)
        if entry is None or not (entry.jcode and entry.specific):
            return
        for index, key in (
            (self._by_specific, entry.specific),
            (self._by_pinyin, entry.pinyin_key),
            (self._by_core, variant_core(entry.specific)),
        ):
            ids = index.get((entry.group, entry.jcode, key))
            if ids is not None:
                ids.discard(record_id)
                if not ids:
                    del index[(entry.group, entry.jcode, key)]

    def _lookup(self, index, group, jcode, key, exclude_id) -> list[IndexedName]:
        # tuple(): a copy taken in one step, so an update applied beside cannot change the
        # set while it is walked (the lookup service keeps the corpus current in place).
        ids = tuple(index.get((group, jcode, key), ()))
        entries = (self._by_id.get(i) for i in ids if i != exclude_id)
        return sorted((e for e in entries if e is not None), key=lambda e: str(e.id))

    def same_specific(self, group, jcode, specific, *, exclude_id=None) -> list[IndexedName]:
        return self._lookup(self._by_specific, group, jcode, specific, exclude_id)

    def same_pinyin(self, group, jcode, key, *, exclude_id=None) -> list[IndexedName]:
        return self._lookup(self._by_pinyin, group, jcode, key, exclude_id)

    def same_core(self, group, jcode, core, *, exclude_id=None) -> list[IndexedName]:
        return self._lookup(self._by_core, group, jcode, core, exclude_id)

    def rename_division(self, code: str, name: str) -> None:
        """Division ``code`` is now called ``name``: the name messages give it. Its record is
        replaced by :meth:`add` like any renamed place's; the old name stays among the
        division names compared with, as a historical record's does."""
        self.division_names[code] = name
        self.division_name_set.add(name)

    @classmethod
    def from_store(cls, store, *, data: RuleData | None = None) -> NameCorpus:
        """Build from the store's ``places`` table; a place's division path is the
        ``divisions.path`` of its own division code when it is a division, otherwise of the
        division it lies in."""
        with store.read() as conn:
            records = read_corpus_records(conn)
            names = dict(conn.execute(sa.select(divisions.c.code, divisions.c.name)).all())
        corpus = cls(data=data)
        for record in records.values():
            corpus.add(record)
        corpus.division_names.update(names)
        corpus.division_name_set.update(names.values())
        return corpus


def read_corpus_records(conn, place_ids: Iterable[int] | None = None) -> dict[int, dict]:
    """{id: corpus record} of the places ``place_ids`` (every place when None), as the corpus
    indexes them: a place's division path is the ``divisions.path`` of its own division code
    when it is a division, otherwise of the division it lies in."""
    query = sa.select(*CORPUS_COLUMNS)
    if place_ids is not None:
        query = query.where(places.c.id.in_(list(place_ids)))
    rows = conn.execute(query).all()
    paths_query = sa.select(divisions.c.code, divisions.c.path)
    if place_ids is not None:
        codes = {r.own_division_code or r.division_code for r in rows} - {None}
        paths_query = paths_query.where(divisions.c.code.in_(codes))
    paths = dict(conn.execute(paths_query).all())
    out = {}
    for r in rows:
        code = r.own_division_code or r.division_code
        path = paths.get(code)
        out[r.id] = {
            "id": r.id,
            "name": r.name,
            "specific_term": r.specific_term,
            "feature_class": r.feature_class,
            "status": r.status,
            "division_path": path.split("/") if path else ([code] if code else []),
        }
    return out
