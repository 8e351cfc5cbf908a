"""Place-name search over the shipped Guangdong names (data/gd_names.csv)."""

import csv
from pathlib import Path

import pytest

from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.search import (
    SearchIndex,
    _positional_grams,
    normalise_latin,
    split_generic,
    term_lengths_that_fit,
)

GD_NAMES = Path(__file__).resolve().parent.parent / "data" / "gd_names.csv"
LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
PANYU = "440113"


def gd_records() -> list[dict]:
    with GD_NAMES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_code = {r["code"]: r for r in rows}
    records = []
    for r in rows:
        path, code = [], r["code"]
        while code:
            path.append(code)
            code = by_code[code]["parent_code"]
        path.reverse()
        records.append(
            {
                "id": r["code"],
                "name": r["name"],
                "former_names": [],
                "division_code": r["parent_code"] or None,
                "division_path": path,
                "division_chain": [by_code[c]["name"] for c in path],
                "feature_class": "群众自治组织" if r["level"] == "village" else "行政区域",
                "status": "in_force",
                "level_rank": LEVEL_RANK[r["level"]],
                "bbox": None,
            }
        )
    return records


GUANGZHOU = ["440000", "440100"]
CHAIN = {"440105": ["广东省", "广州市", "海珠区"], PANYU: ["广东省", "广州市", "番禺区"]}


def synthetic(id_, name, county, feature_class, status="in_force", bbox=None, former=()):
    """A made-up record in ``county`` of 广州市, ranked below the real divisions (level 5);
    ``bbox``: (min lon, min lat, max lon, max lat) in degrees."""
    return {
        "id": id_,
        "name": name,
        "former_names": list(former),
        "division_code": county,
        "division_path": [*GUANGZHOU, county],
        "division_chain": CHAIN[county],
        "feature_class": feature_class,
        "status": status,
        "level_rank": 5,
        "bbox": bbox,
    }


SYNTHETIC = [
    # A renamed place (synthetic): the old name must still find it.
    synthetic(
        "syn-rename",
        "海珠湿地路",
        "440105",
        "交通运输设施",
        bbox=(113.33, 23.06, 113.36, 23.07),
        former=["万亩果园路"],
    ),
    # A place whose whole name is 沙湾 (exact) next to the real 沙湾街道/沙湾社区… (prefix).
    synthetic("syn-shawan", "沙湾", PANYU, "居民点", bbox=(113.33, 22.90, 113.36, 22.92)),
    # A historical and a retired name, for status filters and ranking.
    synthetic("syn-historical", "番禺古城", PANYU, "纪念地旅游景点", "historical"),
    synthetic(
        "syn-retired", "番禺旧站", PANYU, "交通运输设施", "retired", (113.36, 22.93, 113.37, 22.94)
    ),
]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    records = gd_records()
    for r in records:
        if r["id"] == PANYU:
            r["former_names"] = [
                "番禺县",
                "番禺市",
            ]  # real history: county until 1992, city until 2000
    return SearchIndex.from_records(records + SYNTHETIC)


def first(hits):
    assert hits, "no hits"
    return hits[0]


def test_build_covers_every_record(index):
    assert len(index) == 28743 + len(SYNTHETIC)
    assert index.build_seconds > 0


def test_exact(index):
    hit = first(index.search("番禺区"))
    assert (hit.id, hit.matched_form) == (PANYU, "exact")
    assert hit.division_chain == ["广东省", "广州市", "番禺区"]
    assert hit.level_rank == 2 and hit.status == "in_force"


def test_prefix_finds_the_name_without_its_generic_term(index):
    hit = first(index.search("番禺"))
    assert (hit.id, hit.matched_form) == (PANYU, "prefix")
    hit = first(index.search("广州"))
    assert (hit.id, hit.matched_form) == ("440100", "prefix")


def test_traditional_characters(index):
    hit = first(index.search("廣州"))
    assert (hit.id, hit.matched_form) == ("440100", "traditional")
    assert first(index.search("番禺區")).id == PANYU


@pytest.mark.parametrize("typed", ["panyu", "pan yu", "Pānyú", "PanYu", "pan2 yu2", "panyuqu"])
def test_pinyin_with_or_without_spaces_and_tones(index, typed):
    hit = first(index.search(typed))
    assert (hit.id, hit.matched_form) == (PANYU, "pinyin")


