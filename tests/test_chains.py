"""Chains of names (广州天河, gz th, 广州市天河区石牌街) over the shipped Guangdong names."""

import csv
import random
from pathlib import Path

import opencc
import pytest

from benchmarks.chain_queries import CHAIN_FORMS, path_of, typed_chain
from gazetteer.chains import ChainLexicon, ChainSearch, chain_text
from gazetteer.core.errors import InvalidInput
from gazetteer.search import SearchIndex, split_generic
from tests.test_search import PANYU, SYNTHETIC, gd_records, synthetic

GD_NAMES = Path(__file__).resolve().parent.parent / "data" / "gd_names.csv"


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    with GD_NAMES.open(encoding="utf-8") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def parent_of(rows) -> dict[str, str]:
    return {code: r["parent_code"] for code, r in rows.items()}


@pytest.fixture(scope="module")
def chains(rows, parent_of) -> ChainSearch:
    records = gd_records()
    former = {PANYU: ["番禺县", "番禺市"]}  # real history: county until 1992, city until 2000
    for r in records:
        r["former_names"] = former.get(r["id"], [])
    index = SearchIndex.from_records(records + SYNTHETIC)
    lexicon = ChainLexicon.build(
        (c, r["name"], r["level"], path_of(c, parent_of), former.get(c, []))
        for c, r in rows.items()
    )
    return ChainSearch(index, lexicon)


def answer(chains: ChainSearch, q: str):
    hits, reading = chains.search(q)
    assert hits, q
    return hits[0], reading


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("广州天河", "天河区"),
        ("深圳南山", "南山区"),
        ("guangzhou tianhe", "天河区"),
        ("Guǎngzhōu Tiānhé", "天河区"),
        ("廣州天河", "天河区"),
        ("gz th", "天河区"),
        ("gzth", "天河区"),
        ("广州tianhe", "天河区"),
        ("gz天河", "天河区"),
        ("广州市天河区石牌街", "石牌街道"),
        ("广东省广州市天河区石牌街道", "石牌街道"),
        ("广东广州天河石牌", "石牌街道"),
        ("广州石牌", "石牌街道"),  # a level skipped
        ("东莞东城", "东城街道"),  # a city without counties
        ("番禺市桥", "市桥街道"),
        ("番禺市市桥", "市桥街道"),  # the upper level by its former name 番禺市
    ],
)
def test_chain_lands_on_the_lowest_place(chains, typed, expected):
    hit, reading = answer(chains, typed)
    assert hit.name == expected, (typed, hit)
    assert reading is not None and reading.nested, reading
    assert all(level["code"] in hit.division_path for level in reading.levels)


def test_chain_levels_say_how_the_query_was_read(chains):
    _, reading = answer(chains, "广州市天河区石牌街")
    assert [(lv["typed"], lv["name"], lv["level"]) for lv in reading.levels] == [
        ("广州市", "广州市", "city"),
        ("天河区", "天河区", "county"),
    ]
    assert reading.tail == "石牌街"
    assert "天河区" in reading.message and "石牌街" in reading.message


def test_chain_that_does_not_nest_says_so_with_the_nearest_reading(chains):
    hit, reading = answer(chains, "深圳天河")
    assert reading is not None and not reading.nested
    assert hit.name == "天河区" and "广州市" in hit.division_chain
    assert "深圳市内没有" in reading.message and "天河区" in reading.message
    # The other way round too, and with pinyin.
    hit, reading = answer(chains, "shenzhen tianhe")
    assert not reading.nested and hit.name == "天河区"


def test_single_names_are_not_read_as_chains(chains):
    for typed, expected in (("天河区", "天河区"), ("番禺", "番禺区"), ("pan yu", "番禺区")):
        hit, reading = answer(chains, typed)
        assert hit.name == expected and reading is None, typed


def test_a_chain_does_not_answer_its_own_upper_level(chains):
    hits, reading = chains.search("广州天河", limit=20)
    assert reading and "广州市" not in [h.name for h in hits]


