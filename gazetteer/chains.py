"""Chains of names: 广州天河, 深圳南山, guangzhou tianhe, gz th, 广州市天河区石牌街.

People write places top down, the way addresses are written, with or without the generic
terms (市, 区, 街道 …), in characters (simplified or traditional), pinyin, initials or a mix.
A chain query is read as upper levels followed by one last name; the answer is the lowest
place, found within the upper ones.

This is a layer over the single-name search, so that it survives changes in how that search
is indexed:

* the **upper levels** are looked up in a :class:`ChainLexicon` of the names of divisions
  (province .. township, with their former names) under every key a person types for them:
  the whole name, the name without its generic term (天河), its pinyin and its initials. A
  dictionary lookup per substring keeps parsing within a few hundred microseconds at the
  national scale (45,000 divisions), where running the full search on every split of the
  query would not;
* nesting comes from the division hierarchy (``divisions.path``): a level must lie within the
  level before it (levels may be skipped: 广州石牌);
* the **last level** is resolved by the single-name search itself
  (``index.search(tail, division=<lowest upper level>)``), with all its forms: prefixes,
  traditional characters, pinyin, initials, former names and typos.

A chain that does not nest (深圳天河: 天河区 is in 广州) is not met with silence: the answer
then holds the last level's matches anywhere, and says which level they lie outside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from gazetteer.pinyin import syllables
from gazetteer.search import (
    GENERIC_SUFFIXES,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    WHOLE_NAME_SCORE,
    Hit,
    normalise_latin,
    normalise_text,
    split_generic,
    to_simplified,
    trim_query,
)

# Upper levels of a chain: divisions from the province down to townships. Villages and
# other places are only ever the last level (found by the single-name search).
CHAIN_LEVELS = {"province": 0, "city": 1, "county": 2, "township": 3}
MIN_KEY_CHARS = 2  # a one-character level (广) says too little to be a level of a chain
MAX_TAIL_SEARCHES = 4  # single-name searches per chain query (each is ~0.1-1 ms)
MAX_TYPO_READINGS = 3  # readings whose last level is searched for a typo inside its levels
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_BATCH_SEPARATOR = "|"


@dataclass(frozen=True)
class ChainDivision:
    """One division that can be an upper level of a chain. ``path``: division codes from
    the province down to this one (its own code last)."""

    code: str
    name: str
    level: str
    path: tuple[str, ...]
    # Lexicon positions of the divisions above this one that are in the lexicon, top down
    # (filled in once the lexicon is built): nesting is checked position by position.
    ancestors: tuple[int, ...] = ()

    @property
    def level_rank(self) -> int:
        return CHAIN_LEVELS[self.level]


@dataclass
class ChainReading:
    """How a chain query was read.

    ``levels``: the upper levels as typed and the divisions they were read as, top down;
    ``tail``: the last level as typed; ``nested``: whether the answers lie within the
    lowest upper level; ``message``: a sentence for people (Chinese)."""

    levels: list[dict]
    tail: str
    nested: bool
    message: str
    hits: list[Hit] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The reading without its hits (the caller serialises those its own way)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "hits"}


def _name_keys(name: str, reading: list[str]) -> tuple[set[str], set[str]]:
    """(character keys, Latin keys) under which people type this division's name."""
    natural_len, spec_len = split_generic(name)
    lengths = {len(name), natural_len, spec_len}
    chars = {name[:n] for n in lengths if n >= MIN_KEY_CHARS}
    latin = set()
    if len(reading) == len(name):
        for n in lengths:
            syl = reading[:n]
            if n >= MIN_KEY_CHARS:
                latin.add("".join(syl))
                latin.add("".join(s[0] for s in syl if s))
    return chars, {k for k in latin if len(k) >= MIN_KEY_CHARS}


