#!/usr/bin/env python3
"""Search benchmark: gazetteer.search.SearchIndex on the national corpus (about 665,000
names from data/national/names.csv) against two baselines on the same data, in one run:

* SQLite ``WHERE name LIKE '%q%' ORDER BY length(name) LIMIT 10`` on a plain table in a
  SQLite file under a temporary directory (a full scan per query);
* rapidfuzz ``process.extract(q, names, limit=10)`` (default WRatio scorer) over all names.

Queries: drawn from the corpus with a seeded RNG, each typed in one of six forms: exact
name, its first two characters, traditional characters (OpenCC s2t; only names that
change), full pinyin (toneless joined, space-separated, or tone-marked), pinyin initials,
and one typo (half homophone substitutions, half random substitution/deletion/insertion/
swap of neighbours, at a random position).

Recall@10: the target record (by id) is among the first 10 hits. Ambiguous queries are
narrowed to the target's county (``division=``), as a user would narrow: a query is
ambiguous when more than 10 corpus records match it as typed, counted by brute force —
records with the same name (exact, traditional, pinyin forms), names starting with the
typed prefix (prefix form), names with the same initials (initials form), names within
one edit (typo form). Recall without any narrowing is printed too.

Chains of names (gazetteer.chains, the public search path): queries naming several levels
top down — city › county › township or county › township › village of a target drawn from the
corpus — typed in characters with generic terms, without them (specific terms), traditional
characters, pinyin (space between levels), initials and mixed (characters, then pinyin).
Recall@10: the target among the first 10 hits, no narrowing. Single-name queries are also
timed through the chain layer (what /api/search runs) beside the bare index.

Usage:  python scripts/fetch_national_names.py && python benchmarks/bench_search.py
        [--queries 1000] [--chain-queries 600] [--baseline-queries 100]
        [--rapidfuzz-queries 30]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.chain_queries import CHAIN_FORMS, path_of, typed_chain  # noqa: E402
from gazetteer import chains as chains_module  # noqa: E402
from gazetteer.chains import ChainLexicon, ChainSearch  # noqa: E402
from gazetteer.pinyin import initials, syllables  # noqa: E402
from gazetteer.search import SearchIndex  # noqa: E402

CORPUS = ROOT / "data" / "national" / "names.csv"
LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
FORMS = ("exact", "prefix", "traditional", "pinyin", "initials", "typo")
SEED = 20240501


class PreviousChainSearch(ChainSearch):
    """Baseline: the chain reader as of 059bd76, whose parser made a state for every
    division a top-level key names (thousands for initials such as ``nb``) and joined the
    next level to them code by code. Kept here only to be measured beside the shipped one."""

    def parses(self, text: str, is_latin: bool, *, min_tail: int = 2) -> list:
        """Every way to read a prefix of ``text`` as nested upper levels (at least one),
        leaving a tail of at least two characters (or letters), best first. Of the readings
        with one level only, the coarsest few per key are kept (gz: 贵州省, 广州市, … not
        every town whose initials are gz); they still carry deeper readings."""
        table = self.lexicon.by_latin if is_latin else self.lexicon.by_chars
        divs = self.lexicon.divisions
        n = len(text)
        # states[i]: {code of the last level: [(divisions, typed, levels)]} ending at i.
        states: dict[int, dict[str, list[tuple]]] = {}
        found: dict[tuple, chains_module._Parse] = {}  # one parse per reading (levels, end)

        def keep(p: chains_module._Parse) -> None:
            key = (p.divisions, p.end)
            if key not in found or p.rank < found[key].rank:
                found[key] = p

        for j in range(
            chains_module.MIN_KEY_CHARS, n - chains_module.MIN_KEY_CHARS + 1
        ):  # the top level
            cands = table.get(text[:j])
            if not cands:
                continue
            here = states.setdefault(j, {})
            for k, c in enumerate(cands):
                d = divs[c]
                state = ((c,), (text[:j],), (chains_module.CHAIN_LEVELS[d.level],))
                here.setdefault(d.code, []).append(state)
                if k < chains_module.MAX_TAIL_SEARCHES:
                    keep(chains_module._Parse(*state[:2], j, state[2]))
        for i in range(chains_module.MIN_KEY_CHARS, n):
            by_last = states.get(i)
            if not by_last:
                continue
            ends = range(i + chains_module.MIN_KEY_CHARS, n + 1)
            for j, piece, cands in ((j, text[i:j], table.get(text[i:j])) for j in ends):
                for c in cands or ():
                    d = divs[c]
                    rank = chains_module.CHAIN_LEVELS[d.level]
                    for parent in d.path[:-1]:
                        for p_divs, p_typed, p_levels in by_last.get(parent, ()):
                            if j == n:  # the tail is itself a division within the chain
                                keep(chains_module._Parse(p_divs, p_typed, i, p_levels, c, rank))
                                continue
                            state = (p_divs + (c,), p_typed + (piece,), p_levels + (rank,))
                            states.setdefault(j, {}).setdefault(d.code, []).append(state)
                            if n - j >= chains_module.MIN_KEY_CHARS:
                                keep(chains_module._Parse(*state[:2], j, state[2]))
        return sorted(found.values(), key=lambda p: p.rank)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_corpus() -> list[tuple[str, str, str, str]]:
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: run python scripts/fetch_national_names.py first")
    with CORPUS.open(encoding="utf-8") as f:
        return [(r["code"], r["name"], r["level"], r["parent_code"]) for r in csv.DictReader(f)]


def records(rows, by_code, parent_of):
    for code, name, level, parent in rows:
        path = path_of(code, parent_of)
        yield {
            "id": code,
            "name": name,
            "former_names": [],
            "division_code": parent or None,
            "division_path": path,
            "division_chain": [by_code[c][0] for c in path],
            "feature_class": "群众自治组织" if level == "village" else "行政区域",
            "status": "in_force",
            "level_rank": LEVEL_RANK[level],
            "bbox": None,
        }


def build_index(rows, by_code, parent_of) -> tuple[SearchIndex, float, float]:
    """(the in-memory index of the corpus, build seconds, RSS growth in MB)."""
    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    index = SearchIndex.from_records(records(rows, by_code, parent_of))
    build_s = time.perf_counter() - t
    gc.collect()
    return index, build_s, rss_mb() - rss0


def county_of(code: str, by_code) -> str:
    """The target's county (or its city where there is no county, or itself above)."""
    c = code
    while c and by_code[c][1] not in ("county", "city", "province"):
        c = by_code[c][2]
    return c


