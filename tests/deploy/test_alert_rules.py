"""The Prometheus alert rules: valid, unit-tested with promtool (each alert with cases that fire
and cases that do not), and written only with names the receiver exports (from names.py)."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy.promql_grouping import RECEIVER_LABELS, grouping_problems, groupings
from tests.deploy.runbook import runbook_sections, shipped_alerts
from tests.deploy.telemetry_names import collector_series, prometheus_labels, prometheus_series, promql_problems
from tests.harness.paths import REPO

ALERTS_DIR = REPO / "examples" / "alerts"
RULES = ALERTS_DIR / "otel-desk-receiver.rules.yaml"
RULE_TESTS = ALERTS_DIR / "otel-desk-receiver.rules.test.yaml"


def promtool() -> str:
    path = shutil.which("promtool")
    # `make test` installs Debian's prometheus package; a missing promtool is a failure, not a skip.
    assert path, "promtool not found: run `make test` (or apt-get install -y --no-install-recommends prometheus)"
    return path


def rules():
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def run_promtool(*args):
    result = subprocess.run([promtool(), *args], cwd=ALERTS_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_are_valid():
    run_promtool("check", "rules", RULES.name)


def test_rules_pass_their_unit_tests():
    run_promtool("test", "rules", RULE_TESTS.name)


def test_the_issue_s_alerts_exist():
    assert {r["alert"] for r in rules()} >= {
        "DeskBotWebhookFailureRatioHigh", "DeskBotWebhookTimeoutBurst", "DeskReceiverLagging",
        "DeskReceiverNotExporting", "DeskBotUnreadError",
    }


@pytest.mark.parametrize("alert", [r["alert"] for r in rules()])
def test_every_alert_has_firing_and_quiet_cases(alert):
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
             for case in test["alert_rule_test"] if case["alertname"] == alert]
    assert any(case["exp_alerts"] for case in cases), f"{alert}: no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), f"{alert}: no case where it stays quiet"


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rules_use_only_exported_names(rule):
    assert promql_problems(rule["expr"]) == []
    for text in rule.get("annotations", {}).values():
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in prometheus_labels()


def test_unit_test_series_use_only_exported_names():
    series = [s["series"] for t in yaml.safe_load(RULE_TESTS.read_text())["tests"] for s in t["input_series"]]
    known = prometheus_series() | collector_series()
    for text in series:
        name = text.split("{", 1)[0]
        if name == "up":  # a foreign series: "the receiver reports nothing at all"
            continue
        assert name in known, name
        labels = set(re.findall(r"(\w+)=", text))
        assert labels <= prometheus_labels(), labels - prometheus_labels()


SEVERITIES = {"critical", "warning", "info"}
# What an on-call engineer accepts: nothing pages on a blip, nothing waits longer than half an hour to say so.
MAX_FOR_S = 30 * 60


def duration_s(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", text))


def test_read_health_alerts_exist():
    assert {r["alert"] for r in rules()} >= {"DeskApiUnreachable", "DeskBotUnreadable", "DeskApiRateLimited"}


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_alert_has_a_severity_and_a_runbook_section(rule):
    assert rule["labels"]["severity"] in SEVERITIES
    path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
    assert path.endswith("/docs/runbook.md") and anchor == rule["alert"].lower()  # the base: test_runbook_links.py
    section = runbook_sections()[anchor]
    for part in ("**What it means.**", "**How to confirm.**", "**What to do.**"):
        assert part in section, (rule["alert"], part)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_for_durations_an_on_call_engineer_accepts(rule):
    wait_s = duration_s(rule.get("for", "0s"))
    assert wait_s <= MAX_FOR_S
    if rule["labels"]["severity"] == "critical":
        assert wait_s >= 5 * 60, "a critical alert must not page on a blip"


def test_the_runbook_covers_exactly_the_shipped_alerts():
    """One section per alert of every shipped rule file, the generated SLO rules' included, and no other."""
    assert shipped_alerts() >= {r["alert"] for r in rules()} | {"DeskBotSLOFastBurn", "DeskBotSLOSlowBurn"}
    assert set(runbook_sections()) == {alert.lower() for alert in shipped_alerts()}


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_rule_keeps_apps_and_receivers_apart(rule):
    assert grouping_problems(rule["expr"]) == []


@pytest.mark.parametrize("expr, problem", [
    pytest.param("sum by (sendbird_desk_bot_id) (x) > 0", "keeps the bot but not sendbird_app_id", id="bot-without-app"),
    pytest.param("x > 0 and on (sendbird_desk_bot_id) y", "keeps the bot but not sendbird_app_id", id="on-without-app"),
    pytest.param("sum(increase(x[5m])) == 0", "sum(...) over everything", id="global-sum"),
    pytest.param("x unless on () (time() - max(y) < 120)", "neither the app nor the receiver", id="on-nothing"),
])
def test_the_grouping_check_catches(expr, problem):
    assert any(problem in line for line in grouping_problems(expr)), grouping_problems(expr)


RECEIVER_WIDE = ("DeskReceiverDown", "DeskReceiverExportFailing", "DeskApiUnreachable", "DeskApiRateLimited")


@pytest.mark.parametrize("alert", RECEIVER_WIDE)
def test_receiver_wide_alerts_aggregate_per_receiver(alert):
    (rule,) = [r for r in rules() if r["alert"] == alert]
    by = groupings(rule["expr"], "by")
    assert by and all(RECEIVER_LABELS <= labels for labels in by), by