def test_initials(index):
    hit = first(index.search("gz"))
    assert (hit.id, hit.matched_form) == ("440100", "initials")
    assert first(index.search("pyq")).id == PANYU


@pytest.mark.parametrize("typed", ["番禹区", "番禹", "panyy", "pnayu"])
def test_one_typo(index, typed):
    hit = first(index.search(typed))
    assert (hit.id, hit.matched_form) == (PANYU, "typo")


def test_typo_in_a_village_name(index):
    # 福涌村民委员会 (番禺区沙湾街道): homophone slip in the specific term, with and without the
    # generic term, and a slip in the generic term.
    for typed in ("富涌村", "富涌村民委员会", "福涌村民委员金"):
        hits = index.search(typed, division=PANYU)
        assert "440113017204" in [h.id for h in hits[:3]], typed
        assert {h.matched_form for h in hits} == {"typo"}


def test_two_neighbours_swapped_across_the_middle(index):
    """造村和委会 for 造和村委会: neither half of the query is intact and the slip crosses the
    specific term's end, so only the name with the pair swapped back finds it (a user test
    found the PostgreSQL search, which once probed it, and the in-memory one disagreeing)."""
    for typed, name in (("造村和委会", "造和村委会"), ("军村寨委会", "军寨村委会")):
        hits = index.search(typed)
        assert (hits[0].name, hits[0].matched_form) == (name, "typo"), typed


def test_a_tail_whose_pairs_are_each_in_some_key_but_not_together_is_skipped():
    """Every pair of the tail 村民委 is at its place after a two-character term in some key
    (村民 in one, 民委 in another), but no key holds the three together there: the terms
    one edit from the head 戊己 (thousands, for a real short head) are not read for that
    length. After a one-character term a key does hold them (庚村民委员), so that length
    is read."""
    keys = ["甲乙村民", "丙丁戊民委", "庚村民委员"]
    grams = {g for key in keys for g in _positional_grams(key)}
    heads = ["戊己"]
    [lengths] = term_lengths_that_fit("戊己村民委", heads, lambda codes: grams & set(codes))
    assert lengths == (1,)  # 庚 + 村民委员 holds 村民委 after one character
    keys = ["甲乙村民", "丙丁戊民委"]
    grams = {g for key in keys for g in _positional_grams(key)}
    assert term_lengths_that_fit("戊己村民委", heads, lambda codes: grams & set(codes)) == [()]
    # Each pair alone is there: without the runs of three, length 2 would be read.
    pairs = {g for g in grams if g >= 0}
    assert all(g in pairs for g in _positional_grams("村民委", 2) if g >= 0)


def test_term_lengths_are_those_of_each_tail_checked_apart_and_linear_in_the_query(
    index, monkeypatch
):
    """The lengths that fit, found from each character's codes once per shift, are those
    of checking every head's tail apart (the definition), on real names with slips and on
    long pasted text; and the codes of a query of 100 characters are made once per
    character and shift, not once per head (each head's tail apart was quadratic: 115 ms a
    search, found by a user test)."""
    from gazetteer import search

    buckets = index._typo_chars

    def one_by_one(q, heads):
        lengths = []
        for head in heads:
            tail, every = q[len(head) :], (len(head) - 1, len(head), len(head) + 1)
            codes = [_positional_grams(tail, n) for n in every]
            lengths.append(
                every
                if len(tail) < 2
                else tuple(
                    n for n, cs in zip(every, codes) if buckets._grams_present(cs) == set(cs)
                )
            )
        return lengths

    made = []
    grams_at = search._grams_at
    monkeypatch.setattr(search, "_grams_at", lambda *args: made.append(1) or grams_at(*args))
    long = "广州市天河区石牌街道" * 10
    for q in ["富涌村民委员会", "福涌村民员委金", "番禹", "沙弯街道", "大石街到", long]:
        heads = [q[:k] for k in range(len(q), 1, -1)]
        expected = one_by_one(q, heads)
        made.clear()
        assert term_lengths_that_fit(q, heads, buckets._grams_present) == expected, q
    assert len(made) <= 3 * len(long)


