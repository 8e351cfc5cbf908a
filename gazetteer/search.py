"""Place-name search: forgiving, ranked, filtered, in memory.

:class:`SearchIndex` finds place names the way people type them:

* Chinese characters, simplified or traditional (廣州 finds 广州市; OpenCC t2s);
* full pinyin with or without spaces, tone marks or tone numbers (panyu, pan yu, Pānyú);
* pinyin initials (gz);
* any prefix as the user types (番禺 finds 番禺区);
* one typo: edit distance 1 (substitution, insertion, deletion or swap of neighbours) on the
  characters, or on the pinyin letters for Latin input, in the specific term (专名) of a name,
  optionally followed by the start of its generic term (番禹区, 富涌村, panyy);
* former names (a renamed place is found by its old name; the hit says which).

Ranking: exact (the whole name) > prefix (with a match on the whole specific term, e.g.
番禺 → 番禺区, ahead of other prefixes) > typo. Within a tier: higher divisions first
(``level_rank`` 0 province .. 4 village, 5 other), then in-force before historical before
retired, then current names before pinyin, initials and former-name matches, then shorter
names. ``Hit.score`` (0..1) follows that order; the order of the returned list is the
authority.

Data layout: names, pinyin keys and initials are kept in sorted lists (prefix search is
two bisections) with numpy arrays beside them, so ranking and filtering a prefix range of
any size is vectorised. Typos are found by splitting the query in two halves (one of them
must be intact) and checking the few candidates with rapidfuzz's OSA distance. Records are
stored column-wise: 665,000 names fit in a few hundred MB.

Thread-safety: one lock serialises searches with :meth:`add`/:meth:`remove`.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, islice

import numpy as np
import sqlalchemy as sa
from rapidfuzz import process
from rapidfuzz.distance import OSA

from gazetteer import generic_terms
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.packed import (
    IdIndex,
    PackedStrings,
    SortedKeys,
    SplitColumn,
    encode,
    id_array,
    id_value,
    load_arrays,
    save_arrays,
)
from gazetteer.pinyin import reading_of, syllables
from gazetteer.tables import PLACE_STATUSES

MATCHED_FORMS = ("exact", "prefix", "traditional", "pinyin", "initials", "typo", "former_name")
STATUS_RANK = {"in_force": 0, "historical": 1, "retired": 2}
_STATUS_NAMES = {rank: status for status, rank in STATUS_RANK.items()}
LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
OTHER_LEVEL_RANK = 5
MAX_LIMIT = 500
# A hit whose score is above this matched a whole name or its specific term (the exact and
# specific tiers), not just the start of a name or a misspelling of one.
WHOLE_NAME_SCORE = 0.6
MAX_QUERY_CHARS = 100

# Generic terms (通名) stripped from the end of a name to find its specific term (专名),
# longest first, and committee suffixes whose natural short form keeps a leading part
# (福涌村民委员会 is called 福涌村): both from the one generic-term table.
COMMITTEE_SUFFIXES = generic_terms.committee_short_forms()
GENERIC_SUFFIXES = generic_terms.search_suffixes()
MIN_SPECIFIC_CHARS = 2  # 东区 stays 东区: a one-character specific term says too little
_SUFFIXES_BY_LAST_CHAR: dict[str, tuple[str, ...]] = {}
for _suffix in GENERIC_SUFFIXES:
    _SUFFIXES_BY_LAST_CHAR[_suffix[-1]] = _SUFFIXES_BY_LAST_CHAR.get(_suffix[-1], ()) + (_suffix,)

# Bit layout of the int64 sort key (smaller sorts first).
_TIER_SHIFT, _LEVEL_SHIFT, _STATUS_SHIFT, _FORM_SHIFT, _LEN_SHIFT = 58, 54, 51, 48, 40
_TIER_EXACT, _TIER_SPECIFIC, _TIER_PREFIX, _TIER_TYPO_LIKELY, _TIER_TYPO = 0, 1, 2, 3, 4
_FORM_PENALTY = {
    "exact": 0,
    "prefix": 0,
    "traditional": 0,
    "typo": 0,
    "pinyin": 1,
    "initials": 2,
    "former_name": 3,
}
_MAX_DEPTH = 8  # division path depth kept per record (province .. village is 5)
# The per-record columns kept beside the ids: (numpy type, values per record). ``paths``
# holds division-path ids padded with -1; ``bbox`` is minx, miny, maxx, maxy in degrees.
_COLUMNS = {
    "static": (np.int64, 1),
    "status": (np.int8, 1),
    "level": (np.int8, 1),
    "klass": (np.int16, 1),
    "division": (np.int32, 1),
    "paths": (np.int32, _MAX_DEPTH),
    "bbox": (np.float64, 4),
}


def _empty_columns() -> dict[str, list]:
    return {key: [] for key in _COLUMNS}


def _column_arrays(columns: dict[str, list]) -> dict[str, np.ndarray]:
    """The filled column lists as arrays: one value per record, or one row per record."""
    arrays = {}
    for key, (dtype, width) in _COLUMNS.items():
        array = np.array(columns[key], dtype)
        arrays[key] = array.reshape(-1, width) if width > 1 else array
    return arrays


# SearchIndex attribute of each column.
_COLUMN_ATTRS = {
    "static": "_static",
    "status": "_status",
    "level": "_level",
    "klass": "_klass",
    "division": "_division_code",
    "paths": "_paths",
    "bbox": "_bbox",
}


# Typo search limits, so that a short or very common query stays within milliseconds.
_TYPO_MAX_TERMS = 300  # specific terms one edit from one split of the query
_TYPO_MAX_OTHER_TERMS = 0  # of more: neither homophones nor swaps (the_likeliest_terms)
_ONE_BY_ONE = 40  # texts one_edit_from measures one at a time (4.8 against 0.9 µs for 4)
_TYPO_VERIFY_BUDGET = 20_000  # names checked whole against the query after one specific term

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass
class Hit:
    """One search result. ``division_chain``: names of the divisions from the province down;
    ``division_path``: their codes (for a division, its own code last)."""

    id: object
    name: str
    matched_form: str
    score: float
    division_chain: list[str]
    matched_former_name: str | None = None
    division_code: str | None = None
    feature_class: str | None = None
    status: str | None = None
    level_rank: int = OTHER_LEVEL_RANK
    division_path: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# ---------------------------------------------------------------------------- key fingerprint

# Bump when the keys computed for a name change in a way the data files below do not show
# (PostgreSQL's stored keys are rewritten on the next start; see keys_fingerprint).
KEYS_FORMAT = "2"  # 2: a name is found by its own romanization too (AUX_OWN_READING)
# What a name's keys are read from besides the code: the generic terms (专名/通名 split),
# the place readings and the 通用规范汉字表 readings, and the libraries that read text.
_KEY_DATA = ("generic_terms.csv", "place_readings*", "tgh_*.txt")
_KEY_LIBRARIES = ("pypinyin", "opencc-python-reimplemented", "numpy")


@lru_cache(maxsize=2)
def keys_fingerprint(*, with_code: bool = False) -> str:
    """A short hash of what the search keys of a name are computed from: ``KEYS_FORMAT``,
    the rule data files in ``_KEY_DATA`` (gazetteer/rules/data), the versions of the
    libraries in ``_KEY_LIBRARIES`` and, with ``with_code``, the source of the modules that
    compute and pack the keys. Saved index generations (``gazetteer.index_files``, with
    the code: rebuilding them costs seconds to minutes) and PostgreSQL's stored keys
    (``gazetteer.search_keys``, without: rewriting 13 million rows is an operator's
    decision, so a key change in code bumps ``KEYS_FORMAT``) made under another
    fingerprint are not reused: a new generic term or reading reaches search after a
    restart, without a command."""
    import hashlib
    from importlib import metadata
    from pathlib import Path

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(KEYS_FORMAT.encode())
    data_dir = here / "rules" / "data"
    for pattern in _KEY_DATA:
        for path in sorted(data_dir.glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in _KEY_LIBRARIES:
        digest.update(f"{library}={metadata.version(library)}".encode())
    if with_code:
        for module in ("search.py", "packed.py", "nearest.py", "pinyin.py", "generic_terms.py"):
            digest.update((here / module).read_bytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------- query checks
# Shared by every search provider (this in-memory index, gazetteer.search_postgres).


def check_query(q, limit, offset) -> None:
    """Raise InvalidInput for an empty or over-long query, or a bad limit/offset, naming
    the parameter (``details.field``: q, limit or offset)."""
    if not isinstance(q, str) or not normalise_text(trim_query(q)):
        raise InvalidInput("请输入要查询的地名（参数 q）", details={"field": "q"})
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"查询内容（参数 q）过长：{len(q)} 个字符，最多 {MAX_QUERY_CHARS} 个",
            details={"field": "q", "max_chars": MAX_QUERY_CHARS},
        )
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"limit 应为 1～{MAX_LIMIT} 的整数", details={"field": "limit", "limit": limit}
        )
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset 应为非负整数", details={"field": "offset", "offset": offset})


def check_status(status) -> list[str]:
    """The statuses asked for (one or several), or InvalidInput naming unknown ones."""
    wanted = [status] if isinstance(status, str) else list(status)
    bad = [s for s in wanted if s not in PLACE_STATUSES]
    if bad:
        raise InvalidInput(
            f"未知的地名状态：{'、'.join(map(str, bad))}",
            details={"field": "status", "status": bad},
        )
    return wanted


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) degrees as floats, or InvalidInput."""
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InvalidInput("bbox 应为 (最小经度, 最小纬度, 最大经度, 最大纬度)") from None
    if not (minx <= maxx and miny <= maxy):
        raise InvalidInput("bbox 的最小值不能大于最大值", details={"bbox": list(bbox)})
    return minx, miny, maxx, maxy