def _readings(names: Sequence[str]) -> dict[str, list[str]]:
    """{name: toneless syllable keys}, read in batches (one pypinyin call per 2,000 names)."""
    out: dict[str, list[str]] = {}
    todo = sorted({n for n in names if _BATCH_SEPARATOR not in n})
    for start in range(0, len(todo), 2000):
        chunk = todo[start : start + 2000]
        syl = syllables(_BATCH_SEPARATOR.join(chunk))
        if len(syl) != sum(map(len, chunk)) + len(chunk) - 1:
            for text in chunk:  # not aligned: read one by one
                out[text] = [normalise_latin(s) for s in syllables(text)]
            continue
        pos = 0
        for text in chunk:
            out[text] = [normalise_latin(s) for s in syl[pos : pos + len(text)]]
            pos += len(text) + 1
    return out


class ChainLexicon:
    """Division names (and former names) by every key they are typed under, for reading the
    upper levels of a chain. Built from rows ``(code, name, level, path, former_names)``
    where ``path`` is the division codes from the province down (own code last)."""

    def __init__(self):
        self.divisions: list[ChainDivision] = []
        self.by_chars: dict[str, list[int]] = {}
        self.by_latin: dict[str, list[int]] = {}
        self.by_code: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.divisions)

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, str, Sequence[str], Sequence[str]]]):
        self = cls()
        entries = []
        for code, name, level, path, former in rows:
            if level not in CHAIN_LEVELS:
                continue
            names = [normalise_text(n) for n in [name, *(former or ())]]
            names = [n for n in dict.fromkeys(names) if n]
            if not names:
                continue
            pos = len(self.divisions)
            self.divisions.append(ChainDivision(str(code), names[0], level, tuple(map(str, path))))
            self.by_code[str(code)] = pos
            entries.append((pos, names))
        readings = _readings([n for _, names in entries for n in names])
        for pos, names in entries:
            for n in names:
                chars, latin = _name_keys(n, readings.get(n, []))
                simplified = to_simplified(n)
                if simplified != n:  # queries are read simplified (濛洲 is typed 蒙洲 too)
                    chars |= _name_keys(simplified, readings.get(n, []))[0]
                for key in chars:
                    self.by_chars.setdefault(key, []).append(pos)
                for key in latin:
                    self.by_latin.setdefault(key, []).append(pos)
        for table in (self.by_chars, self.by_latin):
            for key, items in table.items():
                # One entry per division; coarser levels first (the reading tries them first).
                table[key] = sorted(set(items), key=lambda p: self.divisions[p].level_rank)
        for pos, d in enumerate(self.divisions):
            up = tuple(self.by_code[c] for c in d.path[:-1] if c in self.by_code)
            self.divisions[pos] = ChainDivision(d.code, d.name, d.level, d.path, up)
        return self

    @classmethod
    def from_store(cls, store, former_names: dict | None = None) -> ChainLexicon:
        """From the store's divisions (down to townships); ``former_names`` is {place id:
        [old names]} as for the search index, attached through ``places.own_division_code``."""
        import sqlalchemy as sa

        from gazetteer.tables import divisions, places

        former_names = former_names or {}
        with store.read() as conn:
            rows = conn.execute(
                sa.select(divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.path)
                .where(divisions.c.level.in_(tuple(CHAIN_LEVELS)))
                .order_by(divisions.c.code)
            ).all()
            own = dict(
                conn.execute(
                    sa.select(places.c.own_division_code, places.c.id).where(
                        places.c.own_division_code.is_not(None), places.c.status == "in_force"
                    )
                ).all()
            )
        return cls.build(
            (r.code, r.name, r.level, r.path.split("/"), former_names.get(own.get(r.code), []))
            for r in rows
        )


def chain_text(q: str) -> tuple[str, bool]:
    """What the parser reads: (text, is_latin). Characters are simplified (廣州 -> 广州);
    Latin input and mixed input (广州tianhe) are read as toneless pinyin letters."""
    text = normalise_text(q)
    has_han, has_latin = bool(_HAN.search(text)), bool(_LATIN.search(text))
    if has_han and has_latin:
        return normalise_latin("".join(syllables(to_simplified(text)))), True
    if has_latin:
        return normalise_latin(text), True
    return to_simplified(text), False