def test_positional_grams_cut_what_does_not_fit_and_stay_distinct():
    """A run of three past position 63, or of characters beyond 19 bits, is cut the same
    way in the key and in the query (a merged code only skips less); pairs and runs of
    three never share a code."""
    far = "一" * 70 + "村民委"
    assert set(_positional_grams("村民委", 70)) <= set(_positional_grams(far))
    astral = "\U0002000b鹮汀"
    assert set(_positional_grams(astral, 5)) <= set(_positional_grams("甲乙丙丁戊" + astral))
    codes = _positional_grams("甲乙丙丁")
    assert sum(c >= 0 for c in codes) == 3 and sum(c < 0 for c in codes) == 2


def test_a_tail_that_holds_the_typo_skips_its_heads_terms(index):
    """A split whose tail starts no name key at any place a term one edit from its head
    could end is not looked up (a two-character head has thousands of such terms), nor are
    the terms of a length after which no key holds the tail; and the answers are those of
    looking every split up."""
    buckets = index._typo_chars
    typed = "福涌村民员委金"  # two slips in the generic term: no name holds that tail
    heads = [typed[:k] for k in range(len(typed), 1, -1)]
    lengths = dict(zip(heads, buckets.term_lengths(typed, heads)))
    assert lengths["福涌村民员委金"] == (6, 7, 8)  # no tail
    assert lengths["福涌村民员委"] == (5, 6, 7)  # a tail of one character
    assert lengths["福涌"] == () and lengths["福涌村"] == ()
    typed = "富涌村民委员会"  # the slip in the specific term: its tail fits
    heads = [typed[:k] for k in range(len(typed), 1, -1)]
    # 福涌 + 村民委员会 fits; no key has 村民委员会 after a one-character term.
    assert dict(zip(heads, buckets.term_lengths(typed, heads)))["富涌"] == (2, 3)
    queries = [
        "富涌村民委员会",
        "福涌村民委员金",
        "番禹",
        "造村和委会",
        "杉树寸民委员会",
        "沙弯街道",
    ]
    with_filter = {q: [(h.id, h.matched_form) for h in index.search(q, limit=30)] for q in queries}
    grams, buckets.base_grams = buckets.base_grams, None
    try:
        every_split = {
            q: [(h.id, h.matched_form) for h in index.search(q, limit=30)] for q in queries
        }
    finally:
        buckets.base_grams = grams
    assert with_filter == every_split
    assert with_filter["富涌村民委员会"]


def test_a_name_added_after_the_base_is_found_by_a_typo_in_its_specific_term():
    """The grams of names added after the base are kept with them: the tail of a name
    only an added record holds (二朗 + 岭公园) still fits, and the term's typo finds it."""
    idx = SearchIndex.from_records(gd_records())
    for name, typed in (("二郎岭公园", "二朗岭公园"), ("二郎庙街道办事处", "二朗庙街道办事处")):
        assert all(h.name != name for h in idx.search(typed))
        idx.add(synthetic(f"syn-{name}", name, PANYU, "纪念地旅游景点"))
        hit = first(idx.search(typed))
        assert (hit.name, hit.matched_form) == (name, "typo")


def test_a_name_in_the_base_is_found_by_its_own_romanization(tmp_path):
    """Built into the base (and saved to files and mapped again): 长乐西村 recorded as
    Changyue Xicun is found by changyue, by cyxc and by a slip in its spelling, as well as
    by changle; a spelling that is no reading of the name adds no key."""
    records = gd_records() + [
        synthetic("syn-cy", "长乐西村", PANYU, "居民点") | {"romanized": "Changyue Xicun"},
        synthetic("syn-stray", "长乐北村", PANYU, "居民点") | {"romanized": "Foo Bar"},
    ]
    built = SearchIndex.from_records(records)
    built.save(tmp_path / "base")
    for idx in (built, SearchIndex.load(tmp_path / "base")):
        for typed in ("changyuexicun", "Changyue Xicun", "cyxc", "changlexicun", "changyeuxicun"):
            assert "syn-cy" in [h.id for h in idx.search(typed)], typed
        assert first(idx.search("changyue xicun")).matched_form == "pinyin"
        assert [h.id for h in idx.search("foobar")] == []


