"""examples/datadog: the dashboard, every monitor, the logs pipeline and the Observability Pipelines
dedupe processor parse into datadog-api-client's models with nothing left untyped; the monitors page on
what an on-call engineer can act on; the pipeline sets the status from the record's severity, tags the
bot and the app with the metrics' keys, and the dedupe processor matches on log.record.uid."""

import copy
import json
import re

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.pipeline.mapping import SEVERITY_WARN, STATUS_SEVERITY
from tests.deploy.datadog_models import dashboard_problems, dedupe_problems, monitor_problems, pipeline_problems
from tests.deploy.promql_grouping import BOT_LABELS, groupings
from tests.harness.paths import REPO

DATADOG = REPO / "examples" / "datadog"
DASHBOARD = json.loads((DATADOG / "dashboard.json").read_text())
MONITORS = json.loads((DATADOG / "monitors.json").read_text())
PIPELINE = json.loads((DATADOG / "logs-pipeline.json").read_text())
DEDUPE = json.loads((DATADOG / "observability-pipelines-dedupe.json").read_text())


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
    assert tagged == set(rule_alerts())


def monitor_alert(monitor) -> str:
    (alert,) = [tag.split(":", 1)[1] for tag in monitor["tags"] if tag.startswith("alert:")]
    return alert


# A receiver in Datadog: the service (service.name) on its host (examples/datadog/README.md, "Apps and receivers").
RECEIVER_TAGS = {"service", "host"}
BOT_TAGS = {names.ATTR_BOT_ID, names.ATTR_BOT_NAME}


def monitor_groups(query: str) -> list[set[str]]:
    return [{tag.strip() for tag in group.split(",")} for group in re.findall(r"\bby\s*\{([^}]*)\}", query)]


@pytest.mark.parametrize("monitor", MONITORS, ids=lambda m: m["name"][:60])
def test_monitor_groups_as_its_rule(monitor):
    """Per app where the rule is (and per bot), per receiver where the rule is: a multi alert per group, each
    group its own no-data."""
    rule_by = groupings(rule_alerts()[monitor_alert(monitor)]["expr"], "by")
    groups = monitor_groups(monitor["query"])
    assert groups, monitor["query"]
    for group in groups:
        if all("sendbird_app_id" in g for g in rule_by):
            assert names.ATTR_APP_ID in group, group
        if all({"job", "instance"} <= g for g in rule_by):
            assert RECEIVER_TAGS <= group, group
        if any(g & BOT_LABELS for g in rule_by):
            assert group & BOT_TAGS, group
        assert not group & BOT_TAGS or names.ATTR_APP_ID in group, f"a bot without its app: {group}"


def test_the_receiver_down_monitor_fires_per_receiver_on_no_data():
    (down,) = [m for m in MONITORS if monitor_alert(m) == "DeskReceiverDown"]
    # A receiver that stops sends nothing: its own group goes without data while the others' do not.
    assert monitor_groups(down["query"]) == [RECEIVER_TAGS] and down["options"]["notify_no_data"]


def test_dashboard_has_service_app_and_bot_variables():
    variables = {v["name"]: v["prefix"] for v in DASHBOARD["template_variables"]}
    assert variables == {"service": "service", "app": names.ATTR_APP_ID, "bot": names.ATTR_BOT_NAME}


def dashboard_queries():
    for widget in DASHBOARD["widgets"]:
        definition = widget["definition"]
        for request in definition.get("requests", []):
            for query in request["queries"]:  # a metrics query, or a logs query's search (the bot change overlay)
                yield definition["title"], query["query"] if "query" in query else query["search"]["query"]


PER_APP_METRICS = {spec.name for spec in names.METRICS if names.ATTR_APP_ID in spec.attributes}


@pytest.mark.parametrize(("title", "query"), list(dashboard_queries()), ids=lambda v: v[:60])
def test_dashboard_queries_follow_the_variables(title, query):
    for metric, scope in re.findall(r":([A-Za-z0-9_.]+)\{([^}]*)\}", query):
        assert "$service" in scope, (title, query)
        assert "$app" in scope or metric not in PER_APP_METRICS, (title, query)
    for group in monitor_groups(query):
        assert not group & BOT_TAGS or names.ATTR_APP_ID in group, f"{title}: a bot without its app: {group}"


def test_the_log_stream_follows_the_variables_and_names_no_service():
    (stream,) = [w["definition"] for w in DASHBOARD["widgets"] if w["definition"]["type"] == "log_stream"]
    assert {"$service", "$app", "$bot"} <= set(stream["query"].split()) and "service:" not in stream["query"]


