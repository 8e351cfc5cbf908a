"""Name reservation (《地名管理条例》 Art. 9 (7)–(8)): a name under proposal holds its place,
and coming into force re-checks under the write transaction."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from helpers import naming_json
from proposal_helpers import (
    CLERK,
    OFFICER,
    PATH,
    TIANHE,
    Clock,
    new_naming,
    perform,
    propose,
    step,
    walk,
)

from gazetteer import notices, reservations, workflow
from gazetteer.core.errors import RuleViolation
from gazetteer.core.store import Store
from gazetteer.registry_tables import proposals


def walk_on(store, clock, corpus, p, until):
    """The happy path from wherever ``p`` stands until state ``until``."""
    for action in PATH:
        if p["state"] == until:
            return p
        if p["state"] in workflow.STEPS_BY_ACTION[action].sources:
            p = step(store, clock, corpus, p, action)
    assert p["state"] == until, p["state"]
    return p


def rule_ids(p):
    return {f["rule_id"]: f for f in p["findings"]}


def test_second_proposal_for_a_reserved_name_is_blocked_homophone_warned(store, clock, corpus):
    first = step(store, clock, corpus, new_naming(store, clock, "凤翔路"), "submit")
    second = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    found = rule_ids(second)
    assert found["reserved"]["severity"] == "blocking"
    assert found["reserved"]["conflicts"][0]["proposal_id"] == first["id"]
    assert "凤翔" in found["reserved"]["message"] and "第九条" in found["reserved"]["source"]
    # 凤祥 sounds the same (feng xiang): a warning, not a block.
    homophone = walk(store, clock, corpus, new_naming(store, clock, "凤祥路"), "checked")
    assert rule_ids(homophone)["reserved.homophone"]["severity"] == "warning"
    assert "reserved" not in rule_ids(homophone)
    # A name in another city's jurisdiction is not reserved (streets: one city).
    elsewhere = propose(
        store,
        "naming",
        "佛山市禅城区住房和城乡建设局",
        "新建道路",
        proposed={"name": "凤翔路", "feature_class": "交通运输设施", "division_code": "440604"},
        clock=clock,
    )
    elsewhere = walk(store, clock, corpus, elsewhere, "checked")
    assert "reserved" not in rule_ids(elsewhere)
    # The first is withdrawn: the name is free again when the second is checked again.
    step(store, clock, corpus, first, "withdraw")
    second = step(store, clock, corpus, second, "return")
    second = walk_on(store, clock, corpus, second, "checked")
    assert "reserved" not in rule_ids(second)


def test_a_draft_reserves_nothing(store, clock, corpus):
    new_naming(store, clock, "凤翔路")  # never submitted
    p = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    assert "reserved" not in rule_ids(p)


def _announced_pair(store, clock, corpus):
    """Two 凤翔路 in 天河区 that both reach 'announced' (the second past its reservation
    finding through a recorded override, as an officer could)."""
    first = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    second = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    assert "reserved" in rule_ids(second)
    second = step(store, clock, corpus, second, "override")
    first = walk_on(store, clock, corpus, first, "announced")
    second = walk_on(store, clock, corpus, second, "announced")
    return first, second


def test_second_cannot_come_into_force_after_the_first(store, clock, corpus):
    first, second = _announced_pair(store, clock, corpus)
    first = step(store, clock, corpus, first, "bring_into_force")
    assert first["state"] == "in_force"
    with pytest.raises(RuleViolation, match="凤翔路") as err:
        step(store, clock, corpus, second, "bring_into_force")
    assert err.value.details["conflicts"][0]["id"] == first["result_place_id"]
    # Not offered any more: held with the same refusal, and ending it is offered instead
    # (user test, 2026-12-01: still listed after the name was taken).
    seen = workflow.get_proposal(store, second["id"], OFFICER, clock=clock)
    assert "bring_into_force" not in seen["allowed_actions"] and "lapse" in seen["allowed_actions"]
    held = {h["action"]: h["reason"] for h in seen["held_actions"]}
    assert held["bring_into_force"] == str(err.value)
    # Refused means unchanged; trying again is refused the same way.
    again = workflow.get_proposal(store, second["id"], OFFICER)
    assert again["state"] == "announced" and again["version"] == second["version"]
    with pytest.raises(RuleViolation):
        step(store, clock, corpus, again, "bring_into_force")


def test_race_two_same_names_coming_into_force_exactly_one_wins(store, clock, corpus):
    first, second = _announced_pair(store, clock, corpus)
    stores = [Store(store.url), Store(store.url)]  # separate engines, separate connections
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def act(i, p):
        barrier.wait()
        try:
            outcomes[i] = workflow.perform(
                stores[i], p["id"], "bring_into_force", OFFICER, version=p["version"], clock=clock
            )["state"]
        except RuleViolation as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=act, args=(i, p)) for i, p in enumerate((first, second))]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    [s.dispose() for s in stores]
    assert sorted(type(o).__name__ for o in outcomes) == ["RuleViolation", "str"], outcomes
    states = sorted(
        workflow.get_proposal(store, p["id"], OFFICER)["state"] for p in (first, second)
    )
    assert states == ["announced", "in_force"]
    from gazetteer import registry

    found = registry.find_places(store, name="凤翔路", division_code=TIANHE, status="in_force")
    assert [p["name"] for p in found["items"]].count("凤翔路") == 1


def test_reservation_through_the_api(client, app):
    from test_registry_api import API_START, act, create

    app.extensions["gdgis.clock"] = Clock(API_START)
    body = naming_json("凤翔路", applicant="天河区住房和城乡建设局", reasons="新建道路")
    first = act(client, "li", create(client, body), "submit")
    second = act(client, "li", create(client, body), "submit")
    second = act(client, "wang", second, "check")
    reserved = [f for f in second["findings"] if f["rule_id"] == "reserved"]
    assert reserved and reserved[0]["conflicts"][0]["proposal_id"] == first["id"]
    # Past a blocking finding only with a recorded override: publishing is refused.
    second = act(client, "wang", second, "start_review")
    second = act(client, "wang", second, "add_opinion", kind="expert", author="专家组", body="同意")
    refused = act(
        client,
        "wang",
        second,
        "publish_notice",
        expect=422,
        notice_start="2024-05-06",
        notice_end="2024-06-04",
    )
    assert refused["error"]["code"], refused


def test_the_first_submitted_keeps_its_claim_whatever_the_order_of_checks(store, clock, corpus):
    """Two proposals for one name: the one submitted first is not blocked by the later one,
    even when the officer checks the later one first."""
    first = step(store, clock, corpus, new_naming(store, clock, "瑞丰路"), "submit")
    second = step(store, clock, corpus, new_naming(store, clock, "瑞丰路"), "submit")
    second = step(store, clock, corpus, second, "check")
    first = step(store, clock, corpus, first, "check")
    assert "reserved" not in rule_ids(first)
    assert rule_ids(second)["reserved"]["conflicts"][0]["proposal_id"] == first["id"]


def test_a_check_reads_only_the_proposals_holding_the_same_term_or_reading(
    store, clock, corpus, monkeypatch
):
    """The pending proposals a check compares with are looked up by the stored term and
    reading (``reservation_keys``), not all read and split: with twenty pending proposals
    of other names, checking 凤祥路 splits only 凤翔路's (the same reading) and finds it."""
    first = step(store, clock, corpus, new_naming(store, clock, "凤翔路"), "submit")
    for i in range(20):
        step(
            store,
            clock,
            corpus,
            new_naming(store, clock, f"云{'一二三四五六七八九十'[i % 10]}{i}路"),
            "submit",
        )
    with store.read() as conn:
        keys = conn.execute(
            sa.select(proposals.c.reserved_term, proposals.c.reserved_reading).where(
                proposals.c.id == first["id"]
            )
        ).one()
    assert tuple(keys) == ("凤翔", "feng xiang")
    compared = []
    real = reservations._reserving

    def counting(conn, corpus_, query):
        for entry, conflict in real(conn, corpus_, query):
            compared.append(conflict["name"])
            yield entry, conflict

    monkeypatch.setattr(reservations, "_reserving", counting)
    homophone = walk(store, clock, corpus, new_naming(store, clock, "凤祥路"), "checked")
    assert compared == ["凤翔路"]
    assert rule_ids(homophone)["reserved.homophone"]["conflicts"][0]["proposal_id"] == first["id"]
    # the second action: returned, the drafter changes it to 凤翔路 itself; the check
    # finds the same term (a block), still reading nothing else
    compared.clear()
    again = step(store, clock, corpus, homophone, "return")
    again = perform(store, clock, again, "edit", CLERK, name="凤翔路")
    again = walk_on(store, clock, corpus, again, "checked")
    assert compared == ["凤翔路"] and "reserved" in rule_ids(again)


