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
from functools import lru_cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin, load_phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

DATA_DIR = Path(__file__).resolve().parent / "rules" / "data"
READINGS_GLOB = "place_readings*.txt"

_lock = threading.Lock()
_loaded_files: set[Path] = set()
_readings: dict[str, list[str]] = {}


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


def load_place_readings(extra_dir: str | Path | None = None) -> dict[str, list[str]]:
    """Load the shipped place-name reading table (once) and any ``place_readings*.txt`` in
    ``extra_dir``; returns the whole table loaded so far ({word: [toned syllable, ...]})."""
    dirs = [DATA_DIR] + ([Path(extra_dir)] if extra_dir else [])
    with _lock:
        for d in dirs:
            for path in sorted(d.glob(READINGS_GLOB)):
                path = path.resolve()
                if path in _loaded_files:
                    continue
                table = _parse_readings(path)
                load_phrases_dict({w: [[s] for s in syls] for w, syls in table.items()})
                _readings.update(table)
                _loaded_files.add(path)
        _cached_syllables.cache_clear()
        return dict(_readings)


def _ensure_loaded() -> None:
    if not _loaded_files:
        load_place_readings()


def place_readings() -> dict[str, list[str]]:
    """The place-name reading table in force ({word: [toned syllable, ...]})."""
    _ensure_loaded()
    return dict(_readings)


@lru_cache(maxsize=200_000)
def _cached_syllables(text: str, tones: bool) -> tuple[str, ...]:
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


def heteronyms(text: str) -> list[dict]:
    """Characters of ``text`` with more than one reading (多音字), for an officer to confirm:
    ``[{"index": i, "char": c, "readings": [...], "chosen": syllable}]`` where ``chosen`` is
    the tone-marked reading the romanization used."""
    toned = syllables(text, tones=True)
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
                }
            )
    return out
