"""docs/runbook.md by section, and the shipped alerts its sections cover: what the alert rules' runbook links point
into (tests/deploy/test_alert_rules.py, tests/deploy/test_slo_rules.py, tests/deploy/test_runbook_links.py)."""

import re

import yaml

from tests.harness.paths import REPO

RUNBOOK = REPO / "docs" / "runbook.md"
ALERTS_DIR = REPO / "examples" / "alerts"
# Every Prometheus rule file shipped, each with its promtool unit tests: the main rules and the generated SLO rules
# (docs/slo.md). The Grafana alerts and the Datadog monitors mirror these alerts.
RULE_FILES = {
    ALERTS_DIR / "otel-desk-receiver.rules.yaml": ALERTS_DIR / "otel-desk-receiver.rules.test.yaml",
    ALERTS_DIR / "otel-desk-receiver.slo.rules.yaml": ALERTS_DIR / "otel-desk-receiver.slo.rules.test.yaml",
}


def runbook_sections() -> dict[str, str]:
    """Runbook sections by their GitHub anchor (a `## Heading` lower-cased)."""
    parts = re.split(r"^## (\w+)\n", RUNBOOK.read_text(), flags=re.M)
    return {heading.lower(): body for heading, body in zip(parts[1::2], parts[2::2])}


def shipped_alerts() -> set[str]:
    """The name of every alert of every shipped rule file (recording rules left out)."""
    return {rule["alert"] for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule}
