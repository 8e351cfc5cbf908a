"""Which processes serve a SQLite store, so that an operator command cannot pull the store
from under them.

Every process that serves the store (each gunicorn worker, ``gdgis serve``, an app built
in tests) holds a shared ``flock`` on ``<database>.serving`` for as long as it lives.
``gdgis admin restore`` takes the exclusive lock without waiting, before it verifies the
backup: while any process serves the store it is refused with a message saying so (a
restore under a running app would overwrite writes the app had already acknowledged), and
while a restore runs no app can start on the store (``gdgis serve`` waits for it, saying
so in a log line; an app built otherwise is refused at once). Locks are released by the
kernel when a process ends, even by kill -9, so a crashed server never leaves the store
locked.

PostgreSQL stores are restored with ``pg_restore`` and are not covered here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from gazetteer.core.errors import Conflict
from gazetteer.core.store import Store


def lock_path(store: Store) -> Path | None:
    """``<database>.serving`` for a SQLite file store, else None."""
    if store.dialect != "sqlite":
        return None
    database = sa.engine.make_url(store.url).database
    if not database or database == ":memory:":
        return None
    return Path(database + ".serving")


log = logging.getLogger("gdgis.serving")
_POLL_S = 0.2


class ServingLock:
    """A shared lock held while this process serves the store; ``release`` ends it.

    While a restore holds the store, the lock is refused at once (``wait_s`` 0) or waited
    for up to ``wait_s`` seconds; a process that waits says why, once, in one line
    (through ``on_wait`` when given, else the ``gdgis.serving`` logger), so an operator starting the app during
    a restore knows what it waits for."""

    def __init__(self, path: Path, *, wait_s: float = 0.0, on_wait=None):
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_s
        said = False
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
            if not said:
                message = (
                    f"store is being restored (gdgis admin restore holds {path}): "
                    f"waiting up to {wait_s:.0f} s for the restore to finish before serving"
                )
                # Said once, by one channel: the caller's (``gdgis serve`` prints it on
                # stderr) or the log, never both (both reached the terminal: two lines).
                (on_wait or log.warning)(message)
                said = True
            time.sleep(_POLL_S)
        os.close(self._fd)
        self._fd = None
        raise Conflict(f"存储正在恢复（gdgis admin restore），恢复完成后再启动服务：{path}")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def hold_while_serving(store: Store, *, wait_s: float = 0.0, on_wait=None) -> ServingLock | None:
    """Take the shared serving lock for ``store`` (None for stores it does not apply to).
    Raises ``Conflict`` while a restore runs (after waiting up to ``wait_s`` seconds, saying
    why through ``on_wait``; see ``ServingLock``)."""
    path = lock_path(store)
    return ServingLock(path, wait_s=wait_s, on_wait=on_wait) if path is not None else None


@contextlib.contextmanager
def exclusive(store: Store) -> Iterator[None]:
    """Hold the store for an operator command that replaces it. Raises ``Conflict`` at once
    (never waits) while any process serves the store."""
    path = lock_path(store)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                "应用正在使用此存储：请先停止服务（及其全部 worker），再恢复备份；"
                "恢复会覆盖服务已确认的写入",
                details={"lock": str(path)},
            ) from None
        yield
    finally:
        os.close(fd)
