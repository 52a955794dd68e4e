"""The README in the order a user needs it (issue 23): what it is, then on the first screen the way to the demo and
to a sidecar; then Quick start, Deployment (sidecar, standalone, high availability), Configuration, Telemetry and
Operations (troubleshooting, the runbook) before anything else; within a word budget, the internals (how delivery
is kept, performance, development, the layout) in docs/; and every relative link resolving."""

import re

from tests.harness.markdown import headings, unresolved_links
from tests.harness.paths import REPO

README = REPO / "README.md"
SECTIONS_FIRST = ["Quick start", "Deployment", "Configuration", "Telemetry", "Operations"]
DEPLOYMENT_SHAPES = ["Sidecar", "Standalone", "High availability"]  # the Deployment's subsections, in this order
FIRST_SCREEN = 40  # lines
# The README had grown to 8,900 words, its Deployment 387 lines down; it is about 4,450 with the internals in
# docs/. What is left is room for the generated reference tables and new features: past it, move detail to docs/.
WORD_BUDGET = 4_800
# Where the internals went: the README links each.
INTERNALS = ["docs/delivery.md", "docs/performance.md", "docs/development.md", "docs/architecture.md"]
SIDECAR_PATH = re.compile(r"examples/sidecar-collector|mode[=:] ?sidecar")


def text() -> str:
    return README.read_text(encoding="utf-8")


def sections(level: int, within: str | None = None) -> list[str]:
    """The README's headings of one level, in order; with `within`, only those under that top-level section."""
    found, current = [], None
    for heading_level, title in headings(text()):
        current = title if heading_level == 2 else current
        if heading_level == level and within in (None, current):
            found.append(title)
    return found


def section_text(title: str) -> str:
    """The text of one top-level section, its subsections included ("" when there is none)."""
    parts = re.split(r"^## (.*)$", text(), flags=re.M)
    return next((body for heading, body in zip(parts[1::2], parts[2::2]) if heading.strip() == title), "")


def test_the_sections_a_user_needs_come_first():
    assert sections(2)[:len(SECTIONS_FIRST)] == SECTIONS_FIRST


def test_deployment_goes_sidecar_standalone_high_availability():
    shapes = [title for title in sections(3, within="Deployment") if title in DEPLOYMENT_SHAPES]
    assert shapes == DEPLOYMENT_SHAPES


def test_operations_holds_troubleshooting_and_links_the_runbook():
    assert "Troubleshooting" in sections(3, within="Operations")
    assert "](docs/runbook.md)" in section_text("Operations")


def test_the_first_screen_reaches_the_demo_and_a_sidecar():
    first_screen = "\n".join(text().splitlines()[:FIRST_SCREEN])
    assert "make demo" in first_screen
    assert SIDECAR_PATH.search(first_screen), "no chart command or link for a sidecar in the first screen"


def test_quick_start_keeps_make_demo_and_make_test():
    quick_start = section_text("Quick start")
    assert "make demo" in quick_start and "make test" in quick_start


def test_the_readme_stays_within_its_word_budget():
    assert len(text().split()) <= WORD_BUDGET


def test_the_internals_are_linked_from_the_readme():
    missing = [page for page in INTERNALS if f"]({page}" not in text()]
    assert missing == []


def test_every_relative_link_in_the_readme_resolves():
    assert unresolved_links(README) == []