def test_offset_pages_through_the_same_order(chains):
    all_hits, _ = chains.search("广州天河", limit=6)
    page, _ = chains.search("广州天河", limit=3, offset=3)
    assert [h.id for h in page] == [h.id for h in all_hits[3:6]]


def test_odd_input(chains):
    for bad in ("", "   ", "长" * 500):
        with pytest.raises(InvalidInput):
            chains.search(bad)
    # Lone surrogates, punctuation and digits are simply not found, never an error.
    for odd in ("\ud800广州天河", "广州·天河", "广州 123"):
        chains.search(odd)
    assert chain_text("廣州 Tiānhé") == ("guangzhoutianhe", True)
    # Generic terms alone after a level are not a last level.
    _, reading = chains.search("广州市区")
    assert reading is None or reading.tail != "区"


def test_chains_drawn_from_the_registry(rows, parent_of, chains):
    """Chains of city › county › township (and county › township › village) drawn from the
    shipped names with a seeded RNG, typed in characters with or without generic terms,
    traditional characters, pinyin, initials and mixed: recall@10 >= 0.98 per form."""
    s2t = opencc.OpenCC("s2t")
    rng = random.Random(16)
    targets = [c for c, r in rows.items() if r["level"] in ("township", "village")]
    found = {f: [] for f in CHAIN_FORMS}
    for i in range(600):
        code = rng.choice(targets)
        path = path_of(code, parent_of)[1:]  # from the city down
        form = CHAIN_FORMS[i % len(CHAIN_FORMS)]
        typed = typed_chain([rows[c]["name"] for c in path[-3:]], form, s2t)
        hits, _ = chains.search(typed, limit=10)
        found[form].append(code in [h.id for h in hits])
    for form, results in found.items():
        recall = sum(results) / len(results)
        assert recall >= 0.98 if form != "initials" else recall >= 0.9, (form, recall)


def test_filters_given_as_none_are_no_filters(chains):
    hits, reading = chains.search("广州天河", division=None, feature_class=None)
    assert reading and hits[0].name == "天河区"
    hits, reading = chains.search("广州天河", division="440300")  # the user chose 深圳市
    assert reading is None and all("深圳市" in h.division_chain for h in hits)


def test_suggestions_follow_a_chain_level_by_level(chains):
    """As the user types 广州天河石牌 one character at a time, the suggestions keep up
    with each level: they do not stop after the city."""
    expected = {
        "广州": "广州市",
        "广州天": "天河区",
        "广州天河": "天河区",
        "广州天河石": "石牌街道",
        "广州天河石牌": "石牌街道",
        "廣州天河石": "石牌街道",
        "guangzhou tianhe shi": "石牌街道",
        "gz th sp": "石牌街道",
        "广州市天河区石": "石牌街道",
    }
    for typed, name in expected.items():
        names = [h.name for h, _ in chains.suggest(typed, 10)]
        assert name in names, (typed, names)
    # Each suggestion for a chain lies within the levels already typed, and completes what
    # was typed (the search box keeps the levels).
    for h, completion in chains.suggest("广州天河石", 10):
        assert "440106" in h.division_path, h
        assert completion == "广州天河" + h.name
    # A whole name typed as one is still completed first, not read as a chain.
    assert chains.suggest("天河区", 10)[0] == (chains.suggest("天河区", 10)[0][0], "天河区")
    assert chains.suggest("番禺", 10)[0][0].name == "番禺区"


def test_suggestions_reach_every_level_of_chains_drawn_from_the_registry(rows, parent_of, chains):
    """City › county › township chains from the shipped registry: typing the township's
    first character after its city and county suggests the township."""
    rng = random.Random(16)
    townships = [c for c, r in rows.items() if r["level"] == "township"]
    misses = []
    for code in rng.sample(townships, 150):
        city, county = (rows[c]["name"] for c in path_of(code, parent_of)[1:3])
        name = rows[code]["name"]
        typed = city[: split_generic(city)[1]] + county[: split_generic(county)[1]] + name[0]
        if code not in [h.id for h, _ in chains.suggest(typed, 20)]:
            misses.append((typed, name))
    assert len(misses) <= 3, misses


