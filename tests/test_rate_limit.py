"""Rate limits: public requests per client address, sign-in attempts; 429 with Retry-After."""

from __future__ import annotations

import time

import pytest
from helpers import TEST_PASSWORD, ensure_user, login, token_headers

from gazetteer.core.ratelimit import SharedTokenBucket, TokenBucket, stop_scheduled_syncs
from gazetteer.core.store import Store
from webmap.security import LOGIN_ATTEMPTS_PER_MINUTE


@pytest.fixture
def limited_app(store, tmp_path):
    from webmap import create_app

    return create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "RATE_LIMIT_PER_MINUTE": 5}, store=store
    )


def test_public_requests_past_the_limit_get_429_with_retry_after(limited_app):
    client = limited_app.test_client()
    statuses = [client.get("/api/divisions/440000").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    r = client.get("/api/divisions/440000")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"]["code"] == "rate_limited" and r.get_json()["error"]["message"]
    # Another address has its own bucket; static files are not counted.
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.get("/api/divisions/440000").status_code == 200
    with client.get("/static/app.css") as static:
        assert static.status_code == 200


def test_signed_in_staff_and_tokens_are_not_limited(limited_app):
    client = limited_app.test_client()
    login(client, "wang", "officer")
    assert {client.get("/api/divisions/440000").status_code for _ in range(8)} == {200}


def test_sign_in_attempts_are_limited(store, tmp_path):
    from webmap import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=store)
    client = app.test_client()
    ensure_user(store, "wang", "officer")
    token = client.get("/auth/csrf-token").get_json()["csrf_token"]
    statuses = [
        client.post(
            "/auth/login",
            data={"username": "wang", "password": f"guess number {i}", "csrf_token": token},
        ).status_code
        for i in range(LOGIN_ATTEMPTS_PER_MINUTE + 1)
    ]
    assert statuses == [401] * LOGIN_ATTEMPTS_PER_MINUTE + [429]
    # Even the right password waits: the guesser must not learn it by trying.
    right = client.post(
        "/auth/login", data={"username": "wang", "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert right.status_code == 429


def test_token_bucket_refills_at_the_configured_rate():
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])  # one token per second, 60 saved up
    assert all(bucket.take("a") == 0.0 for _ in range(60))
    assert bucket.take("a") == pytest.approx(1.0)
    now[0] += 0.5
    assert bucket.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take("a") == 0.0
    now[0] += 3600
    assert all(bucket.take("a") == 0.0 for _ in range(60))


def test_idle_buckets_are_forgotten():
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0], max_keys=10)
    for i in range(10):
        bucket.take(f"10.0.0.{i}")
    now[0] += 120
    bucket.take("10.0.1.1")
    assert len(bucket._buckets) <= 2


def test_the_public_limit_holds_across_workers(store, tmp_path):
    """Two workers (two apps, each with its own store object, as two processes have): what a
    client spent at one is taken from its bucket at the other."""
    from webmap import create_app

    config = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "RATE_LIMIT_PER_MINUTE": 6}
    other_store = Store(store.url)
    try:
        first = create_app(config, store=store)
        second = create_app(config, store=other_store)
        a, b = first.test_client(), second.test_client()
        assert [a.get("/api/divisions/440000").status_code for _ in range(4)] == [200] * 4
        first.extensions["gdgis.rate_limits"]["public"].sync()  # as its next second would
        statuses = [b.get("/api/divisions/440000").status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]  # 6 in total, not 6 per worker
        # Another client is not affected by the first one's spending.
        b.environ_base["REMOTE_ADDR"] = "192.0.2.9"
        assert b.get("/api/divisions/440000").status_code == 200
    finally:
        other_store.dispose()


def test_shared_buckets_refill_and_forget(store):
    now = [1_000_000.0]
    one = SharedTokenBucket(store, "t", 60, clock=lambda: now[0])
    two = SharedTokenBucket(store, "t", 60, clock=lambda: now[0])
    assert all(one.take("x") == 0.0 for _ in range(40))
    one.sync()
    two.sync()
    assert sum(two.take("x") == 0.0 for _ in range(30)) == 20  # 60 - 40 spent at `one`
    now[0] += 10  # ten tokens back at one per second
    two.sync()
    assert sum(two.take("x") == 0.0 for _ in range(30)) == 10
    two.sync()
    one.sync()
    assert one.take("x") > 0  # `one` learnt of `two`'s spending too
    # A refilled bucket leaves the store; nothing is taken twice by syncing again.
    now[0] += 60
    two.sync()
    one.sync()
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM rate_limit_buckets").scalar() == 0
    assert sum(two.take("x") == 0.0 for _ in range(70)) == 60