# ---------------------------------------------------------------------------- normalisation


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional -> simplified characters (OpenCC t2s); other characters unchanged.
    Cached: one search converts its query up to a dozen times (the chain reader, each
    reading, the typo forms), at 10-20 µs each."""
    return _t2s().convert(text)


def normalise_text(text: str) -> str:
    """NFKC (full-width -> half-width), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def trim_query(q):
    """A query without what pasting brings along: format characters anywhere (a zero-width
    space, a byte-order mark) and punctuation and spaces around it (“番禺”, （番禺）, 番禹。):
    none is part of a name typed, and each would count as the one slip a typo search
    allows. Spaces inside are kept (they separate the levels of a chain). Not a string:
    returned as it is, for the checks to refuse."""
    if not isinstance(q, str):
        return q
    q = "".join(c for c in q if unicodedata.category(c) != "Cf")
    start, end = 0, len(q)
    while start < end and _around(q[start]):
        start += 1
    while end > start and _around(q[end - 1]):
        end -= 1
    return q[start:end]


def _around(c: str) -> bool:
    return c.isspace() or unicodedata.category(c).startswith("P")


def query_text(q: str) -> tuple[str, bool]:
    """(the text a search reads of the query, whether it is Latin): trimmed
    (:func:`trim_query`) and normalised; characters mixed with letters (广zhou) are read
    as pinyin, the characters replaced by their syllables."""
    text = normalise_text(trim_query(q))
    has_han, has_latin = bool(_HAN.search(text)), bool(_LATIN.search(text))
    if has_han and has_latin:
        text = "".join(syllables(text))
    return text, has_latin


def normalise_latin(text: str) -> str:
    """Pinyin as typed -> matching key: lowercase letters only; tone marks and tone numbers,
    spaces and apostrophes dropped; ü (also typed v or u:) -> 'v'.  'Pān yú' -> 'panyu'."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).lower())
    # ü in any form (ü, ǚ with a tone, u:) -> v before the tone marks are dropped.
    text = text.replace("u\u0308", "v").replace("u:", "v")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c for c in text if "a" <= c <= "z")


@lru_cache(maxsize=4096)
def _syllable_key(s: str) -> str:
    return normalise_latin(s)


def split_generic(name: str) -> tuple[int, int]:
    """(natural_len, specific_len) in characters: the name without committee suffixes
    (福涌村民委员会 -> 福涌村, 3) and without any generic terms (-> 福涌, 2). Both are
    prefixes of the name."""
    natural = len(name)
    if name.endswith("会"):
        for suffix, spoken in COMMITTEE_SUFFIXES.items():
            if name.endswith(suffix) and len(name) - len(suffix) >= MIN_SPECIFIC_CHARS:
                natural = len(name) - len(suffix) + len(spoken)
                break
    spec = len(name)
    stripped = True
    while stripped and spec > MIN_SPECIFIC_CHARS:
        stripped = False
        for suffix in _SUFFIXES_BY_LAST_CHAR.get(name[spec - 1], ()):
            if spec - len(suffix) >= MIN_SPECIFIC_CHARS and name.endswith(suffix, 0, spec):
                spec -= len(suffix)
                stripped = True
                break
    return natural, spec


class _Readings:
    """Pinyin of names, computed per specific term and per generic suffix and then joined:
    most names share their generic term, and many share their specific term, so this is
    several times faster than reading every name whole."""

    # Texts read per call of gazetteer.pinyin.syllables when prefetching: a non-Chinese
    # separator keeps pypinyin's phrase matching inside each text, and one call for many
    # texts saves most of the per-call overhead.
    BATCH_SEPARATOR = "|"

    def __init__(self):
        self.cache: dict[str, list[str]] = {}
        self.keyed: dict[str, _Keyed] = {}

    def of(self, text: str) -> list[str]:
        hit = self.cache.get(text)
        if hit is None:
            hit = self.cache[text] = [_syllable_key(s) for s in syllables(text)]
        return hit

    def prefetch(self, names: Iterable[str]) -> None:
        """Read the specific terms and generic suffixes of many names at once."""
        todo = set()
        for name in names:
            if name in self.keyed:
                continue
            spec_len = split_generic(name)[1]
            for part in (name[:spec_len], name[spec_len:]):
                if part and part not in self.cache and self.BATCH_SEPARATOR not in part:
                    todo.add(part)
        todo = sorted(todo)
        for start in range(0, len(todo), 2000):
            chunk = todo[start : start + 2000]
            syl = syllables(self.BATCH_SEPARATOR.join(chunk))
            if len(syl) != sum(map(len, chunk)) + len(chunk) - 1:
                continue  # not aligned: leave these to one-by-one reading
            pos = 0
            for text in chunk:
                self.cache[text] = [_syllable_key(x) for x in syl[pos : pos + len(text)]]
                pos += len(text) + 1

    def name(self, name: str, spec_len: int) -> list[str]:
        if spec_len >= len(name):
            return self.of(name)
        return self.of(name[:spec_len]) + self.of(name[spec_len:])


@dataclass
class _Keyed:
    """Everything the index keeps about one name or former name."""

    text: str
    natural_len: int
    spec_len: int
    py: str
    py_natural_len: int
    py_spec_len: int
    ini: str
    ini_natural_len: int
    ini_spec_len: int


def _keyed(text: str, readings: _Readings) -> _Keyed:
    """Keys of one name; identical names share one object while building."""
    hit = readings.keyed.get(text)
    if hit is None:
        hit = readings.keyed[text] = _make_keyed(text, readings)
    return hit


def _make_keyed(text: str, readings: _Readings, syl: list[str] | None = None) -> _Keyed:
    """The keys of ``text``, read by ``readings`` or, when given, by ``syl`` (one syllable
    key per character)."""
    natural_len, spec_len = split_generic(text)
    if syl is None:
        syl = readings.name(text, spec_len)
        if len(syl) != len(text):  # cannot happen with gazetteer.pinyin, but never misalign
            syl = readings.of(text)
    lens = list(accumulate((len(s) for s in syl), initial=0))
    ini_lens = list(accumulate((1 if s else 0 for s in syl), initial=0))
    n = min(len(syl), len(text))
    return _Keyed(
        text,
        natural_len,
        spec_len,
        "".join(syl),
        lens[min(natural_len, n)],
        lens[min(spec_len, n)],
        "".join(s[0] for s in syl if s),
        ini_lens[min(natural_len, n)],
        ini_lens[min(spec_len, n)],
    )


# The ``aux`` of a name read as its own romanization spells it, where that reads a
# character otherwise than the keys do: 长乐路 recorded as Changyue Lu (a heteronym an
# officer confirmed, a romanization corrected) is found by changyue as well as by changle.
# -1 is the name as the keys read it; 0, 1, ... its former names.
AUX_OWN_READING = -2


_WORD_MARKS = str.maketrans("", "", " '-")


def _own_reading(name: str, romanized, readings: _Readings, keyed: _Keyed) -> _Keyed | None:
    """``name`` keyed as its recorded ``romanized`` spelling reads it, or None when that is
    the reading ``keyed`` has already (or no reading of the name at all)."""
    if not romanized:
        return None
    spelling = str(romanized)
    # Nearly every record's spelling is its keys' reading: said without normalise_latin
    # (a tenth of the time) when the spelling is plain ASCII.
    if spelling.isascii() and spelling.lower().translate(_WORD_MARKS) == keyed.py:
        return None
    if normalise_latin(spelling) == keyed.py:
        return None
    syl = reading_of(name, spelling)
    if syl is None:
        return None
    keys = [_syllable_key(x) for x in syl]
    if "".join(keys) == keyed.py:  # ü written u, or v: the same reading
        return None
    return _make_keyed(name, readings, keys)


def name_forms(record: dict, readings: _Readings) -> list[tuple[int, _Keyed]]:
    """What a search record (``store_records``' dict) is found by, each with its ``aux``:
    its name (-1), the name as its own ``romanized`` spelling reads it where that differs
    (``AUX_OWN_READING``), and each distinct former name (0, 1, ...). Empty for an empty
    name. Both stores key a record by this (``SearchIndex``, ``gazetteer.search_keys``)."""
    name = normalise_text(str(record["name"]))
    if not name:
        return []
    keyed = _keyed(name, readings)
    forms = [(-1, keyed)]
    own = _own_reading(name, record.get("romanized"), readings, keyed)
    if own is not None:
        forms.append((AUX_OWN_READING, own))
    former = [normalise_text(str(f)) for f in record.get("former_names") or []]
    former = [f for f in dict.fromkeys(former) if f and f != name]
    forms += [(aux, _keyed(f, readings)) for aux, f in enumerate(former)]
    return forms


# ---------------------------------------------------------------------------- sorted key lists


class _KeyList:
    """Sorted keys with, per entry: record position, former-name index (-1 = the name
    itself), and the key lengths of the name's natural form and specific term. In memory:
    the keys of records added after the base was built (few), and the base while it is
    built."""

    def __init__(self, keys: list[str], rec, aux, nat_len, spec_len):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self.keys = [keys[i] for i in order]
        self.rec = np.asarray(rec, dtype=np.int32)[order] if len(keys) else np.empty(0, np.int32)
        self.aux = np.asarray(aux, dtype=np.int16)[order] if len(keys) else np.empty(0, np.int16)
        self.nat_len = (
            np.asarray(nat_len, dtype=np.int16)[order] if len(keys) else np.empty(0, np.int16)
        )
        self.spec_len = (
            np.asarray(spec_len, dtype=np.int16)[order] if len(keys) else np.empty(0, np.int16)
        )

    @classmethod
    def empty(cls) -> _KeyList:
        return cls([], [], [], [], [])

    def insert(self, key: str, rec: int, aux: int, nat_len: int, spec_len: int) -> None:
        i = bisect.bisect_right(self.keys, key)
        self.keys.insert(i, key)
        self.rec = np.insert(self.rec, i, rec)
        self.aux = np.insert(self.aux, i, aux)
        self.nat_len = np.insert(self.nat_len, i, nat_len)
        self.spec_len = np.insert(self.spec_len, i, spec_len)

    def range_of(self, prefix: str) -> tuple[int, int]:
        """(lo, hi): entries lo..hi start with prefix."""
        lo = bisect.bisect_left(self.keys, prefix)
        return lo, bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)

    def ranges_of(self, prefixes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) arrays of :meth:`range_of` for many prefixes."""
        bounds = [self.range_of(p) for p in prefixes]
        return (
            np.array([b[0] for b in bounds], np.int64),
            np.array([b[1] for b in bounds], np.int64),
        )

    def prefix_range(self, q: str) -> tuple[int, int, int]:
        """(lo, end_of_exact, hi): entries lo..hi start with q, lo..end_of_exact equal it."""
        lo = bisect.bisect_left(self.keys, q)
        exact_end = bisect.bisect_right(self.keys, q, lo)
        hi = bisect.bisect_left(self.keys, q + "\U0010ffff", exact_end)
        return lo, exact_end, hi

    def texts(self, lo: int, hi: int) -> list[str]:
        return self.keys[lo:hi]

    def __len__(self) -> int:
        return len(self.keys)


class _PackedKeyList:
    """The same as :class:`_KeyList` in packed arrays (``gazetteer.packed``): the keys of
    the base, shareable between processes through a memory-mapped file."""

    _COLUMNS = ("rec", "aux", "nat_len", "spec_len")

    def __init__(self, keys: SortedKeys, rec, aux, nat_len, spec_len):
        self.keys, self.rec, self.aux, self.nat_len, self.spec_len = (
            keys,
            rec,
            aux,
            nat_len,
            spec_len,
        )
        self.range_of, self.ranges_of, self.prefix_range, self.texts = (
            keys.range_of,
            keys.ranges_of,
            keys.prefix_range,
            keys.texts,
        )

    @classmethod
    def of(cls, keys: _KeyList) -> _PackedKeyList:
        return cls(SortedKeys.of(keys.keys), keys.rec, keys.aux, keys.nat_len, keys.spec_len)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return self.keys.arrays(prefix) | {f"{prefix}.{c}": getattr(self, c) for c in self._COLUMNS}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> _PackedKeyList:
        return cls(
            SortedKeys.from_arrays(arrays, prefix),
            *(arrays[f"{prefix}.{c}"] for c in cls._COLUMNS),
        )

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class _Keys:
    """One kind of key (characters, pinyin or initials): the base's packed list and the
    in-memory list of keys added since. Queries look in both (``parts``)."""

    base: _PackedKeyList
    extra: _KeyList = field(default_factory=_KeyList.empty)

    @property
    def parts(self) -> tuple:
        return (self.base, self.extra) if len(self.extra) else (self.base,)

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)


