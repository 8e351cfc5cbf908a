"""The naming / renaming / retirement workflow on a real store with the shipped data."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest
import sqlalchemy as sa
from proposal_helpers import (
    APPROVER,
    APPROVER_2,
    CLERK,
    EVERYONE,
    OFFICER,
    PUBLIC,
    TIANHE,
    TIANHE_APPROVAL,
    YUEZHOU,
    event_count,
    new_naming,
    path_to,
    perform,
    place_id_of,
    propose,
    renaming_of_yuezhou,
    step,
    walk,
)
from shapely.geometry import Point

from gazetteer import registry, statistics, workflow
from gazetteer.core import errors
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.registry_tables import proposals


def test_naming_end_to_end(store, clock, corpus):
    p = new_naming(store, clock)
    assert p["state"] == "draft" and p["proposed"]["romanized"] == "Changle Lu"
    assert {h["char"] for h in p["proposed"]["heteronyms"]} >= {"长", "乐"}
    assert p["heteronyms_confirmed"] is False  # every heteronym waits for an officer
    p = step(store, clock, corpus, p, "submit")
    p = step(store, clock, corpus, p, "check")
    assert p["state"] == "checked"
    assert not [f for f in p["findings"] if f["severity"] == "blocking"], p["findings"]
    p = step(store, clock, corpus, p, "start_review")
    with pytest.raises(errors.IllegalTransition, match="专家论证"):
        step(store, clock, corpus, p, "publish_notice")
    p = step(store, clock, corpus, p, "add_opinion")
    p = step(store, clock, corpus, p, "publish_notice")
    assert p["state"] == "on_notice"
    assert (
        workflow.get_proposal(store, p["id"], PUBLIC)["state"] == "on_notice"
    )  # the public sees notices
    with pytest.raises(errors.IllegalTransition, match="公示期"):
        perform(store, clock, p, "approve", APPROVER, approving_body="广州市天河区人民政府")
    clock.advance(30)
    with pytest.raises(errors.IllegalTransition, match="多音字"):
        perform(store, clock, p, "approve", APPROVER, approving_body="广州市天河区人民政府")
    p = step(store, clock, corpus, p, "confirm_romanization")
    p = perform(store, clock, p, "approve", APPROVER, **TIANHE_APPROVAL)
    assert p["decision"] == "approved" and p["decision_date"] == "2024-03-31"
    clock.advance(3)
    p = step(store, clock, corpus, p, "announce")
    text = p["announcement_text"]
    for part in (
        "长乐路",
        "Changle Lu",
        "天河区",
        "广州市天河区人民政府",
        "2024年3月31日",
        "东经 113.",
        "北纬 23.",
        "穗天府函〔2024〕1号",
    ):
        assert part in text
    p = step(store, clock, corpus, p, "bring_into_force")
    assert p["state"] == "in_force" and p["effective_date"] == "2024-04-03"

    place = registry.get_place(store, p["result_place_id"])
    assert (
        place["name"] == "长乐路"
        and place["status"] == "in_force"
        and place["named_date"] == "2024-04-03"
    )
    assert (
        place["romanized"] == "Changle Lu"
        and place["heteronyms_confirmed"] is True
        and place["registered_by"] == OFFICER.username
    )
    assert place["division"]["code"] == TIANHE and place["geometry"]["type"] == "LineString"
    assert [d["code"] for d in place["divisions_crossed"]] == [TIANHE]
    with pytest.raises(errors.NotFound):
        registry.get_place(store, p["result_place_id"], as_of=dt.date(2024, 3, 13))
    detail = workflow.get_proposal(store, p["id"], OFFICER)
    assert [(e["action"], e["to_state"], e["actor"]) for e in detail["events"]] == [
        ("create", "draft", CLERK.username),
        ("submit", "submitted", CLERK.username),
        ("check", "checked", OFFICER.username),
        ("start_review", "in_review", OFFICER.username),
        ("add_opinion", "in_review", OFFICER.username),
        ("publish_notice", "on_notice", OFFICER.username),
        ("confirm_romanization", "on_notice", OFFICER.username),
        ("approve", "approved", APPROVER.username),
        ("announce", "announced", OFFICER.username),
        ("bring_into_force", "in_force", OFFICER.username),
    ]
    assert detail["events"][5]["data"] == {"notice_start": "2024-03-01", "notice_end": "2024-03-30"}


def test_renaming_end_to_end_keeps_old_name_findable(store, clock, corpus):
    old_id = place_id_of(store, YUEZHOU)
    before = registry.get_place(store, old_id)
    p = renaming_of_yuezhou(store, clock)
    assert p["division_code"] == "440106001"
    p = walk(store, clock, corpus, p, "in_force")
    new_id = p["result_place_id"]
    assert new_id > old_id
    old_now, new_now = registry.get_place(store, old_id), registry.get_place(store, new_id)
    assert old_now["status"] == "historical" and old_now["retired_date"] == p["effective_date"]
    assert old_now["superseded_by"] == [new_id] and new_now["supersedes"] == [old_id]
    assert new_now["own_division_code"] == "440106001001" and old_now["own_division_code"] is None
    assert new_now["feature_class"] == before["feature_class"] and "更名" in new_now["history"]

    day_before = dt.date.fromisoformat(p["effective_date"]) - dt.timedelta(days=1)
    as_then = registry.get_place(store, old_id, as_of=day_before)
    assert (
        as_then["name"] == "岳洲社区居委会"
        and as_then["status"] == "in_force"
        and as_then["superseded_by"] == []
    )
    # Findable by the old name: at a past date, and now as a historical record.
    then = registry.find_places(store, name="岳洲社区居委会", as_of=day_before)
    assert [i["id"] for i in then["items"]] == [old_id] and then["items"][0]["status"] == "in_force"
    now = registry.find_places(store, name="岳洲社区居委会")
    assert [(i["id"], i["status"], i["superseded_by"]) for i in now["items"]] == [
        (old_id, "historical", [new_id])
    ]
    assert registry.find_places(store, name="岳溪社区居委会", as_of=day_before)["total"] == 0
    history = registry.place_history(store, new_id)
    assert [c["name"] for c in history["name_chain"]] == ["岳洲社区居委会", "岳溪社区居委会"]
    assert [v["change"] for v in registry.place_history(store, old_id)["versions"]] == [
        "baseline",
        "superseded",
    ]


def test_retirement_end_to_end_keeps_record(store, clock, corpus):
    pid = place_id_of(store, "440106001002")  # 茶山社区居委会
    p = propose(
        store, "retirement", "五山街道办事处", "社区撤并，该居委会已撤销", place_id=pid, clock=clock
    )
    p = step(store, clock, corpus, p, "submit")
    p = step(store, clock, corpus, p, "check")
    assert p["findings"] == []
    p = step(store, clock, corpus, p, "start_review")
    p = step(store, clock, corpus, p, "publish_notice")  # retirement needs no expert opinion
    for action in ("approve", "announce", "bring_into_force"):
        p = step(store, clock, corpus, p, action)
    assert "予以销名" in p["announcement_text"] and "茶山社区居委会" in p["announcement_text"]
    record = registry.get_place(store, pid)
    assert record["status"] == "retired" and record["retired_date"] == p["effective_date"]
    assert "销名：社区撤并" in record["history"]
    versions = registry.place_history(store, pid)["versions"]
    assert [(v["change"], v["status"]) for v in versions] == [
        ("baseline", "in_force"),
        ("retired", "retired"),
    ]
    assert versions[1]["change_reason"] == "社区撤并，该居委会已撤销"
    assert registry.get_place(store, pid, as_of=dt.date(2024, 1, 1))["status"] == "in_force"
    with pytest.raises(errors.InvalidInput, match="不是现行地名"):
        propose(store, "retirement", "x", "再次销名", place_id=pid)


ON_NOTICE = ["submit", "check", "start_review", "add_opinion", "publish_notice"]
STATES_REACHED = {  # state -> how to reach it from a fresh proposal
    "draft": [],
    "submitted": path_to("submit"),
    "checked": path_to("check"),
    "in_review": path_to("start_review"),
    "on_notice": ON_NOTICE,
    "approved": path_to("approve"),
    "rejected": [*ON_NOTICE, "reject"],
    "announced": path_to("announce"),
    "in_force": path_to("bring_into_force"),
    "withdrawn": ["withdraw"],
}


def test_every_illegal_transition_is_refused(store, clock, corpus):
    assert set(STATES_REACHED) == set(workflow.STATE_NAMES_ZH)
    refused = 0
    for i, (state, actions) in enumerate(STATES_REACHED.items()):
        p = new_naming(store, clock, name=f"长乐{'一二三四五六七八九十'[i]}路")
        for action in actions:
            p = step(store, clock, corpus, p, action)
        assert p["state"] == state
        for s in workflow.STEPS:
            if state in s.sources:
                continue
            events = event_count(store, p["id"])
            with pytest.raises(errors.IllegalTransition):
                perform(store, clock, p, s.action, EVERYONE, corpus=corpus, reason="试图越级操作")
            after = workflow.get_proposal(store, p["id"], OFFICER)
            assert (after["state"], after["version"]) == (state, p["version"])
            assert event_count(store, p["id"]) == events
            refused += 1
    # Terminal states allow nothing at all.
    assert refused > 0
    for state in workflow.TERMINAL_STATES:
        # ... but filing (备案, Art. 13), a record step, may follow coming into force.
        assert not [s for s in workflow.STEPS if state in s.sources and s.target is not None]
        assert {s.action for s in workflow.STEPS if state in s.sources} <= {"file"}


def test_role_checks(store, clock, corpus):
    with pytest.raises(errors.Forbidden):
        new_naming(store, clock, actor=OFFICER)
    with pytest.raises(errors.Forbidden):
        new_naming(store, clock, actor=PUBLIC)
    p = new_naming(store, clock)
    for s in workflow.STEPS:
        outsider = Actor("inspector_x", frozenset({"inspector", "admin"}))
        with pytest.raises(errors.Forbidden):
            perform(store, clock, p, s.action, outsider, reason="r")
        for role in {"clerk", "officer", "approver"} - s.roles:
            with pytest.raises(errors.Forbidden):
                workflow.perform(
                    store,
                    p["id"],
                    s.action,
                    Actor("someone", frozenset({role})),
                    version=p["version"],
                    clock=clock,
                    reason="r",
                )
    assert event_count(store, p["id"]) == 1
    # The public cannot see drafts at all.
    with pytest.raises(errors.NotFound):
        workflow.get_proposal(store, p["id"], PUBLIC)
    assert workflow.list_proposals(store, PUBLIC)["total"] == 0
    # Only the drafter edits a draft.
    with pytest.raises(errors.Forbidden):
        workflow.perform(
            store,
            p["id"],
            "edit",
            Actor("clerk_2", frozenset({"clerk"})),
            version=p["version"],
            name="长乐三路",
        )


def test_approver_cannot_approve_own_proposal(store, clock, corpus):
    zhang = Actor("zhang", frozenset({"clerk", "approver"}))
    p = new_naming(store, clock, actor=zhang)
    p = perform(store, clock, p, "submit", zhang)
    for action in (
        "check",
        "start_review",
        "add_opinion",
        "confirm_romanization",
        "publish_notice",
    ):
        p = step(store, clock, corpus, p, action)
    clock.advance(30)
    for action in ("approve", "reject"):
        with pytest.raises(errors.Forbidden, match="自己提交"):
            perform(
                store, clock, p, action, zhang, approving_body="广州市天河区人民政府", reason="r"
            )
    seen = workflow.get_proposal(store, p["id"], zhang, clock=clock)
    assert "approve" not in seen["allowed_actions"]
    held = {h["action"]: h["reason"] for h in seen["held_actions"]}
    assert held == {
        "approve": "审批人不能审批自己提交的申请",
        "reject": "审批人不能审批自己提交的申请",
    }
    # The due list: the decision waits for another approver, and only zhang is told so.
    for actor, held_zh in (
        (zhang, "审批人不能审批自己提交的申请，待其他审批人决定"),
        (APPROVER_2, None),
        (OFFICER, "待审批人决定"),  # no approver: told whose the decision is
    ):
        due = workflow.due_items(store, actor, clock.today)
        assert [(i["kind"], i.get("held_zh")) for i in due] == [("decision", held_zh)]
    p = perform(store, clock, p, "approve", APPROVER_2, approving_body="广州市天河区人民政府")
    assert p["state"] == "approved" and p["decided_by"] == APPROVER_2.username


def test_blocking_finding_needs_override_with_reasons(store, clock, corpus):
    p = new_naming(store, clock, name="维也纳大道")
    p = walk(store, clock, corpus, p, "in_review")
    blocking = [f for f in p["findings"] if f["severity"] == "blocking"]
    assert blocking, p["findings"]
    p = step(store, clock, corpus, p, "add_opinion")
    with pytest.raises(errors.RuleViolation):
        step(store, clock, corpus, p, "publish_notice")
    with pytest.raises(errors.InvalidInput):
        perform(store, clock, p, "override", OFFICER, reason=" ")
    p = step(store, clock, corpus, p, "override", reason="友好城市纪念道路，经专家论证同意")
    assert (
        p["override_reasons"] == "友好城市纪念道路，经专家论证同意"
        and p["override_by"] == OFFICER.username
    )
    p = step(store, clock, corpus, p, "publish_notice")
    assert p["state"] == "on_notice"


def test_return_to_draft_edit_and_recheck(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock, name="维也纳大道"), "checked")
    assert [f for f in p["findings"] if f["severity"] == "blocking"]
    p = step(store, clock, corpus, p, "return")
    assert p["state"] == "draft"
    assert p["findings"]  # the check of 维也纳大道 is still shown while it is the name
    p = perform(store, clock, p, "edit", CLERK, name="云溪大道")
    assert p["proposed"]["name"] == "云溪大道" and p["proposed"]["romanized"].startswith("Yunxi")
    # The old check was of the old name: not shown as the new name's result.
    assert (p["findings"], p["checked_at"]) == (None, None)
    p = walk(store, clock, corpus, p, "checked")
    # Re-checked: the findings are those of the new name, and the old override is gone.
    assert (
        not [f for f in p["findings"] if f["severity"] == "blocking"]
        and p["override_reasons"] is None
    )


def test_stale_version_is_a_conflict(store, clock, corpus):
    p = new_naming(store, clock)
    p2 = perform(store, clock, p, "submit", CLERK)
    with pytest.raises(errors.Conflict):
        perform(store, clock, p, "withdraw", CLERK, reason="r")
    assert workflow.get_proposal(store, p["id"], OFFICER)["state"] == p2["state"] == "submitted"


def test_input_validation(store, clock):
    with pytest.raises(errors.InvalidInput):
        propose(
            store,
            "naming",
            "a",
            "r",
            proposed={"name": "云溪路", "feature_class": "路", "division_code": TIANHE},
        )
    with pytest.raises(errors.NotFound):
        propose(
            store,
            "naming",
            "a",
            "r",
            proposed={"name": "云溪路", "feature_class": "交通运输设施", "division_code": "449999"},
        )
    with pytest.raises(errors.InvalidInput, match="坐标"):
        propose(
            store,
            "naming",
            "a",
            "r",
            proposed={"name": "云溪路", "feature_class": "交通运输设施", "division_code": TIANHE},
            location=Point(23.14, 113.36),
        )  # lat/lon swapped
    with pytest.raises(errors.InvalidInput):
        propose(store, "renaming", "a", "r", proposed={"name": "x"})


def test_race_two_deciders_exactly_one_wins(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock), "on_notice")
    clock.advance(30)
    events_before = event_count(store)
    stores = [Store(store.url), Store(store.url)]  # separate engines, separate connections
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def act(i, action, actor, params):
        barrier.wait()
        try:
            outcomes[i] = workflow.perform(
                stores[i], p["id"], action, actor, version=p["version"], clock=clock, **params
            )["state"]
        except errors.Conflict as exc:
            outcomes[i] = exc

    threads = [
        threading.Thread(
            target=act, args=(0, "approve", APPROVER, {"approving_body": "天河区人民政府"})
        ),
        threading.Thread(target=act, args=(1, "reject", APPROVER_2, {"reason": "重名"})),
    ]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    [s.dispose() for s in stores]
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if isinstance(o, errors.Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert "已被他人处理" in losers[0].message
    assert event_count(store) == events_before + 1
    final = workflow.get_proposal(store, p["id"], OFFICER)
    assert final["state"] == winners[0] and final["version"] == p["version"] + 1


def test_a_steps_answer_is_read_after_its_commit(store, clock, corpus, monkeypatch):
    """The answer (the proposal with its events, opinions and division: five reads) is
    built after the step has committed, so the write lock is not held for it and other
    writers do not wait."""
    p = step(store, clock, corpus, new_naming(store, clock), "submit")
    committed = []
    build_answer = workflow._detail

    def answer_seen_from_another_connection(conn, row, actor, today=None):
        with store.engine.connect() as other:  # sees committed rows only
            committed.append(
                other.execute(
                    sa.select(proposals.c.state, proposals.c.version).where(
                        proposals.c.id == row.id
                    )
                ).one()
            )
        return build_answer(conn, row, actor, today)

    monkeypatch.setattr(workflow, "_detail", answer_seen_from_another_connection)
    answer = step(store, clock, corpus, p, "check")
    assert committed == [("checked", p["version"] + 1)]
    assert (answer["state"], answer["version"]) == committed[0]
    assert answer["events"][-1]["action"] == "check"


def test_the_check_finds_before_it_takes_the_write_lock(store, clock, corpus, monkeypatch):
    """The compliance check reads the rules, other proposals' names and the map before its
    write transaction (which only stores the findings), so other writers can go on."""
    if store.dialect != "sqlite":
        pytest.skip("SQLite's one write lock")
    p = step(store, clock, corpus, new_naming(store, clock), "submit")
    writers_free = []
    find = workflow._check_findings

    def find_while_another_writes(conn, row, corpus):
        other = sqlite3.connect(sa.engine.make_url(store.url).database, isolation_level=None)
        try:
            other.execute("PRAGMA busy_timeout=0")
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the check held it
            other.execute("ROLLBACK")
            writers_free.append(True)
        except sqlite3.OperationalError:
            writers_free.append(False)
        finally:
            other.close()
        return find(conn, row, corpus)

    monkeypatch.setattr(workflow, "_check_findings", find_while_another_writes)
    checked = step(store, clock, corpus, p, "check")
    assert writers_free == [True]  # found once, outside the transaction
    assert checked["state"] == "checked" and isinstance(checked["findings"], list)


def test_annual_statistics_counts(store, clock, corpus):
    walk(store, clock, corpus, new_naming(store, clock, name="长乐一路"), "in_force")
    walk(store, clock, corpus, new_naming(store, clock, name="长乐三路"), "in_force")
    walk(
        store, clock, corpus, new_naming(store, clock, name="长乐五路"), "on_notice"
    )  # not decided: not counted
    renamed = renaming_of_yuezhou(store, clock, applicant="a")
    walk(store, clock, corpus, renamed, "in_force")
    retired = propose(
        store, "retirement", "a", "撤并", place_id=place_id_of(store, "440113007003"), clock=clock
    )  # 番禺区 市桥街道 德兴社区居民委员会 (a township itself changes as a division)
    for action in (
        "submit",
        "check",
        "start_review",
        "publish_notice",
        "approve",
        "announce",
        "bring_into_force",
    ):
        retired = step(store, clock, corpus, retired, action)
    stats = statistics.annual_statistics(store, 2024)
    rows = {r["code"]: r for r in stats["rows"]}
    assert rows["440100"]["name"] == "广州市"
    assert (rows["440100"]["approved"], rows["440100"]["renamed"], rows["440100"]["retired"]) == (
        2,
        1,
        1,
    )
    assert stats["totals"] == {"approved": 2, "renamed": 1, "retired": 1}
    city = statistics.annual_statistics(store, 2024, "440100")
    by_county = {r["code"]: r for r in city["rows"]}
    assert (
        by_county[TIANHE]["approved"],
        by_county[TIANHE]["renamed"],
        by_county[TIANHE]["retired"],
    ) == (2, 1, 0)
    assert by_county["440113"]["retired"] == 1
    assert statistics.annual_statistics(store, 2023)["totals"] == {
        "approved": 0,
        "renamed": 0,
        "retired": 0,
    }
    png = statistics.statistics_chart_png(stats)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


@pytest.mark.parametrize(
    "where, says",
    [(Point(116.397, 39.909), "不在本省"), (Point(113.60, 24.81), "不在拟命名所属")],
    ids=["beijing", "shaoguan"],
)
def test_a_location_outside_the_division_is_a_blocking_finding(store, clock, corpus, where, says):
    """A naming in 天河区 whose location lies in Beijing (outside the province) or in
    韶关 (another city) is stopped by the check, not passed with no finding."""
    p = propose(
        store,
        "naming",
        "天河区住建局",
        "新建道路",
        proposed={"name": "云溪路", "feature_class": "交通运输设施", "division_code": TIANHE},
        location=where,
        clock=clock,
    )
    p = step(store, clock, corpus, p, "submit")
    p = step(store, clock, corpus, p, "check")
    blocking = [f for f in p["findings"] if f["severity"] == "blocking"]
    assert [f["rule_id"] for f in blocking] == ["location_in_division"], p["findings"]
    assert says in blocking[0]["message"]


def test_second_open_proposal_on_the_same_record_is_refused(store, clock, corpus):
    """A renaming and a retirement of one record cannot both be open: the second is refused
    at create (409 naming the first), a second draft is refused at submit and at check."""
    pid = place_id_of(store, YUEZHOU)
    first = step(store, clock, corpus, renaming_of_yuezhou(store, clock), "submit")
    with pytest.raises(errors.Conflict, match=f"编号 {first['id']}") as refused:
        propose(store, "retirement", "五山街道办事处", "撤并", place_id=pid, clock=clock)
    assert refused.value.details["other_proposal"]["id"] == first["id"]
    # A draft made while the first was still a draft is refused on submit.
    withdrawn = step(store, clock, corpus, first, "withdraw")
    second = propose(store, "retirement", "五山街道办事处", "撤并", place_id=pid, clock=clock)
    third = renaming_of_yuezhou(store, clock)
    step(store, clock, corpus, second, "submit")
    with pytest.raises(errors.Conflict, match=f"编号 {second['id']}"):
        step(store, clock, corpus, third, "submit")
    assert workflow.get_proposal(store, third["id"], OFFICER)["state"] == "draft"
    assert withdrawn["state"] == "withdrawn"


def test_lapse_ends_an_announced_proposal_whose_record_changed(store, clock, corpus):
    """Two proposals on one record reached 公告 before the refusal existed (or the record
    changed another way): once the first comes into force the second cannot, and an officer
    ends it with a reason, recorded in its history; an unchanged record cannot be lapsed."""
    pid = place_id_of(store, YUEZHOU)
    renaming = walk(store, clock, corpus, renaming_of_yuezhou(store, clock), "announced")

    def offered():
        seen = workflow.get_proposal(store, renaming["id"], OFFICER, clock=clock)
        assert "lapse" not in [h["action"] for h in seen["held_actions"]]  # not "waiting"
        return seen["allowed_actions"]

    assert "lapse" not in offered() and "bring_into_force" in offered()
    with pytest.raises(errors.IllegalTransition, match="仍可登记生效"):
        step(store, clock, corpus, renaming, "lapse", reason="试图终止")
    # The record is retired by another route (a division change, an old proposal...).
    with store.write(actor=OFFICER) as conn:
        registry.retire_place(
            conn, pid, reason="社区撤并", effective_date=clock.today, actor=OFFICER, now=clock()
        )
    assert "lapse" in offered()
    with pytest.raises(errors.IllegalTransition, match="因记录已变更终止"):
        step(store, clock, corpus, renaming, "bring_into_force")
    with pytest.raises(errors.InvalidInput, match="须说明理由"):
        step(store, clock, corpus, renaming, "lapse")
    with pytest.raises(errors.Forbidden):
        step(store, clock, corpus, renaming, "lapse", actor=CLERK, reason="记录已销名")
    ended = step(store, clock, corpus, renaming, "lapse", reason="记录已销名，更名无从实施")
    assert ended["state"] == "withdrawn"
    with store.read() as conn:
        last = workflow.proposal_event_list(conn, ended["id"])[-1]
    assert last["action"] == "lapse" and last["reason"] == "记录已销名，更名无从实施"
    assert last["data"]["lapsed"]["place_status"] == "retired"


def test_a_backdated_notice_names_the_beijing_date(store, clock, corpus):
    p = walk(store, clock, corpus, new_naming(store, clock), "in_review")
    p = step(store, clock, corpus, p, "add_opinion")
    yesterday = (clock.today - dt.timedelta(days=1)).isoformat()
    with pytest.raises(errors.InvalidInput, match=f"今天（北京时间 {clock.today.isoformat()}）"):
        step(store, clock, corpus, p, "publish_notice", notice_start=yesterday)


def test_an_officer_withdraws_what_was_submitted_but_not_a_clerks_draft(store, clock, corpus):
    """A draft is its owners' until submitted: an officer (any office, or none) may not end
    it, and is not offered to; once submitted it is in the officers' review and they may."""
    p = new_naming(store, clock)
    assert (
        "withdraw"
        not in workflow.get_proposal(store, p["id"], OFFICER, clock=clock)["allowed_actions"]
    )
    with pytest.raises(errors.Forbidden, match="撤回申请"):
        perform(store, clock, p, "withdraw", OFFICER, reason="不再需要")
    with pytest.raises(errors.Forbidden):  # not first asked for a reason, then refused
        perform(store, clock, p, "withdraw", OFFICER)
    after = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert (after["state"], after["version"], event_count(store, p["id"])) == ("draft", 1, 1)
    # the second action: submitted, the same officer's withdrawal is offered and goes through
    p = step(store, clock, corpus, p, "submit")
    offered = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)["allowed_actions"]
    assert "withdraw" in offered
    p = perform(store, clock, p, "withdraw", OFFICER, reason="申请人撤回")
    assert p["state"] == "withdrawn" and p["events"][-1]["actor"] == OFFICER.username