def _parsable(text: str) -> bool:
    """Whether the text the parser reads (:func:`chain_text`) can be a chain: two levels of
    at least MIN_KEY_CHARS, and no longer than a query may be (mixed input is read as
    pinyin, several letters a character: its last part would be searched as a query over
    the limit, 番…番a refused as too long)."""
    return 2 * MIN_KEY_CHARS <= len(text) <= MAX_QUERY_CHARS


def _typed_end(typed: str, read: str, is_latin: bool) -> int | None:
    """Where, in the query as typed, the part read as ``read`` ends (and the spaces after
    it): 3 for ("广州 t", "guangzhou"). None when no prefix of ``typed`` reads so."""
    for k in range(1, len(typed) + 1):
        piece = typed[:k]
        if is_latin and _HAN.search(piece):
            as_read = normalise_latin("".join(syllables(to_simplified(piece))))
        else:
            as_read = normalise_latin(piece) if is_latin else to_simplified(piece)
        if as_read == read:
            while k < len(typed) and typed[k].isspace():
                k += 1
            return k
    return None


def _keeps_spaces(p: _Parse, text: str, typed: str, is_latin: bool) -> bool:
    """Whether a reading respects the spaces the user typed between levels (gz t: 广州 ›
    t…, never the one name gzt): every level ends where the user put a space."""
    end = 0
    for piece in p.typed:
        end += len(piece)
        k = _typed_end(typed, text[:end], is_latin)
        if k is None or not typed[k - 1].isspace():
            return False
    return True


_GENERIC = frozenset(GENERIC_SUFFIXES)


def _is_generic_only(tail: str) -> bool:
    return tail in _GENERIC


@dataclass
class _Parse:
    divisions: tuple[int, ...]  # lexicon positions of the upper levels, top down
    typed: tuple[str, ...]  # the text of each upper level as read
    end: int  # where the upper levels end in the text
    levels: tuple[int, ...]  # level rank of each upper level (0 province .. 3 township)
    # A division the tail itself names within the lowest upper level (gz th: 天河区 in
    # 广州市); it makes the reading more certain, the search still finds the answer.
    tail_division: int | None = None
    tail_level: int | None = None

    rank: tuple[int, int, int] = field(init=False)

    def __post_init__(self):
        # Best first: more levels confirmed; levels written without skipping (广州 › 天河
        # before 贵州 › 太和镇); coarser top level.
        chain = self.levels if self.tail_level is None else self.levels + (self.tail_level,)
        gaps = sum(max(b - a - 1, 0) for a, b in zip(chain, chain[1:]))
        self.rank = (-len(chain), gaps, chain[0])