def test_workers_syncing_many_clients_at_once_never_fail_a_request(store):
    """Two workers (each its own Store, as two processes) sync many new clients at the same
    moments, one in the opposite order of the other: no deadlock or duplicate key reaches
    a request (on PostgreSQL the syncs took turns badly and public requests answered 500),
    and every request let through is counted once."""
    import threading

    other = Store(store.url)
    # A stopped clock: the test checks the counting, not the refill (on a slow machine the
    # first clients' buckets refilled completely before the test's last sync).
    buckets = [
        SharedTokenBucket(s, "burst", 600, clock=lambda: 1_000_000.0) for s in (store, other)
    ]
    clients = [f"198.51.100.{i}" for i in range(120)]
    errors, start = [], threading.Barrier(2)

    def worker(bucket: SharedTokenBucket, order: list[str]) -> None:
        try:
            start.wait()
            for _ in range(8):
                for client in order:
                    bucket.take(client)
                bucket.sync()
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    try:
        threads = [
            threading.Thread(target=worker, args=(buckets[0], clients)),
            threading.Thread(target=worker, args=(buckets[1], clients[::-1])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert errors == []
        for bucket in buckets:
            bucket.sync()
        with store.read() as conn:
            spent = {
                client: 600 - tokens
                for client, tokens in conn.exec_driver_sql(
                    "SELECT client, tokens FROM rate_limit_buckets WHERE bucket = 'burst'"
                )
            }
        # 16 requests per client in all (8 at each worker), each counted once.
        assert spent == dict.fromkeys(clients, 16)
    finally:
        other.dispose()


# ---- issue 13, finding 6: a bearer header is no way around the limit -----------------------


def test_an_invalid_token_is_anonymous_and_never_skips_the_public_limit(limited_app):
    client = limited_app.test_client()
    junk = {"Authorization": "Bearer junk"}
    statuses = [client.get("/api/divisions/440000", headers=junk).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert client.get("/api/divisions/440000").status_code == 429  # the same bucket
    # Where the view asks who is calling, the invalid token is a 401.
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    r = other.get("/api/proposals", headers=junk)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"


def test_token_requests_count_per_account(store, tmp_path):
    from webmap import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "TOKEN_RATE_LIMIT_PER_MINUTE": 4},
        store=store,
    )
    first, second = token_headers(store, "li", "clerk"), token_headers(store, "li", "clerk")
    other = token_headers(store, "zhao", "clerk")
    a, b = app.test_client(), app.test_client()
    b.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    # Two tokens of one account from two addresses share one bucket of 4.
    statuses = [
        (a if i % 2 else b).get("/api/divisions/440000", headers=first if i % 2 else second)
        for i in range(5)
    ]
    assert [s.status_code for s in statuses] == [200] * 4 + [429]
    assert statuses[-1].headers["Retry-After"]
    # Another account has its own.
    assert a.get("/api/divisions/440000", headers=other).status_code == 200


def test_a_full_window_after_a_burst_gives_the_full_allowance_again(store, tmp_path):
    """A burst past the limit (answered within one sync second, so nothing of it reached
    the store yet), then a wait of a full window: the next burst, on a new connection, gets
    the whole allowance again. The spending is charged when it happened, not when the
    worker next syncs, and the refused requests drained nothing."""
    from webmap import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "RATE_LIMIT_PER_MINUTE": 6}, store=store
    )
    now = [1_000_000.0]
    app.extensions["gdgis.rate_limits"]["public"].clock = lambda: now[0]

    def burst() -> list[int]:
        client = app.test_client()  # a new connection, the same address
        return [client.get("/api/health").status_code for _ in range(20)]

    assert burst() == [200] * 6 + [429] * 14
    now[0] += 61  # a window (6 tokens at 0.1 per second) and a second
    assert burst() == [200] * 6 + [429] * 14
    now[0] += 30  # half a window: half the allowance, whatever was refused meanwhile
    assert burst() == [200] * 3 + [429] * 17


def test_spending_is_charged_when_it_happened_not_at_the_next_sync(store):
    now = [1_000_000.0]
    one = SharedTokenBucket(store, "t", 60, clock=lambda: now[0])
    two = SharedTokenBucket(store, "t", 60, clock=lambda: now[0])
    one.sync()
    assert sum(one.take("x") == 0.0 for _ in range(70)) == 60  # all let through unsynced
    now[0] += 30  # idle: half refilled
    one.sync()
    two.sync()
    assert sum(two.take("x") == 0.0 for _ in range(60)) == 30
    now[0] += 60
    one.sync()
    assert sum(one.take("x") == 0.0 for _ in range(70)) == 60