def test_steps_that_would_be_refused_are_held_with_why_not_offered(store, clock, corpus):
    """``allowed_actions`` lists only steps that can go ahead now: deciding waits for the
    notice to end, filing is offered once. ``held_actions`` says why the others wait, in
    the words the refusal itself would use."""
    p = walk(store, clock, corpus, new_naming(store, clock), "on_notice")
    seen = workflow.get_proposal(store, p["id"], APPROVER, clock=clock)
    assert not {"approve", "reject"} & set(seen["allowed_actions"])
    held = {h["action"]: h["reason"] for h in seen["held_actions"]}
    assert set(held) == {"approve", "reject"} and "公示期满后" in held["approve"]
    with pytest.raises(errors.IllegalTransition) as refused:
        perform(store, clock, p, "approve", APPROVER, **TIANHE_APPROVAL)
    assert str(refused.value) == held["approve"]
    # the second action: once the notice has ended, both are offered and nothing is held
    clock.advance(30)
    seen = workflow.get_proposal(store, p["id"], APPROVER, clock=clock)
    assert {"approve", "reject"} <= set(seen["allowed_actions"]) and seen["held_actions"] == []
    p = perform(store, clock, p, "approve", APPROVER, **TIANHE_APPROVAL)
    assert (
        "file" in p["allowed_actions"]
        or "file" in workflow.get_proposal(store, p["id"], OFFICER, clock=clock)["allowed_actions"]
    )
    p = perform(store, clock, p, "file", OFFICER, filed_with="广州市民政局")
    after = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert "file" not in after["allowed_actions"]
    assert [h["action"] for h in after["held_actions"]] == ["file"]
    assert "备案" in after["held_actions"][0]["reason"]


