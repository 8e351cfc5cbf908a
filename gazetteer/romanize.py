"""Standard romanization of place names (罗马字母拼写) per GB/T 16159 and the 1984 place-name
spelling rules (《中国地名汉语拼音字母拼写规则（汉语地名部分）》).

- The name is split into specific term (专名) and generic term (通名) by the longest generic
  suffix in ``rules/data/generic_terms.csv`` that leaves a specific term; ethnic names before
  自治县/自治州/自治区/民族乡 (terms marked ``ethnic_prefix`` in the table) go with the generic
  (乳源瑶族自治县 -> 乳源 + 瑶族自治县).
- Specific and generic are written separately, each capitalised, even when the specific is one
  syllable (太湖 Tai Hu, 番禺区 Panyu Qu); a generic that has become part of the specific stays
  in it (梅县区 Meixian Qu). Village and settlement names (generic marked ``joined``: 村 庄 屯 …)
  are written as one word (王村 Wangcun); ``name_splits.txt`` fixes splits the longest match
  gets wrong (清新区 Qingxin Qu) and names with no generic (城区 Chengqu).
- Inside a word a syllable starting with a, o or e takes an apostrophe (Nan'ao, Chao'an);
  ü stays ü (Lüliang). ``text`` has no tones (for signs), ``toned`` has tone marks.
- Readings come from :mod:`gazetteer.pinyin` (place-name reading table on top of pypinyin);
  every character with more than one reading is listed in ``heteronyms`` for an officer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gazetteer import pinyin

_VOWEL_STARTS = set("aoeāáǎàōóǒòēéěè")


def _data():
    # Imported here, not at module level: gazetteer.rules imports this module.
    from gazetteer.rules.lexicons import load_rule_data

    return load_rule_data()


@dataclass
class Romanization:
    text: str  # for signs, no tones: "Panyu Qu"
    toned: str  # with tone marks: "Pānyú Qū"
    specific: str  # 专名 in Chinese: "番禺"
    generic: str  # 通名 in Chinese: "区"
    # Every character with several standard readings: [{index, char, readings, chosen,
    # in_generic}]; ``in_generic`` marks those inside a known generic term (区 qū), whose
    # reading is rarely in doubt, so a form can list them last.
    heteronyms: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _match_generic(name: str) -> str:
    """The longest generic term that ends ``name`` and leaves a non-empty specific term."""
    terms = _data().generic_terms
    # Every suffix is tried, longest first: a dict look-up each, cheaper than finding the
    # longest term on every call (names are short; this runs once per imported row).
    for size in range(len(name) - 1, 0, -1):
        if name[-size:] in terms:
            return name[-size:]
    return ""


def split_name(name: str) -> tuple[str, str]:
    """(specific term, generic term) of a name: 番禺区 -> ('番禺', '区');
    连山壮族瑶族自治县 -> ('连山', '壮族瑶族自治县'); 城区 -> ('城区', ''); a name with no known
    generic term -> (name, '')."""
    name = name.strip()
    data = _data()
    if name in data.name_splits:
        specific = data.name_splits[name]
        return specific, name[len(specific) :]
    generic = _match_generic(name)
    specific = name[: len(name) - len(generic)]
    if generic and data.generic_terms[generic].ethnic_prefix:
        peeled = True
        while peeled:
            peeled = False
            for ethnic in data.ethnic_groups:
                if specific.endswith(ethnic) and len(specific) > len(ethnic):
                    specific = specific[: -len(ethnic)]
                    generic = ethnic + generic
                    peeled = True
    return specific, generic


def generic_base(generic: str) -> str:
    """The generic term without ethnic names in front: 壮族瑶族自治县 -> 自治县."""
    rest, ethnic_groups, peeled = generic, _data().ethnic_groups, True
    while peeled:
        peeled = False
        for ethnic in ethnic_groups:
            if rest.startswith(ethnic) and len(rest) > len(ethnic):
                rest, peeled = rest[len(ethnic) :], True
    return rest


def _generic_words(generic: str) -> list[str]:
    """The generic part divided into words: 壮族瑶族自治县 -> ['壮族', '瑶族', '自治县']."""
    data = _data()
    words: list[str] = []
    rest = generic
    while rest:
        for ethnic in data.ethnic_groups:
            if rest.startswith(ethnic) and len(rest) > len(ethnic):
                words.append(ethnic)
                rest = rest[len(ethnic) :]
                break
        else:
            term = data.generic_terms.get(rest)
            words.extend(term.words if term else (rest,))
            rest = ""
    return words


def _word(chars: str, syls: list[str]) -> str:
    """One word from the syllables of ``chars``: joined, capitalised, with an apostrophe
    before a syllable that starts with a, o or e after another syllable (Nan'ao)."""
    out = ""
    prev_han = False
    for ch, s in zip(chars, syls):
        han = pinyin.is_han(ch)
        if han and prev_han and s[:1] in _VOWEL_STARTS:
            out += "'"
        out += s
        prev_han = han
    return out[:1].upper() + out[1:]


def _words(name: str, parts: list[str], tones: bool) -> str:
    """Romanize ``parts`` (consecutive pieces of ``name``, one word each) using readings taken
    from the whole name so that phrase context (番禺, 大埔) applies across the split."""
    syls = pinyin.syllables(name, tones=tones)
    out, i = [], 0
    for part in parts:
        out.append(_word(part, syls[i : i + len(part)]))
        i += len(part)
    return " ".join(w for w in out if w)


def romanize(name: str, feature_class: str | None = None) -> Romanization:
    """Standard romanization of ``name``.

    ``feature_class`` (one of the 12 census classes) decides how settlement names are
    written: for 居民点 the whole name is one word (自然村 names: 王村 Wangcun, 大虎山
    Dahushan); otherwise the generic term's own ``write`` flag decides."""
    name = name.strip()
    specific, generic = split_name(name)
    term = _data().generic_terms.get(generic)
    one_word = (not generic) or feature_class == "居民点" or (term is not None and term.joined)
    if one_word:
        parts = [name]
    else:
        parts = [specific] + _generic_words(generic)
    return Romanization(
        text=_words(name, parts, tones=False),
        toned=_words(name, parts, tones=True),
        specific=specific,
        generic=generic,
        heteronyms=[
            dict(h, in_generic=h["index"] >= len(specific)) for h in pinyin.heteronyms(name)
        ],
    )
