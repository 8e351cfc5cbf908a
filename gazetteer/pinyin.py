"""Pinyin of place names: the one place where Chinese text becomes pinyin.

``syllables`` gives the reading of each character using pypinyin with a place-name reading
table layered on top (番禺 pan yu, 大埔 da bu, 佛冈 fo gang ...). The table is the data file
``gazetteer/rules/data/place_readings.txt`` (one ``词 pīn yīn`` per line, ``#`` comments);
officers add readings with :func:`load_place_readings` and an extra directory holding more
``place_readings*.txt`` files, without code changes.

Note: pypinyin keeps its phrase table process-wide, so loaded readings apply to every caller
in the process (that is the point: one reading of 番禺 everywhere).

Romanization for signs (GB/T 16159 word division, capitals, apostrophes) is built on this in
``gazetteer.romanize``.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin, load_phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

DATA_DIR = Path(__file__).resolve().parent / "rules" / "data"
READINGS_GLOB = "place_readings*.txt"
REVIEWED_GLOB = "place_readings*.csv"

_lock = threading.Lock()
_loaded_files: set[Path] = set()
_readings: dict[str, list[str]] = {}
_reviewed: dict[str, list[str]] = {}


def _parse_readings(path: Path) -> dict[str, list[str]]:
    """``词 syl syl ...`` lines -> {词: [syl, ...]}; the syllable count must match the word."""
    table: dict[str, list[str]] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, *syls = line.split()
        if len(syls) != len(word):
            raise ValueError(
                f"{path}:{lineno}: {word!r} has {len(word)} characters but {len(syls)} syllables"
            )
        table[word] = [s.lower() for s in syls]
    return table


def load_place_readings(
    extra_dir: str | Path | None = None, *, reviewed: bool = True
) -> dict[str, list[str]]:
    """Load the shipped place-name reading table (once) and any ``place_readings*.txt`` in
    ``extra_dir``, then the reviewed table(s) ``place_readings*.csv`` unless ``reviewed`` is
    False (the heteronym survey reads the names without it first, to show what it changes);
    returns the whole table loaded so far ({word: [toned syllable, ...]})."""
    dirs = [DATA_DIR] + ([Path(extra_dir)] if extra_dir else [])
    with _lock:
        for d in dirs:
            _load_reading_files(d.glob(READINGS_GLOB), _parse_readings)
            # The reviewed table (phrase, numbered tones, scope, source) loads last: its
            # readings win over the older word list (涌 chōng, 圩 xū, 长 cháng in place names).
            if reviewed:
                _load_reading_files(d.glob(REVIEWED_GLOB), _parse_reviewed, also_into=_reviewed)
        _cached_syllables.cache_clear()
        return dict(_readings)


def _load_reading_files(paths, parse, also_into: dict | None = None) -> None:
    """Parse each file not loaded yet (in name order) and teach its readings to pypinyin,
    ``_readings`` and ``also_into``; the caller holds ``_lock``."""
    for path in sorted(paths):
        path = path.resolve()
        if path in _loaded_files:
            continue
        table = parse(path)
        load_phrases_dict({w: [[s] for s in syls] for w, syls in table.items()})
        _readings.update(table)
        if also_into is not None:
            also_into.update(table)
        _loaded_files.add(path)


def _parse_reviewed(path: Path) -> dict[str, list[str]]:
    """``place_readings*.csv`` rows -> {phrase: [tone-marked syllable, ...]}."""
    import csv
    import io

    from pypinyin.contrib.tone_convert import to_tone

    body = "\n".join(
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    )
    table = {}
    for row in csv.DictReader(io.StringIO(body)):
        phrase, syls = row["phrase"].strip(), row["pinyin"].split()
        if len(syls) != len(phrase):
            raise ValueError(
                f"{path}: {phrase!r} has {len(phrase)} characters but {len(syls)} syllables"
            )
        table[phrase] = [to_tone(s.lower()) for s in syls]
    return table


def reviewed_readings() -> dict[str, list[str]]:
    """The reviewed place readings (``place_readings.csv``): {phrase: [toned syllable, ...]}."""
    _ensure_loaded()
    return dict(_reviewed)


def reviewed_indexes(text: str) -> set[int]:
    """Indexes of the characters of ``text`` whose reading the reviewed table settles: a
    phrase of the table covers the character and gives the reading used."""
    _ensure_loaded()
    toned = syllables(text, tones=True)
    out = set()
    for phrase, syls in _reviewed.items():
        start = text.find(phrase)
        while start >= 0:
            span = range(start, start + len(phrase))
            if all(toned[i] == syls[k] for k, i in enumerate(span)):
                out.update(span)
            start = text.find(phrase, start + 1)
    return out


def _ensure_loaded() -> None:
    if not _loaded_files:
        load_place_readings()


def place_readings() -> dict[str, list[str]]:
    """The place-name reading table in force ({word: [toned syllable, ...]})."""
    _ensure_loaded()
    return dict(_readings)


def is_han(ch: str) -> bool:
    """A Chinese character of the unified blocks (basic, extension A and B onwards)."""
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f"


def _toneless(syllable: str) -> str:
    """A tone-marked syllable without its tone mark (lǚ -> lü, ń -> n): the diaeresis of ü
    is a letter, the other combining marks are tones."""
    bare = "".join(
        c
        for c in unicodedata.normalize("NFD", syllable)
        if c == "\u0308" or not unicodedata.combining(c)
    )
    return unicodedata.normalize("NFC", bare)


@lru_cache(maxsize=200_000)
def _cached_syllables(text: str, tones: bool) -> tuple[str, ...]:
    if not tones and all(is_han(c) for c in text):
        # One pypinyin pass per name: the toneless reading is the toned one without its
        # marks (same segmentation, same phrase table). An office import romanizes every
        # row both ways, and pypinyin is most of its time.
        return tuple(_toneless(s) for s in _cached_syllables(text, True))
    style = Style.TONE if tones else Style.NORMAL
    # errors=list: a non-Chinese run comes back one item per character, so the result lines
    # up with the text for Chinese-only names and callers can index it.
    return tuple(
        s.lower() for s in lazy_pinyin(text, style=style, v_to_u=True, errors=lambda run: list(run))
    )


def syllables(text: str, *, tones: bool = False) -> list[str]:
    """One lowercase syllable per character of ``text`` (non-Chinese characters kept as they
    are, one item each).

    ``tones=False`` gives toneless syllables with ü written as ``ü`` (吕 -> 'lü');
    ``tones=True`` gives tone-marked syllables (番禺 -> ['pān', 'yú'])."""
    _ensure_loaded()
    return list(_cached_syllables(text, tones))


def pinyin_key(text: str) -> str:
    """Toneless syllables space-joined, the homophone key: 番禺 -> 'pan yu'."""
    return " ".join(syllables(text))


def initials(text: str) -> str:
    """First letters of each syllable, lowercase: 广州 -> 'gz'."""
    return "".join(s[0] for s in syllables(text) if s and s.strip())


@lru_cache(maxsize=1)
def _standard_readings() -> tuple[dict[str, list[str]], frozenset[str]]:
    """Readings of the 通用规范汉字字典 (2013) for the characters of the 8,105 list that have
    several (``tgh_readings.txt``), and the 8,105 list itself; both built by
    scripts/build_charlist.py from Unihan."""
    table = {}
    for line in (DATA_DIR / "tgh_readings.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            char, values = line.split("\t")
            table[char] = values.split(",")
    chars = frozenset(
        line
        for line in (DATA_DIR / "tgh_8105.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    return table, chars


def readings(char: str) -> list[str]:
    """The tone-marked readings of one character (empty for non-Chinese).

    For the 8,105 standard characters these are the standard readings of 《通用规范汉字字典》
    (Unihan kTGHZ2013), so archaic readings do not flag 湛 or 广 as heteronyms; other
    characters fall back to every reading pypinyin knows."""
    if len(char) != 1:
        return []
    table, standard = _standard_readings()
    if char in table:
        return list(table[char])
    value = pinyin_dict.get(ord(char))
    if not value:
        return []
    if char in standard:
        return value.split(",")[:1]
    return value.split(",")


# What a spelling may hold besides letters: word breaks, the syllable-dividing apostrophe,
# and hyphens (GB/T 16159).
_SPELLING_MARKS = frozenset(" '’-")


def _plain(letters: str) -> str:
    """Lowercase, toneless, with ü and v read as u: spellings of one reading compare equal."""
    bare = _toneless(letters.lower()).replace("ü", "u").replace("v", "u")
    return "".join(c for c in bare if c not in _SPELLING_MARKS)


def spells_alike(a: str, b: str) -> bool:
    """Whether two spellings read the same letters (tones, ü/u, capitals, word breaks
    aside): 'Changyue Lu' and 'Chángyuè Lù' do, 'Changle Lu' does not."""
    return _plain(a) == _plain(b)


def has_tone_marks(spelling: str) -> bool:
    """Whether ``spelling`` carries a tone mark (ü's diaeresis is a letter, not a tone)."""
    return _toneless(spelling) != unicodedata.normalize("NFC", spelling)


def without_tones(spelling: str) -> str:
    """``spelling`` with its tone marks taken off, all else kept: 'Lǚshùn Lù' -> 'Lüshun Lu'."""
    return _toneless(spelling)


def is_reading_of(text: str, spelling: str) -> bool:
    """Whether ``spelling`` (a romanization, toned or not: 'Rui'an Lu', 'Ruì'ān Lù') spells
    ``text`` syllable by syllable, each Chinese character by one of its readings (those
    ``readings`` lists, the one ``syllables`` chose, or any pypinyin knows) and any other
    character as itself; capitals, word breaks, apostrophes and hyphens are free. A
    correction may choose another reading of a heteronym, never another name: '长乐' or
    'Ruian Road' is no reading of 瑞安路."""
    return reading_of(text, spelling) is not None


def reading_of(text: str, spelling: str) -> list[str] | None:
    """The syllable ``spelling`` gives each character of ``text``, as ``syllables`` writes
    them (toneless, ü as ü; another character as itself), or None when ``spelling`` is no
    reading of ``text`` (see ``is_reading_of``). Where letters could be split more than one
    way, the split closest to ``syllables``' own reading is taken: 'Changyue Lu' of 长乐路
    -> ['chang', 'yue', 'lu']."""
    target = _plain(spelling)
    if not target or not target.isascii() or not target.isalnum():
        return None
    chosen = syllables(text)
    options = []  # per character: {plain letters: the syllable they stand for}
    for i, ch in enumerate(text):
        if not is_han(ch):
            options.append({_plain(ch): ch})
            continue
        mine = chosen[i] if i < len(chosen) else ""
        known = pinyin_dict.get(ord(ch), "")
        found = {}
        for r in (mine, *readings(ch), *known.split(",")):  # syllables' own reading first
            if r:
                found.setdefault(_plain(r), _toneless(r))
        options.append(found)
    # reach[k]: the readings of the first k characters, by the position of ``target`` they
    # spell up to (the first way found of reaching each: syllables' own readings first)
    reach: dict[int, list[str]] = {0: []}
    for choices in options:
        step: dict[int, list[str]] = {}
        for at, path in reach.items():
            for letters, syllable in choices.items():
                if target.startswith(letters, at):
                    step.setdefault(at + len(letters), path + [syllable])
        if not step:
            return None
        reach = step
    return reach.get(len(target))


def heteronyms(text: str) -> list[dict]:
    """Characters of ``text`` with more than one reading (多音字), for an officer to confirm:
    ``[{"index": i, "char": c, "readings": [...], "chosen": syllable}]`` where ``chosen`` is
    the tone-marked reading the romanization used."""
    toned = syllables(text, tones=True)
    reviewed = reviewed_indexes(text)
    out = []
    for i, ch in enumerate(text):
        rs = readings(ch)
        if len(rs) > 1:
            out.append(
                {
                    "index": i,
                    "char": ch,
                    "readings": rs,
                    "chosen": toned[i] if i < len(toned) else None,
                    # Settled by the reviewed table (place_readings.csv): no confirmation needed.
                    "reviewed": i in reviewed,
                }
            )
    return out


def unconfirmed(heteronym_list: list[dict] | None) -> list[dict]:
    """The heteronyms an officer must still confirm: those the reviewed table does not settle."""
    return [h for h in heteronym_list or () if not h.get("reviewed")]
