#!/usr/bin/env python3
"""Survey the heteronyms (多音字) in the specific terms (专名) of the shipped names and the
effect of the reviewed place-reading table; writes docs/heteronym_survey.md.

For every character of a specific term that pypinyin (``heteronym=True``) knows more than
one reading of, the survey counts the names containing it, the reading the project uses
today (``gazetteer.pinyin``: pypinyin with place_readings.txt on top) and gives examples.
Characters with several readings in 《通用规范汉字字典》 (tgh_readings.txt) come first;
those that only pypinyin lists several readings for (mostly archaic or dialect readings)
follow in a short table.

Then the table gazetteer/rules/data/place_readings.csv is loaded into pypinyin
(``load_phrases_dict``, through ``gazetteer.pinyin.load_place_readings``) and every name
whose romanization changes is listed, old -> new.

Usage: python scripts/survey_heteronyms.py [--csv data/gd_names.csv]
           [--readings gazetteer/rules/data/place_readings.csv] [--out docs/heteronym_survey.md]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypinyin import Style  # noqa: E402
from pypinyin import pinyin as pypinyin_readings
from pypinyin.contrib.tone_convert import to_tone, to_tone3  # noqa: E402

from gazetteer import pinyin  # noqa: E402
from gazetteer.romanize import romanize, split_name  # noqa: E402
from gazetteer.rules.survey import records_from_name_rows  # noqa: E402

READINGS = ROOT / "gazetteer" / "rules" / "data" / "place_readings.csv"
EXAMPLES_PER_READING = 4

REVIEW = """
## Review notes

Read from the tables above when place_readings.csv was built (the rows cite their sources):
- Wrong today and fixed by the table: 涌 read yǒng 73 times (麻涌, 葵涌, 霞涌 …; Guangdong 涌
  is chōng), 圩 read wéi 173 times (新圩, 官圩 …; Guangdong 圩 is xū, market), 长 read zhǎng
  218 times (长洲, 长岭, 长塘 …), 都 read dōu (七都, 都斛, 隆都), 佛 read fú
  (九佛, 石佛), 斗 read dòu (斗山, 覃斗), 咀 read jǔ (洲头咀, 石咀), 曾 read céng (曾田, 曾家),
  卜 read bo (卜品), 勒 read lēi (勒流), 塘厦 shà, 十三行 xíng, 马降龙 xiáng.
- Not fixed by a single-character row: where pypinyin takes a longer dictionary word first.
  Names with an embedded division name (…镇长塘村) read 镇长 as zhènzhǎng ("town mayor"),
  and 石头 / 码头 get a neutral-tone tou; such names need the officer's confirmation (or the
  embedded division name removed, see docs/naming_survey.md).
- place_readings.txt (the table in use today) has two-character national entries that also
  change Guangdong villages: 洪洞 (Shanxi county, tóng) gives 洪洞村委会 Hóngtóng and 丽水
  (Zhejiang city, lí) gives 丽水村委会 Líshuǐ, which are probably dòng and lì there. The
  reviewed table gives those readings for the whole county name (洪洞县, 丽水市) only. Its
  曲江 qǔ was left out of the reviewed table: no source at hand (the sign spelling is
  Qujiang either way).
- Left for an officer (no certain reading): 华山 (huà as the mountain, or huá), 燕山 (yān),
  礼乐 (Jiangmen; pypinyin yuè), 莘 (shēn / xīn), 茜坑 (qiàn / xī), 什 (shí / shén), 覃 (tán /
  qín), 番 outside 番禺 (番村, 番丰), 涡水, 缪边, 盖山, 燕, 单 in 马单, 翟洞, 华/乐 in clan names.