def _bucket_key(term: str) -> str:
    """A typo-bucket key: the term's length first, so one sorted list holds every bucket."""
    return f"{len(term):03d}{term}"


def _ends_key(term: str) -> str:
    """The key of a three-character term among those with the same first and last
    characters (甲?丙: one range, the terms one substitution from 甲乙丙 in the middle);
    the key's own key is the term again."""
    return term[0] + term[2] + term[1]


def term_lengths_that_fit(q: str, heads: Sequence[str], present) -> list[tuple[int, ...]]:
    """For each of ``heads`` (prefixes of ``q``), the lengths of the terms one edit from it
    (len(head) - 1 .. + 1) after which some name key can hold the rest of ``q`` (the tail):
    the tail starts where the term ends, and every pair and run of three of the tail's
    neighbouring characters must be at its place in some key. ``present(codes)`` gives
    those of the codes (:func:`_positional_grams`) that some key holds: the in-memory
    base's sorted array, or ``place_search_grams`` on PostgreSQL. A necessary condition
    only: a tail that holds the slip (大山 + 村村民员委会) almost never fits, and a head with
    no length left (a two-character head has thousands of terms) is not looked up. Tails of
    fewer than two characters fit every length.

    Linear in the query's length: a term one character shorter than its head, as long, or
    one longer shifts every tail by the same -1, 0 or +1, so the codes of each character of
    ``q`` are made once per shift, and a tail fits when those of all its characters are
    there (each head's own tail codes, made apart, were quadratic: 115 ms for a query of
    100 characters)."""
    every = [(len(h) - 1, len(h), len(h) + 1) for h in heads]
    starts = [len(h) for h in heads if len(q) - len(h) >= 2]
    if not starts:
        return every
    first = min(starts)
    codes = {  # shift -> the codes of each character of q from ``first`` on
        shift: [_grams_at(q, j, j + shift) for j in range(first, len(q) - 1)]
        for shift in (-1, 0, 1)
    }
    found = present(sorted({c for per_char in codes.values() for cs in per_char for c in cs}))
    fit_from = {}  # shift -> whether the codes of q[j:] are all there, j - first
    for shift, per_char in codes.items():
        fits = [True] * (len(per_char) + 1)
        for j in range(len(per_char) - 1, -1, -1):
            fits[j] = fits[j + 1] and all(c in found for c in per_char[j])
        fit_from[shift] = fits
    return [
        lengths
        if len(q) - len(head) < 2
        else tuple(n for n, shift in zip(lengths, (-1, 0, 1)) if fit_from[shift][len(head) - first])
        for head, lengths in zip(heads, every)
    ]


def _positional_grams(text: str, offset: int = 0) -> list[int]:
    """The positional grams of ``text`` as the key ``text`` is part of from ``offset`` on
    would hold them: each pair of neighbouring characters with its position,
    ``position << 42 | first << 21 | second`` (a code point takes 21 bits), and each run of
    three, ``TRIPLE | min(position, 63) << 57 | first << 38 | second << 19 | third`` with
    each code point cut to its low 19 bits (every plane that holds a character; a
    triple's code is negative).

    Pairs alone let through most tails that hold a slip: 665,273 names hold nearly every
    pair of a generic term somewhere (大山 + 村村民员委会: each of 村村, 村民, 民员, 员委, 委会 is
    at its place in some key, never all of them in one). A run of three is rarer. Cutting a
    code point or a position merges codes, which only skips less."""
    return [c for i in range(len(text) - 1) for c in _grams_at(text, i, offset + i)]


def _grams_at(text: str, i: int, position: int) -> list[int]:
    """The codes of the pair and the run of three that start at ``text[i]`` (those that
    fit in ``text``), at ``position`` of a key (:func:`_positional_grams`)."""
    if i + 1 >= len(text):
        return []
    a, b = ord(text[i]), ord(text[i + 1])
    pair = (position << 42) | (a << 21) | b
    if i + 2 >= len(text):
        return [pair]
    return [
        pair,
        TRIPLE
        | (min(position, TRIPLE_LAST_POSITION) << 57)
        | ((a & _TRIPLE_CHAR) << 38)
        | ((b & _TRIPLE_CHAR) << 19)
        | (ord(text[i + 2]) & _TRIPLE_CHAR),
    ]


# A run of three's code (_positional_grams), also made in SQL (gazetteer.search_keys):
TRIPLE = -(1 << 63)  # the sign bit: a run of three, not a pair
TRIPLE_LAST_POSITION = 63  # positions past it count as it (6 bits)
TRIPLE_CHAR_BITS = 19  # the low bits kept of each code point
_TRIPLE_CHAR = (1 << TRIPLE_CHAR_BITS) - 1


