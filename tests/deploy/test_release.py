"""Release artifacts at the top of the repository: LICENSE (the Apache License 2.0 that pyproject.toml
declares), SECURITY.md, UPGRADING.md, and a CHANGELOG.md in Keep a Changelog form with a section for
the package's version or an Unreleased one."""

import re
import tomllib

import pytest

from tests.harness.paths import REPO

PACKAGE = REPO / "otel_desk_receiver"
CHANGELOG = REPO / "CHANGELOG.md"
# Keep a Changelog headings: "## [Unreleased]" and "## [1.2.3] - YYYY-MM-DD".
RELEASE_HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\] - \d{4}-\d{2}-\d{2}$", re.M)
UNRELEASED_HEADING = re.compile(r"^## \[Unreleased\]$", re.M)
# The section titles of the Apache License 2.0 text, in order.
APACHE_SECTIONS = [
    "1. Definitions.", "2. Grant of Copyright License.", "3. Grant of Patent License.", "4. Redistribution.",
    "5. Submission of Contributions.", "6. Trademarks.", "7. Disclaimer of Warranty.",
    "8. Limitation of Liability.", "9. Accepting Warranty or Additional Liability.",
]


def package_version() -> str:
    """__version__ read from the file, not imported: the package is being moved around."""
    text = (PACKAGE / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"$', text, re.M).group(1)


@pytest.mark.parametrize("name", ["LICENSE", "SECURITY.md", "CHANGELOG.md", "UPGRADING.md"])
def test_release_file_exists(name):
    assert (REPO / name).is_file() and (REPO / name).read_text().strip(), name


def test_license_is_the_apache_2_0_that_pyproject_declares():
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    positions = [text.find(section) for section in APACHE_SECTIONS]
    assert -1 not in positions and positions == sorted(positions), "not the full license text"
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_has_a_section_for_the_package_version_or_unreleased():
    text = CHANGELOG.read_text()
    released = [m["version"] for m in RELEASE_HEADING.finditer(text)]
    assert package_version() in released or UNRELEASED_HEADING.search(text)


def test_changelog_sections_are_newest_first_with_unreleased_on_top():
    text = CHANGELOG.read_text()
    headings = re.findall(r"^## .*$", text, re.M)
    assert all(RELEASE_HEADING.match(h) or UNRELEASED_HEADING.match(h) for h in headings), headings
    unreleased = UNRELEASED_HEADING.search(text)
    releases = list(RELEASE_HEADING.finditer(text))
    assert releases, "no released version at all"
    if unreleased:
        assert unreleased.start() < releases[0].start()
    numbers = [tuple(int(n) for n in re.match(r"\d+\.\d+\.\d+", m["version"]).group().split(".")) for m in releases]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)


def test_security_policy_says_how_to_report_privately_and_where_secrets_go():
    text = (REPO / "SECURITY.md").read_text()
    assert re.search(r"report .*privately", text, re.I | re.S)
    for touched in ("DESK_API_URL", "DESK_STATE_PATH", "DESK_HEALTH_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "DESK_API_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS"):
        assert touched in text, touched


def state_file_version() -> int:
    """STATE_VERSION wherever the package keeps it (read from the source: modules are moving)."""
    found = {int(m.group(1)) for path in PACKAGE.rglob("*.py")
             for m in re.finditer(r"^STATE_VERSION = (\d+)$", path.read_text(), re.M)}
    assert len(found) == 1, found
    return found.pop()


def test_upgrading_names_the_current_state_file_version():
    # The receiver refuses any other version (exit 2), so a new one must come with migration notes.
    version = state_file_version()
    assert f"**version {version}**" in (REPO / "UPGRADING.md").read_text(), (
        f"the state file is version {version} now: say so in UPGRADING.md ('Today it is **version {version}**') "
        "and add the release's section on migrating older files and going back")
