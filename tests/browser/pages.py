"""Steps on the app's pages that several browser tests take."""

from __future__ import annotations


def select_marker(page, number: str) -> None:
    """Pick the marker numbered ``number`` in the page's marker list (#marker-jump: each
    option reads "<number> …", its value is the marker id)."""
    marker_id = page.evaluate(
        "(n) => [...document.querySelectorAll('#marker-jump option')]"
        ".find(o => o.textContent.split(' ')[0] === n).value",
        number,
    )
    page.select_option("#marker-jump", marker_id)