def make_queries(rows, n: int, rng: random.Random):
    import opencc

    s2t = opencc.OpenCC("s2t")
    by_sound: dict[str, list[str]] = defaultdict(list)
    chars = sorted({ch for _, name, _, _ in rows[::50] for ch in name})
    for ch in chars:
        by_sound[syllables(ch)[0]].append(ch)
    queries = []
    while len(queries) < n:
        form = FORMS[len(queries) % len(FORMS)]
        code, name, level, _ = rows[rng.randrange(len(rows))]
        if form == "exact":
            typed = name
        elif form == "prefix":
            if len(name) < 3:
                continue
            typed = name[:2]
        elif form == "traditional":
            typed = s2t.convert(name)
            if typed == name:
                continue
        elif form == "pinyin":
            style = rng.randrange(3)
            syl = syllables(name, tones=(style == 2))
            typed = (" " if style else "").join(syl)
        elif form == "initials":
            typed = initials(name)
        else:
            if len(name) < 3:
                continue
            i = rng.randrange(len(name))
            kind = rng.choice(("homophone", "homophone", "homophone", "sub", "del", "ins", "swap"))
            if kind == "homophone":
                options = [c for c in by_sound.get(syllables(name[i])[0], []) if c != name[i]]
                if not options:
                    continue
                typed = name[:i] + rng.choice(options) + name[i + 1 :]
            elif kind == "sub":
                typed = name[:i] + rng.choice(chars) + name[i + 1 :]
            elif kind == "del":
                typed = name[:i] + name[i + 1 :]
            elif kind == "ins":
                typed = name[:i] + rng.choice(chars) + name[i:]
            else:
                if i == len(name) - 1 or name[i] == name[i + 1]:
                    continue
                typed = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        queries.append({"form": form, "typed": typed, "target": code, "name": name})
    return queries