"""


def numbered(syllable: str) -> str:
    """Tone-marked syllable -> numbered (chōng -> chong1; ü written v, as pypinyin does)."""
    return to_tone3(syllable, neutral_tone_with_five=True)


def load_records(csv_path: Path) -> list[dict]:
    with csv_path.open(encoding="utf-8") as fh:
        return records_from_name_rows(list(csv.DictReader(fh)))


def read_place_readings(path: Path) -> list[dict]:
    """Rows of place_readings.csv (``#`` lines are comments): phrase,pinyin,scope,source,note.
    Raises ValueError when a row's syllable count does not match its phrase."""
    lines = [
        ln
        for ln in path.read_text(encoding="utf-8").splitlines()
        if not ln.lstrip().startswith("#")
    ]
    rows = list(csv.DictReader(lines))
    for r in rows:
        if len(r["pinyin"].split()) != len(r["phrase"]):
            raise ValueError(
                f"{path}: {r['phrase']!r} has {len(r['phrase'])} characters "
                f"but pinyin {r['pinyin']!r}"
            )
    return rows


def survey(records: list[dict]) -> dict[str, dict]:
    """{char: {names, used: Counter(reading), examples: {reading: [name]}, all, standard}}."""
    stats: dict[str, dict] = {}
    for rec in records:
        name = rec["name"]
        specific, _ = split_name(name)
        toned = pinyin.syllables(name, tones=True)
        seen: set[str] = set()
        for i, ch in enumerate(specific):
            all_readings = pypinyin_readings(
                ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True
            )[0]
            if len(all_readings) < 2:
                continue
            s = stats.setdefault(
                ch,
                {
                    "names": 0,
                    "used": Counter(),
                    "examples": defaultdict(list),
                    "all": all_readings,
                    "standard": [numbered(r) for r in pinyin.readings(ch)],
                },
            )
            used = numbered(toned[i])
            s["used"][used] += 1
            if ch not in seen:
                s["names"] += 1
                seen.add(ch)
            if len(s["examples"][used]) < EXAMPLES_PER_READING and name not in s["examples"][used]:
                s["examples"][used].append(name)
    return stats


def romanizations(records: list[dict]) -> dict[str, str]:
    return {r["id"]: romanize(r["name"], r["feature_class"]).toned for r in records}


def load_table(rows: list[dict]) -> None:
    """Load the table the way gazetteer.pinyin loads its reading files (load_phrases_dict),
    through a temporary place_readings_*.txt so the module's cache is cleared."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"{r['phrase']} {' '.join(to_tone(s) for s in r['pinyin'].split())}" for r in rows]
        (Path(tmp) / "place_readings_reviewed.txt").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
        pinyin.load_place_readings(tmp)


def _examples(s: dict) -> str:
    return "; ".join(
        f"{reading}: {'、'.join(names)}"
        for reading, names in sorted(s["examples"].items(), key=lambda kv: -s["used"][kv[0]])
    )


def _most_names_first(stats: dict):
    """(character, its stats, the readings used today, most used first) for the rows of a
    table: the characters in most names first, then in character order."""
    for ch, s in sorted(stats.items(), key=lambda kv: (-kv[1]["names"], kv[0])):
        yield ch, s, ", ".join(f"{r} ×{n}" for r, n in s["used"].most_common())


def markdown(records: list[dict], stats: dict, table: list[dict], changes: list[tuple]) -> str:
    standard = {c: s for c, s in stats.items() if len(s["standard"]) > 1}
    other = {c: s for c, s in stats.items() if len(s["standard"]) <= 1}
    total_names = sum(1 for r in records if any(c in stats for c in split_name(r["name"])[0]))
    out = [
        "# Heteronyms (多音字) in the shipped names",
        "",
        "Built by `scripts/survey_heteronyms.py` from data/gd_names.csv; do not edit by hand.",
        "",
        f"Names: {len(records):,}. Characters of specific terms (专名) with more than one pypinyin "
        f"reading (`heteronym=True`): {len(stats)}, in {total_names:,} names. Of these "
        f"{len(standard)} have several readings in 《通用规范汉字字典》 (tgh_readings.txt); the "
        f"other {len(other)} have one standard reading and pypinyin's extra readings are archaic "
        "or dialectal.",
        "",
        '"Used today" is the reading `gazetteer.pinyin` gives in each name (pypinyin plus '
        "place_readings.txt), counted per occurrence; readings are numbered (chong1 = chōng).",
        "",
        "## Characters with several standard readings",
        "",
        "| char | names | standard readings | used today | examples by reading used |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for ch, s, used in _most_names_first(standard):
        out.append(
            f"| {ch} | {s['names']:,} | {' '.join(s['standard'])} | {used} | {_examples(s)} |"
        )
    out += [
        "",
        "## Characters with one standard reading (pypinyin lists more)",
        "",
        "| char | names | standard | pypinyin readings | used today | example |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for ch, s, used in _most_names_first(other):
        first = next(iter(s["examples"].values()))[0]
        out.append(
            f"| {ch} | {s['names']:,} | {' '.join(s['standard']) or '—'} | "
            f"{' '.join(s['all'])} | {used} | {first} |"
        )
    sign_changes = [c for c in changes if c[3] != c[4]]
    out += REVIEW.splitlines()
    out += [
        "",
        "## Effect of the reviewed table place_readings.csv",
        "",
        f"Rows in the table: {len(table)}. Loaded into pypinyin with `load_phrases_dict` on top of "
        f"today's readings, it changes the toned romanization of {len(changes):,} names; "
        f"{len(sign_changes):,} of them also change on signs (toneless).",
        "",
        "| code | name | today | with the table |",
        "| --- | --- | --- | --- |",
    ]
    for code, name, old, _old_sign, _new_sign, new in changes:
        out.append(f"| {code} | {name} | {old} | {new} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=ROOT / "data" / "gd_names.csv")
    ap.add_argument("--readings", type=Path, default=READINGS)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "heteronym_survey.md")
    args = ap.parse_args(argv)
    # "Today" is the readings without the reviewed table, which gazetteer.pinyin would
    # otherwise load itself; the table is loaded below from --readings.
    pinyin.load_place_readings(reviewed=False)
    records = load_records(args.csv)
    stats = survey(records)
    before = romanizations(records)
    before_sign = {r["id"]: romanize(r["name"], r["feature_class"]).text for r in records}
    table = read_place_readings(args.readings)
    load_table(table)
    changes = []
    for r in records:
        after = romanize(r["name"], r["feature_class"])
        if after.toned != before[r["id"]]:
            changes.append(
                (r["id"], r["name"], before[r["id"]], before_sign[r["id"]], after.text, after.toned)
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(records, stats, table, changes), encoding="utf-8")
    print(
        f"{len(records):,} names, {len(stats)} heteronym characters, "
        f"{len(changes):,} names change with {len(table)} table rows -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
