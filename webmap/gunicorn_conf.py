"""gunicorn settings for the app: ``gunicorn -c python:webmap.gunicorn_conf 'webmap:create_app()'``.

Each worker builds or maps its lookup indexes (search, reverse lookup, nearest places: a
few seconds for Guangdong; on a SQLite store file the search and nearest bases are mapped
from shared index files, docs/lookup.md) right after it starts, before it takes requests,
so the first public requests to a new worker do not wait behind the build.
"""

import gc
import logging
import os

worker_class = "gthread"
keepalive = 30
# gunicorn's access line, with the time the worker took last (``%(D)s``, microseconds: from
# the request read to the answer sent): what a request cost the server, apart from the
# network and the client (benchmarks/bench_workers.py reads it).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus'
# The app answers an over-long query itself (a search of 5,000 characters is a 400 in the
# JSON error shape naming the limit, gazetteer.search.MAX_QUERY_CHARS), so gunicorn must
# let the request line through: its default (4,094 bytes) and highest finite setting
# (8,190) answer an HTML 414 instead, and one Chinese character is 9 bytes
# percent-encoded. 0 is gunicorn's "no line limit", which gunicorn 27 (checked) still
# caps at 1 MB, refused beyond that; tests/test_serve_workers.py checks both sides.
limit_request_line = 0
# gunicorn 25.1+ opens a control socket for ``gunicornc``, by default at one path per user
# ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl): a second server on the same host replaces
# the first's socket. Nothing here uses it; servers are managed by signals (systemd, TERM).
control_socket_disable = True


def apply_to(cfg) -> None:
    """Set the settings above on a gunicorn ``Config`` (``gdgis serve``) as ``gunicorn -c
    python:webmap.gunicorn_conf`` reads them: each name of this module that the installed
    gunicorn has as a setting (an older gunicorn has no control socket to disable)."""
    for name, value in globals().items():
        if name in cfg.settings:
            cfg.set(name, value)


def log_lookup_events() -> None:
    """Let the lookup service's INFO lines (a full rebuild started, a base built by which
    process, the swap) into the server's log, each with the worker's pid."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(process)d] %(name)s: %(message)s"))
    events = logging.getLogger("gazetteer.lookup")
    events.addHandler(handler)
    events.setLevel(logging.INFO)


def pre_fork(server, worker) -> None:
    """In the master, before a worker starts: choose the CPU core it will keep (setting
    ``PIN_WORKERS``): the core the fewest live workers hold and, of those, the one whose
    holder is oldest. A worker started in place of one that died takes the core that one
    left; on a reload (``kill -HUP``) gunicorn starts the new workers before it stops the
    old ones, oldest first, and each new worker takes the core of an old one that is
    going. No core when pinning is off, the platform cannot pin, or there are more
    workers than cores (then the kernel spreads them)."""
    worker.core = None
    cores = _cores_to_pin(server.num_workers)
    if cores:
        ages: dict[int, list[int]] = {core: [] for core in cores}
        for live in server.WORKERS.values():
            if getattr(live, "core", None) in ages:
                ages[live.core].append(live.age)
        worker.core = min(cores, key=lambda core: (len(ages[core]), min(ages[core], default=0)))


def nworkers_changed(server, new_value: int, old_value: int | None) -> None:
    """In the master, when the number of workers changes (``kill -TTIN``/``-TTOU``): more
    workers than cores unpins the live ones; back to as many as the cores, the workers that
    stay (gunicorn stops the oldest) each get a core of their own again."""
    if old_value is None or new_value == old_value or not hasattr(os, "sched_setaffinity"):
        return
    cores = _cores_to_pin(new_value)
    live = sorted(server.WORKERS.values(), key=lambda w: w.age, reverse=True)
    staying = live[:new_value] if cores else live
    held = {getattr(w, "core", None) for w in staying}
    free = [c for c in cores if c not in held]
    every = os.sched_getaffinity(0)
    for worker in staying:
        core = getattr(worker, "core", None)
        if cores and core in cores:
            continue
        core = free.pop(0) if cores else None
        _keep_threads_to(worker.pid, {core} if core is not None else every)
        worker.core = core


def _keep_threads_to(pid: int, cores: set[int]) -> None:
    """Set the cores of every thread of process ``pid``: a process's affinity is each
    thread's own (setting the pid's moves its main thread only, and the threads serving
    requests would stay where they were). A thread started later inherits its starter's."""
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:  # it has just exited
        return
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:  # that thread has just ended
            continue


def post_fork(server, worker) -> None:
    """In the new worker: keep it on its core. A search reads the same index pages and
    Python objects on every request; on its own core a worker finds them still in that
    core's caches, where moved between cores (or sharing one with another worker) it reads
    them again from memory (docs/benchmarks.md: a third off the median search)."""
    if getattr(worker, "core", None) is not None:
        os.sched_setaffinity(0, {worker.core})


def _cores_to_pin(workers: int) -> list[int]:
    """The cores this server may use, one for each of ``workers``; none when it should not
    pin (see :func:`pre_fork`)."""
    from gazetteer.core.settings import SettingsError, load_settings

    if not hasattr(os, "sched_setaffinity"):
        return []
    try:
        if not load_settings()["PIN_WORKERS"]:
            return []
    except SettingsError:  # each worker's app refuses to start, naming the setting
        return []
    cores = sorted(os.sched_getaffinity(0))
    return cores if workers <= len(cores) else []


def post_worker_init(worker):
    app = worker.wsgi
    if callable(getattr(app, "app_context", None)):
        from webmap.context import lookup

        with app.app_context():
            lookup().warm()
            # A worker with no requests still follows other processes' changes and starts
            # the rebuild a division change asks for (docs/lookup.md).
            lookup().follow()
    # What the worker made to start lives as long as it does, and what it inherited was
    # frozen by the master before the fork (webmap/cli.py serve): frozen too, the collector
    # stops walking either on every full collection (a 50-60 ms pause in whichever request
    # triggered one, pypinyin's dictionaries being millions of lists). No collection here:
    # it would write to every inherited object and copy its page into this worker.
    gc.freeze()
