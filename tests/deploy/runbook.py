"""docs/runbook.md by section: what the alert rules' runbook links point into (tests/deploy/test_alert_rules.py,
tests/deploy/test_runbook_links.py)."""

import re

from tests.harness.paths import REPO

RUNBOOK = REPO / "docs" / "runbook.md"


def runbook_sections() -> dict[str, str]:
    """Runbook sections by their GitHub anchor (a `## Heading` lower-cased)."""
    parts = re.split(r"^## (\w+)\n", RUNBOOK.read_text(), flags=re.M)
    return {heading.lower(): body for heading, body in zip(parts[1::2], parts[2::2])}
