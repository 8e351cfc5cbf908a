"""gazetteer.rules: every rule fires on a positive case and stays silent on a clean one."""

import pytest
import sqlalchemy as sa
from case_tables import cases

from gazetteer.rules import (
    Finding,
    NameCorpus,
    check_name,
    jurisdiction_code,
    load_rule_data,
    survey,
    survey_markdown,
)

PANYU = ["440000", "440100", "440113"]
PANYU_TOWN = PANYU + ["440113001"]
HUADU = ["440000", "440100", "440114"]
SHAOGUAN_COUNTY = ["440000", "440200", "440203"]
DONGGUAN_TOWN = ["440000", "441900", "441900003"]


def rec(id, name, cls, path, status="in_force"):
    return {"id": id, "name": name, "feature_class": cls, "division_path": path, "status": status}


@pytest.fixture
def corpus():
    return NameCorpus(
        [
            rec(1, "番禺区", "行政区域", PANYU),
            rec(2, "石碁镇", "行政区域", PANYU_TOWN),
            rec(3, "太平镇", "行政区域", ["440000", "440100", "440117", "440117101"]),
            rec(4, "新村村委会", "群众自治组织", PANYU_TOWN + ["440113001201"]),
            rec(5, "光明路", "交通运输设施", PANYU_TOWN),
            rec(
                6, "旧桥村委会", "群众自治组织", PANYU_TOWN + ["440113001202"], status="historical"
            ),
            rec(7, "仙村镇", "行政区域", ["440000", "440100", "440118", "440118107"]),
            rec(8, "回龙镇", "行政区域", ["440000", "440200", "440233", "440233105"]),
        ]
    )


def ids(findings, rule_id):
    return [f for f in findings if f.rule_id == rule_id]


def rule_ids(findings):
    return {f.rule_id for f in findings}


CLEAN = [
    ("石桥村委会", "群众自治组织", PANYU_TOWN),
    ("凤凰路", "交通运输设施", PANYU_TOWN),
    ("南岗镇", "行政区域", PANYU_TOWN),
    ("翠湾区", "行政区域", PANYU),  # 云溪区 is taken: 湖南省岳阳市云溪区 (Art. 9 (7))
]


@pytest.mark.parametrize("name, cls, path", CLEAN)
def test_clean_names_have_no_findings(corpus, name, cls, path):
    assert check_name(name, cls, path, corpus) == []


# ---- 重 ----------------------------------------------------------------------------------


def test_duplicate_county_level_division_anywhere_in_the_country(corpus):
    f = ids(check_name("番禺县", "行政区域", ["450000", "450100", "450199"], corpus), "duplicate")
    assert (
        f
        and f[0].severity == "blocking"
        and f[0].conflicts
        == [{"id": 1, "name": "番禺区", "status": "in_force", "division_code": "440113"}]
    )
    assert "第九条" in f[0].source


def test_duplicate_township_within_the_province(corpus):
    assert ids(check_name("太平镇", "行政区域", PANYU_TOWN, corpus), "duplicate")
    assert not ids(
        check_name("太平镇", "行政区域", ["450000", "450100", "450102", "450102001"], corpus),
        "duplicate",
    )


def test_village_committee_duplicate_only_within_the_county(corpus):
    assert ids(check_name("新村村民委员会", "群众自治组织", PANYU_TOWN, corpus), "duplicate")
    # Another county: allowed, the jurisdiction is the county.
    assert check_name("新村村民委员会", "群众自治组织", HUADU + ["440114001"], corpus) == []


def test_road_duplicate_within_the_city_not_against_other_classes(corpus):
    assert ids(check_name("光明路", "交通运输设施", HUADU, corpus), "duplicate")
    assert not ids(check_name("光明路", "交通运输设施", SHAOGUAN_COUNTY, corpus), "duplicate")
    # A committee called 光明 is not a duplicate of the road 光明路.
    assert not ids(check_name("光明村委会", "群众自治组织", PANYU_TOWN, corpus), "duplicate")


def test_exclude_id_skips_the_record_itself(corpus):
    assert not ids(check_name("番禺区", "行政区域", PANYU, corpus, exclude_id=1), "duplicate")


def test_historical_names_are_a_note(corpus):
    f = check_name("旧桥村委会", "群众自治组织", PANYU_TOWN, corpus)
    assert rule_ids(f) == {"duplicate.historical"}
    assert f[0].severity == "note" and f[0].conflicts[0]["status"] == "historical"