class _TypoBuckets:
    """Distinct specific terms bucketed by length, sorted forwards and reversed; for
    Chinese terms also their pinyin, to tell homophone slips (富涌 for 福涌) from others.

    The base's terms are packed (``fwd``/``rev``: :func:`_bucket_key` keys; ``ends``: the
    three-character terms by their first and last character, :func:`_ends_key`; ``by_reading``:
    ``reading<TAB>term`` sorted, so that the homophones of a reading are one range); terms
    added since are kept in small in-memory lists."""

    def __init__(self, base: dict, has_readings: bool):
        self.base_fwd, self.base_rev, self.base_ends = base["fwd"], base["rev"], base["ends"]
        self.base_by_reading = base.get("by_reading")
        self.base_grams: np.ndarray | None = base.get("grams")
        self.has_readings = has_readings
        self.fwd: dict[int, list[str]] = {}
        self.rev: dict[int, list[str]] = {}
        self.reading: dict[str, str] = {}
        self.grams: set[int] = set()  # of the keys added since the base

    @staticmethod
    def pack(
        terms: Iterable[str],
        readings: dict[str, str] | None = None,
        keys: Iterable[str] | None = None,
    ) -> dict:
        """The packed base; with ``keys`` (the name keys the terms' ranges are read from)
        also their :func:`_positional_grams`, sorted and distinct."""
        terms = set(terms)
        base = {
            "fwd": SortedKeys.of(sorted(_bucket_key(t) for t in terms)),
            "rev": SortedKeys.of(sorted(_bucket_key(t[::-1]) for t in terms)),
            "ends": SortedKeys.of(sorted(_ends_key(t) for t in terms if len(t) == 3)),
        }
        if readings is not None:
            base["by_reading"] = SortedKeys.of(
                sorted(f"{readings[t]}\t{t}" for t in terms if t in readings)
            )
        if keys is not None:
            grams = np.fromiter((g for key in keys for g in _positional_grams(key)), np.int64)
            base["grams"] = np.unique(grams)
        return base

    def longest_term(self) -> int:
        """The length of the longest term (0 when there is none): the base's keys start
        with their term's length, so its last key has it."""
        base = int(self.base_fwd[len(self.base_fwd) - 1][:3]) if len(self.base_fwd) else 0
        return max([base, *(n for n, added in self.fwd.items() if added)])

    def has_terms(self, terms: Sequence[str]) -> list[bool]:
        """Whether each of ``terms`` is a term: the base's in one vectorised search (a key
        is a term when the range of keys starting with it starts with itself)."""
        keys = [_bucket_key(t) for t in terms]
        los, his = self.base_fwd.ranges_of(keys)
        found = []
        for term, key, lo, hi in zip(terms, keys, los, his):
            added = self.fwd.get(len(term), [])
            i = bisect.bisect_left(added, term)
            found.append(
                (i < len(added) and added[i] == term)
                or (lo < hi and self.base_fwd.raw(int(lo)) == encode(key))
            )
        return found

    def term_lengths(self, q: str, heads: Sequence[str]) -> list[tuple[int, ...]]:
        """:func:`term_lengths_that_fit` over the grams of the base's keys and of those
        added since; every length fits when the base keeps no grams (the Latin buckets)."""
        if self.base_grams is None:
            return [(len(h) - 1, len(h), len(h) + 1) for h in heads]
        return term_lengths_that_fit(q, heads, self._grams_present)

    def _grams_present(self, codes: list[int]) -> set[int]:
        base = self.base_grams
        wanted = np.array(codes, np.int64)
        if len(base):
            at = np.minimum(np.searchsorted(base, wanted), len(base) - 1)
            found = set(wanted[base[at] == wanted].tolist())
        else:
            found = set()
        return found | (self.grams & set(codes))

    def read_as(self, terms: Iterable[str], reading: str) -> set[str]:
        """The terms whose pinyin is ``reading`` (the homophones of what was typed): those
        added since the base by their reading, the base's from the one range of
        ``by_reading`` that holds that reading (a short head has thousands of terms one
        edit away; a reading has a few terms)."""
        terms = list(terms)
        same = {t for t in terms if self.reading.get(t) == reading}
        if self.base_by_reading is not None:
            lo, hi = self.base_by_reading.range_of(reading + "\t")
            if lo < hi:
                homophones = {k.split("\t", 1)[1] for k in self.base_by_reading.texts(lo, hi)}
                same |= {t for t in terms if t not in self.reading and t in homophones}
        return same

    def insert(self, term: str, reading: str | None = None, name_key: str | None = None) -> None:
        """Add a term, and the grams of the name key it came from (when this bucket's base
        keeps grams)."""
        if reading is not None:
            self.reading[term] = reading
        if name_key is not None and self.base_grams is not None:
            self.grams.update(_positional_grams(name_key))
        for table, key in ((self.fwd, term), (self.rev, term[::-1])):
            items = table.setdefault(len(term), [])
            i = bisect.bisect_left(items, key)
            if i == len(items) or items[i] != key:
                items.insert(i, key)

    def _added_starting_with(self, forwards: bool, n: int, probe: str) -> list[str]:
        """Keys (terms, or reversed terms) of length n starting with ``probe`` among the
        terms added since the base."""
        items = (self.fwd if forwards else self.rev).get(n)
        if not items:
            return []
        lo = bisect.bisect_left(items, probe)
        return items[lo : bisect.bisect_left(items, probe + "\U0010ffff", lo)]

    def surely_more_than(self, heads: Sequence[str], n: int) -> list[bool]:
        """For each of ``heads``, whether more than ``n`` terms of its own length are one
        edit from it, told from two range sizes without listing them: the base's terms
        that differ from it in the last character only (a range of the forward keys) and
        those that differ in the first only (of the reversed keys), the head itself in
        both, so taken off twice, term or not. A lower bound: a two-character head's
        neighbours of its length are exactly these. The terms added since the base are not
        counted (one may repeat a base term, and a count must not exceed the distinct
        terms)."""
        if not heads:
            return []
        counts = []
        for forwards, base in ((True, self.base_fwd), (False, self.base_rev)):
            probes = [h[:-1] if forwards else h[1:][::-1] for h in heads]
            los, his = base.ranges_of([f"{len(h):03d}{p}" for h, p in zip(heads, probes)])
            counts.append([int(hi - lo) for lo, hi in zip(los, his)])
        return [f + r - 2 > n for f, r in zip(counts[0], counts[1])]

    def likeliest_near(self, head: str, reading: str | None, lengths: Sequence[int]) -> set[str]:
        """The terms of ``lengths`` one edit from ``head`` that :func:`the_likeliest_terms`
        keeps of more than _TYPO_MAX_TERMS, without listing the others: those that read as
        ``reading`` (from the reading's range of the base, and the terms added since) and
        ``head`` itself or with two neighbours swapped."""
        near = [head, *neighbour_swaps(head)]
        found = {t for t, is_term in zip(near, self.has_terms(near)) if is_term}
        if reading is not None:
            same = [t for t, r in self.reading.items() if r == reading]
            if self.base_by_reading is not None:
                lo, hi = self.base_by_reading.range_of(reading + "\t")
                same += [k.split("\t", 1)[1] for k in self.base_by_reading.texts(lo, hi)]
            same = [t for t in dict.fromkeys(same) if len(t) in lengths]
            found.update(same[i] for i in one_edit_from(head, same))
        return {t for t in found if len(t) in lengths}

    def within_one_edit(
        self, heads: Sequence[str], lengths: Sequence[Sequence[int]] | None = None
    ) -> list[set[str]]:
        """For each of ``heads``, the distinct terms within OSA distance 1 of it (the head
        itself included); of the given ``lengths`` only, when given (one tuple a head).

        With one edit, either the first half of a head is intact (the edit is after it) or
        the second half is (the edit is before it); a swap across the middle is looked up
        directly. Only terms of length len(q)-1 .. len(q)+1 can be one edit away. Every
        range of every head is found in one vectorised search per direction: a query tries
        each of its splits, and most of these ranges are empty.

        A first half of one character would read every term of a length that starts with
        it (3,784 three-character terms start with 西), to keep a few. So the three-character
        terms with a character put in the middle of a two-character head (甲?乙), or with the
        middle one of a three-character head changed (甲?丙), are read from the range of
        their first and last characters (``base_ends``); a three-character head's other
        neighbours keep its first two characters, or are the two it keeps when one goes
        (甲丙), or its last two swapped (甲丙乙), each a range of a few terms."""
        probes: dict[bool, list[tuple[int, int, str, str]]] = {True: [], False: []}
        ends: list[tuple[int, str]] = []  # (head, first + last character of the terms)
        for i, q in enumerate(heads):
            h = len(q) // 2
            wanted_lengths = lengths[i] if lengths is not None else (len(q) - 1, len(q), len(q) + 1)
            for n in wanted_lengths:
                if h != 1 or (len(q) == 2 and n != 3):
                    probes[True].append((i, n, f"{n:03d}{q[:h]}", q))
                    probes[False].append((i, n, f"{n:03d}{q[h:][::-1]}", q[::-1]))
                    continue
                # Two characters each way: 甲乙… and …乙丙 (甲乙, …甲乙 for a head 甲乙).
                probes[True].append((i, n, f"{n:03d}{q[:2]}", q))
                probes[False].append((i, n, f"{n:03d}{q[-2:][::-1]}", q[::-1]))
                if n == 3:
                    ends.append((i, q[0] + q[-1]))
                if len(q) == 3 and n == 2:
                    probes[True].append((i, 2, f"002{q[0]}{q[2]}", q))
                if len(q) == 3 and n == 3:
                    probes[True].append((i, 3, f"003{q[0]}{q[2]}{q[1]}", q))
            swapped = swap_across_middle(q)
            if swapped is not None and len(q) in wanted_lengths:
                probes[True].append((i, len(q), f"{len(q):03d}{swapped}", swapped))
        found: list[set[str]] = [set() for _ in heads]
        if ends:
            # Every term of such a range is one edit from its head (or is the head).
            added = self.fwd.get(3, [])
            los, his = self.base_ends.ranges_of([pair for _, pair in ends])
            for (i, pair), lo, hi in zip(ends, los.tolist(), his.tolist()):
                found[i].update(_ends_key(k) for k in self.base_ends.texts(lo, hi))
                found[i].update(t for t in added if t[0] + t[2] == pair)
        for forwards, wanted in probes.items():
            base = self.base_fwd if forwards else self.base_rev
            added = self.fwd if forwards else self.rev
            los, his = base.ranges_of([key for _, _, key, _ in wanted])
            for (i, n, key, target), lo, hi in zip(wanted, los.tolist(), his.tolist()):
                if lo == hi and not added.get(n):
                    continue  # most probes: nothing of that length starts so
                # The keys of a range share their length prefix: with it on the target
                # too, the distance is the terms' (no list of stripped copies).
                keys = base.texts(lo, hi)
                keys += [key[:3] + k for k in self._added_starting_with(forwards, n, key[3:])]
                if not keys:
                    continue
                for j in one_edit_from(key[:3] + target, keys):
                    found[i].add(keys[j][3:] if forwards else keys[j][:2:-1])
        return found