def test_a_proposal_stored_before_the_keys_still_reserves_its_name(store, clock, corpus):
    """Proposals written before revision 0043 have no stored term or reading: the check
    still compares them (by splitting their names, as before)."""
    first = step(store, clock, corpus, new_naming(store, clock, "凤翔路"), "submit")
    with store.engine.begin() as conn:
        conn.execute(
            proposals.update()
            .where(proposals.c.id == first["id"])
            .values(reserved_term=None, reserved_reading=None)
        )
    second = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    assert rule_ids(second)["reserved"]["conflicts"][0]["proposal_id"] == first["id"]


def test_an_approved_name_taken_meanwhile_is_not_announced(store, clock, corpus):
    """Approved, then the same name comes into force by another proposal before this one is
    announced: announcing it would tell the public of a name it can no longer become."""
    first = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    second = walk(store, clock, corpus, new_naming(store, clock, "凤翔路"), "checked")
    second = step(store, clock, corpus, second, "override")
    second = walk_on(store, clock, corpus, second, "approved")
    walk_on(store, clock, corpus, first, "in_force")
    seen = workflow.get_proposal(store, second["id"], OFFICER, clock=clock)
    assert "announce" not in seen["allowed_actions"] and "lapse" in seen["allowed_actions"]
    held = {h["action"]: h["reason"] for h in seen["held_actions"]}
    assert "名称已被现行地名“凤翔路”" in held["announce"]  # which name, said on the page
    with pytest.raises(workflow.IllegalTransition, match="不能公告"):
        step(store, clock, corpus, second, "announce")
    # the second action: the officer ends it with a reason; the public notice says it was
    # approved and then ended, not that the applicant withdrew it
    ended = step(store, clock, corpus, second, "lapse", reason="同名道路已先行生效")
    assert ended["state"] == "withdrawn"
    outcome = notices.get_notice(store, second["id"], clock=clock)["outcome_zh"]
    assert outcome.startswith("已批准，后因")