class ChainSearch:
    """Reads chain queries over a single-name search.

    ``index`` is the single-name search (normally a ``SearchIndex``): its ``suggest(q,
    limit, division=code)`` (whole names and prefixes) and ``search(q, division=code,
    limit=n, **filters)`` (also typos) are all this layer uses; ``lexicon`` holds the
    divisions that can be upper levels."""

    def __init__(self, index, lexicon: ChainLexicon):
        self.index = index
        self.lexicon = lexicon

    def parses(self, text: str, is_latin: bool, *, min_tail: int = MIN_KEY_CHARS) -> list[_Parse]:
        """Every way to read a prefix of ``text`` as nested upper levels (at least one),
        leaving a tail of at least ``min_tail`` characters (or letters: two for a search,
        one while the user is still typing the last level), best first. Of the readings
        with one level only, the coarsest few per key are kept (gz: 贵州省, 广州市, … not
        every town whose initials are gz); they still carry deeper readings."""
        table = self.lexicon.by_latin if is_latin else self.lexicon.by_chars
        divs = self.lexicon.divisions
        n = len(text)
        # Why this shape: a short key (gz, nb, 石) names thousands of divisions, so the top
        # level is kept as the set of their positions (no state per candidate), and a
        # deeper level is joined to the levels before it through its own few ancestors.
        # top[i]: lexicon positions of divisions typed as text[:i];
        # states[i]: {position of the last level: [(divisions, typed, levels)]} ending at i
        # with two or more levels.
        top: dict[int, set[int]] = {}
        states: dict[int, dict[int, list[tuple]]] = {}
        found: dict[tuple, _Parse] = {}  # one parse per reading (levels, end)

        def keep(p: _Parse) -> None:
            key = (p.divisions, p.end)
            if key not in found or p.rank < found[key].rank:
                found[key] = p

        for j in range(MIN_KEY_CHARS, n - min_tail + 1):  # the top level
            cands = table.get(text[:j])
            if not cands:
                continue
            top[j] = set(cands)
            for c in cands[:MAX_TAIL_SEARCHES]:
                keep(_Parse((c,), (text[:j],), j, (CHAIN_LEVELS[divs[c].level],)))
        for i in range(MIN_KEY_CHARS, n):
            tops, by_last = top.get(i), states.get(i)
            if not tops and not by_last:
                continue
            for j in range(i + MIN_KEY_CHARS, n + 1):
                cands = table.get(text[i:j])
                if not cands:
                    continue
                piece = text[i:j]
                for c in cands:
                    d = divs[c]
                    rank = CHAIN_LEVELS[d.level]
                    for parent in d.ancestors:
                        before = by_last.get(parent, ()) if by_last else ()
                        if tops and parent in tops:
                            level = CHAIN_LEVELS[divs[parent].level]
                            before = [((parent,), (text[:i],), (level,)), *before]
                        for p_divs, p_typed, p_levels in before:
                            if j == n:  # the tail is itself a division within the chain
                                keep(_Parse(p_divs, p_typed, i, p_levels, c, rank))
                                continue
                            state = (p_divs + (c,), p_typed + (piece,), p_levels + (rank,))
                            states.setdefault(j, {}).setdefault(c, []).append(state)
                            if n - j >= min_tail:
                                keep(_Parse(*state[:2], j, state[2]))
        # Of readings as good, the one whose levels take more of the text first: 天河区 +
        # 石牌乔 before 天河 + 区石牌乔 (a last part starting with a generic term).
        return sorted(found.values(), key=lambda p: (p.rank, -p.end))

    def search(
        self, q: str, *, limit: int = 10, offset: int = 0, **filters
    ) -> tuple[list[Hit], ChainReading | None]:
        """:meth:`_search` of the query without what pasting brings along
        (:func:`gazetteer.search.trim_query`), its searches sharing one read of the store."""
        with self.index.one_read():
            return self._search(trim_query(q), limit=limit, offset=offset, **filters)

    def _search(
        self, q: str, *, limit: int = 10, offset: int = 0, **filters
    ) -> tuple[list[Hit], ChainReading | None]:
        """The single-name search, or a chain reading where the query names no place as a
        whole: (hits, reading or None). With a chain reading the hits are the reading's
        answers followed by the single-name hits, without repeats.

        How the query is read is decided on the whole list, never on the page asked for
        (``offset``): every page of a query is a page of the same list. With a
        ``division`` filter the query is a single name within it (the user chose where to
        look) unless that finds nothing: then a chain's answers within the division."""
        filters = {k: v for k, v in filters.items() if v is not None}
        # A reading's answers are gathered up to the end of the page (at most MAX_LIMIT:
        # a page past that of a chain reading is empty), then cut to the page.
        first, page = min(offset + limit, MAX_LIMIT), slice(offset, offset + limit)
        if filters.get("division") is not None:
            found_any, hits = self._as_one_name(q, limit, offset, filters)
            if found_any or not isinstance(q, str) or len(q) > MAX_QUERY_CHARS:
                return hits, None
            # Only a query that reads as a chain is searched again beyond the division (a
            # two-character name that is not there would be searched nationally for nothing).
            text, is_latin = chain_text(q)
            if not _parsable(text) or not (
                self.parses(text, is_latin) or (not is_latin and self._parses_by_sound(text))
            ):
                return [], None
            division = str(filters.pop("division"))
            found, reading = self._search(q, limit=first, **filters)
            inside = [h for h in found if division in h.division_path]
            return (inside[page], reading) if inside else ([], None)
        chains = isinstance(q, str) and len(q) <= MAX_QUERY_CHARS
        text, is_latin = chain_text(q) if chains else ("", True)
        elsewhere = None  # a reading whose answers lie outside its upper levels
        parses = self.parses(text, is_latin) if _parsable(text) else []
        if parses:
            # Whole names and prefixes of the query as one name, without typos (the typo
            # search of a long chain costs the most time and finds nothing useful).
            single = (
                self.index.search(q, limit=first, **filters)
                if filters
                else self.index.suggest(q, first)
            )
            if not single or single[0].score <= WHOLE_NAME_SCORE:
                reading = self.read(q, limit=first, _parses=parses, **filters)
                # A reading that rests on a guess — its answers are all misspellings of the
                # last level, or found elsewhere than the upper levels — gives way to the
                # query read as one name, when that finds anything: 珠江村委 is the start of
                # 珠江村委会, 石牌街到 a slip for 石牌街道 and 珠江新成 for 珠江新城, not
                # 珠江街道 + 村委, 石牌街道 + 街到 or 新成村 in another city.
                if reading is not None and (
                    all(h.matched_form == "typo" for h in reading.hits) or not reading.nested
                ):
                    found_any, whole = self._as_one_name(q, limit, offset, filters)
                    if found_any:
                        return whole, None
                if reading is not None:
                    seen = {h.id for h in reading.hits}
                    hits = reading.hits + [h for h in single if h.id not in seen]
                    if reading.nested:
                        return hits[page], reading
                    elsewhere = hits[page], reading
        if elsewhere is None:
            found_any, hits = self._as_one_name(q, limit, offset, filters)
            if found_any or not chains:
                return hits, None
        # Nothing within the levels as typed: an upper level may be misspelt with a
        # character of the same sound (广洲天河, 深镇南山: an input method's slip; 深镇 is
        # also a town, where 南山 is not), so read the chain by its pinyin, the levels cut
        # where the characters are. Only here, where the query found nothing nested, so no
        # query that finds something pays for it.
        by_sound = [] if is_latin else self._parses_by_sound(text)
        reading = self.read(q, limit=first, _parses=by_sound, **filters) if by_sound else None
        if reading is not None and reading.nested:
            return reading.hits[page], reading
        return elsewhere or ([], None)

    def _as_one_name(self, q, limit: int, offset: int, filters: dict) -> tuple[bool, list[Hit]]:
        """(whether the query read as one name finds anything at all, the page asked for):
        the reading is chosen on the first, whatever the page."""
        hits = self.index.search(q, limit=limit, offset=offset, **filters)
        if hits or offset == 0:
            return bool(hits), hits
        return bool(self.index.search(q, limit=1, **filters)), hits

    def _parses_by_sound(self, text: str) -> list[_Parse]:
        """Readings of a chain in characters whose upper levels are found by their pinyin:
        each level cut where a character ends, and given as typed (广洲 › read as 广州市)."""
        if not _parsable(text):
            return []
        syl = [normalise_latin(x) for x in syllables(text)]
        if len(syl) != len(text) or not all(syl):
            return []
        char_at, at = {0: 0}, 0  # offset in the pinyin -> offset in the characters
        for i, x in enumerate(syl):
            at += len(x)
            char_at[at] = i + 1
        parses = []
        for p in self.parses("".join(syl), True):
            cuts, at = [], 0
            for piece in p.typed:
                at += len(piece)
                cuts.append(char_at.get(at))
            end = char_at.get(p.end)
            if None in cuts or end is None or len(text) - end < MIN_KEY_CHARS:
                continue  # a level ends inside a character, or the last part is too short
            bounds = [0, *cuts]
            parses.append(
                _Parse(
                    p.divisions,
                    tuple(text[a:b] for a, b in zip(bounds, bounds[1:])),
                    end,
                    p.levels,
                    p.tail_division,
                    p.tail_level,
                )
            )
        return parses

    def suggest(self, q: str, limit: int = 10) -> list[tuple[Hit, str]]:
        """:meth:`_suggest` of the query without what pasting brings along (as
        :meth:`search`), its searches sharing one read of the store."""
        with self.index.one_read():
            return self._suggest(trim_query(q), limit)

    def _suggest(self, q: str, limit: int = 10) -> list[tuple[Hit, str]]:
        """Completions as the user types, chains included: 广州天 → 天河区 (in 广州市),
        广州天河石 → 石牌街道 (in 天河区), whole names and prefixes only (no typos). The
        last level may be a single character (or letter) here. Completions of the query as
        one name come first when one of them is the whole query.

        Returns (hit, completion): what the search box should hold when the hit is chosen,
        the upper levels as typed followed by the name (广州天河石牌街道) where the query
        was typed in characters, else the name."""
        single = self.index.suggest(q, limit)
        as_names = [(h, h.name) for h in single]
        if not isinstance(q, str) or len(q) > MAX_QUERY_CHARS:
            return as_names
        # Each word normalised (full width, case), the spaces between them kept: they are
        # level boundaries for the user (normalise_text alone drops them).
        typed = " ".join(w for w in (normalise_text(w) for w in q.split()) if w)
        # Spaces between words are level boundaries (gz t: 广州 › t…): a name that only
        # matches the query read as one word (高灶头, gzt) comes after the chain's answers.
        spaced = bool(re.search(r"\S\s+\S", typed))
        if single and single[0].score > WHOLE_NAME_SCORE and not spaced:
            return as_names
        text, is_latin = chain_text(q)
        if len(text) < MIN_KEY_CHARS + 1:
            return as_names
        divs = self.lexicon.divisions
        hits: list[tuple[Hit, str]] = []
        seen: set[str] = set()
        tried: set[tuple[str, str]] = set()
        best_rank = None
        for p in self.parses(text, is_latin, min_tail=1):
            if best_rank is not None and p.rank != best_rank:
                break
            if spaced and not _keeps_spaces(p, text, typed, is_latin):
                continue
            upper_end = _typed_end(typed, text[: p.end], is_latin)
            if upper_end is None:
                continue
            tail = typed[upper_end:].strip()
            lowest = divs[p.divisions[-1]].code
            if (lowest, tail) in tried:
                continue
            if len(tried) >= MAX_TAIL_SEARCHES:
                break
            tried.add((lowest, tail))
            found = self._without_levels(p, self.index.suggest(tail, limit, division=lowest))
            if found:
                best_rank = p.rank
            # The levels as typed (广州, gz , guangzhou ), then the name.
            upper = typed[:upper_end]
            hits += [(h, upper + h.name) for h in found if h.id not in seen and not seen.add(h.id)]
        hits.sort(key=lambda pair: -pair[0].score)  # stable: the first reading wins ties
        return (hits + [(h, c) for h, c in as_names if h.id not in seen])[:limit]

    def read(self, q: str, *, limit: int = 10, _parses=None, **filters) -> ChainReading | None:
        """The best chain reading of ``q`` with its hits, or None when ``q`` cannot be read
        as a chain (no upper level found, or nothing found for the last level anywhere).

        ``filters`` are passed to the single-name search of the last level (not
        ``division``, which the chain sets)."""
        text, is_latin = chain_text(q)
        if len(text) < 2 * MIN_KEY_CHARS:
            return None
        parses = _parses if _parses is not None else self.parses(text, is_latin)
        if not parses:
            return None
        divs = self.lexicon.divisions
        typed = normalise_text(q)
        # The last level goes to the search as typed (濛洲 stays 濛洲: the search reads
        # traditional characters itself, and a name may keep a traditional character).
        as_typed = not is_latin and len(typed) == len(text)

        def tail_of(p: _Parse) -> str:
            return typed[p.end :] if as_typed else text[p.end :]

        # 1. Whole names and prefixes within the upper levels, best parse first; parses as
        # good as the first that finds something add their hits (gz th dh: two readings).
        tried: set[tuple[str, str]] = set()
        found: list[tuple[_Parse, list[Hit]]] = []
        for p in parses:
            if found and p.rank != found[0][0].rank:
                break
            tail = tail_of(p)
            lowest = divs[p.divisions[-1]].code
            if _is_generic_only(tail) or (lowest, tail) in tried:
                continue
            if len(tried) >= MAX_TAIL_SEARCHES:
                break
            tried.add((lowest, tail))
            hits = self._without_levels(p, self._within(tail, lowest, limit, filters))
            if hits:
                found.append((p, hits))
        if found:
            merged, seen = [], set()
            for _, hits in found:
                merged += [h for h in hits if h.id not in seen and not seen.add(h.id)]
            merged.sort(key=lambda h: -h.score)  # stable: the first reading wins ties
            return self._reading(found[0][0], tail_of(found[0][0]), merged[:limit], nested=True)
        # 2. Nothing inside: the last level anywhere, when it names a place as typed.
        best = next((p for p in parses if not _is_generic_only(text[p.end :])), None)
        if best is None:
            return None
        tail = tail_of(best)
        anywhere = self.index.search(tail, limit=limit, **filters)
        if anywhere and anywhere[0].score > WHOLE_NAME_SCORE:
            return self._reading(best, tail, anywhere, nested=False)
        # 3. A misspelt last level inside the upper levels — of the best reading, else of
        # the next ones (石牌 read as the level 石牌街道 leaves 街到, found nowhere inside;
        # 天河 + 石牌街到 finds 石牌街道) — else the nearest anywhere.
        tried = set()
        for p in parses:
            if _is_generic_only(text[p.end :]):
                continue
            lowest, tail_p = divs[p.divisions[-1]].code, tail_of(p)
            if (lowest, tail_p) in tried:
                continue
            if len(tried) >= MAX_TYPO_READINGS:
                break
            tried.add((lowest, tail_p))
            inside = self._without_levels(
                p, self.index.search(tail_p, division=lowest, limit=limit, **filters)
            )
            if inside:
                return self._reading(p, tail_p, inside, nested=True)
        if anywhere:
            return self._reading(best, tail, anywhere, nested=False)
        return None

    def _within(self, tail: str, code: str, limit: int, filters: dict) -> list[Hit]:
        # Whole names and prefixes only (fast); typos are tried once, for the best parse,
        # since a typo search costs the most time at the national scale.
        if not filters:
            return self.index.suggest(tail, limit, division=code)
        hits = self.index.search(tail, division=code, limit=limit, **filters)
        return [h for h in hits if h.matched_form != "typo"]

    def _without_levels(self, p: _Parse, hits: list[Hit]) -> list[Hit]:
        """The hits less the upper levels themselves (广州天河 should not answer 广州市)."""
        codes = {self.lexicon.divisions[d].code for d in p.divisions}
        return [
            h
            for h in hits
            if not (h.level_rank < 5 and h.division_path and h.division_path[-1] in codes)
        ]

    def _reading(self, p: _Parse, tail: str, hits: list[Hit], *, nested: bool) -> ChainReading:
        divs = self.lexicon.divisions
        levels = [
            {"typed": typed, "code": divs[d].code, "name": divs[d].name, "level": divs[d].level}
            for d, typed in zip(p.divisions, p.typed)
        ]
        upper = " › ".join(level["name"] for level in levels)
        if nested:
            message = f"在{upper}内查找“{tail}”"
        else:
            where = " › ".join(hits[0].division_chain) if hits[0].division_chain else ""
            message = f"{upper}内没有“{tail}”；最接近的是其他地方的{hits[0].name}" + (
                f"（{where}）" if where else ""
            )
        return ChainReading(levels, tail, nested, message, hits)
