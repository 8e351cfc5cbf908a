"""Index files shared by the processes that serve one SQLite store (gazetteer.index_files):
the base is built once per data version and memory-mapped by every process; a second
process maps it instead of building; changes after it are applied on top in each process;
a full rebuild writes one new base that the other processes adopt."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_helpers import LUHU, name_place, rename_place

from gazetteer import changes
from gazetteer.build_base import BUILT_BY
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.index_files import IndexFiles
from gazetteer.lookup import LookupService
from gazetteer.tables import divisions, places

OFFICER = Actor("officer1", frozenset({"officer", "approver"}))
NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
QUERIES = ["番禺区", "panyu", "廣州天河", "番禹区", "鹭湖新村"]

# Run in another process: map the store's indexes, say what was mapped and built, answer.
OTHER_PROCESS = """
import json, sys
from gazetteer.core.store import Store
from gazetteer.lookup import LookupService
store = Store(sys.argv[1])
service = LookupService(store)
service.warm()
maps = open(f"/proc/{__import__('os').getpid()}/maps").read()
base = service.stats()["base"]
print(json.dumps({
    "stats": service.stats(),
    "mapped": sorted({line.split()[-1] for line in maps.splitlines() if base in line}),
    "answers": {q: [h["id"] for h in service.search(q, limit=5)] for q in sys.argv[2:]},
}))
"""


@pytest.fixture(autouse=True)
def _sqlite_store_only(request):
    """Index files sit beside a SQLite store file; on PostgreSQL the database answers
    search (tests/test_search_postgres.py), so these tests have nothing to look at."""
    if "store" in request.fixturenames and request.getfixturevalue("store").dialect != "sqlite":
        pytest.skip("index files are for SQLite stores; PostgreSQL searches in the database")


def answers(service: LookupService) -> dict[str, list]:
    return {q: [h["id"] for h in service.search(q, limit=5)] for q in QUERIES}


@pytest.fixture
def two_services(store):
    """Two lookup services on one store file, each with its own Store (as two workers)."""
    other = Store(store.url)
    first, second = LookupService(store, poll_s=0), LookupService(other, poll_s=0)
    yield first, second
    other.dispose()


def test_a_second_service_maps_the_base_the_first_built(store, two_services):
    first, second = two_services
    first.warm()
    second.warm()
    a, b = first.stats(), second.stats()
    assert (a["bases_written"], b["bases_written"]) == (1, 0)
    assert a["base"] == b["base"] and Path(a["base"]).parent.name.endswith(".sqlite.index")
    assert answers(first) == answers(second)
    assert answers(first)["番禺区"]  # not two empty answers
    # The serving master lets go of the base after building it; asked again, it maps it.
    expected = answers(first)
    first.release_shared_files()
    assert not first.stats()["built"]
    assert answers(first) == expected and first.stats()["bases_written"] == 1


def test_another_process_maps_the_same_files_and_builds_nothing(store, two_services):
    first, _ = two_services
    first.warm()
    base = first.stats()["base"]
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, store.url, *QUERIES],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    other = json.loads(result.stdout.strip().splitlines()[-1])
    assert other["stats"]["bases_written"] == 0 and other["stats"]["base"] == base
    # The other process's memory maps the search arrays from the base directory.
    assert any(path.startswith(f"{base}/search/") for path in other["mapped"])
    assert other["answers"] == {q: ids for q, ids in answers(first).items()}


def test_both_answer_the_same_after_a_change_without_a_rebuild(store, two_services):
    first, second = two_services
    first.warm()
    second.warm()
    named = name_place(store, LUHU, OFFICER, NOW)
    second.catch_up()  # what its next request does after poll_s
    assert answers(first)["鹭湖新村"][:1] == [named]
    assert answers(first) == answers(second)
    for service in (first, second):
        stats = service.stats()
        assert stats["full_builds"] == 1 and stats["overlay_records"] >= 1
    # A process started now maps the same base and applies the change on top.
    third_store = Store(store.url)
    try:
        third = LookupService(third_store)
        third.warm()
        assert third.stats()["bases_written"] == 0 and answers(third) == answers(first)
    finally:
        third_store.dispose()


def test_a_division_renaming_keeps_the_base_and_a_new_process_reads_the_new_name(
    store, two_services
):
    """A renaming is applied on top of the base in each process, and a process started
    after it maps the same base (the log after it holds no reshaped division)."""
    first, second = two_services
    first.warm()
    second.warm()
    base = first.stats()["base"]
    with store.read() as conn:
        old_id = conn.execute(
            sa.select(places.c.id).where(places.c.name == "翠洲社区居民委员会")
        ).scalar_one()
    new_id = rename_place(store, old_id, "翠湾社区居民委员会", OFFICER, NOW)
    second.catch_up()
    third_store = Store(store.url)
    try:
        third = LookupService(third_store)
        third.warm()
        for service in (first, second, third):
            hit = next(h for h in service.search("翠湾社区居民委员会") if h["id"] == new_id)
            assert hit["division_chain"][-1] == "翠湾社区居民委员会", hit
            assert service.stats()["base"] == base and service.stats()["full_builds"] == 1
        assert first.stats()["bases_written"] + second.stats()["bases_written"] == 1
        assert third.stats()["bases_written"] == 0
    finally:
        third_store.dispose()


def test_a_reshaped_division_writes_one_new_base_that_the_other_adopts(store, two_services):
    first, second = two_services
    first.warm()
    second.warm()
    old_base = first.stats()["base"]
    with store.write(actor="system:test") as conn:
        conn.execute(divisions.update().where(divisions.c.code == "440113").values(name="番禺新区"))
        changes.places_changed(conn)
    second.catch_up()
    deadline = time.monotonic() + 120
    # Swapped in by both, and the old base removed by the last to let go of it (just after
    # its swap).
    while {first.stats()["base"], second.stats()["base"]} & {old_base} or Path(old_base).exists():
        assert time.monotonic() < deadline, "the new base was never swapped in and the old removed"
        time.sleep(0.2)
    assert first.stats()["base"] == second.stats()["base"]
    assert (
        first.stats()["bases_written"] + second.stats()["bases_written"] == 2
    )  # the first base, then one new one
    chain = first.search("番禺新区")[0]["division_chain"]
    assert (
        chain == ["广东省", "广州市", "番禺新区"] == second.search("番禺新区")[0]["division_chain"]
    )


def rename_panyu(store: Store) -> None:
    """A division row written without a renaming (as an import writes it): a full rebuild
    for the lookup indexes."""
    with store.write(actor="system:test") as conn:
        conn.execute(divisions.update().where(divisions.c.code == "440113").values(name="番禺新区"))
        changes.places_changed(conn)


def wait_for_new_base(service: LookupService, old_base: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while service.stats()["base"] == old_base or service._rebuilding:
        assert time.monotonic() < deadline, "the rebuilt base was never swapped in"
        time.sleep(0.2)


def anon_rss_mb() -> float:
    """This process's anonymous resident memory (heap, arenas; not mapped files), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_a_rebuild_writes_the_base_in_a_child_and_leaves_the_workers_heap_as_it_was(store):
    """The base a division change needs is written by a short-lived child process (its pid
    is in the base), and the serving process's own memory does not grow by the build:
    two rebuilds in a row leave its anonymous RSS within a small margin of where it was,
    far below the child's peak."""
    service = LookupService(store, poll_s=0)
    service.warm()
    service.search("番禺区")
    first_base = service.stats()["base"]
    first_built_by = json.loads((Path(first_base) / BUILT_BY).read_text())
    assert first_built_by["pid"] != os.getpid() and first_built_by["parent_pid"] == os.getpid()
    before = anon_rss_mb()
    peaks = []
    for name in ("番禺新区", "番禺区"):
        base = service.stats()["base"]
        with store.write(actor="system:test") as conn:
            conn.execute(divisions.update().where(divisions.c.code == "440113").values(name=name))
            changes.places_changed(conn)
        wait_for_new_base(service, base)
        built_by = json.loads((Path(service.stats()["base"]) / BUILT_BY).read_text())
        assert built_by["pid"] != os.getpid() and built_by["parent_pid"] == os.getpid()
        peaks.append(built_by["peak_rss_mb"])
        assert service.search(name)[0]["division_chain"][-1] == name
    grown = anon_rss_mb() - before
    assert grown < min(peaks) / 5, (grown, peaks)