def make_chain_queries(rows, by_code, parent_of, n: int, rng: random.Random):
    """Chains city › county › township for township targets and county › township ›
    village for village targets (as addresses are written), in the six CHAIN_FORMS."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    queries = []
    while len(queries) < n:
        code, _, level, _ = rows[rng.randrange(len(rows))]
        if level not in ("township", "village"):
            continue
        path = path_of(code, parent_of)[1:]  # from the city down
        names = [by_code[c][0] for c in path[-3:]]
        form = CHAIN_FORMS[len(queries) % len(CHAIN_FORMS)]
        typed = typed_chain(names, form, s2t)
        queries.append({"form": form, "typed": typed, "target": code, "name": "".join(names)})
    return queries


def ambiguity(queries, rows, index: SearchIndex) -> None:
    """Count, by brute force, how many corpus records match each query as typed."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    names = [r[1] for r in rows]
    same_name = Counter(names)
    sorted_names = sorted(names)
    import bisect

    for q in queries:
        if q["form"] in ("exact", "traditional", "pinyin"):
            q["matches"] = same_name[q["name"]]
        elif q["form"] == "prefix":
            lo = bisect.bisect_left(sorted_names, q["typed"])
            hi = bisect.bisect_left(sorted_names, q["typed"] + "\U0010ffff")
            q["matches"] = hi - lo
        elif q["form"] == "initials":
            keys = index._ini.base  # counting equal initials keys; the ranking is not consulted
            lo, end, _ = keys.prefix_range(q["typed"])
            q["matches"] = end - lo
        else:
            dist = process.cdist(
                [q["typed"]], names, scorer=OSA.distance, score_cutoff=1, dtype=np.int32, workers=1
            )[0]
            q["matches"] = int((dist <= 1).sum())


def summarise(lat_s: list[float]) -> tuple[float, float, float, float]:
    a = np.array(lat_s) * 1000
    return (
        float(np.percentile(a, 50)),
        float(np.percentile(a, 95)),
        float(np.percentile(a, 99)),
        len(a) / a.sum() * 1000,
    )


# The columns every per-form table starts with after the form, as ``by_form`` fills them.
FORM_COLUMNS = ("queries", "recall@10", "p50 ms", "p95 ms")


