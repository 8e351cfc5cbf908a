"""Chains of names as people type them (city › county › township, county › township ›
village): the forms the search benchmark measures (``bench_search.py``) and the chain tests
check (``tests/test_chains.py``), written once so both draw the same queries."""

from __future__ import annotations

from collections.abc import Mapping

from gazetteer.pinyin import initials, syllables
from gazetteer.search import split_generic

# characters with generic terms, without them (specific terms), traditional characters,
# pinyin (a space between levels), initials, and mixed (characters, then pinyin)
CHAIN_FORMS = ("chars", "specific", "traditional", "pinyin", "initials", "mixed")


def path_of(code: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """The division codes from the top (the province) down to ``code``; ``parent_of`` maps a
    code to its parent's (empty or None at the top)."""
    path = []
    while code:
        path.append(code)
        code = parent_of[code]
    return path[::-1]


def typed_chain(names: list[str], form: str, s2t) -> str:
    """The chain of ``names`` (top level first) typed in ``form`` (one of ``CHAIN_FORMS``);
    ``s2t``: an OpenCC simplified-to-traditional converter."""
    specific = [name[: split_generic(name)[1]] for name in names]
    pinyin = ["".join(syllables(term)) for term in specific]
    return {
        "chars": "".join(names),
        "specific": "".join(specific),
        "traditional": s2t.convert("".join(specific)),
        "pinyin": " ".join(pinyin),
        "initials": " ".join(initials(term) for term in specific),
        "mixed": specific[0] + " ".join(pinyin[1:]),
    }[form]
