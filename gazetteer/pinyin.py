"""Pinyin of place names: the one place where Chinese text becomes pinyin.

``syllables`` gives the reading of each character using pypinyin with a place-name
reading table layered on top (番禺 pan yu, 大埔 da bu ...). Romanization for signs
(GB/T 16159 word division, capitals, apostrophes) builds on it.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=1)
def _ready() -> bool:
    return True


def syllables(text: str, *, tones: bool = False) -> list[str]:
    """One lowercase syllable per Chinese character (non-Chinese runs kept as they are).

    ``tones=False`` gives toneless syllables with ü written as ``ü`` (吕 -> 'lü');
    ``tones=True`` gives tone-marked syllables (番禺 -> ['pān', 'yú'])."""
    _ready()
    style = Style.TONE if tones else Style.NORMAL
    return [s.lower() for s in lazy_pinyin(text, style=style, v_to_u=True, errors="default")]


def initials(text: str) -> str:
    """First letters of each syllable, lowercase: 广州 -> 'gz'."""
    return "".join(s[0] for s in syllables(text) if s)