def test_a_request_during_the_rebuild_is_answered_from_the_old_base(client, store):
    """While the new base is being built (here: another process holds the build lock, as a
    worker building it would), searches answer at once from the old base and its overlay;
    once the build ends, the new base is swapped in."""
    service = client.application.extensions["gdgis.lookup"]

    def chain() -> list[str]:
        response = client.get("/api/search", query_string={"q": "番禺区"})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["results"][0]["division_chain"]

    assert chain() == ["广东省", "广州市", "番禺区"]
    old_base = service.stats()["base"]
    lock = os.open(IndexFiles.for_store(store).root / ".build.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a build in progress elsewhere
        rename_panyu(store)
        for _ in range(5):
            started = time.monotonic()
            assert chain() == ["广东省", "广州市", "番禺区"]
            assert time.monotonic() - started < 2.0  # no request waits for the build
            assert service._rebuilding and service.stats()["base"] == old_base
            time.sleep(0.3)
    finally:
        os.close(lock)
    wait_for_new_base(service, old_base)
    assert chain() == ["广东省", "广州市", "番禺新区"]


def test_a_base_of_another_log_is_not_adopted_and_dead_builds_are_cleared(store, tmp_path):
    service = LookupService(store, poll_s=0)
    service.warm()
    files = IndexFiles.for_store(store)
    base = Path(service.stats()["base"])
    # The same position with another log (a store restored from elsewhere): not this one.
    position = int(base.name.split("-")[0])
    foreign = files.root / f"{position + 5:012d}-0123456789abcdef"
    foreign.mkdir()
    (files.root / ".tmp-died-while-building").mkdir()
    with store.write(actor="system:test") as conn:  # a full rebuild is needed
        conn.execute(divisions.update().where(divisions.c.code == "440113").values(name="番禺新区"))
        changes.places_changed(conn)
    deadline = time.monotonic() + 120
    while service.stats()["base"] == str(base):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert service.stats()["bases_written"] == 2  # built, not the foreign one adopted
    assert not (files.root / ".tmp-died-while-building").exists()
    assert service.search("番禺区")[0]["division_chain"] == ["广东省", "广州市", "番禺新区"]


def test_a_base_made_under_other_rule_data_is_not_adopted(store, monkeypatch):
    """A new generic term (or reading, or search code) changes the keys of names already
    indexed: after a restart the saved base is not reused, a new one is built, and search
    follows the new rule data."""
    from gazetteer import index_files, search

    def started() -> LookupService:
        service = LookupService(store, poll_s=0)
        service.warm()
        return service

    first = started()
    old_base = first.stats()["base"]
    again = started()
    assert (again.stats()["base"], again.stats()["bases_written"]) == (old_base, 0)
    # As after a deployment with another generic_terms.csv.
    monkeypatch.setattr(index_files, "keys_fingerprint", lambda with_code: "other-rule-data")
    restarted = started()
    assert restarted.stats()["base"] != old_base
    assert restarted.stats()["bases_written"] == 1
    assert answers(restarted) == answers(first)
    monkeypatch.setattr(index_files, "keys_fingerprint", search.keys_fingerprint)
    assert started().stats()["base"] == old_base


def test_packed_keys_bisect_exactly_as_python_sorts_long_keys_included():
    """The fixed-width head (64 bytes) decides most searches; longer keys and queries are
    settled on the whole key: every range equals bisect over the sorted Python list."""
    import bisect
    import random

    from gazetteer.packed import HEAD_BYTES, SortedKeys

    rng = random.Random(3)
    alphabet = "ab广州"
    keys = sorted(
        "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 5, 21, 22, 30, 70])))
        for _ in range(3000)
    )
    packed = SortedKeys.of(keys)
    assert packed.head.dtype.itemsize == HEAD_BYTES
    probes = [k[:n] for k in rng.sample(keys, 300) for n in (1, 10, 21, 22, 40, 80)]
    probes += ["", "c", "广州" * 40, keys[-1] + "a"]
    for q in probes:
        lo = bisect.bisect_left(keys, q)
        exact = bisect.bisect_right(keys, q, lo)
        hi = bisect.bisect_left(keys, q + "\U0010ffff", exact)
        assert packed.prefix_range(q) == (lo, exact, hi), q
        assert packed.texts(lo, hi) == keys[lo:hi]
    # Many at once (the typo search's term ranges): the same answers, for prefixes shorter
    # and longer than the searched head.
    los, his = packed.ranges_of(probes)
    assert [(int(a), int(b)) for a, b in zip(los, his)] == [packed.range_of(q) for q in probes]


def _mapped_npy(base: str) -> dict[str, tuple[int, int]]:
    """{file: (size kB, resident kB)} of this process's mappings of ``base``'s arrays."""
    mapped: dict[str, tuple[int, int]] = {}
    path, size = None, 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].endswith(":"):  # a mapping's first line
            name = fields[5] if len(fields) >= 6 else ""
            path = name if name.startswith(base) and name.endswith(".npy") else None
        elif path and fields[0] == "Size:":
            size = int(fields[1])
        elif path and fields[0] == "Rss:":
            old_size, old_rss = mapped.get(path, (0, 0))
            mapped[path] = (old_size + size, old_rss + int(fields[1]))
    return mapped


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps")
def test_a_mapped_base_is_in_the_process_page_tables_before_the_first_search(store):
    """Mapping a base reads a byte of each of its pages, so no search after a start or a
    swap takes the page faults of a fresh mapping (3-9 ms a search at national scale):
    every array file of the base is resident in this process before anything is searched,
    and again for the base a division change brings."""
    service = LookupService(store, poll_s=0)
    service.warm()
    for _ in range(2):
        base = service.stats()["base"]
        mapped = _mapped_npy(base)
        assert len(mapped) > 40, mapped  # the search and nearest-place arrays
        for path, (size_kb, rss_kb) in mapped.items():
            assert rss_kb >= size_kb - 4, (path, size_kb, rss_kb)  # a partial last page
        with store.write(actor="system:test") as conn:
            conn.execute(
                divisions.update().where(divisions.c.code == "440113").values(name="番禺新区")
            )
            changes.places_changed(conn)
        wait_for_new_base(service, base)
