"""One page of a list, as one value: the list functions take it instead of a loose
``limit``/``offset`` pair (each still checks the bounds its list allows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """At most ``limit`` items after skipping the first ``offset`` (counts of items)."""

    limit: int
    offset: int = 0

    def of(self, items: Sequence) -> Sequence:
        """This page's part of ``items`` (the whole list, in order)."""
        return items[self.offset : self.offset + self.limit]