@pytest.mark.parametrize(
    "state, action, params, field",
    [
        ("in_review", "add_opinion", {"kind": "bogus", "author": "专家", "body": "同意"}, "kind"),
        ("in_review", "add_opinion", {"kind": "expert", "author": " ", "body": "同意"}, "author"),
        ("in_review", "add_opinion", {"kind": "expert", "author": "专家", "body": ""}, "body"),
        ("in_review", "publish_notice", {"notice_end": "+29"}, "notice_start"),
        ("in_review", "publish_notice", {"notice_start": "+0"}, "notice_end"),
        ("in_review", "publish_notice", {"notice_start": "+0", "notice_end": "+9"}, "notice_end"),
        (
            "in_review",
            "publish_notice",
            {"notice_start": "-1", "notice_end": "+29"},
            "notice_start",
        ),
        (
            "in_review",
            "publish_notice",
            {"notice_start": "+0", "notice_end": "2027-02-30"},
            "notice_end",
        ),
        ("on_notice", "approve", {"approving_body": "某某委员会"}, "approving_body"),
        ("approved", "file", {"filed_with": " "}, "filed_with"),
        ("approved", "file", {"filed_with": "广州市民政局", "filed_on": "2000-01-01"}, "filed_on"),
        ("announced", "bring_into_force", {"effective_date": "2000-01-01"}, "effective_date"),
    ],
)
def test_a_steps_refusal_names_its_field_and_changes_nothing(
    store, clock, corpus, state, action, params, field
):
    p = walk(store, clock, corpus, new_naming(store, clock), state)
    if action == "publish_notice":
        p = step(store, clock, corpus, p, "add_opinion")
    if action == "approve":
        clock.advance(30)

    def day(value: str) -> str:  # "+N"/"-N": days from the clock's today
        if value[0] in "+-":
            return (clock.today + dt.timedelta(days=int(value))).isoformat()
        return value

    params = {k: day(v) if k.startswith("notice_") else v for k, v in params.items()}
    actor = APPROVER if action == "approve" else OFFICER
    events = event_count(store, p["id"])
    with pytest.raises(errors.InvalidInput) as refused:
        perform(store, clock, p, action, actor, corpus=corpus, **params)
    assert refused.value.details.get("field") == field, refused.value.details
    assert "docs/" not in refused.value.message and "MIN_NOTICE_DAYS" not in refused.value.message
    after = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert (after["state"], after["version"]) == (p["state"], p["version"])
    assert event_count(store, p["id"]) == events
    # the second action: the step with the usual values goes through
    assert step(store, clock, corpus, p, action)["version"] == p["version"] + 1


