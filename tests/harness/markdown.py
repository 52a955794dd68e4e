"""Markdown as GitHub reads it: heading anchors (its slugs) and relative links, for the tests that check the
repository's documents cite files and headings that exist (tests/test_docs.py, tests/test_readme.py)."""

import re
from functools import cache
from pathlib import Path

# A relative Markdown link: [text](file.md#anchor), (../README.md), (#anchor); not a URL (https:, mailto:).
RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:)([^)\s#]*)(?:#([^)\s]+))?\)")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def headings(text: str) -> list[tuple[int, str]]:
    """Every heading of a Markdown text as (level, title), in order; lines inside ``` fences are not headings."""
    found = []
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


@cache
def anchors_of(path: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub numbers them (-1, -2)."""
    seen: dict[str, int] = {}
    anchors = set()
    for _, title in headings(path.read_text(encoding="utf-8")):
        slug = github_slug(title)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return frozenset(anchors)


def broken(target: Path, anchor: str | None) -> str | None:
    """Why a cited file or heading does not resolve, or None when it does."""
    if not target.exists():
        return "no such file"
    if anchor and target.suffix == ".md" and anchor.lower() not in anchors_of(target):
        return f"no heading #{anchor}"
    return None


def unresolved_links(path: Path) -> list[str]:
    """Every relative link of a Markdown file whose file or heading does not exist, as `line: link: why`."""
    unresolved = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for match in RELATIVE_LINK.finditer(line):
            target = (path.parent / match.group(1)).resolve() if match.group(1) else path
            why = broken(target, match.group(2))
            if why:
                unresolved.append(f"{number}: {match.group(0)}: {why}")
    return unresolved
