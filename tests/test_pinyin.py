"""gazetteer.pinyin: syllables, the place-name reading table and heteronym flags."""

import pytest

from gazetteer import pinyin


def test_syllables_toneless_lowercase_with_u_umlaut():
    assert pinyin.syllables("吕梁") == ["lü", "liang"]
    assert pinyin.syllables("广州") == ["guang", "zhou"]


def test_syllables_toned():
    assert pinyin.syllables("番禺", tones=True) == ["pān", "yú"]


def test_non_chinese_characters_kept_one_per_item():
    assert pinyin.syllables("A1路") == ["A".lower(), "1", "lu"]


def test_initials():
    assert pinyin.initials("广州") == "gz"
    assert pinyin.initials("番禺区") == "pyq"


@pytest.mark.parametrize(
    "word, expected",
    [
        ("番禺", "pan yu"),
        ("大埔", "da bu"),
        ("黄埔", "huang pu"),
        ("佛冈", "fo gang"),
        ("花都", "hua du"),
        ("六安", "lu an"),
        ("单县", "shan xian"),
        ("洪洞", "hong tong"),
        ("涡阳", "guo yang"),
        ("朝阳", "chao yang"),
        ("长治", "chang zhi"),
        ("解州", "xie zhou"),
        ("郫都", "pi du"),
        ("闵行", "min hang"),
        ("乐清", "yue qing"),
        ("铅山", "yan shan"),
        ("东涌", "dong chong"),
    ],
)
def test_place_name_readings_table(word, expected):
    assert pinyin.pinyin_key(word) == expected


def test_readings_in_context_of_a_longer_name():
    assert pinyin.pinyin_key("大埔县") == "da bu xian"
    assert pinyin.pinyin_key("佛冈县") == "fo gang xian"


def test_heteronyms_flag_every_character_with_several_readings():
    flags = pinyin.heteronyms("乐昌市")
    chars = [f["char"] for f in flags]
    assert "乐" in chars
    le = next(f for f in flags if f["char"] == "乐")
    assert le["index"] == 0 and set(le["readings"]) >= {"lè", "yuè"} and le["chosen"] == "lè"
    assert all(len(f["readings"]) > 1 for f in flags)


def test_no_heteronym_flag_for_single_reading_characters():
    assert pinyin.heteronyms("湛江") == []


def test_extra_readings_directory(tmp_path):
    (tmp_path / "place_readings_local.txt").write_text("# local\n测地 cè dì\n", encoding="utf-8")
    table = pinyin.load_place_readings(tmp_path)
    assert table["测地"] == ["cè", "dì"]
    assert pinyin.syllables("测地", tones=True) == ["cè", "dì"]


def test_bad_readings_file_is_rejected(tmp_path):
    (tmp_path / "place_readings_bad.txt").write_text("番禺区 pān yú\n", encoding="utf-8")
    with pytest.raises(ValueError):
        pinyin.load_place_readings(tmp_path)
