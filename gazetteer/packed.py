"""Column storage for the lookup indexes that several processes can share: strings and ids
packed into a few flat numpy arrays, which ``numpy.load(mmap_mode="r")`` maps from files
(``gazetteer.index_files``), so that every worker reads one copy through the page cache.

Python lists of ``str`` and dicts cannot be shared that way: after ``fork`` the reference
counts written on every read copy their pages into each process. A packed array is one
object whatever its length.

Strings are stored as UTF-8 (``surrogatepass``: byte order is then code-point order, the
order Python sorts ``str`` in), one after the other with a newline after each, and their
start offsets. Sorted keys also carry a fixed-width ``S`` array of their first
:data:`HEAD_BYTES` bytes, searched with :func:`numpy.searchsorted` (binary search in C).
"""

from __future__ import annotations

import bisect
import json
import mmap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HEAD_BYTES = 64  # bytes of each sorted key kept in the fixed-width array that is searched
_SEP = b"\n"  # after every string (no key or name holds whitespace: normalise_text)
_TOP = b"\xff"  # greater than every byte of UTF-8: prefix + _TOP bounds the prefix's range


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class PackedStrings:
    """An immutable sequence of strings in two arrays: ``buf`` (uint8, each string followed
    by a newline) and ``off`` (int64, the start of each string, then the end)."""

    def __init__(self, buf: np.ndarray, off: np.ndarray):
        self.buf, self.off = buf, off

    @classmethod
    def of(cls, texts: Sequence[str]) -> PackedStrings:
        data = [encode(t) for t in texts]
        off = np.zeros(len(data) + 1, np.int64)
        np.cumsum([len(d) + 1 for d in data], out=off[1:])
        return cls(np.frombuffer(b"".join(d + _SEP for d in data), np.uint8), off)

    def __len__(self) -> int:
        return len(self.off) - 1

    def raw(self, i: int) -> bytes:
        return self.buf[self.off[i] : self.off[i + 1] - 1].tobytes()

    def __getitem__(self, i: int) -> str:
        return _decode(self.raw(i))

    def texts(self, lo: int, hi: int) -> list[str]:
        """Strings lo..hi-1 (one decode and one split for the whole range)."""
        if hi <= lo:
            return []
        return _decode(self.buf[self.off[lo] : self.off[hi] - 1].tobytes()).split("\n")

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.buf": self.buf, f"{prefix}.off": self.off}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> PackedStrings:
        return cls(arrays[f"{prefix}.buf"], arrays[f"{prefix}.off"])