def test_an_edit_names_the_field_as_the_edit_step_takes_it(store, clock):
    p = new_naming(store, clock)
    with pytest.raises(errors.InvalidInput) as refused:
        perform(store, clock, p, "edit", CLERK, name="")
    assert refused.value.details["field"] == "name"
    assert refused.value.message == "请填写拟用名称（name）"  # the key, as the step takes it
    with pytest.raises(errors.InvalidInput) as refused:
        perform(store, clock, p, "edit", CLERK, feature_class="路")
    assert refused.value.details["field"] == "feature_class"
    assert (
        perform(store, clock, p, "edit", CLERK, name="长乐东路")["proposed"]["name"] == "长乐东路"
    )


def test_every_step_that_needs_a_reason_has_a_reason_box_on_the_officer_page():
    """The page's form for a step has every field the step cannot go without (user test,
    2026-12-01: 因记录已变更终止 had no reason box, so it could only be refused)."""
    from webmap.officer import ACTION_FIELDS

    for s in workflow.STEPS:
        if s.reason_required:
            names = [name for name, _, _ in ACTION_FIELDS.get(s.action, [])]
            assert "reason" in names, s.action
        unknown = {n for n, _, _ in ACTION_FIELDS.get(s.action, [])} - {"reason"}
        assert unknown <= set(workflow.STEP_PARAMS.get(s.action, ())), (s.action, unknown)


