"""The generated SLO rules (examples/alerts/otel-desk-receiver.slo.rules.yaml): valid for promtool, passing their
unit tests (otel-desk-receiver.slo.rules.test.yaml: every window pair with cases that fire and cases that stay
quiet), written only with names the receiver exports or the file records, each alert with a runbook section in
docs/runbook.md as every shipped alert has; and the low-traffic guard is what keeps the quiet bots of the unit
tests quiet."""

import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from otel_desk_receiver.devkit.slo.source import BURN_ALERTS
from tests.deploy.promql_grouping import grouping_problems, groupings
from tests.deploy.runbook import runbook_sections
from tests.deploy.telemetry_names import prometheus_labels, prometheus_series, promql_names
from tests.harness.paths import REPO

ALERTS_DIR = REPO / "examples" / "alerts"
RULES = ALERTS_DIR / "otel-desk-receiver.slo.rules.yaml"
RULE_TESTS = ALERTS_DIR / "otel-desk-receiver.slo.rules.test.yaml"
RUNBOOK_BASE = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Runbook"]


def promtool(*args, cwd=ALERTS_DIR) -> subprocess.CompletedProcess:
    path = shutil.which("promtool")
    # `make test` installs Debian's prometheus package; a missing promtool is a failure, not a skip.
    assert path, "promtool not found: run `make test` (or apt-get install -y --no-install-recommends prometheus)"
    return subprocess.run([path, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def cases() -> list[dict]:
    return [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]


def test_rules_are_valid():
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests():
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_window_pair_of_the_workbook_is_an_alert():
    found = {(rule["alert"], rule["labels"]["long_window"], rule["labels"]["short_window"]) for rule in alerts()}
    assert found == {("DeskBotSLOFastBurn", "1h", "5m"), ("DeskBotSLOFastBurn", "6h", "30m"),
                     ("DeskBotSLOSlowBurn", "1d", "2h"), ("DeskBotSLOSlowBurn", "3d", "6h")}
    assert len(BURN_ALERTS) == 4


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: f"{r['alert']}-{r['labels']['long_window']}")
def test_every_window_pair_has_firing_and_quiet_cases(rule):
    window = rule["labels"]["long_window"]
    mine = [case for case in cases() if case["alertname"] == rule["alert"]]
    fired = [case for case in mine if any(a["exp_labels"]["long_window"] == window for a in case["exp_alerts"])]
    quiet = [case for case in mine if not any(a["exp_labels"]["long_window"] == window for a in case["exp_alerts"])]
    assert fired, f"{rule['alert']} over {window}: no case where it fires"
    assert quiet, f"{rule['alert']} over {window}: no case where it stays quiet"


def test_rules_use_only_exported_or_recorded_names():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for rule in rules():
        metrics, labels, patterns = promql_names(rule["expr"])
        assert metrics <= prometheus_series() | recorded, (rule.get("record") or rule["alert"], metrics)
        assert labels <= prometheus_labels() and not patterns, labels - prometheus_labels()
        for text in rule.get("annotations", {}).values():
            assert set(re.findall(r"\$labels\.(\w+)", text)) <= prometheus_labels()


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.get("record") or f"{r['alert']}-{r['labels']['long_window']}")
def test_every_rule_keeps_a_bot_with_its_app(rule):
    """Two Desk apps share bot ids: every aggregation keeps (sendbird_app_id, sendbird_desk_bot_id)."""
    assert grouping_problems(rule["expr"]) == []
    assert all(set(grouping) == {"sendbird_app_id", "sendbird_desk_bot_id"} for grouping in groupings(rule["expr"]))


def test_unit_test_series_use_only_exported_names():
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for series in test["input_series"]:
            assert series["series"].split("{", 1)[0] in prometheus_series()
            assert set(re.findall(r"(\w+)=", series["series"])) <= prometheus_labels()


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: f"{r['alert']}-{r['labels']['long_window']}")
def test_every_alert_has_a_severity_and_a_runbook_section(rule):
    severity = {"DeskBotSLOFastBurn": "critical", "DeskBotSLOSlowBurn": "warning"}[rule["alert"]]
    assert rule["labels"]["severity"] == severity
    assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}#{rule['alert'].lower()}"
    section = runbook_sections()[rule["alert"].lower()]
    for part in ("**What it means.**", "**How to confirm.**", "**What to do.**"):
        assert part in section, (rule["alert"], part)


def test_the_guard_is_what_keeps_the_quiet_bots_quiet(tmp_path):
    """The same rules without the guard's line (calls x factor x budget >= 1) fail the unit tests on the quiet
    bots: 3 calls with 1 failure, 6 calls with 1 failure, and the 6h/1d/3d alerts of 8 calls with 2 failures."""
    text = RULES.read_text()
    unguarded = re.sub(r"\n\s*and sendbird_desk_bot:webhook_slo_events:increase\w+ \* [\d.]+ \* \S+ >= 1", "", text)
    assert unguarded.count(">= 1") == 0 and text.count(">= 1") == len(alerts())
    (tmp_path / RULES.name).write_text(unguarded)
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["tests"] = [test for test in tests["tests"] if test["name"] == "low-traffic guard"]
    (tmp_path / RULE_TESTS.name).write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    failed = result.stdout + result.stderr
    assert "name: low-traffic guard" in failed and 'sendbird_desk_bot_id="5"' in failed, failed[-3000:]
