"""Rule data: the lexicons, term tables and rule metadata the checker reads.

Every list lives in a plain file in ``gazetteer/rules/data/`` (``.txt``: one entry per line;
``.csv``: a header row; ``#`` starts a comment in both), so officers extend the 大/洋/怪
lexicons, exemptions, generic terms, surnames, brands and place-name readings without code
changes. :func:`load_rule_data` reads the shipped files and, when given ``extra_dir``, a
file of the same name there too (its entries are added; CSV rows with the same key replace
the shipped row). No settings are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gazetteer.core.vocabulary import read_rows
from gazetteer.generic_terms import GenericTerm, parse_row

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class JurisdictionRule:
    group: str
    feature_class: str
    generics: frozenset[str] | None  # None = any generic
    jurisdiction: str  # country / province / city / county
    severity: str
    source: str


@dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    severity: str
    source: str
    message: str


@dataclass(frozen=True)
class StateLeader:
    name: str
    match: str  # contains / exact / word (see state_leaders.txt)
    offices: str
    sources: str


@dataclass(frozen=True)
class NationalDivision:
    code: str
    name: str
    level: str  # province / city / county
    parent_code: str


@dataclass(frozen=True)
class RuleData:
    generic_terms: dict[str, GenericTerm]
    jurisdictions: tuple[JurisdictionRule, ...]
    rules: dict[str, RuleMeta]
    exaggerated: dict[str, frozenset[str] | None]  # term -> classes it applies to (None: all)
    foreign: frozenset[str]
    feudal: frozenset[str]
    vulgar: frozenset[str]
    transliteration_chars: frozenset[str]
    exemptions: dict[str, tuple[str, ...]]  # entry -> rule-id prefixes ('' = all)
    surnames: frozenset[str]
    place_morphemes: frozenset[str]
    brands: frozenset[str]
    ethnic_groups: tuple[str, ...]
    name_splits: dict[str, str]  # name -> specific term
    charlist: frozenset[str]
    charlist_level: dict[str, int]  # 1, 2 or 3 (通用规范汉字表 levels)
    given_name_chars: frozenset[str]
    state_leaders: tuple[StateLeader, ...] = ()
    national_divisions: tuple[NationalDivision, ...] = ()
    exemption_sources: dict[tuple[str, str], str] = field(default_factory=dict)
    sources: tuple[str, ...] = field(default=())

    def national_division(self, code: str) -> NationalDivision | None:
        return self._national_by_code().get(code)

    def national_full_name(self, code: str) -> str:
        """北京市朝阳区: the names from the province down."""
        names, seen = [], set()
        entry = self.national_division(code)
        while entry is not None and entry.code not in seen:
            seen.add(entry.code)
            names.append(entry.name)
            entry = self.national_division(entry.parent_code)
        return "".join(reversed(names))

    def _national_by_code(self) -> dict[str, NationalDivision]:
        cache = self.__dict__.get("_by_code")
        if cache is None:
            cache = {d.code: d for d in self.national_divisions}
            object.__setattr__(self, "_by_code", cache)
        return cache

    def exempt(self, rule_id: str, *entries: str) -> bool:
        """True when any of ``entries`` (the whole name, the specific term, the matched term)
        is on the exemption list for ``rule_id``."""
        for entry in entries:
            prefixes = self.exemptions.get(entry)
            if prefixes and any(p == "" or rule_id.startswith(p) for p in prefixes):
                return True
        return False


def _read_text(name: str, extra_dir: Path | None) -> list[tuple[Path, str]]:
    paths = [DATA_DIR / name] + ([extra_dir / name] if extra_dir else [])
    return [(p, p.read_text(encoding="utf-8")) for p in paths if p.exists()]


def _lines(name: str, extra_dir: Path | None) -> list[list[str]]:
    """Non-comment lines of a .txt data file, each split on tabs (stripped)."""
    out = []
    for _path, text in _read_text(name, extra_dir):
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].rstrip()
            if line.strip():
                out.append([part.strip() for part in line.split("\t")])
    return out


def _rows(name: str, extra_dir: Path | None) -> list[dict[str, str]]:
    out = []
    for _path, text in _read_text(name, extra_dir):
        out.extend(read_rows(text))
    return out


def _classes(value: str) -> frozenset[str]:
    return frozenset(c.strip() for c in value.split("|") if c.strip())


@lru_cache(maxsize=8)
def _load(extra_dir: str | None) -> RuleData:
    extra = Path(extra_dir) if extra_dir else None
    generic_terms = {}
    for row in _rows("generic_terms.csv", extra):
        term = parse_row(row)  # the one reader of the generic-term table
        if "split" in term.uses:
            generic_terms[term.term] = term
    jurisdictions = []
    for row in _rows("jurisdictions.csv", extra):
        generics = None if row["generics"].strip() == "*" else _classes(row["generics"])
        jurisdictions.append(
            JurisdictionRule(
                row["group"].strip(),
                row["class"].strip(),
                generics,
                row["jurisdiction"].strip(),
                row["severity"].strip(),
                row["source"].strip(),
            )
        )
    rules = {
        row["rule_id"].strip(): RuleMeta(
            row["rule_id"].strip(),
            row["severity"].strip(),
            row["source"].strip(),
            row["message"].strip(),
        )
        for row in _rows("rules.csv", extra)
    }
    exaggerated = {}
    for parts in _lines("exaggerated.txt", extra):
        exaggerated[parts[0]] = _classes(parts[1]) if len(parts) > 1 and parts[1] else None
    exemptions: dict[str, tuple[str, ...]] = {}
    exemption_sources: dict[tuple[str, str], str] = {}
    for parts in _lines("exemptions.txt", extra):
        prefix = parts[1] if len(parts) > 1 else ""
        exemptions[parts[0]] = exemptions.get(parts[0], ()) + (prefix,)
        if len(parts) > 2 and parts[2]:
            exemption_sources[(parts[0], prefix)] = parts[2]
    leaders = tuple(
        StateLeader(
            parts[0],
            parts[1],
            parts[2] if len(parts) > 2 else "",
            parts[3] if len(parts) > 3 else "",
        )
        for parts in _lines("state_leaders.txt", extra)
    )
    for leader in leaders:
        if leader.match not in ("contains", "exact", "word"):
            raise ValueError(f"state_leaders.txt: unknown match {leader.match!r} for {leader.name}")
    national = tuple(
        NationalDivision(
            row["code"].strip(),
            row["name"].strip(),
            row["level"].strip(),
            (row.get("parent_code") or "").strip(),
        )
        for row in _rows("national_divisions.csv", extra)
    )

    def words(name):
        return frozenset(parts[0] for parts in _lines(name, extra))

    ordered = [parts[0] for parts in _lines("tgh_8105.txt", extra) if len(parts[0]) == 1]
    charlist = frozenset(ordered)
    # The shipped file is in table order: 1-3500 level 1, 3501-6500 level 2, the rest level 3.
    charlist_level = {c: 1 if i < 3500 else 2 if i < 6500 else 3 for i, c in enumerate(ordered)}
    return RuleData(
        generic_terms=generic_terms,
        jurisdictions=tuple(jurisdictions),
        rules=rules,
        exaggerated=exaggerated,
        foreign=words("foreign.txt"),
        feudal=words("feudal.txt"),
        vulgar=words("vulgar.txt"),
        transliteration_chars=words("transliteration_chars.txt"),
        exemptions=exemptions,
        surnames=words("surnames.txt"),
        place_morphemes=words("place_morphemes.txt"),
        brands=words("brands.txt"),
        ethnic_groups=tuple(parts[0] for parts in _lines("ethnic_groups.txt", extra)),
        name_splits={p[0]: p[1] for p in _lines("name_splits.txt", extra) if len(p) > 1},
        charlist=charlist,
        charlist_level=charlist_level,
        given_name_chars=frozenset(
            "".join(parts[0] for parts in _lines("given_name_chars.txt", extra))
        ),
        state_leaders=leaders,
        national_divisions=national,
        exemption_sources=exemption_sources,
        sources=tuple(str(p) for p in ([DATA_DIR] + ([extra] if extra else []))),
    )


def load_rule_data(extra_dir: str | Path | None = None) -> RuleData:
    """The rule data from the shipped files plus ``extra_dir`` (cached per directory; call
    :func:`reload_rule_data` after editing files in a running process)."""
    return _load(str(Path(extra_dir).resolve()) if extra_dir else None)


def reload_rule_data() -> None:
    """Forget cached rule data so the next :func:`load_rule_data` reads the files again."""
    _load.cache_clear()