def test_a_due_sync_never_holds_up_the_request_that_starts_it(store):
    """The once-a-second sync writes to the store, and another process's write can hold the
    store meanwhile (SQLite lets one writer in at a time): the request that finds the sync
    due is decided at once, and the sync lands once the other writer is done."""
    now = [1_000_000.0]
    bucket = SharedTokenBucket(store, "held", 60, clock=lambda: now[0])
    # The process's first request syncs in it; these 20 wait for the next sync.
    assert [bucket.take("x") for _ in range(20)] == [0.0] * 20
    other = Store(store.url)
    holder = other.engine.connect()
    try:
        if store.dialect == "sqlite":  # the write lock, as a writer holds it (BEGIN IMMEDIATE)
            holder = holder.execution_options(sqlite_immediate=True)
            holder.begin()
        else:  # what a sync of this bucket waits for (SharedTokenBucket._exchange)
            holder.exec_driver_sql("SELECT pg_advisory_lock(hashtext('gdgis.rate_limit.held'))")
        now[0] += 2  # a sync is due
        started = time.monotonic()
        assert [bucket.take("x") for _ in range(3)] == [0.0] * 3
        assert time.monotonic() - started < 0.5  # not the seconds the writer holds on
        time.sleep(0.3)
        with store.read() as conn:  # the sync is still waiting for the writer
            assert conn.exec_driver_sql("SELECT count(*) FROM rate_limit_buckets").scalar() == 0
    finally:
        if store.dialect != "sqlite":
            holder.exec_driver_sql("SELECT pg_advisory_unlock_all()")
        holder.rollback()
        holder.close()
        other.dispose()
    # Once the writer is done, the sync lands: the 20 requests, and those of the 3 let
    # through before it started, are in the shared bucket, refilled 2 s.
    deadline = time.monotonic() + 10
    while True:
        with store.read() as conn:
            row = conn.exec_driver_sql(
                "SELECT tokens FROM rate_limit_buckets WHERE bucket = 'held' AND client = 'x'"
            ).first()
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert row is not None and 60 - 23 + 2 <= row.tokens <= 60 - 20 + 2


def test_what_a_worker_let_through_reaches_the_others_without_another_request(store):
    """A client's burst answered by one worker, then nothing more to that worker: the other
    workers learn of it within the sync interval, not at that worker's next request
    (which may never come), so a request at another worker is refused at once."""
    other = Store(store.url)
    try:
        one = SharedTokenBucket(store, "burst", 30, sync_s=0.2)
        two = SharedTokenBucket(other, "burst", 30, sync_s=0.2)
        assert [one.take("x") for _ in range(30)] == [0.0] * 30
        time.sleep(1.0)  # no request reaches `one`; its scheduled sync runs
        wait_s = two.take("x")  # `two`'s first request: it reads the shared buckets
        assert wait_s > 0  # not a fresh allowance of 30
    finally:
        stop_scheduled_syncs()
        other.dispose()


def test_a_burst_several_workers_let_through_costs_at_most_a_window(store):
    """Two workers each let a client's whole allowance through within one sync interval
    (neither knew of the other's): the client then waits as if it had spent its allowance
    once, refilled from when it spent it; never more than a window, whichever worker syncs
    last and however late."""
    now = [1_000_000.0]
    one = SharedTokenBucket(store, "t", 30, clock=lambda: now[0])  # one token every 2 s
    two = SharedTokenBucket(store, "t", 30, clock=lambda: now[0])
    one.sync(), two.sync()
    assert sum(one.take("x") == 0.0 for _ in range(40)) == 30
    assert sum(two.take("x") == 0.0 for _ in range(40)) == 30  # 60 let through in all
    now[0] += 1
    one.sync()
    now[0] += 19  # `two` learns of nothing and tells nothing for 20 s
    two.sync()
    one.sync()
    # 20 s after the burst: 10 tokens back at one every 2 s, at either worker.
    assert sum(one.take("x") == 0.0 for _ in range(40)) in (9, 10)
    now[0] += 60  # a full window after that
    one.sync(), two.sync()
    assert sum(two.take("x") == 0.0 for _ in range(40)) == 30


def test_after_a_burst_over_two_workers_the_first_token_is_back_when_retry_after_said(store):
    """Both workers refuse with Retry-After 2 s (one token every 2 s at 30 a minute); once
    they have synced, the first token is back 2 s after the burst, at either worker, not
    a sync interval later."""
    now = [1_000_000.0]
    one = SharedTokenBucket(store, "t", 30, clock=lambda: now[0])
    two = SharedTokenBucket(store, "t", 30, clock=lambda: now[0])
    one.sync(), two.sync()
    assert sum(one.take("x") == 0.0 for _ in range(31)) == 30
    assert sum(two.take("x") == 0.0 for _ in range(31)) == 30
    assert one.take("x") == pytest.approx(2.0) and two.take("x") == pytest.approx(2.0)
    now[0] += 1.0
    one.sync(), two.sync(), one.sync()
    now[0] += 0.9
    assert one.take("x") > 0 and two.take("x") > 0
    now[0] += 0.15  # 2.05 s after the burst
    assert one.take("x") == 0.0
