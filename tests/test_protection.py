"""The protection list (《地名管理条例》 Art. 25): a listed name warns at check, and renaming
or retiring it is approved only with recorded protection measures."""

from __future__ import annotations

import pytest
from helpers import login, logout
from proposal_helpers import (
    CLERK,
    OFFICER,
    YUEZHOU,
    place_id_of,
    renaming_of_yuezhou,
    step,
)

from gazetteer import protection, workflow
from gazetteer.core.errors import Conflict, Forbidden, InvalidInput, NotFound

OLD = YUEZHOU


def test_listing_needs_reason_and_source_and_the_officer_role(store):
    pid = place_id_of(store, OLD)
    with pytest.raises(Forbidden):
        protection.protect_name(store, CLERK, pid, reason="历史", source="名录")
    with pytest.raises(InvalidInput, match="理由"):
        protection.protect_name(store, OFFICER, pid, reason="", source="名录")
    with pytest.raises(NotFound):
        protection.protect_name(store, OFFICER, 999999999, reason="历史", source="名录")
    listed = protection.protect_name(
        store, OFFICER, pid, reason="测试用：清代已有此名", source="测试名录（非真实）"
    )
    assert listed["listed_by"] == OFFICER.username
    with pytest.raises(Conflict, match="已列入"):
        protection.protect_name(store, OFFICER, pid, reason="再次", source="名录")


def test_renaming_a_protected_name_needs_protection_measures(store, clock, corpus):
    pid = place_id_of(store, OLD)
    protection.protect_name(
        store, OFFICER, pid, reason="测试用：清代已有此名", source="测试名录（非真实）"
    )
    p = renaming_of_yuezhou(store, clock, applicant="天河区民政局")
    for action in ("submit", "check"):
        p = step(store, clock, corpus, p, action)
    warning = next(f for f in p["findings"] if f["rule_id"] == "protected.name")
    assert warning["severity"] == "warning" and "第二十五条" in warning["source"]
    for action in ("start_review", "add_opinion", "confirm_romanization", "publish_notice"):
        p = step(store, clock, corpus, p, action)
    with pytest.raises(InvalidInput, match="保护措施"):
        step(store, clock, corpus, p, "approve")
    p = workflow.get_proposal(store, p["id"], OFFICER)
    p = step(
        store,
        clock,
        corpus,
        p,
        "approve",
        protection_measures="原名“岳洲”设立地名文化标志，并用于派生命名",
    )
    assert p["state"] == "approved"
    approve = next(e for e in p["events"] if e["action"] == "approve")
    assert approve["data"]["protection_measures"].startswith("原名")


def test_protection_through_the_api(client, store):
    pid = place_id_of(store, OLD)
    url = f"/api/places/{pid}/protection"
    assert client.get(url).get_json() == {"listed": False}
    login(client, "li", "clerk")
    assert client.post(url, json={"reason": "历史", "source": "名录"}).status_code == 403
    login(client, "wang", "officer")
    assert client.post(url, json={"reason": 5, "source": "名录"}).status_code == 400
    assert client.post(url, json={"reason": "历史", "source": "名录", "x": 1}).status_code == 400
    r = client.post(url, json={"reason": "测试用：历史地名", "source": "测试名录（非真实）"})
    assert r.status_code == 201 and r.get_json()["source"].startswith("测试名录")
    logout(client)
    assert client.get(url).get_json()["reason"] == "测试用：历史地名"