def test_former_name(index):
    hit = first(index.search("番禺市"))
    assert (hit.id, hit.matched_form, hit.matched_former_name) == (PANYU, "former_name", "番禺市")
    hit = first(index.search("万亩果园"))
    assert (hit.id, hit.matched_form, hit.matched_former_name) == (
        "syn-rename",
        "former_name",
        "万亩果园路",
    )
    assert hit.name == "海珠湿地路"
    # Its current name still works, and is not reported as a former name.
    hit = first(index.search("海珠湿地路"))
    assert (hit.id, hit.matched_form, hit.matched_former_name) == ("syn-rename", "exact", None)


def test_division_filter_includes_everything_under_it(index):
    hits = index.search("新村", division="440100", limit=50)
    assert hits and all(h.division_chain[:2] == ["广东省", "广州市"] for h in hits)
    unfiltered = index.search("新村", limit=50)
    assert any(h.division_chain[:2] != ["广东省", "广州市"] for h in unfiltered)
    # The division itself is in it.
    assert first(index.search("番禺区", division=PANYU)).id == PANYU
    # A township filter: only names under 沙湾街道.
    hits = index.search("福", division="440113017", limit=50)
    assert hits and all(h.id.startswith("440113017") for h in hits)
    assert index.search("番禺区", division="440300") == []
    assert index.search("番禺区", division="999999") == []


def test_feature_class_and_status_filters(index):
    hits = index.search("番禺", feature_class="交通运输设施", limit=50)
    assert [h.id for h in hits] == ["syn-retired"]
    assert index.search("番禺", status="in_force", limit=50)
    assert all(h.status == "in_force" for h in index.search("番禺", status="in_force", limit=50))
    assert [h.id for h in index.search("番禺", status="historical")] == ["syn-historical"]
    assert {h.id for h in index.search("番禺", status=["historical", "retired"])} == {
        "syn-historical",
        "syn-retired",
    }
    with pytest.raises(InvalidInput, match="未知的地名状态"):
        index.search("番禺", status="deleted")


def test_bbox_filter(index):
    hits = index.search("沙湾", bbox=(113.30, 22.85, 113.40, 22.95), limit=50)
    assert [h.id for h in hits] == ["syn-shawan"]  # names without geometry are left out
    assert index.search("沙湾", bbox=(100.0, 30.0, 101.0, 31.0)) == []
    with pytest.raises(InvalidInput):
        index.search("沙湾", bbox=(114.0, 23.0, 113.0, 24.0))


def test_ranking_exact_then_prefix_then_typo(index):
    hits = index.search("沙湾", limit=100)
    forms = [h.matched_form for h in hits]
    assert forms[0] == "exact" and set(forms) == {"exact", "prefix"}
    assert forms == sorted(forms, key=["exact", "prefix"].index)
    # The exact match wins although it is a minor place (level 5) and prefixes are townships.
    assert hits[0].id == "syn-shawan"
    # A typed name that matched exactly gets no misspelt neighbours; a prefix-only query
    # does, after the prefix matches.
    hits = index.search("番禺古", limit=20)
    forms = [h.matched_form for h in hits]
    assert forms[0] == "prefix" and hits[0].id == "syn-historical"
    assert "typo" in forms and forms == sorted(forms, key=["prefix", "typo"].index)
    assert PANYU in [h.id for h in hits if h.matched_form == "typo"]
    for q in ("沙湾", "番禺古"):
        scores = [h.score for h in index.search(q, limit=100)]
        assert scores == sorted(scores, reverse=True)


def test_ranking_within_a_tier(index):
    # Higher divisions first: 广州市 (city) before 广州…街道/社区 (township/village).
    hits = index.search("广州", limit=30)
    ranks = [h.level_rank for h in hits if h.matched_form == "prefix"]
    assert len(ranks) > 5 and ranks == sorted(ranks)
    typo_ranks = [h.level_rank for h in hits if h.matched_form == "typo"]
    assert typo_ranks == sorted(typo_ranks)
    # In force before historical before retired at the same level.
    hits = [h for h in index.search("番禺", limit=100) if h.level_rank == 5]
    assert [h.status for h in hits] == ["historical", "retired"]


def test_offset_pages_through_the_same_order(index):
    whole = index.search("新", limit=30)
    pages = (
        index.search("新", limit=10)
        + index.search("新", limit=10, offset=10)
        + index.search("新", limit=10, offset=20)
    )
    assert [h.id for h in pages] == [h.id for h in whole]
    assert len({h.id for h in whole}) == 30


