"""Runbook links in the shipped alerts are absolute, from one base URL (pyproject.toml's project.urls.Runbook):
every runbook_url of the Prometheus rules (the main ones and the generated SLO ones), their unit tests and
Grafana's provisioned alerts, and every Runbook: line of the Datadog monitors (the SLO burn-rate monitors too), is
that base plus the alert's section of docs/runbook.md; and the Grafana README counts the alert rules it
provisions."""

import json
import re
import tomllib

import pytest
import yaml

from tests.deploy.runbook import RULE_FILES, runbook_sections
from tests.harness.paths import REPO

EXAMPLES = REPO / "examples"
BASE = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Runbook"]
GRAFANA_ALERTING = EXAMPLES / "grafana" / "provisioning" / "alerting" / "otel-desk-receiver.yaml"
DATADOG_MONITORS = ("monitors.json", "slo-monitors.json")
COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def prometheus_links():
    for rules_path, tests_path in RULE_FILES.items():
        rules = yaml.safe_load(rules_path.read_text())
        for rule in (r for group in rules["groups"] for r in group["rules"] if "alert" in r):
            yield rules_path.name, rule["alert"], rule["annotations"]["runbook_url"]
        tests = yaml.safe_load(tests_path.read_text())
        for case in (c for test in tests["tests"] for c in test["alert_rule_test"]):
            for alert in case["exp_alerts"]:
                yield tests_path.name, case["alertname"], alert["exp_annotations"]["runbook_url"]


def grafana_rules():
    provisioning = yaml.safe_load(GRAFANA_ALERTING.read_text())
    return [rule for group in provisioning["groups"] for rule in group["rules"]]


def grafana_links():
    for rule in grafana_rules():
        # Grafana's rules are titled in prose; the runbook section is the Prometheus alert it mirrors.
        yield "grafana", rule["title"], rule["annotations"]["runbook_url"]


def datadog_links():
    for name in DATADOG_MONITORS:
        for monitor in json.loads((EXAMPLES / "datadog" / name).read_text()):
            (alert,) = [tag.split(":", 1)[1] for tag in monitor["tags"] if tag.startswith("alert:")]
            (link,) = re.findall(r"^Runbook: (\S+)", monitor["message"], re.M)
            yield name, alert, link


LINKS = [*prometheus_links(), *grafana_links(), *datadog_links()]


@pytest.mark.parametrize(("where", "alert", "link"), LINKS, ids=lambda v: v if len(v) < 50 else "")
def test_runbook_link_is_the_base_url_plus_a_section_of_the_runbook(where, alert, link):
    assert BASE.startswith("https://") and link.startswith(f"{BASE}#"), link
    anchor = link.removeprefix(f"{BASE}#")
    assert anchor in runbook_sections()
    if where != "grafana":
        assert anchor == alert.lower()


def test_every_kind_of_shipped_alert_has_runbook_links():
    assert {where for where, _, _ in LINKS} == {
        *(path.name for pair in RULE_FILES.items() for path in pair), "grafana", *DATADOG_MONITORS}


def test_grafana_readme_counts_the_alert_rules_it_provisions():
    readme = (EXAMPLES / "grafana" / "README.md").read_text()
    (said,) = re.findall(r"\b(\w+) alert rules provisioned", readme)
    assert COUNT_WORDS.get(said, said) == len(grafana_rules())
