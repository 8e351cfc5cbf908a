"""Output files of the ``gdgis`` commands that write one (``export``, ``boundaries
export-round``): one way for all of them.

The file is written into a temporary directory beside the target and renamed into place
only once the whole write succeeded, so a wrong argument, a failed query or an interrupted
write never removes or truncates what was there. An existing file is refused unless
``--force``; the store's own database file is always refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa

from gazetteer.core.store import Store

FORCE_HELP = "Replace FILE if it exists (default: refuse)."


def _store_files(store: Store) -> list[Path]:
    url = sa.engine.make_url(store.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    base = Path(url.database)
    return [base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-journal")]


def check_output(value: str, force: bool, store: Store, hint: str = "'-o' / '--output'") -> Path:
    """``value`` as the path to write, or a usage error (exit 2) saying why not."""
    if not value.strip():
        raise click.BadParameter("输出文件名为空", param_hint=hint)
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value} 是目录，不是文件", param_hint=hint)
    if path.exists():
        if any(path.resolve() == f.resolve() for f in _store_files(store)):
            raise click.BadParameter(f"{value} 是本服务的存储文件，不能作为输出", param_hint=hint)
        if not force:
            raise click.BadParameter(f"{value} 已存在；要替换它请加 --force", param_hint=hint)
    return path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a fresh path (same file name, in a temporary directory beside ``path``) to
    write; on success move it onto ``path``, on any error remove it and leave ``path`` as
    it was. Missing parent directories are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        written = scratch / path.name
        yield written
        os.replace(written, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