def by_form(queries, forms):
    """(form, its queries, recall@10, p95 ms, the FORM_COLUMNS cells) of our search for each
    form of ``forms``; the form None stands for all the queries."""
    for form in forms:
        qs = [q for q in queries if form in (None, q["form"])]
        p50, p95, _, _ = summarise([q["ours_s"] for q in qs])
        recall = sum(q["ours_hit"] for q in qs) / len(qs)
        yield form, qs, recall, p95, (str(len(qs)), f"{recall:.3f}", f"{p50:.2f}", f"{p95:.2f}")


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="search benchmark")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--chain-queries", type=int, default=600)
    parser.add_argument(
        "--baseline-queries", type=int, default=100, help="queries run on the LIKE baseline"
    )
    parser.add_argument(
        "--rapidfuzz-queries", type=int, default=30, help="queries run on the rapidfuzz baseline"
    )
    args = parser.parse_args(argv)

    rows = load_corpus()
    by_code = {code: (name, level, parent) for code, name, level, parent in rows}
    parent_of = {code: parent for code, _, _, parent in rows}
    county = {}

    index, build_s, index_mb = build_index(rows, by_code, parent_of)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = time.perf_counter()
    lexicon = ChainLexicon.build(
        (code, name, level, path_of(code, parent_of), [])
        for code, name, level, _ in rows
        if level != "village"
    )
    chains = ChainSearch(index, lexicon)
    lexicon_s = time.perf_counter() - t

    rng = random.Random(SEED)
    queries = make_queries(rows, args.queries, rng)
    chain_queries = make_chain_queries(rows, by_code, parent_of, args.chain_queries, rng)
    ambiguity(queries, rows, index)
    for q in queries:
        county[q["target"]] = county_of(q["target"], by_code)

    # Ours. Wall-clock time is what a user waits; CPU time of this thread (thread_time) is
    # what the algorithm costs, without the waits for a core on a loaded machine.
    load_at_start = os.getloadavg()
    for q in queries:
        narrow = county[q["target"]] if q["matches"] > 10 else None
        t, cpu = time.perf_counter(), time.thread_time()
        hits = index.search(q["typed"], division=narrow, limit=10)
        q["ours_s"], q["ours_cpu_s"] = time.perf_counter() - t, time.thread_time() - cpu
        q["ours_hit"] = q["target"] in [h.id for h in hits]
        q["narrowed"] = narrow is not None
        q["ours_plain_hit"] = q["target"] in [h.id for h in index.search(q["typed"], limit=10)]
        t, cpu = time.perf_counter(), time.thread_time()
        chains.search(q["typed"], division=narrow, limit=10)
        q["layer_s"], q["layer_cpu_s"] = time.perf_counter() - t, time.thread_time() - cpu
    previous = PreviousChainSearch(index, lexicon)
    for q in chain_queries:
        # The shipped reader and the baseline on the same query, back to back, so that both
        # meet the same machine load.
        t, cpu = time.perf_counter(), time.thread_time()
        hits, reading = chains.search(q["typed"], limit=10)
        q["ours_s"], q["ours_cpu_s"] = time.perf_counter() - t, time.thread_time() - cpu
        q["ours_hit"] = q["target"] in [h.id for h in hits]
        q["nested"] = reading is not None and reading.nested
        t, cpu = time.perf_counter(), time.thread_time()
        hits, _ = previous.search(q["typed"], limit=10)
        q["prev_s"], q["prev_cpu_s"] = time.perf_counter() - t, time.thread_time() - cpu
        q["prev_hit"] = q["target"] in [h.id for h in hits]

    # Baseline 1: SQLite LIKE scan over a plain table of the same names. A plain table has no
    # division hierarchy, so the baseline gets no county narrowing.
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "names.sqlite")
        db.execute("CREATE TABLE names (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
        db.executemany("INSERT INTO names VALUES (?, ?)", ((r[0], r[1]) for r in rows))
        db.commit()
        sub = queries[: args.baseline_queries]
        for q in sub:
            t = time.perf_counter()
            found = db.execute(
                "SELECT id FROM names WHERE name LIKE ? ORDER BY length(name) LIMIT 10",
                (f"%{q['typed']}%",),
            ).fetchall()
            q["like_s"] = time.perf_counter() - t
            q["like_hit"] = q["target"] in [f[0] for f in found]
        db.close()

    # Baseline 2: rapidfuzz over all names.
    from rapidfuzz import process

    names = [r[1] for r in rows]
    ids = [r[0] for r in rows]
    for q in queries[: args.rapidfuzz_queries]:
        t = time.perf_counter()
        found = process.extract(q["typed"], names, limit=10)
        q["rf_s"] = time.perf_counter() - t
        q["rf_hit"] = q["target"] in [ids[f[2]] for f in found]

    # Report.
    print_run("Search benchmark", load_at_start)
    print(
        f"corpus: {len(rows):,} names from {CORPUS.relative_to(ROOT)}; {len(queries)} queries, seed {SEED}"
    )
    print(
        f"chain lexicon: {len(lexicon):,} divisions (province .. township) built in "
        f"{lexicon_s:.1f} s; {len(chain_queries)} chain queries"
    )
    print(
        f"index build: {build_s:.1f} s; memory: RSS +{index_mb:.0f} MB after build "
        f"(peak process RSS {peak_mb:.0f} MB, corpus rows included)"
    )
    print()
    header = (
        "method",
        "queries",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "CPU p95 ms",
        "queries/s",
        "recall@10 (all forms)",
    )
    table = []
    for label, key, hit_key, qs in (
        ("gazetteer SearchIndex", "ours_s", "ours_hit", queries),
        (
            "gazetteer ChainSearch (public path), single names",
            "layer_s",
            "ours_hit",
            queries,
        ),
        ("gazetteer ChainSearch, chains of names", "ours_s", "ours_hit", chain_queries),
        (
            "baseline: chain reader of 059bd76, chains of names",
            "prev_s",
            "prev_hit",
            chain_queries,
        ),
        (
            "gazetteer SearchIndex, same queries as LIKE",
            "ours_s",
            "ours_hit",
            queries[: args.baseline_queries],
        ),
        ("SQLite LIKE '%q%' scan", "like_s", "like_hit", queries[: args.baseline_queries]),
        (
            "gazetteer SearchIndex, same queries as rapidfuzz",
            "ours_s",
            "ours_hit",
            queries[: args.rapidfuzz_queries],
        ),
        ("rapidfuzz process.extract (WRatio)", "rf_s", "rf_hit", queries[: args.rapidfuzz_queries]),
    ):
        p50, p95, p99, qps = summarise([q[key] for q in qs])
        cpu_key = key.replace("_s", "_cpu_s")
        cpu95 = summarise([q[cpu_key] for q in qs])[1] if cpu_key in qs[0] else None
        recall = sum(q[hit_key] for q in qs) / len(qs)
        table.append(
            (
                label,
                str(len(qs)),
                f"{p50:.2f}",
                f"{p95:.2f}",
                f"{p99:.2f}",
                "-" if cpu95 is None else f"{cpu95:.2f}",
                f"{qps:,.0f}",
                f"{recall:.3f}",
            )
        )
    print_table(header, table)
    print()
    print(
        "Baselines get no county narrowing (a plain LIKE or fuzzy scan has no division filter); "
        "their recall is on the typed string alone."
    )
    print()
    header = ("form", *FORM_COLUMNS, "narrowed to county", "recall@10 without narrowing", "target")
    targets = {
        "exact": 0.98,
        "prefix": 0.98,
        "traditional": 0.98,
        "pinyin": 0.98,
        "initials": None,
        "typo": 0.90,
    }
    table = []
    for form, qs, recall, _, cells in by_form(queries, FORMS):
        goal = targets[form]
        table.append(
            (
                form,
                *cells,
                str(sum(q["narrowed"] for q in qs)),
                f"{sum(q['ours_plain_hit'] for q in qs) / len(qs):.3f}",
                "-" if goal is None else f">= {goal:.2f} {met(recall >= goal)}",
            )
        )
    print_table(header, table)
    print()
    header = (
        "chain form",
        *FORM_COLUMNS,
        "read as nested",
        "CPU p95 ms",
        "baseline p95 ms",
        "baseline CPU p95 ms",
        "target",
    )
    table = []
    for form, qs, recall, p95, cells in by_form(chain_queries, (*CHAIN_FORMS, None)):
        cpu95 = summarise([q["ours_cpu_s"] for q in qs])[1]
        target = "-"
        if form is None:
            target = (
                f">= 0.98 {met(recall >= 0.98)}; "
                f"p95 <= 5 ms {met(p95 <= 5)} (CPU {met(cpu95 <= 5)})"
            )
        table.append(
            (
                form or "all chains",
                *cells,
                str(sum(q["nested"] for q in qs)),
                f"{cpu95:.2f}",
                f"{summarise([q['prev_s'] for q in qs])[1]:.2f}",
                f"{summarise([q['prev_cpu_s'] for q in qs])[1]:.2f}",
                target,
            )
        )
    slowest = sorted(chain_queries, key=lambda q: -q["ours_cpu_s"])[:10]
    print()
    print("slowest chains by CPU time (form, typed, CPU ms, wall ms):")
    for q in slowest:
        print(
            f"  {q['form']:11s} {q['typed']!r:40s} {q['ours_cpu_s'] * 1000:6.2f} "
            f"{q['ours_s'] * 1000:6.2f}"
        )
    print_table(header, table)
    like_mean = np.mean([q["like_s"] for q in queries[: args.baseline_queries]])
    ours_mean = np.mean([q["ours_s"] for q in queries[: args.baseline_queries]])
    p95 = summarise([q["ours_s"] for q in queries])[1]
    print()
    print(
        f"speed-up over the LIKE scan (mean latency, same {args.baseline_queries} queries): "
        f"{like_mean / ours_mean:.0f}x (target >= 20x: {met(like_mean / ours_mean >= 20)})"
    )
    print(
        f"p95 latency {p95:.2f} ms (target <= 5 ms: {met(p95 <= 5)}); "
        f"memory {index_mb:.0f} MB (target <= 1024 MB: {met(index_mb <= 1024)})"
    )
    misses = [q for q in queries if not q["ours_hit"]][:12]
    misses += [q for q in chain_queries if not q["ours_hit"]][:12]
    if misses:
        print()
        print("some misses (form, typed, target name, matches as typed):")
        for q in misses:
            print(f"  {q['form']:11s} {q['typed']!r:28s} {q['name']}  ({q.get('matches', '-')})")


def print_run(title: str, load_at_start) -> None:
    """The report's heading: title, time, machine and its load while the queries ran."""
    print(f"# {title} — {dt.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(
        "load average (1, 5, 15 min) when the timed queries began: "
        + ", ".join(f"{x:.1f}" for x in load_at_start)
        + "; at the end of the run: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )


def print_table(header, rows) -> None:
    widths = [max(len(str(r[i])) for r in list(rows) + [header]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
