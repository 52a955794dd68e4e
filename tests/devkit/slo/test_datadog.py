"""The Datadog SLOs and burn-rate monitors generated from the bots' SLOs: the committed files parse with
datadog-api-client's own models (as the other Datadog examples do), no bot counts in two SLOs, and the
monitors carry the Prometheus alerts' windows, factors, severities and runbook sections."""

import copy
import json

import pytest

from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest

from otel_desk_receiver import names
from otel_desk_receiver.devkit.slo.datadog import monitors, slos, timeframe
from otel_desk_receiver.devkit.slo.prometheus import rules
from tests.deploy.datadog_models import monitor_problems, parse, problems
from tests.deploy.telemetry_names import datadog_metrics, datadog_names, datadog_tags
from tests.devkit.slo.sources import with_overrides
from tests.harness.paths import REPO

DATADOG = REPO / "examples" / "datadog"
SLOS = json.loads((DATADOG / "slo.json").read_text())
MONITORS = json.loads((DATADOG / "slo-monitors.json").read_text())


def slo_problems(data: dict) -> list[str]:
    return problems(parse(data, ServiceLevelObjectiveRequest))


@pytest.mark.parametrize("slo", SLOS + slos(with_overrides()), ids=lambda s: s["name"])
def test_slo_parses_with_datadog_s_models(slo):
    assert slo_problems(slo) == []


@pytest.mark.parametrize("monitor", MONITORS + monitors(with_overrides()), ids=lambda m: m["name"][:70])
def test_monitor_parses_with_datadog_s_models(monitor):
    assert monitor_problems(monitor) == []


def test_the_slo_check_catches():
    broken = copy.deepcopy(SLOS[0])
    broken["thresholds"][0]["timeframe"] = "28d"  # Datadog's SLO windows: 7, 30 or 90 days
    broken["sli"] = {}
    found = " ".join(slo_problems(broken))
    assert "cannot be typed" in found and "sli: not a field" in found


def test_priorities_and_names_follow_the_other_monitors():
    priorities = {tag: m["priority"] for m in json.loads((DATADOG / "monitors.json").read_text()) + MONITORS
                  for tag in m["tags"] if tag.startswith("severity:")}
    assert priorities == {"severity:critical": 1, "severity:warning": 3, "severity:info": 5}
    assert [slo["name"] for slo in slos(with_overrides())] == [
        "Desk bot webhook calls RECEIVED: app-b-bot-12", "Desk bot webhook calls RECEIVED: app-b",
        "Desk bot webhook calls RECEIVED"]


def test_the_28_day_window_becomes_datadog_s_30_days():
    assert timeframe(with_overrides()) == "30d"
    assert {t["timeframe"] for slo in SLOS for t in slo["thresholds"]} == {"30d"}
    assert SLOS[0]["thresholds"][0]["target"] == 99.0


def test_queries_count_received_against_every_settled_call_per_app_and_bot():
    query = SLOS[0]["query"]
    status = names.ATTR_WEBHOOK_LOG_STATUS
    assert query["numerator"].count("sum:") == 1 and f"{status}:received" in query["numerator"]
    assert all(f"{status}:{s}" in query["denominator"] for s in ("received", "error", "timeout"))
    for text in query.values():
        metrics, tags = datadog_names(text.replace(" AND ", ","))
        assert metrics <= datadog_metrics() and tags <= datadog_tags(), (metrics, tags)
        assert f"by {{{names.ATTR_APP_ID},{names.ATTR_BOT_ID}}}" in text


def test_no_bot_counts_in_two_slos():
    """The default leaves out app B; app B leaves out its bot 12; tag values lowercase as Datadog keeps them."""
    by_name = {slo["tags"][1]: slo["query"]["denominator"] for slo in slos(with_overrides())}
    assert "AND NOT sendbird.app_id:app-b" in by_name["slo:bot-webhook-calls"]
    assert "AND sendbird.app_id:app-b AND NOT sendbird.desk.bot.id:12}" in by_name["slo:app-b"]
    assert "AND sendbird.app_id:app-b AND sendbird.desk.bot.id:12}" in by_name["slo:app-b-bot-12"]
    assert "NOT" not in by_name["slo:app-b-bot-12"]


def test_monitors_are_the_prometheus_alerts_windows_factors_and_runbooks():
    alerts = [rule for group in rules(with_overrides())["groups"] for rule in group["rules"] if "alert" in rule]
    expected = {(a["alert"], a["labels"]["long_window"], a["labels"]["severity"], a["annotations"]["runbook_url"])
                for a in alerts}
    found = set()
    for monitor in MONITORS:
        tags = dict(tag.split(":", 1) for tag in monitor["tags"])
        assert f'.long_window("{tags["long_window"]}")' in monitor["query"]
        assert monitor["query"].endswith(f"> {monitor['options']['thresholds']['critical']:g}")
        assert 'burn_rate("SLO_ID(bot-webhook-calls)").over("30d")' in monitor["query"]
        runbook = monitor["message"].rsplit("Runbook: ", 1)[1]
        found.add((tags["alert"], tags["long_window"], tags["severity"], runbook))
    assert found == expected
    assert len(monitors(with_overrides())) == 3 * len(MONITORS)