def test_spaces_keep_their_levels_and_completions_keep_the_typed_levels(chains):
    """gz t is 广州 › t… (天河区), not the one name whose initials are gzt; a mixed or pinyin
    chain completes to the levels as typed, then the name."""
    names = [h.name for h, _ in chains.suggest("gz t", 10)]
    assert names and names[0] == "天河区", names
    first = chains.suggest("gz t", 10)[0][0]
    assert "440100" in first.division_path
    for typed, upper in (
        ("广州t", "广州"),
        ("gz天", "gz"),
        ("guangzhou t", "guangzhou "),
        ("gz ti", "gz "),
        ("广州天", "广州"),
    ):
        pairs = chains.suggest(typed, 10)
        tianhe = [c for h, c in pairs if h.name == "天河区"]
        assert tianhe == [upper + "天河区"], (typed, pairs[:3])


def test_a_reading_resting_on_a_guess_gives_way_to_the_query_as_one_name(chains):
    """珠江 is a township (珠江街道) and 石牌 one too, but 珠江村委 is the start of 珠江村委会 and
    石牌街到 a slip for 石牌街道: read as 珠江街道 + 村委 or 石牌街道 + 街到, nothing inside
    matches as typed (only misspellings of the last level, or places elsewhere), and the
    query read as one name answers (found by a user test; both stores use this reader)."""
    hit, reading = answer(chains, "珠江村委")
    assert (hit.name, hit.matched_form, reading) == ("珠江村委会", "prefix", None)
    hit, reading = answer(chains, "石牌街到")
    assert (hit.name, hit.matched_form, reading) == ("石牌街道", "typo", None)
    # A chain whose last level is found inside as typed is still read as a chain.
    hit, reading = answer(chains, "广州石牌")
    assert hit.name == "石牌街道" and reading is not None and reading.nested


def test_an_upper_level_misspelt_with_a_character_of_the_same_sound(chains):
    """广洲 for 广州, 深镇 for 深圳: an input method's slip in an upper level. The query as
    typed finds nothing, so the chain is read by its pinyin, the levels cut where the
    characters are (found by a user test: 广洲天河 returned nothing)."""
    for typed, expected, upper in (
        ("广洲天河", "天河区", "广州市"),
        ("深镇南山", "南山区", "深圳市"),
        ("广州天和石牌", "石牌街道", "天河区"),  # a middle level
    ):
        hit, reading = answer(chains, typed)
        assert hit.name == expected, typed
        assert reading is not None and reading.nested, typed
        assert upper in [lv["name"] for lv in reading.levels], typed
        assert reading.levels[0]["typed"] == typed[:2], typed  # as typed, not as read
    # A query that finds something as typed is not read by sound.
    hit, reading = answer(chains, "天河区")
    assert (hit.name, reading) == ("天河区", None)
    # Nothing by sound either: still nothing, no error.
    assert chains.search("广洲天河乙乙乙乙")[0] == []


def test_a_last_level_found_only_elsewhere_gives_way_to_the_query_as_one_name(chains):
    """珠江 is a township (珠江街道) and 新成 a village elsewhere, but 珠江新成 is one slip
    from the single name 珠江新城: the name wins over a reading whose answer lies outside
    its upper levels (found by a user test: it answered a village in another city)."""
    place = synthetic("syn-zhujiang-xincheng", "珠江新城", "440105", "居民点")
    index = SearchIndex.from_records([*gd_records(), place])
    hits, reading = ChainSearch(index, chains.lexicon).search("珠江新成")
    assert reading is None
    assert hits and hits[0].name.startswith("珠江新城") and hits[0].matched_form == "typo"
    # Where the query as one name finds nothing, the reading stays and says so.
    hit, reading = answer(chains, "深圳天河")
    assert reading is not None and not reading.nested and hit.name == "天河区"