def positions_in(los: np.ndarray, his: np.ndarray) -> np.ndarray:
    """The positions lo..hi-1 of every range (``los[i]``, ``his[i]``) in turn, made at once
    (hundreds of ranges a one-typo search: one ``arange`` each took a fifth of it)."""
    sizes = np.maximum(his - los, 0)
    starts = np.repeat(los - (np.cumsum(sizes) - sizes), sizes)
    return starts + np.arange(int(sizes.sum()), dtype=np.int64)


def one_edit_from(q: str, texts: Sequence[str]) -> np.ndarray:
    """Positions in ``texts`` of those within OSA distance 1 of ``q`` (substitution,
    insertion, deletion or a swap of neighbours; ``q`` itself included)."""
    if len(texts) <= _ONE_BY_ONE:  # below that, cdist's own setup costs more than the distances
        return np.array(
            [i for i, t in enumerate(texts) if OSA.distance(q, t, score_cutoff=1) <= 1], np.int64
        )
    dist = process.cdist([q], texts, scorer=OSA.distance, score_cutoff=1, dtype=np.int32, workers=1)
    return np.flatnonzero(dist[0] <= 1)


def the_likeliest_terms(head: str, terms: Iterable[str], same: set[str]) -> Iterable[str]:
    """``terms`` (one edit from ``head``) to read names after: all of them when there are at
    most _TYPO_MAX_TERMS; a short head has thousands, each a range to read, and then only
    the likeliest are kept: the homophones (``same``: an input method's slip, 富涌 for 福涌)
    and the head with two neighbours swapped (a typing slip: 甲丙乙 for 甲乙丙), at most
    _TYPO_MAX_TERMS together, and _TYPO_MAX_OTHER_TERMS (none) of the rest in code-point
    order.

    Which of thousands of other neighbours was meant is a guess, and reading a few of them
    finds almost nothing: on 1,000 one-typo queries over the 665,273 national names
    (benchmarks/bench_typo_cap.py), 300 others, 60 and none found the same places. With
    none, the search need not list a head's thousands of neighbours at all once it knows
    there are more than _TYPO_MAX_TERMS (:meth:`_TypoBuckets.surely_more_than`)."""
    terms = set(terms)
    if len(terms) <= _TYPO_MAX_TERMS:
        return terms
    likeliest = likeliest_first(head, terms, same)
    swapped = set(likeliest) - same
    rest = heapq.nsmallest(
        min(_TYPO_MAX_OTHER_TERMS, _TYPO_MAX_TERMS - len(likeliest)), terms - same - swapped
    )
    return likeliest + rest


def likeliest_first(head: str, terms: set[str], same: set[str]) -> list[str]:
    """Of ``terms`` (one edit from ``head``), the homophones (``same``) and then ``head``
    itself or with two neighbours swapped, at most _TYPO_MAX_TERMS."""
    swapped = (({head} | neighbour_swaps(head)) & terms) - same
    return (sorted(same) + sorted(swapped))[:_TYPO_MAX_TERMS]


def likely_slips(head: str, same: set[str]) -> set[str]:
    """The terms one edit from ``head`` that a slip most likely came from, whose names rank
    above those after other one-edit terms (``_TIER_TYPO_LIKELY``, both stores): those that
    read as ``head`` does (``same``: an input method's slip) and ``head`` with two
    neighbours swapped (a typing slip: 边湖 for 湖边)."""
    return same | neighbour_swaps(head)


def neighbour_swaps(text: str) -> set[str]:
    """``text`` with one pair of different neighbouring characters swapped, each way there
    is (甲乙丙 -> 乙甲丙, 甲丙乙)."""
    return {
        text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        for i in range(len(text) - 1)
        if text[i] != text[i + 1]
    }


def typo_texts(text: str) -> list[str]:
    """The texts (of characters, normalised) a one-typo search looks for: the simplified
    form, and also the text as typed when that differs. A place name may keep a character
    that the simplifier changes (鮜门镇, whose 鮜 becomes 鲘): its keys and specific term
    hold it as written, so 门鮜镇 is one swap from them only as typed."""
    simplified = to_simplified(text)
    return [simplified] if simplified == text else [simplified, text]


def swap_across_middle(q: str) -> str | None:
    """``q`` with the two characters on either side of its middle swapped (the one-edit
    slip that leaves neither half intact), or None when there is no such pair."""
    h = len(q) // 2
    if h < 1 or q[h - 1] == q[h]:
        return None
    return q[: h - 1] + q[h] + q[h - 1] + q[h + 1 :]


# ---------------------------------------------------------------------------- the index


@dataclass
class _Candidates:
    rec: list = field(default_factory=list)
    key: list = field(default_factory=list)
    form: list = field(default_factory=list)
    aux: list = field(default_factory=list)

    def add(
        self, rec: np.ndarray, key: np.ndarray, form: np.ndarray | int, aux: np.ndarray
    ) -> None:
        if rec.size:
            self.rec.append(rec)
            self.key.append(key)
            self.form.append(
                np.broadcast_to(np.int8(form), rec.shape) if np.isscalar(form) else form
            )
            self.aux.append(aux)

    def arrays(self):
        if not self.rec:
            e = np.empty(0, np.int32)
            return e, np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.int16)
        return (
            np.concatenate(self.rec),
            np.concatenate(self.key),
            np.concatenate(self.form),
            np.concatenate(self.aux),
        )


class SearchMethods:
    """The query methods of a search provider (this module's in-memory ``SearchIndex``,
    ``gazetteer.search_postgres.SQLSearch``): both answer through ``_query``."""

    def search(
        self,
        q: str,
        *,
        division: str | None = None,
        feature_class: str | None = None,
        status: str | Sequence[str] | None = None,
        bbox: Sequence[float] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Hit]:
        """Ranked matches for what the user typed.

        ``division``: a division code; only places in it or under it (its own record too).
        ``feature_class``: one class (e.g. '群众自治组织'). ``status``: one status or several.
        ``bbox``: (minx, miny, maxx, maxy) CGCS2000 lon/lat degrees; places whose extent
        intersects it (places without geometry are left out). Raises InvalidInput for an
        empty or over-long query, a bad limit/offset, status or bbox."""
        return self._query(q, division, feature_class, status, bbox, limit, offset, typos=True)

    def suggest(self, prefix: str, limit: int = 10, *, division: str | None = None) -> list[Hit]:
        """Completions as the user types: exact and prefix matches only (no typos)."""
        return self._query(prefix, division, None, None, None, limit, 0, typos=False)

    def one_read(self) -> contextlib.AbstractContextManager:
        """A context in which this thread's searches share one read of the store (a chain
        of names is several searches). Nothing to share in memory."""
        return contextlib.nullcontext()


