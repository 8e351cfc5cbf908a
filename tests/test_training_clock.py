"""The training clock (docs/training.md): a training instance may run the registry's clock
ahead so that a 30-day notice can be walked to in force in one session; anywhere else the
setting is refused, and a training instance says so on every page and answer."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import csrf_headers, login, logout, make_app, naming_json

from gazetteer import registry
from gazetteer.core.settings import SettingsError, load_settings


def test_an_offset_is_refused_unless_the_instance_is_a_training_one(tmp_path):
    with pytest.raises(SettingsError, match="training instances only"):
        load_settings({"TRAINING_CLOCK_OFFSET_DAYS": 31}, environ={})
    with pytest.raises(SettingsError, match="TRAINING_CLOCK_OFFSET_DAYS"):
        load_settings({"TRAINING_INSTANCE": True, "TRAINING_CLOCK_OFFSET_DAYS": -1}, environ={})
    with pytest.raises(SettingsError, match="TRAINING_INSTANCE"):
        load_settings({}, environ={"GDGIS_TRAINING_INSTANCE": "maybe"})
    env = {"GDGIS_TRAINING_INSTANCE": "true", "GDGIS_TRAINING_CLOCK_OFFSET_DAYS": "31"}
    assert load_settings({}, environ=env)["TRAINING_CLOCK_OFFSET_DAYS"] == 31


def test_a_live_instance_has_no_banner_and_real_time(store, tmp_path):
    client = make_app(store, tmp_path).test_client()
    page = client.get("/notices")
    assert "培训演示环境" not in page.get_data(as_text=True)
    assert "X-GDGIS-Training" not in page.headers


def test_a_30_day_notice_walked_to_in_force_on_a_training_instance(store, tmp_path):
    """Drafted and put on notice today; the server is restarted with the clock 31 days
    ahead (what the operator does, docs/training.md); the approver decides, the officer
    announces and brings it into force — all through the HTTP API."""
    today = registry.civil_date(registry.utcnow())
    client = make_app(store, tmp_path, TRAINING_INSTANCE=True).test_client()
    page = client.get("/notices").get_data(as_text=True)
    assert "培训演示环境，数据不具法律效力" in page and "调快" not in page
    login(client, "li", "clerk")
    body = naming_json(
        "培训示范路",
        applicant="天河区住房和城乡建设局（培训）",
        reasons="培训演示：新建道路需要命名",
        feature_type="路",
    )
    created = client.post("/api/proposals", json=body).get_json()
    pid, version = created["id"], created["version"]

    def act(c, action, **body):
        nonlocal version
        r = c.post(f"/api/proposals/{pid}/actions/{action}", json={"version": version, **body})
        assert r.status_code == 200, (action, r.get_json())
        version = r.get_json()["version"]
        return r.get_json()

    act(client, "submit")
    login(client, "wang", "officer")
    act(client, "check")
    act(client, "start_review")
    act(client, "add_opinion", kind="expert", author="专家委员会（培训）", body="同意")
    act(client, "confirm_romanization")
    end = today + dt.timedelta(days=29)
    act(client, "publish_notice", notice_start=today.isoformat(), notice_end=end.isoformat())
    login(client, "chen", "approver")
    early = client.post(
        f"/api/proposals/{pid}/actions/approve",
        json={"version": version, "approving_body": "广州市天河区人民政府"},
    )
    assert early.status_code == 409 and "公示期满" in early.get_json()["error"]["message"]
    # The operator restarts the training server with the clock 31 days ahead.
    ahead = make_app(store, tmp_path, TRAINING_INSTANCE=True, TRAINING_CLOCK_OFFSET_DAYS=31)
    client = ahead.test_client()
    banner = client.get("/notices")
    text = banner.get_data(as_text=True)
    later = today + dt.timedelta(days=31)
    assert f"系统时钟已调快 31 天，今天按 {later.isoformat()} 计" in text
    assert banner.headers["X-GDGIS-Training"] == "offset-days=31"
    login(client, "chen", "approver")
    approved = act(client, "approve", approving_body="广州市天河区人民政府")
    assert approved["decision_date"] == later.isoformat()
    login(client, "wang", "officer")
    act(client, "announce")
    in_force = act(client, "bring_into_force")
    assert in_force["state"] == "in_force" and in_force["effective_date"] == later.isoformat()


def _published(client, name: str, start: dt.date) -> int:
    """A naming drafted by li and put on a 30-day notice from ``start`` by wang, through
    the API; signed out after. Returns its id."""
    login(client, "li", "clerk")
    created = client.post("/api/proposals", json=naming_json(name)).get_json()
    pid, version = created["id"], created["version"]

    def act(action, **body):
        nonlocal version
        r = client.post(f"/api/proposals/{pid}/actions/{action}", json={"version": version, **body})
        assert r.status_code == 200, (action, r.get_json())
        version = r.get_json()["version"]

    act("submit")
    login(client, "wang", "officer")
    for action in ("check", "start_review"):
        act(action)
    act("add_opinion", kind="expert", author="专家委员会（培训）", body="同意")
    end = start + dt.timedelta(days=29)
    act("publish_notice", notice_start=start.isoformat(), notice_end=end.isoformat())
    logout(client)
    return pid


def test_the_public_notice_follows_the_training_clock(store, tmp_path):
    """A notice that opens on the training clock's today (10 days ahead of the real one) is
    open to the public on that instance: listed with 30 days left, taking opinions (user
    test, 2026-12-01: the public side read the real date, said 已结束 and refused them)."""
    app = make_app(store, tmp_path, TRAINING_INSTANCE=True, TRAINING_CLOCK_OFFSET_DAYS=10)
    client = app.test_client()
    today = registry.civil_date(registry.utcnow()) + dt.timedelta(days=10)
    pid = _published(client, "培训公示路", today)
    listed = {n["id"]: n for n in client.get("/api/notices").get_json()["notices"]}
    assert listed[pid]["open"] and listed[pid]["days_left"] == 30
    assert "剩余 30 天，含今天" in client.get(f"/notices/{pid}").get_data(as_text=True)
    # the second action: a member of the public leaves an opinion, which is taken
    sent = client.post(
        f"/api/notices/{pid}/opinions",
        json={"body": "赞成这个名称，培训演示。", "author": "员村居民"},
        headers=csrf_headers(client),
    )
    assert sent.status_code == 201, sent.get_json()


def test_a_notice_published_ahead_of_its_start_is_upcoming_not_ended(store, tmp_path):
    """Published today for a period that starts in a week: the public reads it as not yet
    started, not as ended (user test, 2026-12-01: 已结束，待审批 next to 公示中)."""
    client = make_app(store, tmp_path).test_client()
    start = registry.civil_date(registry.utcnow()) + dt.timedelta(days=7)
    pid = _published(client, "待公示路", start)
    listed = {n["id"]: n for n in client.get("/api/notices").get_json()["notices"]}
    assert listed[pid]["upcoming"] and not listed[pid]["open"]
    assert listed[pid]["outcome_zh"] == f"即将公示（{start.isoformat()} 开始）"
    assert listed[pid]["days_left"] == 30  # the whole period is still to run
    page = client.get(f"/notices/{pid}").get_data(as_text=True)
    assert "尚未开始，共 30 天" in page and "已结束" not in page
    assert "（尚未开始，共 30 天）" in client.get("/notices").get_data(as_text=True)
    # staff read it as the public does: not yet 公示中
    login(client, "wang", "officer")
    assert "即将公示" in client.get("/officer/").get_data(as_text=True)
    logout(client)
    # the one notice as JSON says the same as the list
    one = client.get(f"/api/notices/{pid}")
    assert one.status_code == 200 and one.get_json()["days_left"] == 30
    assert one.get_json()["outcome_zh"] == listed[pid]["outcome_zh"]
    # the second action: an opinion sent now is refused, saying when it can be sent
    early = client.post(
        f"/api/notices/{pid}/opinions",
        json={"body": "赞成这个名称，提前提交。"},
        headers=csrf_headers(client),
    )
    assert early.status_code == 409 and "尚未开始" in early.get_json()["error"]["message"]