def test_suggest(index):
    names = [h.name for h in index.suggest("番禺", 5)]
    assert names[0] == "番禺区" and len(names) <= 5
    assert all(h.matched_form != "typo" for h in index.suggest("番禹", 10))


def test_invalid_queries(index):
    for q in ("", "   ", None):
        with pytest.raises(InvalidInput, match="请输入"):
            index.search(q)
    with pytest.raises(InvalidInput):
        index.search("番禺", limit=0)
    with pytest.raises(InvalidInput):
        index.search("番禺", offset=-1)


def test_add_and_remove_after_a_rename():
    idx = SearchIndex.from_records(gd_records())
    old = next(r for r in gd_records() if r["id"] == "440113017204")  # 福涌村民委员会
    assert first(idx.search("福涌村民委员会")).id == old["id"]
    idx.remove(old["id"])
    assert old["id"] not in idx
    assert all(h.id != old["id"] for h in idx.search("福涌村民委员会", limit=50))
    renamed = dict(old, name="福兴村民委员会", former_names=["福涌村民委员会"])
    idx.add(renamed)
    hit = first(idx.search("福兴村", division=PANYU))
    assert (hit.id, hit.matched_form) == (old["id"], "prefix")
    hit = first(idx.search("福涌村民委员会"))
    assert (hit.id, hit.matched_form, hit.matched_former_name) == (
        old["id"],
        "former_name",
        "福涌村民委员会",
    )
    assert first(idx.search("fuxingcun", division="440113")).id == old["id"]
    assert first(idx.search("福兴村民委员金", division="440113")).id == old["id"]
    with pytest.raises(Conflict):
        idx.add(renamed)
    with pytest.raises(NotFound):
        idx.remove("no-such-id")


def test_from_store_reads_places_and_divisions(store):
    idx = SearchIndex.from_store(store)
    hit = first(idx.search("番禺区"))
    assert hit.name == "番禺区" and hit.level_rank == 2
    assert hit.division_chain == ["广东省", "广州市", "番禺区"]
    hit = first(
        idx.search("fuchongcun", division=PANYU)
    )  # 涌 reads chōng in Pearl River Delta names (place_readings.csv)
    assert (hit.name, hit.matched_form) == ("福涌村民委员会", "pinyin")
    assert hit.division_chain[:3] == ["广东省", "广州市", "番禺区"]


def test_helpers():
    assert normalise_latin("Pān yú") == "panyu"
    assert normalise_latin("Lǚ liang") == "lvliang"
    assert normalise_latin("xi'an") == "xian"
    assert split_generic("福涌村民委员会") == (3, 2)
    assert split_generic("沙湾社区居民委员会") == (4, 2)
    assert split_generic("番禺区") == (3, 2)
    assert split_generic("东区") == (2, 2)


def test_a_name_keeping_a_character_the_simplifier_changes_is_found_misspelt(index):
    """鮜门镇 keeps 鮜, which the simplifier makes 鲘: its keys and specific term hold 鮜, so
    the swap 门鮜镇 is one edit from them only as typed (a user test found nothing)."""
    hit = first(index.search("门鮜镇"))
    assert (hit.name, hit.matched_form) == ("鮜门镇", "typo")
    hit = first(index.search("鮜门镇"))  # typed right after: the name itself
    assert (hit.name, hit.matched_form) == ("鮜门镇", "exact")


def test_two_neighbours_swapped_rank_with_the_homophones_above_other_typos():
    """A typing slip that swaps two neighbours (边湖村委会 for 湖边村委会) ranks with the
    input-method slips (homophones), above names one other edit away that otherwise rank
    first (边江村委会, 边海村委会, … one substitution from 边湖, with earlier ids)."""
    others = [f"边{x}村委会" for x in "江海山河田东西南北"]
    records = [synthetic(f"a{i}", name, PANYU, "村委会") for i, name in enumerate(others)]
    records.append(synthetic("z-swap", "湖边村委会", PANYU, "村委会"))
    index = SearchIndex.from_records(records)
    hits = index.search("边湖村委会")
    assert hits[0].name == "湖边村委会" and hits[0].matched_form == "typo"
    assert {h.name for h in hits[1:]} <= set(others) and len(hits) == 10


