"""Generic terms (通名): the one table every use reads.

The table is ``gazetteer/rules/data/generic_terms.csv`` (see its header). Each term says
which feature classes it fits, how it is divided into words and written in romanization,
and where it is used:

* ``split`` — romanization and the naming rules split a name into specific term (专名) and
  generic term at the longest such term (``gazetteer.romanize.split_name``); officers can
  add rows in an extra rule-data directory (``gazetteer.rules.lexicons``);
* ``search`` — search strips such terms from the end of a name to find its specific term
  (``search_suffixes``), and committee suffixes say what people call the place instead
  (``committee_short_forms``: 福涌村民委员会 is called 福涌村);
* ``ethnic_prefix`` — ethnic names in front of the term go with it in a split
  (乳源瑶族自治县 -> 乳源 + 瑶族自治县);
* ``division_types`` — the feature class and type a statistical division name ending in
  the term has at a level (``division_type``: 番禺区 at county level is a 市辖区);
* line naming takes a county's specific name from ``split_name`` (``boundaries.naming``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gazetteer.core.vocabulary import read_table

TABLE = Path(__file__).resolve().parent / "rules" / "data" / "generic_terms.csv"
USES = ("split", "search")


@dataclass(frozen=True)
class GenericTerm:
    term: str
    classes: frozenset[str]
    words: tuple[str, ...]  # the term divided into words for romanization
    joined: bool  # written as one word with the specific (王村 Wangcun)
    uses: frozenset[str] = frozenset({"split"})
    spoken: str | None = None  # committee suffixes: what is said instead ('' = nothing)
    # level -> (feature_class, feature_type) of a statistical division name ending in it
    division_types: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)
    # ethnic names in front go with the term when splitting (瑶族自治县, 瑶族乡)
    ethnic_prefix: bool = False


def parse_row(row: dict[str, str]) -> GenericTerm:
    """One CSV row as a GenericTerm; ValueError naming the term when the row is malformed."""
    term = (row.get("term") or "").strip()
    if not term:
        raise ValueError("generic_terms.csv: a row has no term")
    words = tuple((row.get("words") or "").split()) or (term,)
    if "".join(words) != term:
        raise ValueError(f"generic_terms.csv: words {words} do not spell {term!r}")
    uses = frozenset((row.get("uses") or "split").split())
    if not uses <= set(USES):
        raise ValueError(f"generic_terms.csv: uses of {term!r} should be among {USES}")
    spoken = (row.get("spoken") or "").strip()
    division_types = {}
    for triple in (row.get("division_types") or "").split():
        level, feature_class, feature_type = triple.split(":")
        division_types[level] = (feature_class, feature_type)
    return GenericTerm(
        term,
        frozenset(c.strip() for c in (row.get("classes") or "").split("|") if c.strip()),
        words,
        (row.get("write") or "").strip() == "joined",
        uses,
        None if not spoken else ("" if spoken == "-" else spoken),
        division_types,
        ethnic_prefix=(row.get("ethnic_prefix") or "").strip() == "yes",
    )


@lru_cache(maxsize=1)
def shipped_terms() -> dict[str, GenericTerm]:
    """Every term of the shipped table, by term."""
    return {t.term: t for t in map(parse_row, read_table(TABLE))}


def search_suffixes() -> tuple[str, ...]:
    """Terms search strips from the end of a name, longest first."""
    return tuple(
        sorted(
            (t.term for t in shipped_terms().values() if "search" in t.uses),
            key=lambda s: (-len(s), s),
        )
    )


def committee_short_forms() -> dict[str, str]:
    """Committee suffix -> what people say instead, longest suffix first
    (村民委员会 -> 村: 福涌村民委员会 is called 福涌村; 居委会 -> '')."""
    forms = {t.term: t.spoken for t in shipped_terms().values() if t.spoken is not None}
    return dict(sorted(forms.items(), key=lambda kv: (-len(kv[0]), kv[0])))


def division_type(level: str, name: str) -> tuple[str, str] | None:
    """(feature_class, feature_type) of a statistical division ``name`` at ``level`` from the
    longest generic term ending it that has a type at that level; None when none has."""
    best = None
    for term in shipped_terms().values():
        if level in term.division_types and name.endswith(term.term):
            if best is None or len(term.term) > len(best.term):
                best = term
    return best.division_types[level] if best else None