def test_an_assessment_alone_does_not_open_the_notice(store, clock, corpus):
    """Art. 11: an expert's opinion or the views of those concerned come before the notice;
    an assessment (or a public opinion) recorded early is no substitute. Until then the
    step is held, with why, not offered."""
    p = walk(store, clock, corpus, new_naming(store, clock), "in_review")
    p = step(store, clock, corpus, p, "add_opinion", kind="assessment", author="评估组")
    seen = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert "publish_notice" not in seen["allowed_actions"]
    assert [h["action"] for h in seen["held_actions"]] == ["publish_notice"]
    with pytest.raises(errors.IllegalTransition, match="专家论证或征求意见"):
        step(store, clock, corpus, p, "publish_notice")
    # the second action: a consultation recorded, the notice is offered and published
    p = step(store, clock, corpus, p, "add_opinion", kind="consultation", author="五山街道")
    seen = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert "publish_notice" in seen["allowed_actions"] and seen["held_actions"] == []
    assert step(store, clock, corpus, p, "publish_notice")["state"] == "on_notice"


def corrected_to_changyue(store, clock, p, romanized: str, romanized_toned: str) -> None:
    """Correct 长乐路 (p) to the other reading of 乐, as given; it is stored as Changyue Lu /
    Chángyuè Lù."""
    p = perform(
        store,
        clock,
        p,
        "confirm_romanization",
        OFFICER,
        romanized=romanized,
        romanized_toned=romanized_toned,
    )
    assert (p["proposed"]["romanized"], p["proposed"]["romanized_toned"]) == (
        "Changyue Lu",
        "Chángyuè Lù",
    )