def test_a_head_known_to_have_hundreds_of_neighbours_is_not_listed_and_answers_the_same():
    """Two range sizes (terms with the head's last character changed, and with its first)
    show that 凤凰 has more than 300 neighbours; its homophones and swap are then found
    without listing the others, and the search answers exactly as with every neighbour
    listed. A head with fewer neighbours than that is listed as before."""
    from gazetteer.search import _TypoBuckets, likeliest_first

    changed = [chr(c) for c in range(0x5000, 0x5000 + 160)]
    names = [f"凤{x}村" for x in changed] + [f"{x}凰村" for x in changed]
    names += ["凤凰村", "凰凤村", "奉凰村", "凤煌村", "风凰新村"]  # itself, swap, homophones
    records = [synthetic(f"n{i}", name, PANYU, "自然村") for i, name in enumerate(names)]
    records.append(synthetic("few", "梧桐村", PANYU, "自然村"))
    index = SearchIndex.from_records(records)
    buckets = index._typo_chars
    assert buckets.surely_more_than(["凤凰", "梧桐"], 300) == [True, False]
    listed = buckets.within_one_edit(["凤凰"])[0]
    assert len(listed) > 300
    same = buckets.read_as(listed, "fenghuang")
    assert {"奉凰", "凤煌", "凤凰"} <= same  # and any 偑凰 or 凤偟 of the made-up terms
    near = buckets.likeliest_near("凤凰", "fenghuang", (1, 2, 3))
    kept = likeliest_first("凤凰", near, buckets.read_as(near, "fenghuang"))
    assert kept == likeliest_first("凤凰", listed, same)
    assert set(kept) == same | {"凰凤"}

    def answers(q):
        return [(h.name, h.matched_form) for h in index.search(q, limit=20)]

    queries = ["凤凰衬", "凰凤衬", "凤煌衬", "风凰新衬"]
    shortcut = [answers(q) for q in queries]
    with_listing = _TypoBuckets.surely_more_than
    try:
        _TypoBuckets.surely_more_than = lambda self, heads, n: [False] * len(heads)
        assert [answers(q) for q in queries] == shortcut
    finally:
        _TypoBuckets.surely_more_than = with_listing
    assert [found[0] for found in shortcut[:3]] == [
        ("凤凰村", "typo"),
        ("凰凤村", "typo"),
        ("凤煌村", "typo"),
    ]


def test_terms_added_again_since_the_base_do_not_inflate_the_count_of_neighbours():
    """Names added after the base whose specific terms the base already holds leave the
    count of a head's neighbours as it was: the count is a lower bound of the distinct
    terms, never more (the same term twice would let a head with 300 neighbours skip
    listing them, and answer otherwise than the store with every term once)."""
    changed = [chr(c) for c in range(0x5000, 0x5000 + 150)]
    names = [f"凤{x}村" for x in changed] + [f"{x}凰村" for x in changed] + ["凤凰村"]
    index = SearchIndex.from_records(
        [synthetic(f"n{i}", name, PANYU, "自然村") for i, name in enumerate(names)]
    )
    buckets = index._typo_chars
    assert buckets.surely_more_than(["凤凰"], 300) == [False]  # 151 + 151 - 2
    for i, x in enumerate(changed[:20]):
        index.add(synthetic(f"again{i}", f"凤{x}村", PANYU, "自然村"))
    assert buckets.surely_more_than(["凤凰"], 300) == [False]
    assert buckets.surely_more_than(["凤凰"], 299) == [True]


