"""Index generations on disk: the lookup indexes of one SQLite store, built once per data
version and memory-mapped by every process that serves the store.

A *generation* is a directory ``<store file>.index/<position>-<digest>/`` holding the
packed arrays of the search index and the nearest-places index (``SearchIndex.save``,
``NearestPlaces.save``) as they stood at change-log position ``position``
(``gazetteer.changes``). ``digest`` identifies the log up to there (the log entry at
``position``: its time, transaction, table and key) and what the keys are computed from
(``gazetteer.search.keys_fingerprint``, code included): a store restored from a backup or
replaced by another has another log, and a new generic term, reading table or search code
another fingerprint, so a generation made under either is never taken for the store.

* **Built once.** The first process that needs a generation builds it under an exclusive
  ``flock`` on ``.build.lock``, into a temporary directory that is renamed into place
  (``rename`` is atomic: a generation directory is complete or absent). A process that
  waited on the lock finds the new generation there and maps it instead of building.
* **Adopted.** A process maps the newest generation that is still usable for the store —
  the same log, and few enough changes after it to apply on top (``usable``) — and applies
  those changes in memory; it builds only when there is none.
* **Removed when unused.** A process holds a shared ``flock`` on ``in-use`` in each
  generation it maps (``flock`` locks survive ``fork``, so gunicorn's workers hold the
  master's). Generations older than the newest that nobody holds are removed (renamed
  aside first, so that no one maps half a directory), as are temporary directories of
  builds that died.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from gazetteer.changes import head
from gazetteer.core.account_tables import audit_log
from gazetteer.search import keys_fingerprint

# Bump when the layout of the saved arrays changes: old generations are then ignored.
FORMAT = "2"
_BUILD_LOCK = ".build.lock"
_IN_USE = "in-use"


@dataclass
class Generation:
    """One mapped generation: its directory and log position. Holds a shared lock on the
    directory's ``in-use`` file until :meth:`release`."""

    path: Path
    position: int
    _lock_fd: int | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def release(self) -> None:
        """Stop holding the directory (the arrays stay readable while they are mapped)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def log_digest(conn, position: int) -> str:
    """Identifies the change log up to ``position`` and the key fingerprint (see the module
    docstring)."""
    row = conn.execute(
        sa.select(
            audit_log.c.at, audit_log.c.tx, audit_log.c.table_name, audit_log.c.row_key
        ).where(audit_log.c.id == position)
    ).first()
    fingerprint = keys_fingerprint(with_code=True)
    text = "|".join([FORMAT, fingerprint, str(position), *(str(v) for v in (row or ()))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class IndexFiles:
    """The generations of one store, in ``root`` (``<store file>.index``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_store(cls, store) -> IndexFiles | None:
        """The index directory beside a SQLite store file; None for PostgreSQL or an
        in-memory SQLite store (their indexes are built in memory)."""
        if store.dialect != "sqlite":
            return None
        database = sa.engine.make_url(store.url).database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(Path(database).resolve().with_name(Path(database).name + ".index"))

    def _generations(self) -> list[tuple[int, str]]:
        """(position, digest) of every complete generation, newest first."""
        found = []
        for entry in self.root.iterdir():
            position, _, digest = entry.name.partition("-")
            if entry.is_dir() and position.isdigit() and digest:
                found.append((int(position), digest))
        return sorted(found, reverse=True)

    def adopt(self, store, usable: Callable[[int], bool]) -> Generation | None:
        """Map the newest generation of ``store``'s log for which ``usable(position)``
        holds, or None."""
        for position, digest in self._generations():
            with store.read(primary=True) as conn:
                same_log = digest == log_digest(conn, position)
            if same_log and usable(position):
                generation = self._open(f"{position:012d}-{digest}", position)
                if generation is not None:
                    return generation
        return None

    def build(
        self,
        store,
        write: Callable[[Path], None],
        usable: Callable[[int], bool],
    ) -> tuple[Generation, bool]:
        """(a generation of ``store`` that is ``usable``, whether this call built it).
        Waits for another process building now, and maps what it built if that is
        ``usable``; else builds one at the log's head: ``write(path)`` writes the indexes,
        read from the store after the head was, into a new directory."""
        with self._build_lock():
            found = self.adopt(store, usable)
            if found is not None:
                return found, False
            self._remove_dead_builds()
            with store.read(primary=True) as conn:
                position = head(conn)
                name = f"{position:012d}-{log_digest(conn, position)}"
            tmp = self.root / f".tmp-{uuid.uuid4().hex}"
            try:
                write(tmp)
                (tmp / _IN_USE).touch()
                for written in tmp.rglob("*"):  # on disk before the name says complete
                    if written.is_file():
                        _fsync(written)
                os.rename(tmp, self.root / name)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            _fsync(self.root)
            generation = self._open(name, position)
            assert generation is not None  # just renamed into place under the build lock
            return generation, True

    def remove_unused(self, keep: Generation | None) -> list[str]:
        """Remove generations older than the newest that no process maps; returns their
        names. ``keep`` (this process's current one) is never removed."""
        removed = []
        for position, digest in self._generations()[1:]:
            name = f"{position:012d}-{digest}"
            if keep is not None and name == keep.name:
                continue
            path = self.root / name
            try:
                fd = os.open(path / _IN_USE, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # mapped by a process
            else:
                trash = self.root / f".trash-{uuid.uuid4().hex}"
                os.rename(path, trash)
                shutil.rmtree(trash, ignore_errors=True)
                removed.append(name)
            finally:
                os.close(fd)
        return removed

    def _open(self, name: str, position: int) -> Generation | None:
        """Hold ``name`` (shared lock) and return it; None if it was removed meanwhile."""
        path = self.root / name
        try:
            fd = os.open(path / _IN_USE, os.O_RDONLY)
        except FileNotFoundError:
            return None
        fcntl.flock(fd, fcntl.LOCK_SH)
        # Removal renames the directory while holding the exclusive lock: if that happened
        # between our open and our lock, the file we hold is no longer under ``path``.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path / _IN_USE))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return Generation(path, position, fd)

    @contextlib.contextmanager
    def _build_lock(self):
        fd = os.open(self.root / _BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _remove_dead_builds(self) -> None:
        """Temporary directories of builds that died (only a holder of the build lock
        writes one, so under the lock any that exists is dead)."""
        for entry in self.root.iterdir():
            if entry.name.startswith((".tmp-", ".trash-")):
                shutil.rmtree(entry, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