@pytest.mark.parametrize("spelling", ["长乐", "Ruian Road", "Changle Street", "Chang1e Lu", " "])
def test_a_romanization_correction_must_spell_the_name(store, clock, corpus, spelling):
    """The officer's correction chooses a heteronym's reading, word division or capitals; it
    cannot put another name or a translation on record (user test, 2026-12-01: 长乐 was
    accepted for 瑞安路 and printed in the announcement)."""
    p = walk(store, clock, corpus, new_naming(store, clock), "checked")
    events = event_count(store, p["id"])
    if spelling.strip():
        with pytest.raises(errors.InvalidInput, match="不是“长乐路”的汉语拼音拼写") as refused:
            perform(store, clock, p, "confirm_romanization", OFFICER, romanized=spelling)
        assert refused.value.details["field"] == "romanized"
        with pytest.raises(errors.InvalidInput) as refused:
            perform(store, clock, p, "confirm_romanization", OFFICER, romanized_toned=spelling)
        assert refused.value.details["field"] == "romanized_toned"
        after = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
        assert after["version"] == p["version"] and event_count(store, p["id"]) == events
        assert after["proposed"]["romanized"] == "Changle Lu"
    # the second action: the other reading of 乐 (yuè), toned and not, is taken
    corrected_to_changyue(store, clock, p, "Changyue Lu", "Chángyuè Lù")