def test_homophone_in_the_same_jurisdiction(corpus):
    f = ids(check_name("先村镇", "行政区域", PANYU_TOWN, corpus), "homophone")
    assert f and f[0].severity == "warning" and f[0].conflicts[0]["name"] == "仙村镇"
    assert not ids(
        check_name("先村镇", "行政区域", ["450000", "450100", "450102", "450102001"], corpus),
        "homophone",
    )


def test_duplicate_after_dropping_xin_or_da(corpus):
    f = ids(check_name("新回龙镇", "行政区域", PANYU_TOWN, corpus), "duplicate.variant")
    assert f and f[0].conflicts[0]["name"] == "回龙镇"


def test_corpus_add_and_remove(corpus):
    corpus.add(rec(9, "凤凰路", "交通运输设施", PANYU_TOWN))
    assert ids(check_name("凤凰路", "交通运输设施", HUADU, corpus), "duplicate")
    corpus.remove(9)
    assert check_name("凤凰路", "交通运输设施", HUADU, corpus) == []
    assert 9 not in corpus and len(corpus) == 8


def test_jurisdiction_codes():
    assert jurisdiction_code("county", PANYU_TOWN + ["440113001201"]) == "440113"
    assert jurisdiction_code("city", PANYU_TOWN) == "440100"
    assert jurisdiction_code("province", PANYU_TOWN) == "440000"
    assert jurisdiction_code("country", PANYU) == "CN"
    # 东莞 has no counties: the city acts as the county.
    assert jurisdiction_code("county", DONGGUAN_TOWN) == "441900"


def test_autonomous_county_is_a_county_level_division():
    corpus = NameCorpus([rec(1, "乳源瑶族自治县", "行政区域", ["440000", "440200", "440232"])])
    assert ids(
        check_name("乳源县", "行政区域", ["450000", "450100", "450199"], corpus), "duplicate"
    )
    assert check_name("连南瑶族自治县", "行政区域", ["440000", "441800", "441826"], corpus) == []


# ---- 大 洋 怪 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls, rule_id, severity",
    cases("naming_rule_cases.csv", "name", "feature_class", "rule_id", "severity"),
)
def test_lexicon_and_pattern_rules(name, cls, rule_id, severity):
    f = ids(check_name(name, cls, PANYU_TOWN, None), rule_id)
    assert f and f[0].severity == severity, check_name(name, cls, PANYU_TOWN, None)
    assert f[0].message and f[0].source


def test_international_is_exaggerated_only_for_the_classes_listed():
    assert not ids(check_name("国际村委会", "群众自治组织", PANYU_TOWN, None), "big.exaggerated")


def test_exemptions():
    assert check_name("白求恩路", "交通运输设施", PANYU_TOWN, None) == []
    assert not ids(check_name("新村村委会", "群众自治组织", PANYU_TOWN, None), "foreign.translit")


def test_officer_extends_lexicons_without_code(tmp_path):
    (tmp_path / "foreign.txt").write_text("# local\n凡尔登\n", encoding="utf-8")
    (tmp_path / "exemptions.txt").write_text("维也纳\tforeign\n", encoding="utf-8")
    data = load_rule_data(tmp_path)
    assert ids(check_name("凡尔登花园", "居民点", PANYU_TOWN, None, data=data), "foreign.name")
    assert not ids(check_name("维也纳花园", "居民点", PANYU_TOWN, None, data=data), "foreign.name")
    assert ids(check_name("维也纳花园", "居民点", PANYU_TOWN, None), "foreign.name")


def test_character_list_has_8105_entries():
    data = load_rule_data()
    assert len(data.charlist) == 8105
    assert "广" in data.charlist and "㘵" not in data.charlist


# ---- generic term and structure ----------------------------------------------------------


def test_generic_term_must_fit_the_class():
    f = ids(check_name("光明广场", "交通运输设施", PANYU_TOWN, None), "generic.class-mismatch")
    assert f and "广场" in f[0].message
    assert ids(check_name("东风大道", "群众自治组织", PANYU_TOWN, None), "generic.class-mismatch")
    assert not ids(check_name("光明广场", "建筑物", PANYU_TOWN, None), "generic.class-mismatch")


def test_generic_term_missing():
    assert ids(check_name("南漖社区居委会会", "群众自治组织", PANYU_TOWN, None), "generic.missing")
    assert not ids(
        check_name("城区", "行政区域", ["440000", "441500", "441502"], None), "generic.missing"
    )