def test_a_head_with_hundreds_of_neighbours_keeps_its_own_characters_swapped():
    """Of more than 300 terms one edit from a short head, the homophones and the head with
    two neighbours swapped (甲乙丙 for 甲丙乙) are read, and none of the rest (in code-point
    order, which the earlier caps read a few of, every 甲丙… term sorts before 甲乙丙)."""
    from gazetteer.search import _TYPO_MAX_OTHER_TERMS, the_likeliest_terms

    others = [chr(c) for c in range(0x5000, 0x5000 + 400)]
    records = [synthetic(f"n{i}", f"甲丙{x}村", PANYU, "自然村") for i, x in enumerate(others)]
    records.append(synthetic("swap", "甲乙丙村", PANYU, "自然村"))
    buckets = SearchIndex.from_records(records)._typo_chars
    near = buckets.within_one_edit(["甲丙乙"])[0]
    assert len(near) > 300 and "甲乙丙" in near
    kept = list(the_likeliest_terms("甲丙乙", near, set()))
    assert kept[0] == "甲乙丙"
    assert _TYPO_MAX_OTHER_TERMS == 0 and kept == ["甲乙丙"]
    assert "甲乙丙" not in sorted(near)[:300]  # what code-point order alone would keep
    # Every homophone is kept, however many, before the swap and the rest.
    homophones = set(sorted(near - {"甲乙丙"})[-100:])
    kept = list(the_likeliest_terms("甲丙乙", near, homophones))
    assert set(kept[:100]) == homophones and kept[100] == "甲乙丙"
    assert len(kept) == 101 + _TYPO_MAX_OTHER_TERMS
    # A head with at most 300 neighbours has them all read: nothing is guessed.
    few = set(sorted(near)[:300])
    assert set(the_likeliest_terms("甲丙乙", few, set())) == few


def test_short_heads_find_exactly_the_terms_one_edit_away_without_reading_a_letter_s_terms():
    """A head of two or three characters has a first half of one character: the terms one
    edit from it are found without reading every term of a length that starts with that
    character (甲?丙 from the terms by their first and last characters), and they are
    exactly the terms within one edit, read from the base and from names added since."""
    from rapidfuzz.distance import OSA

    fill = [chr(c) for c in range(0x5000, 0x5000 + 40)]
    specific = {"甲乙丙", "甲丁丙", "甲乙", "甲丙", "乙丙", "甲丙乙", "乙甲丙", "丁乙丙", "甲乙丁"}
    specific |= {"丁甲乙丙", "甲丁乙丙", "甲乙丁丙", "甲乙丙丁", "甲丙丁", "甲乙丙丁戊"}
    specific |= {f"甲{x}{y}" for x in fill for y in fill[:5]}  # 甲…: 200 neither is near
    specific |= {f"{x}乙丙" for x in fill[:3]} | {f"甲{x}" for x in fill[:3]}
    index = SearchIndex.from_records(
        [synthetic(f"n{i}", f"{t}村", PANYU, "自然村") for i, t in enumerate(sorted(specific))]
    )
    buckets = index._typo_chars

    def terms() -> set[str]:
        keys = buckets.base_fwd.texts(0, len(buckets.base_fwd))
        return {k[3:] for k in keys} | {t for added in buckets.fwd.values() for t in added}

    def near(head: str) -> set[str]:
        return {t for t in terms() if OSA.distance(head, t, score_cutoff=1) <= 1}

    assert specific <= terms()
    read: list[int] = []
    texts = buckets.base_fwd.texts

    def counted(lo, hi):
        read.append(hi - lo)
        return texts(lo, hi)

    buckets.base_fwd.texts = counted
    assert "甲丁丙" in buckets.within_one_edit(["甲乙丙"])[0]
    assert "甲丁丙" in buckets.within_one_edit(["甲丙"])[0]
    # Each range read holds a few terms, not the 208 three-character terms of 甲.
    assert max(read) < 10, read
    heads = ["甲乙丙", "甲戊丙", "甲乙", "甲丙", "乙甲丙", "甲丙乙", "丙乙甲", "甲乙丁丙"]
    assert buckets.within_one_edit(heads) == [near(h) for h in heads]
    assert {"甲丁丙", "甲丙", "甲乙", "乙丙", "甲丙乙", "甲乙丁丙"} <= near("甲乙丙")
    # Names added since the base: 甲戊丙 is found for 甲乙丙 and 甲丙, 甲己 for 甲乙.
    index.add(synthetic("added1", "甲戊丙村", PANYU, "自然村"))
    index.add(synthetic("added2", "甲己村", PANYU, "自然村"))
    assert buckets.within_one_edit(heads) == [near(h) for h in heads]
    assert "甲戊丙" in buckets.within_one_edit(["甲乙丙"])[0]
    assert "甲戊丙" in buckets.within_one_edit(["甲丙"])[0]
    # Of some lengths only, as the search asks for them.
    lengths = [(3,), (2, 4), (3,), (3,), (2,), (4,), (3,), (3, 5)]
    assert buckets.within_one_edit(heads, lengths) == [
        {t for t in near(h) if len(t) in n} for h, n in zip(heads, lengths)
    ]