def test_a_date_that_does_not_exist_is_named_as_such():
    from gazetteer.core.dates import parse_date

    with pytest.raises(errors.InvalidInput, match="公示结束日期不是存在的日期") as refused:
        parse_date("2027-02-30", "公示结束日期", "notice_end")
    assert refused.value.details == {"field": "notice_end"}
    with pytest.raises(errors.InvalidInput, match="应为 YYYY-MM-DD 格式"):
        parse_date("30/02/2027", "公示结束日期", "notice_end")
    assert parse_date("2027-02-28", "公示结束日期", "notice_end") == dt.date(2027, 2, 28)


@pytest.mark.parametrize(
    "given, field",
    [
        ({"romanized": "Changyue Lu"}, "romanized_toned"),  # the toned one still reads lè
        ({"romanized_toned": "Chángyuè Lù"}, "romanized"),
        ({"romanized": "Changyue Lu", "romanized_toned": "Chánglè Lù"}, "romanized_toned"),
        ({"romanized": "Chángyuè Lù", "romanized_toned": "Chángyuè Lù"}, "romanized"),
        ({"romanized": "Changyue Lu", "romanized_toned": "Changyue Lu"}, "romanized_toned"),
        ({"romanized": "changyue lu", "romanized_toned": "chángyuè lù"}, "romanized"),
        ({"romanized": "CHANGYUE LU", "romanized_toned": "CHÁNGYUÈ LÙ"}, "romanized"),
        ({"romanized": "Changyue Lu", "romanized_toned": "Cháng Yuè Lù"}, "romanized_toned"),
    ],
)
def test_the_two_spellings_of_a_correction_read_alike(store, clock, corpus, given, field):
    """A correction of one spelling that the other does not follow would leave the record
    saying two things (user test, 2026-12-01: Changyue Lu beside Chánglè Lù); the toneless
    spelling carries no tone marks."""
    p = walk(store, clock, corpus, new_naming(store, clock), "checked")
    with pytest.raises(errors.InvalidInput) as refused:
        perform(store, clock, p, "confirm_romanization", OFFICER, **given)
    assert refused.value.details["field"] == field, refused.value
    after = workflow.get_proposal(store, p["id"], OFFICER, clock=clock)
    assert after["version"] == p["version"] and after["proposed"]["romanized"] == "Changle Lu"
    # the second action: both corrected together, the spacing made one space
    corrected_to_changyue(store, clock, p, "Changyue   Lu", " Chángyuè Lù")


