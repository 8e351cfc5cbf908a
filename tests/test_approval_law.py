"""Approval authority (Art. 12), filing (Art. 13), announcement (Art. 14) and the minimum
notice period, through the domain and the HTTP API."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import logout, naming_json, store_of
from proposal_helpers import APPROVER, OFFICER, Clock, new_naming, perform, step, walk
from test_registry_api import API_START, act, create

from gazetteer import approval, statistics, workflow
from gazetteer.core.actors import Actor
from gazetteer.core.errors import IllegalTransition, InvalidInput


def test_a_one_day_notice_is_refused(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock), "in_review")
    p = step(store, clock, corpus, p, "add_opinion")
    today = clock.today
    with pytest.raises(InvalidInput, match="最短公示期 30 天") as err:
        step(
            store,
            clock,
            corpus,
            p,
            "publish_notice",
            notice_start=today.isoformat(),
            notice_end=today.isoformat(),
        )
    assert err.value.details == {
        "field": "notice_end",
        "days": 1,
        "min_notice_days": 30,
        "setting": "MIN_NOTICE_DAYS",
    }
    # A stricter or looser setting is the caller's (the app passes MIN_NOTICE_DAYS).
    p = perform(
        store,
        clock,
        p,
        "publish_notice",
        OFFICER,
        min_notice_days=7,
        notice_start=today.isoformat(),
        notice_end=(today + dt.timedelta(days=6)).isoformat(),
    )
    assert p["state"] == "on_notice"


def test_the_approving_body_comes_from_the_authority_table(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock, "云涛路"), "on_notice")
    # A street (Art. 12 (3)): the city or county government; 某区民政局 is not one of them.
    assert p["authority"]["options"] == ["广州市人民政府", "广州市天河区人民政府"]
    assert "第十二条第（三）项" in p["authority"]["source"]
    with pytest.raises(InvalidInput, match="不是该类地名的批准机关"):
        step(store, clock, corpus, p, "approve", approving_body="某区民政局")
    p = workflow.get_proposal(store, p["id"], OFFICER)
    with pytest.raises(InvalidInput, match="请选择批准机关"):
        perform(store, clock, p, "approve", APPROVER, approving_body="")
    # An override records its reason.
    p = perform(
        store,
        clock,
        p,
        "approve",
        APPROVER,
        approving_body="广州开发区管理委员会",
        authority_override_reason="经市人民政府授权（穗府〔2023〕1号，测试）",
    )
    assert p["approving_body"] == "广州开发区管理委员会" and p["approval_authority"] == "street"
    assert p["authority_override_reason"].startswith("经市人民政府授权")


def test_short_body_names_resolve_to_the_table_entry(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock, "云涛路"), "on_notice")
    p = step(store, clock, corpus, p, "approve", approving_body="天河区人民政府")
    assert p["approving_body"] == "广州市天河区人民政府" and p["authority_override_reason"] is None


def test_filing_and_announcement_deadlines_and_the_due_list(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock, "云涛路"), "approved")
    decided = dt.date.fromisoformat(p["decision_date"])
    assert p["deadlines"] == {
        "filing": (decided + dt.timedelta(days=15)).isoformat(),
        "announcement": (decided + dt.timedelta(days=15)).isoformat(),
    }
    assert approval.due_items(store, clock.today) == []  # 15 days left: not yet due
    clock.advance(11)
    due = {i["kind"]: i for i in approval.due_items(store, clock.today)}
    assert due["filing"]["status"] == "due" and due["announcement"]["days_left"] == 4
    clock.advance(10)
    due = {i["kind"]: i for i in approval.due_items(store, clock.today)}
    assert due["filing"]["status"] == "overdue" and due["announcement"]["status"] == "overdue"
    p = step(store, clock, corpus, p, "announce")
    with pytest.raises(InvalidInput, match="备案机关"):
        step(store, clock, corpus, p, "file", filed_with="")
    p = step(store, clock, corpus, p, "file", filed_with="广州市民政局", filing_ref="备〔2024〕3号")
    assert p["filed_on"] == clock.today.isoformat() and p["filed_with"] == "广州市民政局"
    events = {e["action"]: e for e in p["events"]}
    assert events["file"]["data"]["late_days"] == 6
    assert events["announce"]["data"]["late_days"] == 6
    assert approval.due_items(store, clock.today) == []
    with pytest.raises(IllegalTransition, match="已于"):
        step(store, clock, corpus, p, "file", filed_with="广州市民政局")
    p = step(store, clock, corpus, p, "bring_into_force")
    stats = statistics.annual_statistics(store, 2024)
    assert stats["filing"] == {
        "filed": 1,
        "filed_late": 1,
        "not_filed": 0,
        "announced": 1,
        "announced_late": 1,
    }
    assert stats["by_class"][0]["feature_class"] == "交通运输设施"


def test_notice_ending_is_on_the_due_list(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock, "云涛路"), "on_notice")
    clock.advance(27)
    due = approval.due_items(store, clock.today)
    assert [(i["kind"], i["status"], i["proposal_id"]) for i in due] == [
        ("notice_ending", "due", p["id"])
    ]
    clock.advance(5)
    assert approval.due_items(store, clock.today)[0]["kind"] == "decision"


def test_filing_and_authority_through_the_api(client, app):
    clock = Clock(API_START)
    app.extensions["gdgis.clock"] = clock
    p = create(
        client, naming_json("云涛路", applicant="天河区住房和城乡建设局", reasons="新建道路")
    )
    for action in ("submit", "check", "start_review"):
        p = act(client, "li" if action == "submit" else "wang", p, action)
    p = act(client, "wang", p, "add_opinion", kind="expert", author="专家组", body="同意")
    p = act(client, "wang", p, "confirm_romanization")
    short = act(
        client,
        "wang",
        p,
        "publish_notice",
        expect=400,
        notice_start="2024-05-06",
        notice_end="2024-05-07",
    )
    assert "最短公示期" in short["error"]["message"]
    p = act(client, "wang", p, "publish_notice", notice_start="2024-05-06", notice_end="2024-06-04")
    clock.advance(30)
    wrong = act(client, "chen", p, "approve", expect=400, approving_body="某区民政局")
    assert wrong["error"]["details"]["authority"]["key"] == "street"
    # 批准文号 is printed in the announcement: a line break or an overlong one is refused
    # by the API's schema, and by the workflow itself (the pages' forms call it directly)
    body = "广州市天河区人民政府"
    for ref in ("穗天府函\n〔2024〕2号", "穗" * 300):
        refused = act(client, "chen", p, "approve", 400, decision_ref=ref, approving_body=body)
        assert refused["error"]["details"]["field"] == "decision_ref", refused
        with pytest.raises(InvalidInput) as direct:
            workflow.perform(
                store_of(client),
                p["id"],
                "approve",
                Actor("chen", frozenset({"approver"})),
                version=p["version"],
                clock=clock,
                decision_ref=ref,
                approving_body=body,
            )
        assert direct.value.details["field"] == "decision_ref"
    p = act(client, "chen", p, "approve", approving_body=body, decision_ref="穗天府函〔2024〕2号")
    assert p["decision_ref"] == "穗天府函〔2024〕2号"
    assert act(client, "wang", p, "file", expect=400, filed_with="")["error"]
    refused = act(client, "wang", p, "file", 400, filed_with="广州市民政局", filing_ref="号" * 101)
    assert refused["error"]["details"]["field"] == "filing_ref"  # not cut to 100 unsaid
    p = act(client, "wang", p, "file", filed_with="广州市民政局")
    assert p["filed_on"] == "2024-06-05"
    due = client.get("/api/proposals/due").get_json()
    assert due["items"] == []  # the announcement is 15 days away: not yet due
    due = client.get("/api/proposals/due?all=1").get_json()
    assert [(i["kind"], i["proposal_id"]) for i in due["items"]] == [("announcement", p["id"])]
    logout(client)
    assert client.get("/api/proposals/due").status_code == 401  # not signed in


def test_the_authority_tables_notes_are_written_for_officers_in_chinese():
    """The notes are shown under the approve form and in ``authority.note``: the UI
    speaks Chinese (a user test found an English working note there)."""
    notes = [rule.note for rule in approval.authority_table() if rule.note]
    assert notes
    for note in notes:
        assert "\u4e00" <= note[0] <= "\u9fff", note
        assert not any(word in note for word in ("working", "assumed", "rule")), note
