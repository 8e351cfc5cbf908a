"""One definition per concept: coded values (labels, colours) and generic terms (通名)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from boundaries.naming import county_short
from boundaries.vocabulary import MARKER_STATES, STATE_COLOURS, vocabulary_document
from gazetteer import generic_terms
from gazetteer.classify import classify_division_name
from gazetteer.romanize import split_name
from gazetteer.search import split_generic

STATIC = Path(__file__).resolve().parent.parent / "webmap" / "static"


def test_the_api_and_the_pages_serve_the_same_vocabulary(bclient):
    served = bclient.get("/api/boundaries/vocabulary").get_json()
    assert served == json.loads(json.dumps(vocabulary_document(), ensure_ascii=False))
    states = {t["code"]: t for t in served["marker_states"]}
    assert tuple(states) == MARKER_STATES and states["buried"]["zh"] == "掩埋"
    assert all(re.fullmatch(r"#[0-9a-f]{6}", t["colour"]) for t in states.values())
    # how a finding in each state behaves is served with it (boundaries/data/marker_states.csv)
    assert states["lost"]["urgent"] and states["lost"]["task_kind"] == "rebuild"
    assert states["faded"]["displaced_becomes_moved"] and not states["retired"]["found_in_field"]
    fields = [f["name"] for f in served["marker_fields"]]
    assert fields[0] == "number" and "reference_objects" in fields
    page = bclient.get("/inspect").get_data(as_text=True)
    block = re.search(
        r'<script type="application/json" id="boundary-vocabulary">(.*?)</script>', page, re.S
    )
    assert block and json.loads(block.group(1)) == served


def test_scripts_and_styles_hold_no_copy_of_the_state_table():
    for name in ("mapcommon.js", "inspect.js", "app.css", "boundaries.css"):
        text = (STATIC / name).read_text("utf-8")
        assert not re.search(r"bm-state-\w+ span\s*\{[^}]*background", text), name
        assert not re.search(r"\bburied\s*:", text), name
        assert "掩埋" not in text and "字迹模糊" not in text, name


def test_the_report_map_draws_states_in_the_declared_colours(bstore):
    from boundaries import report

    assert report.STATE_COLOURS is STATE_COLOURS


def test_search_romanization_classification_and_line_naming_read_one_term_table():
    terms = generic_terms.shipped_terms()
    assert set(generic_terms.search_suffixes()) <= set(terms)
    # search: the committee suffix is dropped to what people say, then the generic
    assert split_generic("福涌村民委员会") == (3, 2)
    assert split_generic("东区") == (2, 2)
    # romanization: the ethnic name goes with the generic
    assert split_name("乳源瑶族自治县") == ("乳源", "瑶族自治县")
    # classification: the longest generic term with a type at the level wins
    assert classify_division_name("county", "乳源瑶族自治县") == ("行政区域", "自治县")
    assert classify_division_name("county", "番禺区") == ("行政区域", "市辖区")
    assert classify_division_name("village", "东湖社区居民委员会") == ("群众自治组织", "居民委员会")
    assert classify_division_name("township", "红星场") == ("非行政区域", "农林场")
    assert classify_division_name("township", "某某") == ("非行政区域", "其他乡级单位")
    # line naming: the county's specific name, or the city in front of a bare generic
    assert county_short("乳源瑶族自治县", "韶关市") == "乳源"
    assert county_short("城区", "汕尾市") == "汕尾城区"


def test_a_malformed_generic_term_row_is_refused_with_its_term():
    import pytest

    with pytest.raises(ValueError, match="大道"):
        generic_terms.parse_row({"term": "大道", "words": "大 路"})
    with pytest.raises(ValueError, match="uses"):
        generic_terms.parse_row({"term": "路", "uses": "split teleport"})