def test_the_spelling_on_notice_is_confirmed_as_noticed_and_then_no_longer_offered(
    store, clock, corpus
):
    """While the public reads the notice, its spelling can be confirmed but not changed
    (a changed spelling would not be the one noticed); once confirmed, the step is no
    longer offered (user test, 2026-11-30: 确认罗马字母拼写 stayed offered after
    confirmation and during the notice)."""
    p = walk(store, clock, corpus, new_naming(store, clock), "in_review")
    p = step(store, clock, corpus, p, "add_opinion")
    p = step(store, clock, corpus, p, "publish_notice")  # on notice, the spelling unconfirmed
    assert not p["heteronyms_confirmed"] and "confirm_romanization" in p["allowed_actions"]
    events = event_count(store, p["id"])
    with pytest.raises(errors.InvalidInput, match="公示期间只能确认公示的拼写") as refused:
        perform(
            store,
            clock,
            p,
            "confirm_romanization",
            OFFICER,
            romanized="Changyue Lu",
            romanized_toned="Chángyuè Lù",
        )
    assert refused.value.details["field"] == "romanized"
    assert event_count(store, p["id"]) == events
    # the second action: confirmed as noticed (the same spelling typed again is no change)
    p = perform(store, clock, p, "confirm_romanization", OFFICER, romanized="Changle Lu")
    assert p["heteronyms_confirmed"] and p["proposed"]["romanized"] == "Changle Lu"
    assert "confirm_romanization" not in p["allowed_actions"]
    assert "confirm_romanization" not in [h["action"] for h in p.get("held_actions") or []]
    with pytest.raises(errors.IllegalTransition, match="公示期间不能更改公示的内容"):
        perform(store, clock, p, "confirm_romanization", OFFICER)
