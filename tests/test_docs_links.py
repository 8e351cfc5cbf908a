"""The README stays short and every relative link in README.md and docs/*.md resolves.

Links to anchors are checked against the target page's headings (GitHub's slug rules), so a
renamed heading cannot silently break a link from another page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 200

# [text](target) and ![alt](target); the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(text: str, *, keep_code_spans: bool = False) -> str:
    """The page without code blocks and (unless kept) inline code spans: links there are
    examples, not links."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if not in_fence and not line.startswith("    "):
            lines.append(line if keep_code_spans else re.sub(r"`[^`]*`", "", line))
    return "\n".join(lines)


def relative_links(page: Path) -> list[str]:
    return [
        t
        for t in LINK.findall(prose(page.read_text(encoding="utf-8")))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    headings = [
        line.lstrip("#").strip()
        for line in prose(page.read_text(encoding="utf-8"), keep_code_spans=True).splitlines()
        if re.match(r"^#{1,6} ", line)
    ]
    return {slug(h) for h in headings}


def test_readme_fits() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES})"
    )


def test_docs_pages_are_found() -> None:
    # The link check below would pass vacuously if the glob found nothing.
    assert len(PAGES) > 5
    assert all(
        relative_links(p) for p in PAGES if p.name in {"README.md", "registry.md", "webmap.md"}
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / path_part).resolve()
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{fragment}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nSee [gone](missing.md) and [here](#title), `[code](x.md)`.\n", encoding="utf-8"
    )
    assert relative_links(page) == ["missing.md"]
    assert slug("Running the tests against PostGIS") == "running-the-tests-against-postgis"
    assert slug("OGC API - Features") == "ogc-api---features"
    assert slug("Officer pages (Chinese)") == "officer-pages-chinese"
    page.write_text("# Admin (`gdgis admin`)\n\n```\n# not a heading\n```\n", encoding="utf-8")
    assert anchors(page) == {"admin-gdgis-admin"}