@pytest.mark.parametrize("monitor", MONITORS, ids=lambda m: m["name"][:60])
def test_monitor_has_the_rule_s_severity_and_runbook(monitor):
    rule = rule_alerts()[monitor_alert(monitor)]
    assert f"severity:{rule['labels']['severity']}" in monitor["tags"]
    assert rule["annotations"]["runbook_url"] in monitor["message"]


def test_the_lag_monitor_does_not_page_a_quiet_bot():
    (lag,) = [m for m in MONITORS if "alert:DeskReceiverLagging" in m["tags"]]
    # Lag counts only in intervals where entries of the bot were delivered: quiet overnight, the product is 0.
    assert ("* clamp_max(sum:sendbird.desk.bot.webhook_logs{*} by {sendbird.app_id,sendbird.desk.bot.name}.as_count(), 1)"
            in lag["query"])


def test_logs_pipeline_parses_with_datadog_s_models():
    assert pipeline_problems(PIPELINE) == []


def test_dedupe_processor_parses_with_datadog_s_models():
    assert dedupe_problems(DEDUPE) == []


@pytest.mark.parametrize(("label", "change", "expected"), [
    ("processor type misspelt", lambda p: p["processors"][0].update(type="status_remapper"), "cannot be typed"),
    ("unknown processor field", lambda p: p["processors"][1].update(keep_source=True), "keep_source: not a field"),
    ("remapper without its sources", lambda p: p["processors"][0].pop("sources"), "cannot be typed"),
])
def test_the_pipeline_check_catches(label, change, expected):
    broken = copy.deepcopy(PIPELINE)
    change(broken)
    assert expected in " ".join(pipeline_problems(broken))


def test_the_dedupe_check_catches_an_unknown_mode():
    assert "cannot be typed" in " ".join(dedupe_problems(DEDUPE | {"mode": "keep-first"}))


def processors(kind):
    return [p for p in PIPELINE["processors"] if p["type"] == kind and p["is_enabled"]]


def test_the_pipeline_takes_the_receiver_s_records():
    assert PIPELINE["is_enabled"] and PIPELINE["filter"]["query"] == "service:otel-desk-receiver"


# Datadog's status remapper reads a string by its start (docs: Log Management, Processors, "Log status
# remapper"): err -> error, w -> warning, i -> info, among others; a word it does not know becomes info.
STATUS_REMAPPER_PREFIXES = {"err": "error", "w": "warning", "i": "info"}


def datadog_status(severity_text: str) -> str:
    return next((status for prefix, status in STATUS_REMAPPER_PREFIXES.items()
                 if severity_text.lower().startswith(prefix)), "info")


def test_the_status_follows_the_record_s_severity():
    (remapper,) = processors("status-remapper")
    # Datadog's OTLP intake keeps the record's severity text as otel.severity_text.
    assert remapper["sources"] == ["otel.severity_text"]
    statuses = {status: datadog_status(text) for status, (_, text) in STATUS_SEVERITY.items()}
    assert statuses == {"RECEIVED": "info", "ERROR": "error", "TIMEOUT": "error"}
    assert datadog_status(SEVERITY_WARN[1]) == "warning"  # settled by age, no answer seen


def test_the_bot_and_the_app_become_tags_with_the_metrics_keys():
    remapped = {p["sources"][0]: p for p in processors("attribute-remapper")}
    assert set(remapped) >= {names.ATTR_BOT_ID, names.ATTR_BOT_NAME, names.ATTR_APP_ID}
    for source, remapper in remapped.items():
        assert source in (*names.LOG_ATTRIBUTES, names.ATTR_APP_ID)
        # The same key as on the metrics (the dashboard's $bot filters both), the attribute kept.
        assert remapper["target"] == source and remapper["target_type"] == "tag" and remapper["preserve_source"]
    assert names.ATTR_LOG_RECORD_UID not in remapped  # one value per record: never a tag


def test_the_dedupe_processor_matches_on_the_record_uid():
    assert DEDUPE["fields"] == [names.ATTR_LOG_RECORD_UID] and DEDUPE["mode"] == "match"
    assert DEDUPE["include"] == PIPELINE["filter"]["query"]


def test_the_readme_shows_the_pipeline_and_says_how_duplicates_are_handled():
    readme = " ".join((DATADOG / "README.md").read_text().split())
    for needle in ("logs-pipeline.json", "/api/v1/logs/config/pipelines", "observability-pipelines-dedupe.json",
                   "log.record.uid", "no deduplication processor"):
        assert needle in readme, needle