class SearchIndex(SearchMethods):
    """Place-name index. Build with :meth:`from_records` or :meth:`from_store`; write it to
    a directory with :meth:`save` and map it from there in any number of processes with
    :meth:`load` (``gazetteer.index_files``).

    A record is a dict: ``id``, ``name``, ``romanized`` (its recorded spelling, optional:
    a reading of the name other than the keys' is searchable too, ``name_forms``),
    ``former_names`` (list of str), ``division_code``,
    ``division_path`` (division codes from the province down), ``division_chain`` (their
    names), ``feature_class``, ``status`` ('in_force' | 'historical' | 'retired'),
    ``level_rank`` (0 province .. 4 village, 5 other) and ``bbox`` ((minx, miny, maxx, maxy)
    CGCS2000 lon/lat degrees, or None). Record ids are all integers or all strings.

    Storage: the records the index was built with (the *base*) are packed into flat numpy
    arrays (``gazetteer.packed``), in memory or memory-mapped from files; records added
    later (:meth:`add`, :meth:`replace`) go to small in-memory lists after them (the
    *overlay*), and removed ones are marked dead in ``_alive``, the one per-record array
    each process writes. Queries read both parts."""

    def __init__(self):
        self._lock = threading.RLock()
        self._readings = _Readings()
        self.build_seconds = 0.0
        self.mapped_from: str | None = None  # the directory the base is mapped from
        self._set_base(_empty_base(), {"classes": [], "divisions": [], "build_seconds": 0.0})

    def _set_base(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Take ``arrays`` (see :meth:`_base_arrays`) as the base; nothing added after it."""
        self._base_arrays_kept = arrays
        self._n_base = len(arrays["ids"])
        self._base_ids = arrays["ids"]
        self._id_index = IdIndex.from_arrays(arrays, "idx")
        self._base_names = PackedStrings.from_arrays(arrays, "names")
        self._base_former_pos = arrays["former.pos"]  # sorted positions with former names
        self._base_former = PackedStrings.from_arrays(arrays, "former")  # tab-joined names
        self._alive = np.ones(self._n_base, bool)
        self._static, self._status = SplitColumn(arrays["static"]), SplitColumn(arrays["status"])
        self._level, self._klass = SplitColumn(arrays["level"]), SplitColumn(arrays["klass"])
        self._division_code = SplitColumn(arrays["division"])  # into _div_codes, -1 = none
        self._paths, self._bbox = SplitColumn(arrays["paths"]), SplitColumn(arrays["bbox"])
        # Added after the base: ids, names and former names of positions _n_base.. on.
        self._extra_ids: list = []
        self._extra_names: list[str] = []
        self._former: dict[int, list[str]] = {}
        self._extra_pos_by_id: dict = {}
        # Small tables, in memory in every process (tens of thousands of divisions at most).
        self._class_names: list[str] = list(meta["classes"])
        self._class_ids = {name: i for i, name in enumerate(self._class_names)}
        self._div_codes = [code for code, _, _ in meta["divisions"]]
        self._div_names = [name for _, name, _ in meta["divisions"]]
        self._div_ids = {code: i for i, code in enumerate(self._div_codes)}
        # Per division id, a bit per column of ``_paths`` it has been seen in (its depth;
        # one bit in a consistent registry): the division filter then reads one column of
        # the candidates' paths instead of all _MAX_DEPTH of them.
        self._div_depth_bits = bytearray(bits for _, _, bits in meta["divisions"])
        self._chars, self._py, self._ini = (
            _Keys(_PackedKeyList.from_arrays(arrays, kind)) for kind in ("chars", "py", "ini")
        )
        self._typo_chars = _TypoBuckets(_bucket_parts(arrays, "typo_chars"), True)
        self._typo_latin = _TypoBuckets(_bucket_parts(arrays, "typo_latin"), False)
        self.build_seconds = meta["build_seconds"]

    # ------------------------------------------------------------------ building

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> SearchIndex:
        """Build from record dicts (see the class docstring). ``build_seconds`` is set."""
        started = time.perf_counter()
        _t2s()  # load once here rather than on the first query
        self = cls()
        chars, py, ini = ([], [], [], [], []), ([], [], [], [], []), ([], [], [], [], [])
        typo_chars, typo_latin, spec_readings = [], [], {}
        columns = _empty_columns()
        records = iter(records)
        while chunk := list(islice(records, 5000)):
            self._readings.prefetch(normalise_text(str(r["name"])) for r in chunk)
            for record in chunk:
                pos = len(self._extra_ids)
                for aux, k in self._append_columns(record, pos, columns):
                    for lists, key, nat, spec in (
                        (chars, k.text, k.natural_len, k.spec_len),
                        (py, k.py, k.py_natural_len, k.py_spec_len),
                        (ini, k.ini, k.ini_natural_len, k.ini_spec_len),
                    ):
                        for column, value in zip(lists, (key, pos, aux, nat, spec)):
                            column.append(value)
                    spec_text = k.text[: k.spec_len]
                    if spec_text not in spec_readings:
                        spec_readings[spec_text] = k.py[: k.py_spec_len]
                        typo_chars.append(spec_text)
                        typo_latin.append(spec_readings[spec_text])
                    elif aux == AUX_OWN_READING:  # its term as the record's spelling reads it
                        typo_latin.append(k.py[: k.py_spec_len])
        arrays = _pack_base(
            self._extra_ids,
            self._extra_names,
            self._former,
            columns,
            (chars, py, ini),
            _TypoBuckets.pack(typo_chars, spec_readings, chars[0]),
            _TypoBuckets.pack(typo_latin),
        )
        # Only needed while building (add() reads again, microseconds per name).
        self._readings.cache.clear()
        self._readings.keyed.clear()
        self._set_base(arrays, self._meta(time.perf_counter() - started))
        return self

    def _meta(self, build_seconds: float) -> dict:
        return {
            "classes": self._class_names,
            "divisions": [
                [code, name, bits]
                for code, name, bits in zip(self._div_codes, self._div_names, self._div_depth_bits)
            ],
            "build_seconds": build_seconds,
        }

    @classmethod
    def from_store(cls, store, former_names: dict | None = None) -> SearchIndex:
        """Build from the store's ``places`` joined with ``divisions`` (see
        :func:`store_records`). ``former_names``: optional {place id: [old names]}."""
        with store.read() as conn:
            return cls.from_records(store_records(conn, former_names or {}))

    def save(self, directory) -> None:
        """Write the base to ``directory`` (one ``.npy`` file per array and ``meta.json``).
        Raises Conflict when records were added or removed since it was built: those
        would be lost."""
        with self._lock:
            if self._extra_ids or not self._alive.all():
                raise Conflict("索引在建成后已有增删，不能保存为基础索引")
            save_arrays(directory, self._base_arrays_kept, self._meta(self.build_seconds))

    @classmethod
    def load(cls, directory) -> SearchIndex:
        """The index saved in ``directory``, its arrays memory-mapped read-only: every
        process that loads the same directory shares one copy through the page cache."""
        _t2s()
        self = cls()
        arrays, meta = load_arrays(directory)
        self._set_base(arrays, meta)
        self.mapped_from = str(directory)
        return self

    def _position(self, record_id) -> int | None:
        """The live position of ``record_id``, or None."""
        pos = self._extra_pos_by_id.get(record_id)
        if pos is None:
            pos = self._id_index.get(record_id)
        return pos if pos is not None and self._alive[pos] else None

    def _append_columns(self, record: dict, pos: int, columns: dict) -> list[tuple[int, _Keyed]]:
        """Append one record's ids, names and former names after the base (at ``pos``)
        and its column values to ``columns``; returns its keyed forms (``name_forms``)."""
        name = normalise_text(str(record["name"]))
        if not name:
            raise InvalidInput("地名不能为空", details={"id": record.get("id")})
        rid = record["id"]
        if rid in self._extra_pos_by_id or self._position(rid) is not None:
            raise Conflict(f"记录 {rid} 已在索引中", details={"id": rid})
        status = record.get("status") or "in_force"
        if status not in STATUS_RANK:
            raise InvalidInput(f"未知的地名状态：{status}", details={"id": rid})
        self._extra_ids.append(rid)
        self._extra_names.append(name)
        self._extra_pos_by_id[rid] = pos
        level = int(record.get("level_rank", OTHER_LEVEL_RANK))
        level = min(max(level, 0), 7)
        klass = record.get("feature_class") or ""
        if klass not in self._class_ids:
            self._class_ids[klass] = len(self._class_names)
            self._class_names.append(klass)
        path_codes = list(record.get("division_path") or [])[:_MAX_DEPTH]
        chain = list(record.get("division_chain") or [])
        path_ids = [
            self._division_id(code, chain[i] if i < len(chain) else None)
            for i, code in enumerate(path_codes)
        ]
        for depth, div_id in enumerate(path_ids):
            self._div_depth_bits[div_id] |= 1 << depth
        division_code = record.get("division_code")
        columns["division"].append(
            -1 if division_code is None else self._division_id(division_code, None)
        )
        bbox = record.get("bbox")
        columns["static"].append(_static_key(level, STATUS_RANK[status], len(name), pos))
        columns["status"].append(STATUS_RANK[status])
        columns["level"].append(level)
        columns["klass"].append(self._class_ids[klass])
        columns["paths"].extend(path_ids + [-1] * (_MAX_DEPTH - len(path_ids)))
        columns["bbox"].extend([float(v) for v in bbox] if bbox is not None else [np.nan] * 4)
        forms = name_forms(record, self._readings)
        former = [k.text for aux, k in forms if aux >= 0]
        if former:
            self._former[pos] = former
        return forms

    def rename_division(self, code: str, name: str) -> None:
        """Show ``name`` for division ``code`` in every hit's ``division_chain`` from now on.
        The names are held once per division (not per record), so a renaming touches no
        record. Nothing for a division no record lies in."""
        found = self._div_ids.get(str(code))
        if found is not None:
            self._div_names[found] = name

    def _division_id(self, code, name: str | None) -> int:
        code = str(code)
        found = self._div_ids.get(code)
        if found is None:
            found = self._div_ids[code] = len(self._div_codes)
            self._div_codes.append(code)
            self._div_depth_bits.append(0)
            self._div_names.append(name or code)
        elif name and self._div_names[found] == code:
            self._div_names[found] = name
        return found

    # ------------------------------------------------------------------ updates

    def add(self, record: dict) -> None:
        """Add one record (a renamed place: :meth:`remove` the old one, add the new one).

        The record goes to the in-memory overlay after the base: a few milliseconds per
        name at national scale (sorted inserts into lists of the overlay's size)."""
        with self._lock:
            pos = self._n_base + len(self._extra_ids)
            columns = _empty_columns()
            keyed_forms = self._append_columns(record, pos, columns)
            self._alive = np.append(self._alive, True)
            for key, array in _column_arrays(columns).items():
                getattr(self, _COLUMN_ATTRS[key]).append(array)
            for aux, k in keyed_forms:
                self._chars.extra.insert(k.text, pos, aux, k.natural_len, k.spec_len)
                self._py.extra.insert(k.py, pos, aux, k.py_natural_len, k.py_spec_len)
                self._ini.extra.insert(k.ini, pos, aux, k.ini_natural_len, k.ini_spec_len)
                self._typo_chars.insert(k.text[: k.spec_len], k.py[: k.py_spec_len], k.text)
                self._typo_latin.insert(k.py[: k.py_spec_len])

    def remove(self, record_id) -> None:
        """Remove a record by id (it stops matching at once). Raises NotFound if absent."""
        with self._lock:
            pos = self._position(record_id)
            if pos is None:
                raise NotFound(f"索引中没有记录 {record_id}", details={"id": record_id})
            self._alive[pos] = False
            self._extra_pos_by_id.pop(record_id, None)

    def replace(self, record_id, record: dict | None) -> None:
        """Drop ``record_id`` if present and add ``record`` (if given) in one step: a query
        running beside sees the old record or the new one, never neither."""
        with self._lock:
            if self._position(record_id) is not None:
                self.remove(record_id)
            if record is not None:
                self.add(record)

    def __len__(self) -> int:
        return int(self._alive.sum())

    def __contains__(self, record_id) -> bool:
        return self._position(record_id) is not None

    @property
    def overlay_size(self) -> int:
        """Records added after the base was built (a reason to build a new base)."""
        return len(self._extra_ids)

    def _id(self, pos: int):
        if pos < self._n_base:
            return id_value(self._base_ids[pos])
        return self._extra_ids[pos - self._n_base]

    def _name(self, pos: int) -> str:
        if pos < self._n_base:
            return self._base_names[pos]
        return self._extra_names[pos - self._n_base]

    def _former_name(self, pos: int, aux: int) -> str:
        if pos >= self._n_base:
            return self._former[pos][aux]
        i = int(np.searchsorted(self._base_former_pos, pos))
        return self._base_former[i].split("\t")[aux]

    # ------------------------------------------------------------------ queries

    def _query(
        self, q, division, feature_class, status, bbox, limit, offset, *, typos: bool
    ) -> list[Hit]:
        check_query(q, limit, offset)
        with self._lock:
            mask_fn = self._filter(division, feature_class, status, bbox)
            if mask_fn is None:
                return []
            want = offset + limit
            text, has_latin = query_text(q)
            cands = _Candidates()
            if has_latin:
                latin = normalise_latin(text)
                if not latin:
                    return []
                self._collect_prefix(self._py, latin, "pinyin", cands, mask_fn)
                self._collect_prefix(self._ini, latin, "initials", cands, mask_fn)
                typo_queries, buckets, keys = [latin], self._typo_latin, self._py
                min_typo_len = 3
            else:
                self._collect_prefix(self._chars, text, "exact", cands, mask_fn)
                simplified = to_simplified(text)
                if simplified != text:
                    self._collect_prefix(self._chars, simplified, "traditional", cands, mask_fn)
                typo_queries, buckets, keys = typo_texts(text), self._typo_chars, self._chars
                min_typo_len = MIN_SPECIFIC_CHARS
            hits = self._top(cands, want)
            # Typos fill the list only when the text matched no whole name or specific term:
            # a name typed right needs no misspelt neighbours (and they cost the most time).
            if (
                typos
                and len(hits) < want
                and len(typo_queries[0]) >= min_typo_len
                and not any(h[1] >> _TIER_SHIFT <= _TIER_SPECIFIC for h in hits)
            ):
                for typo_query in typo_queries:
                    self._collect_typos(typo_query, buckets, keys, min_typo_len, cands, mask_fn)
                hits = self._top(cands, want)
            return self._hits(hits[offset:want])

    def _filter(self, division, feature_class, status, bbox):
        """A function rec-array -> bool mask, or None when nothing can match."""
        conditions = []
        if division is not None:
            div_id = self._div_ids.get(str(division))
            if div_id is None:
                return None
            columns = [k for k in range(_MAX_DEPTH) if self._div_depth_bits[div_id] >> k & 1]
            if len(columns) == 1:  # the usual case: a division sits at one depth
                column = columns[0]
                conditions.append(lambda rec: self._paths[rec, column] == div_id)
            else:
                conditions.append(lambda rec: (self._paths[rec] == div_id).any(axis=1))
        if feature_class is not None:
            class_id = self._class_ids.get(feature_class)
            if class_id is None:
                return None
            conditions.append(lambda rec: self._klass[rec] == class_id)
        if status is not None:
            wanted = check_status(status)
            codes = np.array([STATUS_RANK[s] for s in wanted], np.int8)
            conditions.append(lambda rec: np.isin(self._status[rec], codes))
        if bbox is not None:
            minx, miny, maxx, maxy = check_bbox(bbox)

            def in_bbox(rec):
                b = self._bbox[rec]
                return (b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)

            conditions.append(in_bbox)

        def mask(rec: np.ndarray) -> np.ndarray:
            ok = self._alive[rec]
            for cond in conditions:
                ok &= cond(rec)
            return ok

        return mask

    def _collect_prefix(self, keys: _Keys, q: str, form: str, cands: _Candidates, mask_fn) -> None:
        for part in keys.parts:
            self._collect_prefix_part(part, q, form, cands, mask_fn)

    def _collect_prefix_part(self, keys, q: str, form: str, cands: _Candidates, mask_fn) -> None:
        lo, exact_end, hi = keys.prefix_range(q)
        if lo == hi:
            return
        rec = keys.rec[lo:hi]
        ok = mask_fn(rec)
        if not ok.any():
            return
        rec, aux = rec[ok], keys.aux[lo:hi][ok]
        n = len(q)
        tier = np.where(
            np.arange(lo, hi)[ok] < exact_end,
            _TIER_EXACT,
            np.where(
                (keys.spec_len[lo:hi][ok] == n) | (keys.nat_len[lo:hi][ok] == n),
                _TIER_SPECIFIC,
                _TIER_PREFIX,
            ),
        ).astype(np.int64)
        former = aux >= 0
        if form == "exact":
            labels = np.where(
                tier == _TIER_EXACT, MATCHED_FORMS.index("exact"), MATCHED_FORMS.index("prefix")
            )
        else:
            labels = np.full(rec.shape, MATCHED_FORMS.index(form))
        labels = np.where(former, MATCHED_FORMS.index("former_name"), labels).astype(np.int8)
        penalty = np.where(former, _FORM_PENALTY["former_name"], _FORM_PENALTY[form]).astype(
            np.int64
        )
        key = self._static[rec] + (tier << _TIER_SHIFT) + (penalty << _FORM_SHIFT)
        cands.add(rec, key, labels, aux)

    def _collect_typos(
        self,
        q: str,
        buckets: _TypoBuckets,
        keys: _Keys,
        min_len: int,
        cands: _Candidates,
        mask_fn,
    ) -> None:
        """Names one edit from what was typed (OSA distance: substitution, insertion,
        deletion, swap of neighbours).

        1. In the specific term: q = head + tail, where head is one edit from a specific term
           s and every name starting with s + tail matches (番禹 -> 番禺区, 富涌村 -> 福涌村民委员会,
           唐店村村民委员会 -> 唐家店村村民委员会). Every split of q is tried.
        2. After an intact specific term: when head is itself a specific term, names starting
           with it that are one edit from q as a whole (杉树寸民委员会 -> 杉树村民委员会).
        3. In the second half of a whole name: names starting with q's intact first half that
           are one edit from q.
        4. Two neighbours swapped across the middle: the name with them swapped back."""
        # (head, tail, whether head is a term, the terms one edit from head of the lengths
        # some key can hold the tail after, those that read as head does)
        splits = []
        # A head longer than the longest term plus one is one edit from no term (a query of
        # 100 characters has 98 heads, each a few probes).
        longest = min(len(q), buckets.longest_term() + 1)
        heads = [q[:k] for k in range(longest, min_len - 1, -1)]
        lengths = buckets.term_lengths(q, heads)
        # A head known to have more than _TYPO_MAX_TERMS neighbours keeps only the
        # likeliest of them, which are found without listing the thousands of others.
        capped = dict.fromkeys(heads, False)
        if not _TYPO_MAX_OTHER_TERMS:
            looked = [h for h, n in zip(heads, lengths) if len(h) in n]
            capped.update(zip(looked, buckets.surely_more_than(looked, _TYPO_MAX_TERMS)))
        listed = [(h, n) for h, n in zip(heads, lengths) if n and not capped[h]]
        looked_up = dict(
            zip(
                [h for h, _ in listed],
                buckets.within_one_edit([h for h, _ in listed], [n for _, n in listed]),
            )
        )
        for head, fit, is_term in zip(heads, lengths, buckets.has_terms(heads)):
            tail = q[len(head) :]
            if not fit:  # no term + tail starts a name; only 2. below reads this split
                splits.append((head, tail, is_term, set(), set()))
                continue
            head_reading = (
                "".join(map(_syllable_key, syllables(head))) if buckets.has_readings else None
            )
            terms = (
                buckets.likeliest_near(head, head_reading, fit) if capped[head] else looked_up[head]
            )
            same = buckets.read_as(terms, head_reading) if head_reading is not None else set()
            terms = (
                likeliest_first(head, terms, same)
                if capped[head]
                else the_likeliest_terms(head, terms, same)
            )
            splits.append((head, tail, is_term, terms, likely_slips(head, same)))
        for part in keys.parts:
            self._collect_typos_part(q, splits, part, min_len, cands, mask_fn)

    def _collect_typos_part(self, q, splits, keys, min_len, cands, mask_fn) -> None:
        typo = MATCHED_FORMS.index("typo")
        ranges: dict[int, list[np.ndarray]] = {_TIER_TYPO_LIKELY: [], _TIER_TYPO: []}
        whole: list[np.ndarray] = []
        verify: list[tuple[int, int]] = []
        # The names starting with each term + tail: every range in one vectorised search.
        starts = [
            (term + tail, term in likely) for _, tail, _, terms, likely in splits for term in terms
        ]
        if starts:
            los, his = keys.ranges_of([prefix for prefix, _ in starts])
            likely_start = np.fromiter((is_likely for _, is_likely in starts), bool, len(starts))
            for tier, which in ((_TIER_TYPO_LIKELY, likely_start), (_TIER_TYPO, ~likely_start)):
                ranges[tier].append(positions_in(los[which], his[which]))
        for head, tail, is_term, _, _ in splits:
            if tail and is_term:
                lo, hi = keys.range_of(head)
                if 0 < hi - lo <= _TYPO_VERIFY_BUDGET:
                    verify.append((lo, hi))
        if verify:
            entries = positions_in(*np.array(verify, np.int64).T)
            names = [name for lo, hi in verify for name in keys.texts(lo, hi)]
            whole.append(entries[one_edit_from(q, names)])
        h = len(q) // 2
        if h >= min_len:
            lo, _, hi = keys.prefix_range(q[:h])
            if lo < hi:
                whole.append(lo + one_edit_from(q, keys.texts(lo, hi)))
        # 4. Two neighbours swapped across the middle break both halves (造村和委会 for
        # 造和村委会): the name with them swapped back, as typed otherwise.
        swapped = swap_across_middle(q)
        if swapped is not None:
            lo, exact_end, _ = keys.prefix_range(swapped)
            whole.append(np.arange(lo, exact_end))
        ranges[_TIER_TYPO] += whole
        for tier, parts in ranges.items():
            if parts:
                self._add_typo(keys, np.concatenate(parts), typo, cands, mask_fn, tier)

    def _add_typo(
        self, keys, entries: np.ndarray, typo: int, cands: _Candidates, mask_fn, tier: int
    ) -> None:
        if not entries.size:
            return
        rec = keys.rec[entries]
        ok = mask_fn(rec)
        rec, aux = rec[ok], keys.aux[entries][ok]
        former = aux >= 0
        penalty = np.where(former, _FORM_PENALTY["former_name"], 0).astype(np.int64)
        key = self._static[rec] + (np.int64(tier) << _TIER_SHIFT) + (penalty << _FORM_SHIFT)
        cands.add(rec, key, typo, aux)

    def _top(self, cands: _Candidates, want: int) -> list[tuple[int, int, int, int]]:
        """Best ``want`` distinct records: [(pos, key, form, aux)] best first."""
        rec, key, form, aux = cands.arrays()
        if not rec.size:
            return []
        take = min(rec.size, want * 4)
        while True:
            if take < rec.size:
                idx = np.argpartition(key, take - 1)[:take]
            else:
                idx = np.arange(rec.size)
            idx = idx[np.argsort(key[idx], kind="stable")]
            _, first = np.unique(rec[idx], return_index=True)
            best = idx[np.sort(first)]
            if len(best) >= want or take >= rec.size:
                best = best[:want]
                return [(int(rec[i]), int(key[i]), int(form[i]), int(aux[i])) for i in best]
            take = min(rec.size, take * 4)

    def _hits(self, rows: list[tuple[int, int, int, int]]) -> list[Hit]:
        """The hits of ``rows`` ((pos, key, form, aux), as :meth:`_top` gives them): each
        per-record column read once for all of them (one fancy index an array, not a
        numpy scalar per field and hit: 8 µs a hit before, most of a plain search)."""
        if not rows:
            return []
        pos = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        levels, statuses = self._level[pos].tolist(), self._status[pos].tolist()
        classes, codes = self._klass[pos].tolist(), self._division_code[pos].tolist()
        paths = self._paths[pos].tolist()
        hits = []
        for (p, key, form, aux), level, status, klass, code, path in zip(
            rows, levels, statuses, classes, codes, paths
        ):
            name = self._name(p)
            tier, penalty = key >> _TIER_SHIFT, (key >> _FORM_SHIFT) & 7
            score = 1.0 - (
                tier * 0.2
                + level * 0.03
                + status * 0.01
                + penalty * 0.002
                + min(len(name), 19) * 0.0001
            )
            path = [i for i in path if i >= 0]
            hits.append(
                Hit(
                    id=self._id(p),
                    name=name,
                    matched_form=MATCHED_FORMS[form],
                    score=round(score, 4),
                    division_chain=[self._div_names[i] for i in path],
                    matched_former_name=self._former_name(p, aux) if aux >= 0 else None,
                    division_code=self._div_codes[code] if code >= 0 else None,
                    feature_class=self._class_names[klass],
                    status=_STATUS_NAMES[status],
                    level_rank=level,
                    division_path=[self._div_codes[i] for i in path],
                )
            )
        return hits

    def stats(self) -> dict:
        return {
            "records": len(self),
            "positions": len(self._alive),
            "overlay": self.overlay_size,
            "mapped_from": self.mapped_from,
            "keys": len(self._chars),
            "build_seconds": round(self.build_seconds, 2),
        }


def _pack_base(ids, names, former, columns, keys, typo_chars, typo_latin) -> dict:
    """The base's arrays: ids and names by position, former names (``former``: {position:
    [names]}), the per-record ``columns``, the (chars, py, ini) key lists as five lists each
    (keys, positions, former-name index, natural and specific lengths) and the packed typo
    buckets (:meth:`_TypoBuckets.pack`)."""
    former_pos = sorted(former)
    arrays = (
        {"ids": id_array(ids), "former.pos": np.array(former_pos, np.int64)}
        | IdIndex.of(ids).arrays("idx")
        | PackedStrings.of(names).arrays("names")
        | PackedStrings.of(["\t".join(former[p]) for p in former_pos]).arrays("former")
        | _column_arrays(columns)
    )
    for kind, lists in zip(("chars", "py", "ini"), keys):
        arrays |= _PackedKeyList.of(_KeyList(*lists)).arrays(kind)
    for kind, parts in (("typo_chars", typo_chars), ("typo_latin", typo_latin)):
        for part, packed in parts.items():
            if isinstance(packed, np.ndarray):  # grams
                arrays[f"{kind}.{part}"] = packed
            else:
                arrays |= packed.arrays(f"{kind}.{part}")
    return arrays


def _empty_base() -> dict:
    empty = ([], [], [], [], [])
    return _pack_base(
        [],
        [],
        {},
        _empty_columns(),
        (empty,) * 3,
        _TypoBuckets.pack([], {}, []),
        _TypoBuckets.pack([]),
    )


def _bucket_parts(arrays: dict, kind: str) -> dict:
    """The packed parts of one kind of typo bucket (see :meth:`_TypoBuckets.pack`)."""
    parts = {
        "fwd": SortedKeys.from_arrays(arrays, f"{kind}.fwd"),
        "rev": SortedKeys.from_arrays(arrays, f"{kind}.rev"),
        "ends": SortedKeys.from_arrays(arrays, f"{kind}.ends"),
    }
    if f"{kind}.by_reading.buf" in arrays:
        parts["by_reading"] = SortedKeys.from_arrays(arrays, f"{kind}.by_reading")
    if f"{kind}.grams" in arrays:
        parts["grams"] = arrays[f"{kind}.grams"]
    return parts


def _static_key(level: int, status: int, name_len: int, pos: int) -> int:
    return (
        (level << _LEVEL_SHIFT)
        | (status << _STATUS_SHIFT)
        | (min(name_len, 255) << _LEN_SHIFT)
        | (pos & ((1 << _LEN_SHIFT) - 1))
    )


def store_records(
    conn, former_names: dict, place_ids: Iterable[int] | None = None, *, stream: int = 0
) -> Iterator[dict]:
    """Search records of the store's places (all, or those with ``place_ids``).

    ``division_path`` is the path of the place's division plus, for a place that is itself
    a division, its own code; ``level_rank`` comes from its own division's level (5 for
    other places). ``former_names``: {place id: [old names]}. ``stream``: with every
    place, read them ``stream`` rows at a time (a server-side cursor on PostgreSQL: 13
    million places never sit in memory at once; other statements may run on ``conn``
    between the records)."""
    from gazetteer.tables import divisions as d
    from gazetteer.tables import places as p

    query = sa.select(
        p.c.id,
        p.c.name,
        p.c.romanized,
        p.c.feature_class,
        p.c.division_code,
        p.c.own_division_code,
        p.c.status,
        p.c.minx,
        p.c.miny,
        p.c.maxx,
        p.c.maxy,
    )
    div_query = sa.select(d.c.code, d.c.name, d.c.level, d.c.path)
    if place_ids is not None:
        rows = conn.execute(query.where(p.c.id.in_(list(place_ids)))).all()
        # only the divisions on these places' paths
        codes = {c for r in rows for c in (r.division_code, r.own_division_code) if c}
        paths = conn.execute(sa.select(d.c.path).where(d.c.code.in_(codes))).scalars()
        div_query = div_query.where(d.c.code.in_({c for path in paths for c in path.split("/")}))
    div = {r.code: (r.name, r.level, r.path) for r in conn.execute(div_query)}
    if place_ids is None:
        options = {"yield_per": stream} if stream else {}
        rows = conn.execute(query, execution_options=options)
        if not stream:
            rows = rows.all()

    def record(r) -> dict:
        path = div[r.division_code][2].split("/") if r.division_code in div else []
        if r.own_division_code and r.own_division_code not in path:
            path.append(r.own_division_code)
        level = div[r.own_division_code][1] if r.own_division_code in div else None
        return {
            "id": r.id,
            "name": r.name,
            "romanized": r.romanized,
            "former_names": former_names.get(r.id, []),
            "division_code": r.division_code,
            "division_path": path,
            "division_chain": [div[c][0] if c in div else c for c in path],
            "feature_class": r.feature_class,
            "status": r.status,
            "level_rank": LEVEL_RANK.get(level, OTHER_LEVEL_RANK),
            "bbox": None if r.minx is None else (r.minx, r.miny, r.maxx, r.maxy),
        }

    return (record(r) for r in rows)