@pytest.mark.parametrize(
    "q, filters",
    [
        ("石牌街到", {}),  # one name with a typo (no chain) on page 1
        ("fuyongcun", {"status": "in_force"}),
        ("广州天河", {}),  # a chain
        ("深圳天河", {}),  # a chain that does not nest
        ("广洲天河", {}),  # a chain read by sound
    ],
)
def test_every_page_is_a_page_of_the_same_list(chains, q, filters):
    """How a query is read is decided on the whole list, not on the page: paging by
    offset never switches to another reading (a user test: page 2 of 石牌街到 showed a chain
    message page 1 never had, and pages of fuyongcun repeated page 1)."""
    whole, reading = chains.search(q, limit=80, **filters)
    assert whole, q
    paged = []
    for offset in range(0, 91, 7):
        hits, page_reading = chains.search(q, limit=7, offset=offset, **filters)
        assert (page_reading and page_reading.as_dict()) == (reading and reading.as_dict())
        paged += hits
    assert [h.id for h in paged] == [h.id for h in whole]


def test_a_chain_within_a_division_filter(chains):
    """With a division filter a query is one name within it; when that finds nothing, a
    chain's answers within the division (a user test: 广州天河 with division=440100 found
    nothing)."""
    hits, reading = chains.search("广州天河", division="440100")
    assert hits[0].name == "天河区" and reading is not None and reading.nested
    hits, _ = chains.search("广洲天河", division="440100")
    assert hits[0].name == "天河区"
    assert chains.search("广州天河", division="440300") == ([], None)  # 深圳: not inside
    hits, reading = chains.search("天河", division="440100")  # one name within: as before
    assert hits[0].name == "天河区" and reading is None


def test_an_upper_level_with_its_generic_term_and_a_misspelt_last_part(chains):
    """天河区石牌乔: the level read as 天河区 (not 天河 + 区石牌乔, a last part starting with
    a generic term), then the misspelt last part within it (a user test found nothing)."""
    for typed, expected in (
        ("天河区石牌乔", "石牌街道"),
        ("番禺区富涌村民委员会", "福涌村民委员会"),
    ):
        hit, reading = answer(chains, typed)
        assert (hit.name, hit.matched_form) == (expected, "typo"), typed
        assert reading is not None and reading.nested and reading.tail == typed[3:], typed
    hit, reading = answer(chains, "天河区石排")  # elsewhere: the message names 石排, not 区石排
    assert "“石排”" in reading.message and not reading.nested


def test_a_misspelt_last_part_whose_start_names_a_level(chains):
    """广州天河石牌街到: 石牌 reads as the level 石牌街道 and leaves 街到, found nowhere
    inside it; the next reading (天河 + 石牌街到) finds 石牌街道 misspelt inside 天河区, not
    街道… places in other cities (a user test: 石牌街道 was not in the list at all)."""
    for typed, expected, tail in (
        ("广州天河石牌街到", "石牌街道", "石牌街到"),
        ("天河区冼村街到", "冼村街道", "冼村街到"),
        ("番禺区市桥街到", "市桥街道", "市桥街到"),
        ("天河区石牌道街", "石牌街道", "石牌道街"),
        ("广州天河天河南街到", "天河南街道", "天河南街到"),
    ):
        hit, reading = answer(chains, typed)
        assert (hit.name, hit.matched_form) == (expected, "typo"), typed
        assert reading.nested and reading.tail == tail, typed
    hits, reading = chains.search("广州天河石牌街到", division="440106")  # within 天河区
    assert hits[0].name == "石牌街道" and reading.nested
    hit, reading = answer(chains, "广州天河石牌")  # the right spelling after: as before
    assert (hit.name, hit.matched_form, reading.tail) == ("石牌街道", "prefix", "石牌")
