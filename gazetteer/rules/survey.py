"""survey: run the checker over a whole set of records and count findings per rule."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from gazetteer.classify import classify_division_name
from gazetteer.rules.checker import SEVERITIES, check_name
from gazetteer.rules.corpus import NameCorpus
from gazetteer.rules.lexicons import RuleData, load_rule_data

MAX_EXAMPLES = 10


def survey(
    records: Iterable[dict], *, data: RuleData | None = None, max_examples: int = MAX_EXAMPLES
) -> dict:
    """Check every record against all the others.

    ``records`` are dicts ``id, name, feature_class, division_path, status``. Returns
    ``{"total": n, "names_with_findings": n, "by_severity": {...}, "elapsed_s": s,
    "rules": {rule_id: {"severity", "source", "count", "examples": [...]}}}`` where ``count``
    is the number of names that trip the rule and each example is ``{id, name,
    feature_class, division_code, message, conflicts}``. Only in-force records are checked;
    the others stay in the corpus as history."""
    records = list(records)
    data = data or load_rule_data()
    started = time.perf_counter()
    corpus = NameCorpus(records, data=data)
    rules: dict[str, dict] = {}
    by_severity: Counter = Counter()
    flagged = checked = 0
    for record in records:
        if record.get("status", "in_force") != "in_force":
            continue
        checked += 1
        findings = check_name(
            record["name"],
            record["feature_class"],
            record.get("division_path"),
            corpus,
            exclude_id=record["id"],
            data=data,
        )
        if findings:
            flagged += 1
        seen = set()
        for f in findings:
            if f.rule_id in seen:
                continue
            seen.add(f.rule_id)
            by_severity[f.severity] += 1
            entry = rules.setdefault(
                f.rule_id, {"severity": f.severity, "source": f.source, "count": 0, "examples": []}
            )
            entry["count"] += 1
            if len(entry["examples"]) < max_examples:
                path = record.get("division_path") or ()
                entry["examples"].append(
                    {
                        "id": record["id"],
                        "name": record["name"],
                        "feature_class": record["feature_class"],
                        "division_code": path[-1] if path else None,
                        "message": f.message,
                        "conflicts": f.conflicts[:5],
                    }
                )
    ordered = dict(
        sorted(
            rules.items(),
            key=lambda kv: (SEVERITIES.index(kv[1]["severity"]), -kv[1]["count"], kv[0]),
        )
    )
    return {
        "total": checked,
        "names_with_findings": flagged,
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "elapsed_s": round(time.perf_counter() - started, 2),
        "rules": ordered,
    }


def survey_markdown(report: dict, *, title: str = "Naming-rules survey") -> str:
    """The survey as Markdown: a table of counts per rule, then examples per rule."""
    lines = [
        f"# {title}",
        "",
        f"Names checked: {report['total']:,}; names with at least one finding: "
        f"{report['names_with_findings']:,}; run time {report['elapsed_s']} s.",
        "",
        "Findings by severity (each name counted once per rule): "
        + ", ".join(f"{s} {n:,}" for s, n in report["by_severity"].items())
        + ".",
        "",
        "| rule | severity | names | source |",
        "| --- | --- | ---: | --- |",
    ]
    for rule_id, r in report["rules"].items():
        lines.append(f"| `{rule_id}` | {r['severity']} | {r['count']:,} | {r['source']} |")
    for rule_id, r in report["rules"].items():
        lines += ["", f"## `{rule_id}` ({r['severity']}, {r['count']:,} names)", ""]
        for ex in r["examples"]:
            conflicts = "; ".join(
                f"{c['name']} ({c['division_code']}, {c['status']})" for c in ex["conflicts"]
            )
            lines.append(
                f"- {ex['name']} ({ex['division_code']}, {ex['feature_class']}): "
                f"{ex['message']}" + (f" — conflicts: {conflicts}" if conflicts else "")
            )
    return "\n".join(lines) + "\n"


# The statistics bureau's placeholder units: not administrative divisions.
VIRTUAL_UNITS = ("虚拟生活区", "虚拟社区")


def records_from_name_rows(rows: list[dict]) -> list[dict]:
    """Checker records from statistical name rows (code, name, level, parent_code): the
    division path follows ``parent_code``; the class comes from ``gazetteer.classify``,
    with the virtual living areas counted as 非行政区域."""
    parent = {r["code"]: r["parent_code"] for r in rows}
    records = []
    for r in rows:
        path, code = [], r["code"]
        while code:
            path.append(code)
            code = parent.get(code) or ""
        feature_class, _ = classify_division_name(r["level"], r["name"])
        if r["name"].endswith(VIRTUAL_UNITS):
            feature_class = "非行政区域"
        records.append(
            {
                "id": r["code"],
                "name": r["name"],
                "feature_class": feature_class,
                "division_path": path[::-1],
                "status": "in_force",
            }
        )
    return records
