"""Lookup over one store: name search, reverse lookup, nearest places and the names the
naming rules compare with.

``LookupService`` owns the in-memory indexes (``SearchIndex``, ``DivisionLocator``,
``NearestPlaces``) built from the store, and rebuilds them when the store's places change.
The check is a cheap fingerprint query (count, max id, max updated_at) run at most once
per ``max_age_s`` seconds, so writes from other processes (CLI, other workers) show up
within that time; writes in this process call ``invalidate()`` to show up at once.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import sqlalchemy as sa

from gazetteer.chains import ChainLexicon, ChainSearch
from gazetteer.core import crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.reverse import DivisionLocator, NearestPlaces
from gazetteer.reverse_postgis import PostGISDivisionLocator, division_locator
from gazetteer.search import SearchIndex
from gazetteer.tables import places

MAX_BATCH_POINTS = 10_000


def former_names(store: Store) -> dict[int, list[str]]:
    """{in-force place id: names of every record it superseded, directly or through a chain}."""
    from gazetteer.registry_tables import place_links

    with store.read() as conn:
        links = conn.execute(
            sa.select(place_links.c.old_place_id, place_links.c.new_place_id)
        ).all()
        if not links:
            return {}
        ids = {i for link in links for i in link}
        names = dict(
            conn.execute(sa.select(places.c.id, places.c.name).where(places.c.id.in_(ids))).all()
        )
    older: dict[int, list[int]] = {}
    for old, new in links:
        older.setdefault(new, []).append(old)
    result: dict[int, list[str]] = {}
    for new in older:
        seen, frontier = set(), list(older[new])
        while frontier:
            pid = frontier.pop()
            if pid not in seen:
                seen.add(pid)
                frontier.extend(older.get(pid, []))
        result[new] = [
            names[i] for i in sorted(seen) if names.get(i) and names[i] != names.get(new)
        ]
    return result


class LookupService:
    def __init__(self, store: Store, *, max_age_s: float = 1.0):
        self.store = store
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._fingerprint = None
        self._checked_at = 0.0
        self._search: SearchIndex | None = None
        self._chains: ChainSearch | None = None
        self._nearest: NearestPlaces | None = None
        self._locator: DivisionLocator | PostGISDivisionLocator | None = None
        self._corpus = None
        self._corpus_fingerprint = None

    def _current_fingerprint(self):
        with self.store.read() as conn:
            return tuple(
                conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.max(places.c.id), sa.func.max(places.c.updated_at)
                    )
                ).one()
            )

    def warm(self) -> None:
        """Build every index now (a worker calls this before it takes requests)."""
        self._fresh()
        _ = self.locator

    def invalidate(self) -> None:
        self._checked_at = 0.0

    def _fresh(self) -> None:
        now = time.monotonic()
        if self._search is not None and now - self._checked_at < self.max_age_s:
            return
        with self._lock:
            if self._search is not None and time.monotonic() - self._checked_at < self.max_age_s:
                return
            fingerprint = self._current_fingerprint()
            if fingerprint != self._fingerprint or self._search is None:
                former = former_names(self.store)
                self._search = SearchIndex.from_store(self.store, former_names=former)
                self._chains = ChainSearch(
                    self._search, ChainLexicon.from_store(self.store, former_names=former)
                )
                self._nearest = NearestPlaces.from_store(self.store)
                self._fingerprint = fingerprint
            self._checked_at = time.monotonic()

    def name_corpus(self):
        """The naming-rules corpus (``gazetteer.rules.NameCorpus``) of the names as they
        stand now; rebuilt (about 1.5 s for Guangdong) only after the places changed."""
        from gazetteer.rules import NameCorpus

        self._fresh()
        with self._lock:
            if self._corpus is None or self._corpus_fingerprint != self._fingerprint:
                self._corpus = NameCorpus.from_store(self.store)
                self._corpus_fingerprint = self._fingerprint
            return self._corpus

    @property
    def locator(self) -> DivisionLocator | PostGISDivisionLocator:
        # On PostgreSQL the containment test runs in PostGIS (ST_Contains, GiST index).
        # On SQLite: an in-memory grid; division polygons change only by a data import or
        # a division change, so it is built once.
        if self._locator is None:
            with self._lock:
                if self._locator is None:
                    self._locator = division_locator(self.store)
        return self._locator

    def search(self, q: str, **filters) -> list[dict]:
        """Ranked hits (dicts) for a name or a chain of names (广州天河)."""
        return self.find(q, **filters)["results"]

    def find(self, q: str, **filters) -> dict:
        """{"results": ranked hits, "chain": how a chain of names was read, or None}
        (``gazetteer.chains``: 广州天河 -> 天河区 within 广州市)."""
        self._fresh()
        hits, reading = self._chains.search(q, **filters)
        return {
            "results": [h.as_dict() for h in hits],
            "chain": reading.as_dict() if reading is not None else None,
        }

    def suggest(self, prefix: str, limit: int = 10) -> list[dict]:
        self._fresh()
        return [h.as_dict() for h in self._search.suggest(prefix, limit)]

    def reverse(
        self, lon: float, lat: float, crs_tag: str = "CGCS2000", *, nearest: int = 5
    ) -> dict:
        """Divisions containing the point (province down) and the nearest named places.

        ``lon``/``lat`` in degrees of ``crs_tag`` (CGCS2000, WGS84, GCJ02, BD09); the answer
        also gives the point converted to CGCS2000."""
        if not (0 <= nearest <= 50):
            raise InvalidInput("nearest 应在 0 到 50 之间")
        lon_c, lat_c = crs.point_to_cgcs2000(lon, lat, crs.normalise_tag(crs_tag))
        divisions = self.locator.locate(lon_c, lat_c)
        places_near = []
        if nearest:
            self._fresh()
            places_near = self._nearest.nearest(lon_c, lat_c, nearest)
        return {
            "input": {"lon": lon, "lat": lat, "crs": crs.normalise_tag(crs_tag)},
            "cgcs2000": {"lon": round(lon_c, 8), "lat": round(lat_c, 8)},
            "divisions": divisions,
            "nearest_places": places_near,
        }

    def reverse_batch(self, lons, lats, crs_tag: str = "CGCS2000") -> list[dict]:
        """Per point: the chain of containing divisions (codes and names), vectorised."""
        lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        if lons.shape != lats.shape or lons.ndim != 1:
            raise InvalidInput("经度与纬度数组长度应一致")
        if len(lons) > MAX_BATCH_POINTS:
            raise InvalidInput(f"一次最多 {MAX_BATCH_POINTS} 个点")
        x, y = crs.to_cgcs2000(lons, lats, crs.normalise_tag(crs_tag))
        levels = self.locator.locate_levels(x, y)
        by_code = self.locator.by_code
        out = []
        for i in range(len(x)):
            chain = [
                {
                    "level": lvl,
                    "code": str(levels[lvl][i]),
                    "name": by_code[str(levels[lvl][i])].name,
                }
                for lvl in levels
                if levels[lvl][i]
            ]
            out.append({"lon": float(x[i]), "lat": float(y[i]), "divisions": chain})
        return out
