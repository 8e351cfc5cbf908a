"""The rules the checker used to miss, each as data with its legal source: state leaders'
names (Art. 9 (4)), 中央/中华 no longer exempt from 大 (民发〔2018〕146号), nationwide
uniqueness of county-level-and-higher division names (Art. 9 (7))."""

from __future__ import annotations

import pytest
from helpers import login

from gazetteer.rules import check_name
from gazetteer.rules.lexicons import load_rule_data, reload_rule_data

TIANHE = ["440000", "440100", "440106"]
FOSHAN = ["440000", "440600"]


def ids(findings):
    return {f.rule_id: f for f in findings}


@pytest.mark.parametrize("name", ["毛泽东路", "周恩来路", "邓小平大道"])
def test_state_leaders_names_are_blocked(name):
    found = ids(check_name(name, "交通运输设施", TIANHE, None))["person.leader"]
    assert found.severity == "blocking" and "第九条第（四）项" in found.source
    assert name.removesuffix("路").removesuffix("大道") in found.message


def test_leader_rule_matches_as_the_data_says():
    assert "person.leader" not in ids(check_name("朱德富村", "群众自治组织", TIANHE, None))
    assert ids(check_name("朱德路", "交通运输设施", TIANHE, None))["person.leader"]
    # An everyday word that is also a leader's name: an officer confirms.
    assert ids(check_name("高岗镇", "行政区域", FOSHAN, None))["person.leader-word"].severity == (
        "warning"
    )
    # A memorial named after the person it commemorates is a note, not a block.
    memorial = ids(check_name("邓小平故居", "纪念地旅游景点", TIANHE, None))
    assert memorial["person.leader-memorial"].severity == "note" and "person.leader" not in memorial
    # A bare surname or given name never matches.
    assert not {"person.leader", "person.leader-word"} & set(
        ids(check_name("小平村", "群众自治组织", TIANHE, None))
    )


@pytest.mark.parametrize("name, cls", [("中央公馆", "居民点"), ("中华广场", "非行政区域")])
def test_zhongyang_and_zhonghua_are_not_exempt_from_da(name, cls):
    found = ids(check_name(name, cls, TIANHE, None))["big.exaggerated"]
    assert found.severity == "blocking" and "民发〔2018〕146号" in found.source


def test_an_exemption_needs_its_own_entry_and_source(tmp_path):
    (tmp_path / "exemptions.txt").write_text(
        "中华广场\tbig\t××市人民政府批复（经批准使用）\n", encoding="utf-8"
    )
    data = load_rule_data(tmp_path)
    assert data.exemption_sources[("中华广场", "big")].startswith("××市")
    assert "big.exaggerated" not in ids(
        check_name("中华广场", "非行政区域", TIANHE, None, data=data)
    )
    # The exemption is for that name, not the word.
    assert "big.exaggerated" in ids(check_name("中华公馆", "居民点", TIANHE, None, data=data))
    reload_rule_data()


def test_county_level_names_are_unique_in_the_whole_country(corpus_for_rules):
    found = ids(check_name("朝阳区", "行政区域", FOSHAN, corpus_for_rules))
    national = found["duplicate.national"]
    assert national.severity == "blocking" and "第九条第（七）项" in national.source
    assert "北京市朝阳区" in national.message
    assert {c["division_code"] for c in national.conflicts} >= {"110105", "220104"}
    # Guangdong's own 潮阳区 stays a homophone warning from the corpus.
    assert found["homophone"].conflicts[0]["name"] == "潮阳区"
    # A township is unique only in its province (Art. 9 (8)): not compared nationwide.
    assert "duplicate.national" not in ids(check_name("朝阳镇", "行政区域", FOSHAN, None))
    # A division keeping its own name is not its own duplicate.
    assert "duplicate.national" not in ids(check_name("番禺区", "行政区域", FOSHAN, None))


@pytest.fixture(scope="module")
def corpus_for_rules(store_templates, seeded_template, tmp_path_factory):
    from gazetteer.rules import NameCorpus

    with store_templates.copy(seeded_template, tmp_path_factory.mktemp("law")) as store:
        yield NameCorpus.from_store(store)


@pytest.mark.parametrize(
    "body, rule_id",
    [
        ({"name": "毛泽东路", "feature_class": "交通运输设施"}, "person.leader"),
        ({"name": "中央公馆", "feature_class": "居民点"}, "big.exaggerated"),
        ({"name": "朝阳区", "feature_class": "行政区域"}, "duplicate.national"),
    ],
)
def test_the_rules_through_the_compliance_api(client, body, rule_id):
    login(client, "wang", "officer")
    r = client.post("/api/rules/check", json={**body, "division_code": "440604"})
    assert r.status_code == 200, r.get_json()
    found = {f["rule_id"]: f for f in r.get_json()["findings"]}
    assert found[rule_id]["severity_zh"] == "阻断" and found[rule_id]["source"]
