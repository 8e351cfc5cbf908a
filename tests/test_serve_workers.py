"""`gdgis serve` with several worker processes on one store: every worker answers the same
after a change made by another process, within a second, and the rate limit holds for the
server as a whole."""

from __future__ import annotations

import datetime as dt
import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from registry_helpers import LUHU, name_place

from gazetteer import changes
from gazetteer.build_base import BUILT_BY
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.tables import divisions
from webmap import gunicorn_conf

OFFICER = Actor("officer1", frozenset({"officer", "approver"}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[int, dict]:
    """One request on a fresh connection (so gunicorn may hand it to any worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def search_ids(port: int, q: str) -> list[int]:
    status, body = get(port, "/api/search?" + urllib.parse.urlencode({"q": q}))
    assert status == 200, body
    return [h["id"] for h in body["results"]]


@pytest.fixture
def server(store, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "GDGIS_SECRET_KEY": "test-secret-key",
        "GDGIS_RATE_LIMIT_PER_MINUTE": "40",
        # Where gunicorn would put its per-user control socket (tests below look there).
        "HOME": str(tmp_path / "home"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")  # not a pipe: the access log must never block the server
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "webmap.cli",
            "--data-dir",
            str(tmp_path),
            "--database-url",
            store.url,
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while True:
        try:
            if get(port, "/api/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            log.close()
            output = log_path.read_text(errors="replace")
            pytest.fail(f"gdgis serve did not start:\n{output[-3000:]}")
        time.sleep(0.3)
    # The first worker up answers the health check; the second may still be starting (on a
    # busy machine, seconds later). Tests below count on both.
    while len(server_processes(port)[1]) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    try:
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_every_worker_answers_the_same_after_a_change_in_another_process(server, store):
    port = server
    assert search_ids(port, "番禺区")[0] == search_ids(port, "番禺区")[0]
    writer = Store(store.url)  # another process's view: nothing in the server is told
    try:
        now = dt.datetime.now(dt.UTC)
        named = name_place(writer, LUHU, OFFICER, now)
        committed = time.monotonic()
    finally:
        writer.dispose()
    # Each worker polls the change log at most every 0.5 s in its next request: by 1 s after
    # the commit every worker has it, whichever one a request reaches.
    time.sleep(max(0.0, committed + 1.0 - time.monotonic()))
    answers = [search_ids(port, "鹭湖新村")[:1] for _ in range(12)]
    assert answers == [[named]] * 12


def server_processes(port: int) -> tuple[int, list[int]]:
    """(master pid, worker pids) of the ``gdgis serve`` on ``port`` (the workers are forks
    of the master and share its command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if b"serve" in argv and str(port).encode() in argv:
                found.append((int(entry.name), int(stat[1])))
    pids = {pid for pid, _ in found}
    masters = [pid for pid, parent in found if parent not in pids]
    assert len(masters) == 1, found
    return masters[0], sorted(pid for pid, parent in found if parent == masters[0])


def mapped_bases(pid: int) -> set[str]:
    """The index base directories a process has mapped."""
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {
        line.split()[-1].split("/search/")[0]
        for line in lines
        if ".sqlite.index/" in line and "/search/" in line
    }


def test_both_workers_take_the_new_base_after_a_division_change_without_requests(server, store):
    """A division change by another process needs a full rebuild: one child process of a
    worker writes the new base (never a serving process itself), and every worker maps it
    with no request sent to it; both then answer with the new division name."""
    if store.dialect != "sqlite":
        pytest.skip("index files are for SQLite stores; PostgreSQL searches in the database")
    port = server
    master, workers = server_processes(port)
    assert len(workers) == 2
    old = set().union(*(mapped_bases(pid) for pid in workers))
    assert len(old) == 1  # both map the base the master built before forking
    writer = Store(store.url)
    try:
        with writer.write(actor="system:test") as conn:
            conn.execute(
                divisions.update().where(divisions.c.code == "440113").values(name="番禺新区")
            )
            changes.places_changed(conn)
    finally:
        writer.dispose()
    deadline = time.monotonic() + 180
    while any(
        mapped_bases(pid) != mapped_bases(workers[0]) or mapped_bases(pid) & old for pid in workers
    ):
        assert time.monotonic() < deadline, [mapped_bases(pid) for pid in workers]
        time.sleep(0.5)
    (new,) = mapped_bases(workers[0])
    built_by = json.loads((Path(new) / BUILT_BY).read_text())
    assert built_by["pid"] not in [master, *workers] and built_by["parent_pid"] in workers
    if hasattr(os, "sched_getaffinity"):
        # Its parent keeps to one core; the build may use every core the server may.
        assert built_by["cores"] == len(os.sched_getaffinity(master))
    chains = []
    for _ in range(12):  # fresh connections: whichever worker takes each
        status, body = get(port, "/api/search?" + urllib.parse.urlencode({"q": "番禺区"}))
        chains.append(body["results"][0]["division_chain"])
    assert chains == [["广东省", "广州市", "番禺新区"]] * 12


def test_the_rate_limit_holds_across_workers(server):
    port = server
    statuses = []
    started = time.monotonic()
    for _ in range(90):
        statuses.append(get(port, "/api/divisions/440000")[0])
        time.sleep(0.02)
    elapsed_s = time.monotonic() - started
    allowed = statuses.count(200)
    # 40 per minute for this client over the whole server, plus the refill during the run,
    # give or take what the other worker let through in its last unsynced second — not 40
    # per worker (80).
    per_second = len(statuses) / elapsed_s
    assert 40 <= allowed <= 40 + elapsed_s * 40 / 60 + per_second + 1, (allowed, elapsed_s)
    assert allowed < 80
    # The second action, once the workers have exchanged what they let through (every
    # second): the client gets only what refilled meanwhile, whichever worker answers. (The
    # burst's own last requests may still meet the other worker's unsynced allowance, so
    # they are not what is asked.)
    time.sleep(1.5)
    again = [get(port, "/api/divisions/440000")[0] for _ in range(12)]
    assert again.count(429) >= 9, again


def raw_get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def test_an_over_long_query_gets_the_apps_json_error_not_gunicorns_414(server):
    """5,000 characters typed into the search box (45 KB percent-encoded in Chinese): the
    app answers 400 in its JSON error shape naming the limit, through real gunicorn; the
    page answers its own error page. A request line past 1 MB is still refused by gunicorn.
    After the refusal, a normal search works on the same server."""
    port = server
    for q in ("天" * 5000, "a" * 5000, "广州" * 60):
        for api in ("/api/search", "/api/suggest"):
            status, ctype, body = raw_get(port, f"{api}?" + urllib.parse.urlencode({"q": q}))
            assert status == 400 and ctype.startswith("application/json"), (api, status, body[:200])
            error = json.loads(body)["error"]
            assert error["code"] == "invalid_input" and "最多 100 个" in error["message"]
    status, ctype, body = raw_get(port, "/search?" + urllib.parse.urlencode({"q": "天" * 5000}))
    assert status == 400 and ctype.startswith("text/html")
    assert "最多 100 个" in body.decode()
    status, _, _ = raw_get(port, "/api/search?q=" + "a" * (1024 * 1024 + 10))
    assert status in (400, 414)
    assert search_ids(port, "番禺区")


def test_the_server_opens_no_control_socket_another_would_replace(server, tmp_path):
    """gunicorn 25.1+ opens one control socket per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
    ~/.gunicorn/gunicorn.ctl), so a second ``gdgis serve`` on the host would take the
    first's: the server opens none, and the settings say so to any gunicorn that has one."""
    from gunicorn.config import Config

    assert get(server, "/api/health")[0] == 200
    made = [p for d in ("home", "run") for p in (tmp_path / d).rglob("*")]
    assert made == []
    assert "Control socket" not in (tmp_path / "serve.log").read_text(errors="replace")
    cfg = Config()
    gunicorn_conf.apply_to(cfg)
    assert cfg.control_socket_disable is True and cfg.limit_request_line == 0


def test_a_worker_freezes_what_it_made_to_start():
    """After its start a worker moves the objects it made (the app, pypinyin's dictionaries)
    out of the collector's reach: full collections then skip them instead of pausing a
    request for 50-60 ms (docs/benchmarks.md, national scale)."""

    class Worker:
        wsgi = object()  # no app context: only the freeze is exercised

    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        gunicorn_conf.post_worker_init(Worker())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


class _Arbiter:
    """What gunicorn's master hands its hooks: the live workers by pid, each with its age
    (the order they were started in), and the number of workers asked for."""

    def __init__(self, num_workers: int):
        self.num_workers, self.WORKERS, self.age = num_workers, {}, 0

    def spawn(self, pid: int):
        self.age += 1
        worker = type("Worker", (), {"pid": pid, "age": self.age})()
        gunicorn_conf.pre_fork(self, worker)
        self.WORKERS[pid] = worker
        return worker

    def set_workers(self, n: int) -> None:  # kill -TTIN / -TTOU
        old, self.num_workers = self.num_workers, n
        gunicorn_conf.nworkers_changed(self, n, old)

    def cores(self) -> dict[int, int | None]:
        return {pid: w.core for pid, w in self.WORKERS.items()}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning needs Linux")
def test_each_worker_gets_a_core_of_its_own_and_a_replacement_the_core_left(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})
    monkeypatch.delenv("GDGIS_PIN_WORKERS", raising=False)
    master = _Arbiter(3)
    assert [master.spawn(pid).core for pid in (11, 12, 13)] == [0, 2, 5]
    del master.WORKERS[12]  # the worker on core 2 died: its replacement takes core 2
    assert master.spawn(14).core == 2
    # More workers than cores: the kernel spreads them (pinning two to one core would
    # halve each); and the setting turns pinning off.
    assert _Arbiter(4).spawn(21).core is None
    monkeypatch.setenv("GDGIS_PIN_WORKERS", "false")
    assert _Arbiter(2).spawn(31).core is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning needs Linux")
def test_pinning_survives_a_reload_and_follows_the_number_of_workers(monkeypatch):
    """kill -HUP starts the new workers before gunicorn stops the old ones (oldest first):
    each new worker takes the core of an old one, so that once the old ones are gone the
    new ones are on a core each. kill -TTIN past the cores unpins the live workers; -TTOU
    back pins the ones that stay, each on its own core."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    moved: dict[int, set[int]] = {}
    monkeypatch.setattr(os, "sched_setaffinity", lambda tid, cores: moved.update({tid: cores}))
    # Each worker's threads: its main thread (tid = pid) and one serving requests.
    listdir = os.listdir
    monkeypatch.setattr(
        os,
        "listdir",
        lambda path: (
            [path.split("/")[2], f"{path.split('/')[2]}0"]
            if str(path).startswith("/proc/")
            else listdir(path)
        ),
    )
    monkeypatch.delenv("GDGIS_PIN_WORKERS", raising=False)
    master = _Arbiter(2)
    master.spawn(1), master.spawn(2)
    assert master.cores() == {1: 0, 2: 1}
    master.spawn(3), master.spawn(4)  # a reload: two new workers beside the two old ones
    for old in (1, 2):
        del master.WORKERS[old]
    assert master.cores() == {3: 0, 4: 1}
    master.set_workers(3)  # kill -TTIN: three workers on two cores, none pinned
    assert master.spawn(5).core is None
    assert master.cores() == {3: None, 4: None, 5: None}
    # Every thread of each worker, not only its main one.
    assert moved == {3: {0, 1}, 30: {0, 1}, 4: {0, 1}, 40: {0, 1}}
    master.set_workers(2)  # kill -TTOU: gunicorn stops the oldest (3); 4 and 5 stay
    assert {master.WORKERS[4].core, master.WORKERS[5].core} == {0, 1}
    for pid in (4, 5):
        core = {master.WORKERS[pid].core}
        assert moved[pid] == core and moved[pid * 10] == core


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="pinning needs Linux")
def test_the_served_workers_each_keep_to_their_own_core_when_there_are_enough(server):
    """The two workers of ``gdgis serve --workers 2``: each on one core, not the same one,
    where the machine has two or more; where it has one, neither is pinned."""
    assert get(server, "/api/health")[0] == 200
    master, workers = server_processes(server)
    allowed = os.sched_getaffinity(0)
    assert os.sched_getaffinity(master) == allowed  # the master keeps every core
    assert len(workers) == 2
    workers = [os.sched_getaffinity(pid) for pid in workers]
    if len(allowed) >= 2:
        assert all(len(a) == 1 for a in workers) and workers[0] != workers[1]
    else:
        assert workers == [allowed, allowed]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="pinning needs Linux")
def test_the_benchmark_client_keeps_off_the_core_of_the_worker_that_answers(server):
    """benchmarks/bench_workers.py's ``client_cores``: for each keep-alive connection, the
    cores but the one its worker is pinned to. The client would otherwise take that core
    as each answer reaches it and count its own work in the worker's access-log time.
    With one core (workers not pinned) there is nothing to keep off."""
    from benchmarks.bench_workers import client_cores

    _, workers = server_processes(server)
    everywhere = os.sched_getaffinity(0)
    conns = [http.client.HTTPConnection("127.0.0.1", server, timeout=30) for _ in range(4)]
    try:
        for conn in conns:
            conn.request("GET", "/api/health")
            assert conn.getresponse().read()
        cores = client_cores(server, conns, workers, everywhere)
    finally:
        for conn in conns:
            conn.close()
    if len(everywhere) < 2:
        assert cores == [None] * 4
        return
    worker_cores = [os.sched_getaffinity(pid) for pid in workers]
    for allowed in cores:
        assert allowed and allowed < everywhere
        assert everywhere - allowed in worker_cores  # exactly one worker's core left out
