"""Annual place-name statistics as the province reports them: names approved (命名),
renamed (更名) and retired (销名) per division and year, with a bar chart.

A change counts in the year it came into force (``proposals.effective_date``), under the
division the place lies in, rolled up to the children of the division asked for (the
province by default, so one row per prefecture city).
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from functools import lru_cache

import sqlalchemy as sa

from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store, first_or_not_found
from gazetteer.registry_tables import proposals
from gazetteer.tables import divisions

PROVINCE_CODE = "440000"
COUNTED = {"naming": "approved", "renaming": "renamed", "retirement": "retired"}
LABELS_ZH = {"approved": "命名", "renamed": "更名", "retired": "销名"}
LABELS_EN = {"approved": "named", "renamed": "renamed", "retired": "retired"}


# The years a statistics query may ask for: from the founding of the PRC to 2100.
FIRST_YEAR, LAST_YEAR = 1949, 2100


def annual_statistics(store: Store, year: int, division_code: str | None = None) -> dict:
    """Counts for ``year`` under ``division_code`` (default: Guangdong), one row per child
    division (all children, zeros included) plus a row for the division itself when changes
    sit at its own level. Returns {"year", "division", "rows": [{code, name, approved,
    renamed, retired}], "totals"}. Raises ``NotFound`` for an unknown division."""
    if not isinstance(year, int) or not (FIRST_YEAR <= year <= LAST_YEAR):
        raise InvalidInput(f"年份不正确：{year!r}")
    code = division_code or PROVINCE_CODE
    with store.read() as conn:
        parent = first_or_not_found(
            conn,
            sa.select(divisions.c.code, divisions.c.name, divisions.c.path).where(
                divisions.c.code == code
            ),
            f"没有代码为 {code} 的行政区划",
        )
        children = conn.execute(
            sa.select(divisions.c.code, divisions.c.name)
            .where(divisions.c.parent_code == code)
            .order_by(divisions.c.code)
        ).all()
        changes = conn.execute(
            sa.select(
                proposals.c.kind,
                divisions.c.path,
                proposals.c.proposed,
                proposals.c.decision_date,
                proposals.c.filed_on,
                proposals.c.announced_on,
            )
            .join(divisions, divisions.c.code == proposals.c.division_code)
            .where(
                proposals.c.state == "in_force",
                proposals.c.effective_date.between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
                sa.or_(
                    divisions.c.path == parent.path, divisions.c.path.startswith(parent.path + "/")
                ),
            )
        ).all()
    depth = len(parent.path.split("/"))
    rows = {
        c.code: {"code": c.code, "name": c.name, "approved": 0, "renamed": 0, "retired": 0}
        for c in children
    }
    by_class: dict[str, dict] = {}
    filing = dict.fromkeys(FILING_KEYS, 0)
    for kind, path, proposed, decided, filed_on, announced_on in changes:
        feature_class = (proposed or {}).get("feature_class") or "（未详）"
        counts = by_class.setdefault(
            feature_class, {"feature_class": feature_class, **dict.fromkeys(LABELS_ZH, 0)}
        )
        counts[COUNTED[kind]] += 1
        _count_filing(filing, decided, filed_on, announced_on)
        codes = path.split("/")
        key = codes[depth] if len(codes) > depth else parent.code
        if key not in rows:  # a change recorded at the division's own level
            rows[key] = {
                "code": key,
                "name": f"{parent.name}（本级）",
                "approved": 0,
                "renamed": 0,
                "retired": 0,
            }
        rows[key][COUNTED[kind]] += 1
    ordered = sorted(rows.values(), key=lambda r: (r["code"] != parent.code, r["code"]))
    totals = {k: sum(r[k] for r in ordered) for k in LABELS_ZH}
    return {
        "year": year,
        "division": {"code": parent.code, "name": parent.name},
        "rows": ordered,
        "totals": totals,
        "by_class": sorted(
            by_class.values(), key=lambda r: (-sum(r[k] for k in LABELS_ZH), r["feature_class"])
        ),
        "filing": filing,
    }


# Filing (备案, Art. 13) and announcement (公告, Art. 14) of the changes counted, each due
# within 15 days of the approval.
FILING_LABELS_ZH = {
    "filed": "已备案",
    "filed_late": "逾期备案",
    "not_filed": "未备案",
    "announced": "已公告",
    "announced_late": "逾期公告",
}
FILING_KEYS = tuple(FILING_LABELS_ZH)


def _count_filing(filing: dict, decided, filed_on, announced_on) -> None:
    from gazetteer.approval import ANNOUNCEMENT_DEADLINE_DAYS, FILING_DEADLINE_DAYS, deadline

    if decided is None:
        return
    if filed_on is None:
        filing["not_filed"] += 1
    else:
        filing["filed"] += 1
        filing["filed_late"] += filed_on > deadline(decided, FILING_DEADLINE_DAYS)
    if announced_on is not None:
        filing["announced"] += 1
        filing["announced_late"] += announced_on > deadline(decided, ANNOUNCEMENT_DEADLINE_DAYS)


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """A font file that renders Chinese, found with fontconfig (``fc-list :lang=zh``);
    None when the machine has none, and the chart then uses codes and English labels."""
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    paths = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return paths[0] if paths else None


def statistics_chart_png(stats: dict, *, font_path: str | None = "auto") -> bytes:
    """A horizontal grouped bar chart of ``annual_statistics`` output, as PNG bytes.

    Drawn with matplotlib's object API on the Agg canvas (no pyplot global state, safe in
    a web worker). ``font_path`` None forces the code-and-English fallback."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font_path = cjk_font_path() if font_path == "auto" else font_path
    font = FontProperties(fname=font_path) if font_path else None
    rows = [r for r in stats["rows"] if any(r[k] for k in LABELS_ZH)] or stats["rows"][:1]
    labels = [r["name"] if font else r["code"] for r in rows]
    legend = LABELS_ZH if font else LABELS_EN
    division = stats["division"]
    title = (
        f"{division['name']} {stats['year']} 年地名命名、更名、销名"
        if font
        else f"{division['code']}: place names named / renamed / retired in {stats['year']}"
    )
    height = 1.2 + 0.45 * max(len(rows), 1) * 1.5
    figure = Figure(figsize=(8, height), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    bar = 0.27
    for i, key in enumerate(LABELS_ZH):
        ys = [n + (i - 1) * bar for n in range(len(rows))]
        ax.barh(ys, [r[key] for r in rows], height=bar, label=legend[key])
    ax.set_yticks(range(len(rows)), labels, fontproperties=font)
    ax.invert_yaxis()
    ax.set_title(title, fontproperties=font)
    ax.legend(prop=font)
    ax.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
