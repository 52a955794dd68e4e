"""Every document the repository cites is in the repository (docs/README.md).

A contributor who clones the repository must be able to follow every citation in it: no file may cite notes
kept outside it (the project's early working notes on the Desk API, the delivery contract, the test
infrastructure and the code style), and every `docs/<file>.md` or `docs/<file>.md#anchor` cited anywhere, and
every relative link inside docs/, must name a file that exists and, with an anchor, one of its headings.
"""

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.harness.markdown import anchors_of, broken, github_slug, unresolved_links
from tests.harness.paths import REPO

# The outside notes by name, escaped (a dot, a bracket) so that this file does not cite them itself. The Desk API
# notes share their name with docs/desk-api.md, which may be cited: outside docs/ only a path into docs/ is
# ours; inside docs/ a bare name is the neighbouring page.
OUTSIDE_NOTES = re.compile(r"contract\.md|test-infra\.md|style\.md|\.\./shared\b|/work/share[d]\b")
BARE_DESK_API = re.compile(r"(?<![\w/.-])desk-api\.md")
# docs/<file>.md, optionally with #anchor, rooted at the repository (a runbook_url) or reached by ../ links;
# not a docs/ folder inside a URL (https://example.org/docs/x.md).
DOCS_CITATION = re.compile(r"(?<![\w/.-])(?:\.\./)*docs/([\w.-]+\.md)(?:#([\w-]+))?")
# A file named in code spans inside docs/: `tests/harness/ports.py`, `desk/clock.py` (in the package).
NAMED_FILE = re.compile(r"`([\w.-]+(?:/[\w.-]+)*\.(?:py|md|toml|yaml|json))`")
PACKAGE = REPO / "otel_desk_receiver"


@cache
def tracked_files() -> tuple[Path, ...]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return tuple(REPO / name for name in listing.decode().split("\0") if name)


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return None  # a binary file, or one deleted in the working tree but not yet in the index


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_file_cites_notes_kept_outside_the_repository():
    citations = []
    for path in tracked_files():
        text = text_of(path)
        for number, line in enumerate((text or "").splitlines(), start=1):
            citations += [f"{relative(path)}:{number}: {match}" for match in outside_citations(path, line)]
    assert citations == []


def outside_citations(path: Path, line: str) -> list[str]:
    """The names in ``line`` of ``path`` that cite notes kept outside the repository."""
    patterns = [OUTSIDE_NOTES] if path.parent == REPO / "docs" else [OUTSIDE_NOTES, BARE_DESK_API]
    return [match.group(0) for pattern in patterns for match in pattern.finditer(line)]


def test_every_docs_citation_names_a_file_and_heading_that_exist():
    unresolved = []
    for path in tracked_files():
        text = text_of(path)
        for number, line in enumerate((text or "").splitlines(), start=1):
            for match in DOCS_CITATION.finditer(line):
                why = broken(REPO / "docs" / match.group(1), match.group(2))
                if why:
                    unresolved.append(f"{relative(path)}:{number}: {match.group(0)}: {why}")
    assert unresolved == []


def test_every_relative_link_inside_docs_resolves():
    unresolved = []
    for path in tracked_files():
        if path.parent == REPO / "docs" and path.suffix == ".md":
            unresolved += [f"{relative(path)}:{problem}" for problem in unresolved_links(path)]
    assert unresolved == []


def test_every_file_named_in_docs_exists():
    """docs/ name the code that keeps each fact; a module moved or renamed must take its docs along."""
    missing = []
    for path in sorted((REPO / "docs").glob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name in NAMED_FILE.findall(line):
                if "/" in name and not any((root / name).exists() for root in (REPO, PACKAGE)):
                    missing.append(f"{relative(path)}:{number}: {name}")
    assert missing == []


@pytest.mark.parametrize(("heading", "slug"), [
    ("Delivery guarantees, and how they are kept", "delivery-guarantees-and-how-they-are-kept"),
    ("`GET /bots/{bot_id}/webhook_logs`", "get-botsbot_idwebhook_logs"),
    ("DeskApiUnreachable", "deskapiunreachable"),
    ("Retry-After and 429", "retry-after-and-429"),
    ("The SDK's pitfalls (measured)", "the-sdks-pitfalls-measured"),
], ids=["comma", "code-and-braces", "plain", "hyphen-kept", "apostrophe-and-parentheses"])
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_a_missing_file_or_heading_is_reported(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n## Same\n\n## Same\n\n```\n# not a heading\n```\n", encoding="utf-8")
    assert anchors_of(doc) == {"title", "same", "same-1"}
    assert broken(doc, "same-1") is None
    assert broken(doc, "not-a-heading") == "no heading #not-a-heading"
    assert broken(tmp_path / "absent.md", None) == "no such file"


@pytest.mark.parametrize(("where", "line", "cited"), [
    # Split literals: this file must not cite the notes either.
    ("otel_desk_receiver/desk/models.py", "# desk-api" ".md, \"Bots\"", True),
    ("otel_desk_receiver/desk/models.py", "(see contract" ".md guarantee 6)", True),
    ("tests/harness/ports.py", "../" "shared/notes", True),
    ("tests/harness/ports.py", "/work/" "shared/notes", True),
    ("otel_desk_receiver/desk/models.py", "# docs/desk-api" ".md#bots", False),
    ("examples/alerts/README.md", "[the Desk API](../../docs/desk-api" ".md)", False),
    ("docs/delivery.md", "[Ids](desk-api" ".md#ids)", False),
    ("docs/delivery.md", "as the contract" ".md said", True),
], ids=["bare-desk-api", "contract", "shared-folder", "shared-folder-absolute", "docs-path", "relative-docs-path", "neighbour-in-docs",
        "contract-in-docs"])
def test_outside_notes_are_told_from_docs_paths(where, line, cited):
    assert bool(outside_citations(REPO / where, line)) is cited