def test_structure_rules():
    assert ids(check_name("路", "交通运输设施", PANYU_TOWN, None), "structure.no-specific")
    long_name = "东南西北中发白红黄蓝绿路"
    assert ids(check_name(long_name, "交通运输设施", PANYU_TOWN, None), "structure.too-long")
    assert ids(check_name("凤3村委会", "群众自治组织", PANYU_TOWN, None), "structure.digits")
    assert not ids(check_name("凤3路", "交通运输设施", PANYU_TOWN, None), "structure.digits")


def test_embedded_division_name(corpus):
    corpus.add(rec(20, "广州市", "行政区域", ["440000", "440100"]))
    f = ids(
        check_name("广州市凤凰村委会", "群众自治组织", PANYU_TOWN, corpus),
        "structure.embedded-division",
    )
    assert f and f[0].severity == "note"


# ---- people and brands --------------------------------------------------------------------


def test_person_name_warning():
    f = ids(check_name("王建国路", "交通运输设施", PANYU_TOWN, None), "person.name")
    assert f and f[0].severity == "warning"
    assert not ids(check_name("王屋村委会", "群众自治组织", PANYU_TOWN, None), "person.name")
    assert not ids(check_name("中山路", "交通运输设施", PANYU_TOWN, None), "person.name")


def test_brand_warning():
    f = ids(check_name("碧桂园社区居委会", "群众自治组织", PANYU_TOWN, None), "brand.name")
    assert f and f[0].severity == "warning"
    assert not ids(check_name("龙湖区", "行政区域", PANYU, None), "brand.name")


# ---- API shape ------------------------------------------------------------------------------


def test_finding_to_dict_and_order(corpus):
    findings = check_name("番禺ABC区", "行政区域", PANYU, corpus)
    assert all(isinstance(f, Finding) for f in findings)
    order = [("blocking", "warning", "note").index(f.severity) for f in findings]
    assert order == sorted(order)
    d = findings[0].to_dict()
    assert set(d) == {"rule_id", "severity", "message", "source", "conflicts"}


def test_empty_name_rejected():
    with pytest.raises(ValueError):
        check_name("  ", "行政区域", PANYU, None)


def test_survey_counts_and_markdown():
    records = [
        rec(1, "太平镇", "行政区域", PANYU_TOWN),
        rec(2, "太平镇", "行政区域", HUADU + ["440114001"]),
        rec(3, "维也纳村委会", "群众自治组织", PANYU_TOWN + ["440113001201"]),
        rec(4, "石桥村委会", "群众自治组织", PANYU_TOWN + ["440113001202"]),
    ]
    report = survey(records)
    assert report["total"] == 4 and report["names_with_findings"] == 3
    assert report["rules"]["duplicate"]["count"] == 2
    assert report["rules"]["foreign.name"]["examples"][0]["name"] == "维也纳村委会"
    text = survey_markdown(report)
    assert "`duplicate`" in text and "太平镇" in text


def test_from_store(tmp_path):
    store_mod = pytest.importorskip("gazetteer.core.store")
    from gazetteer import schema  # noqa: F401  (registers every table)
    from gazetteer.tables import divisions, places

    store = store_mod.Store(f"sqlite:///{tmp_path / 'g.sqlite'}")
    store_mod.metadata.create_all(store.engine)
    with store.write() as conn:
        columns = ("code", "name", "level", "parent_code", "path")
        rows = [
            ("440000", "广东省", "province", None, "440000"),
            ("440100", "广州市", "city", "440000", "440000/440100"),
            ("440113", "番禺区", "county", "440100", "440000/440100/440113"),
            ("440113001", "市桥街道", "township", "440113", "440000/440100/440113/440113001"),
        ]
        conn.execute(
            sa.insert(divisions),
            [{**dict(zip(columns, row)), "in_guangdong": True} for row in rows],
        )
        place_columns = (
            "name",
            "specific_term",
            "feature_class",
            "division_code",
            "own_division_code",
        )
        place_rows = [
            ("番禺区", "番禺", "行政区域", "440113", "440113"),
            ("光明路", None, "交通运输设施", "440113001", None),
        ]
        conn.execute(
            sa.insert(places),
            [{**dict(zip(place_columns, row)), "status": "in_force"} for row in place_rows],
        )
    corpus = NameCorpus.from_store(store)
    store.dispose()
    assert len(corpus) == 2
    assert ids(check_name("光明路", "交通运输设施", HUADU, corpus), "duplicate")
    f = ids(check_name("番禺县", "行政区域", ["450000", "450100", "450199"], corpus), "duplicate")
    assert f and f[0].conflicts[0]["division_code"] == "440113"