class SortedKeys(PackedStrings):
    """Sorted strings with binary search on their first :data:`HEAD_BYTES` bytes (exact
    for keys and queries of any length: ties on the head are settled on the whole key)."""

    def __init__(self, buf: np.ndarray, off: np.ndarray, head: np.ndarray):
        super().__init__(buf, off)
        self.head = head

    @classmethod
    def of(cls, texts: Sequence[str]) -> SortedKeys:
        """``texts`` must be sorted (Python's ``str`` order)."""
        packed = PackedStrings.of(texts)
        width = max(1, min(HEAD_BYTES, max((len(encode(t)) for t in texts), default=1)))
        head = np.array([encode(t)[:width] for t in texts], dtype=f"S{width}")
        return cls(packed.buf, packed.off, head)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return super().arrays(prefix) | {f"{prefix}.head": self.head}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> SortedKeys:
        return cls(arrays[f"{prefix}.buf"], arrays[f"{prefix}.off"], arrays[f"{prefix}.head"])

    def _bisect(self, key: bytes, side: str, lo: int = 0) -> int:
        width = self.head.dtype.itemsize
        if len(key) < width:  # the head decides alone (see the module docstring)
            return lo + int(np.searchsorted(self.head[lo:], key, side))
        # Keys sharing the query's first width-1 bytes: settle on the whole keys.
        start = lo + int(np.searchsorted(self.head[lo:], key[: width - 1], "left"))
        end = start + int(np.searchsorted(self.head[start:], key[: width - 1] + _TOP, "left"))
        if side == "left":
            return bisect.bisect_left(_RawView(self), key, start, end)
        return bisect.bisect_right(_RawView(self), key, start, end)

    def range_of(self, prefix: str) -> tuple[int, int]:
        """(lo, hi): keys lo..hi-1 start with ``prefix``."""
        key = encode(prefix)
        lo = self._bisect(key, "left")
        return lo, self._bisect(key + _TOP, "left", lo)

    def ranges_of(self, prefixes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) arrays: keys lo[i]..hi[i]-1 start with ``prefixes[i]``, as
        :meth:`range_of` gives them; the prefixes whose bounds are shorter than the head
        width in one vectorised search each side, the others one by one."""
        width = self.head.dtype.itemsize
        encoded = [encode(p) for p in prefixes]
        # Both bounds of every short prefix in one search: the usual case is all of them.
        long = [i for i, e in enumerate(encoded) if len(e) + 1 >= width]
        short = [e for e in encoded if len(e) + 1 < width] if long else encoded
        bounds = np.array(short + [e + _TOP for e in short], dtype=self.head.dtype)
        found = np.searchsorted(self.head, bounds, "left").astype(np.int64)
        if not long:
            return found[: len(short)], found[len(short) :]
        lo = np.zeros(len(encoded), np.int64)
        hi = np.zeros(len(encoded), np.int64)
        at = np.array([i for i, e in enumerate(encoded) if len(e) + 1 < width], np.int64)
        lo[at], hi[at] = found[: len(short)], found[len(short) :]
        for i in long:
            lo[i], hi[i] = self.range_of(prefixes[i])
        return lo, hi

    def prefix_range(self, q: str) -> tuple[int, int, int]:
        """(lo, end_of_exact, hi): keys lo..hi-1 start with q, lo..end_of_exact-1 equal it."""
        key = encode(q)
        lo = self._bisect(key, "left")
        exact_end = self._bisect(key, "right", lo)
        return lo, exact_end, self._bisect(key + _TOP, "left", exact_end)

    def find(self, key: str) -> int:
        """Position of ``key``, or -1."""
        lo, exact_end, _ = self.prefix_range(key)
        return lo if exact_end > lo else -1


class _RawView:
    """Keys as bytes, for :mod:`bisect` over a short range of a :class:`SortedKeys`."""

    def __init__(self, keys: SortedKeys):
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> bytes:
        return self.keys.raw(i)


class IdIndex:
    """Record id -> position, for ids that are all integers or all strings: the ids sorted,
    with their positions beside them (two arrays instead of a dict of a million entries)."""

    def __init__(self, sorted_ids: np.ndarray, positions: np.ndarray):
        self.sorted_ids, self.positions = sorted_ids, positions

    @classmethod
    def of(cls, ids: Sequence) -> IdIndex:
        array = id_array(ids)
        order = np.argsort(array, kind="stable").astype(np.int64)
        return cls(array[order], order)

    def get(self, record_id) -> int | None:
        if not len(self.sorted_ids):
            return None
        try:
            i = int(np.searchsorted(self.sorted_ids, record_id))
        except (TypeError, ValueError):  # an id of another type than the index's
            return None
        if i < len(self.sorted_ids) and self.sorted_ids[i] == record_id:
            return int(self.positions[i])
        return None

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.sorted": self.sorted_ids, f"{prefix}.pos": self.positions}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> IdIndex:
        return cls(arrays[f"{prefix}.sorted"], arrays[f"{prefix}.pos"])


def id_array(ids: Sequence) -> np.ndarray:
    """Record ids as an int64 or unicode array (ids of the store are integers; tests and
    benchmarks may use codes). Mixed ids are refused: they could not be sorted."""
    if all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in ids):
        return np.array(ids, np.int64)
    if all(isinstance(i, str) for i in ids):
        return np.array(ids, dtype=str) if len(ids) else np.empty(0, "U1")
    raise TypeError("record ids must be all integers or all strings")


def id_value(value):
    """An id read from an id array as a Python int or str."""
    return value.item() if isinstance(value, np.generic) else value


class SplitColumn:
    """A column whose first ``len(base)`` rows are a (possibly memory-mapped) array and whose
    later rows, appended one record at a time after the base was built, live in memory.
    Indexed like the array: an int, an int array, or (rows, column) for 2-D columns."""

    def __init__(self, base: np.ndarray):
        self.base = base
        self.extra = np.empty((0, *base.shape[1:]), base.dtype)

    def append(self, rows: np.ndarray) -> None:
        self.extra = np.concatenate([self.extra, rows.astype(self.base.dtype)])

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)

    def __getitem__(self, idx):
        column = None
        if isinstance(idx, tuple):
            idx, column = idx
        n = len(self.base)
        if not len(self.extra):
            return self.base[idx] if column is None else self.base[idx, column]
        if np.isscalar(idx):
            row = self.base[idx] if idx < n else self.extra[idx - n]
            return row if column is None else row[column]
        idx = np.asarray(idx)
        out = np.empty((len(idx), *self.base.shape[1:]), self.base.dtype)
        inside = idx < n
        out[inside] = self.base[idx[inside]]
        out[~inside] = self.extra[idx[~inside] - n]
        return out if column is None else out[:, column]


def save_arrays(directory, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write each array to ``directory/<name>.npy`` and ``meta`` to ``meta.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def load_arrays(directory) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays memory-mapped read-only, meta) as written by :func:`save_arrays`."""
    directory = Path(directory)
    arrays = {path.name[: -len(".npy")]: _map(path) for path in directory.glob("*.npy")}
    return arrays, json.loads((directory / "meta.json").read_text("utf-8"))


def _map(path: Path) -> np.ndarray:
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:  # an empty array cannot be mapped
        return np.load(path, allow_pickle=False)
    mapped = mapped.view(np.ndarray)  # plain ndarray indexing (np.memmap's is slower)
    _read_every_page(mapped)
    return mapped


def _read_every_page(array: np.ndarray) -> None:
    """Read one byte of each page of a mapped array, so that every page is in this
    process's page tables (and the page cache) before a search reads it. Otherwise the
    first hundred or so searches after a worker starts, or maps a new base, each take the
    page faults of what they read: 3-9 ms where 1 is usual, at 665,273 names. The kernel
    maps the cached pages around each fault too, so the whole index (469 MB) takes a few
    tens of milliseconds here, in the process that maps it, before any request uses it."""
    if array.size:
        data = array.reshape(-1).view(np.uint8)
        data[:: mmap.PAGESIZE].max()
        data[-1:].max()  # the last page, where the stride ends before it
