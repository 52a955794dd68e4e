"""examples/datadog: the dashboard and every monitor parse into datadog-api-client's models with
nothing left untyped, and the monitors page on what an on-call engineer can act on."""

import copy
import json

import pytest

from tests.deploy.datadog_models import dashboard_problems, monitor_problems
from tests.harness.paths import REPO

DATADOG = REPO / "examples" / "datadog"
DASHBOARD = json.loads((DATADOG / "dashboard.json").read_text())
MONITORS = json.loads((DATADOG / "monitors.json").read_text())


def test_dashboard_parses_with_datadog_s_models():
    assert dashboard_problems(DASHBOARD) == []


@pytest.mark.parametrize("monitor", MONITORS, ids=lambda m: m["name"][:60])
def test_monitor_parses_with_datadog_s_models(monitor):
    assert monitor_problems(monitor) == []


@pytest.mark.parametrize(("label", "change", "expected"), [
    ("widget type misspelt", lambda d: d["widgets"][0]["definition"].update(type="timeserie"), "cannot be typed"),
    ("unknown widget field", lambda d: d["widgets"][0]["definition"].update(titel="x"), "titel: not a field"),
    ("wrong layout", lambda d: d.update(layout_type="grid"), "cannot be typed"),
])
def test_the_dashboard_check_catches(label, change, expected):
    broken = copy.deepcopy(DASHBOARD)
    change(broken)
    assert expected in " ".join(dashboard_problems(broken))


@pytest.mark.parametrize(("label", "change", "expected"), [
    ("monitor type misspelt", lambda m: m.update(type="query-alert"), "cannot be typed"),
    ("unknown option", lambda m: m["options"].update(notify_nodata=True), "notify_nodata: not a field"),
])
def test_the_monitor_check_catches(label, change, expected):
    broken = copy.deepcopy(MONITORS[0])
    change(broken)
    assert expected in " ".join(monitor_problems(broken))


def rule_alerts():
    import yaml
    rules = yaml.safe_load((REPO / "examples" / "alerts" / "otel-desk-receiver.rules.yaml").read_text())
    return {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}


def test_monitors_cover_the_prometheus_rules_cases():
    tagged = {tag.split(":", 1)[1] for m in MONITORS for tag in m["tags"] if tag.startswith("alert:")}
    # DeskReceiverDown has no monitor of its own: DeskReceiverNotExporting's no-data covers a silent receiver.
    assert tagged == set(rule_alerts()) - {"DeskReceiverDown"}


@pytest.mark.parametrize("monitor", MONITORS, ids=lambda m: m["name"][:60])
def test_monitor_has_the_rule_s_severity_and_runbook(monitor):
    (alert,) = [tag.split(":", 1)[1] for tag in monitor["tags"] if tag.startswith("alert:")]
    rule = rule_alerts()[alert]
    assert f"severity:{rule['labels']['severity']}" in monitor["tags"]
    assert rule["annotations"]["runbook_url"] in monitor["message"]


def test_the_lag_monitor_does_not_page_a_quiet_bot():
    (lag,) = [m for m in MONITORS if "alert:DeskReceiverLagging" in m["tags"]]
    # Lag counts only in intervals where entries of the bot were delivered: quiet overnight, the product is 0.
    assert "* clamp_max(sum:sendbird.desk.bot.webhook_logs{*} by {sendbird.desk.bot.name}.as_count(), 1)" in lag["query"]
