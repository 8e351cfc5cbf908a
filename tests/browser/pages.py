"""Steps on the app's pages that several browser tests take."""

from __future__ import annotations

import struct
import zlib


def select_marker(page, number: str) -> None:
    """Pick the marker numbered ``number`` in the page's marker list (#marker-jump: each
    option reads "<number> …", its value is the marker id)."""
    marker_id = page.evaluate(
        "(n) => [...document.querySelectorAll('#marker-jump option')]"
        ".find(o => o.textContent.split(' ')[0] === n).value",
        number,
    )
    page.select_option("#marker-jump", marker_id)


def png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1x1 PNG of one colour (browsers scale it to the tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00" + bytes(rgb)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
