"""The shipped alert rules on a real pipeline: the Desk emulator (its control surface scripts the incidents),
the receiver as a real process serving /metrics (OTEL_METRICS_EXPORTER=otlp,prometheus), Debian's Prometheus
scraping it every second and evaluating examples/alerts/otel-desk-receiver.rules.yaml unchanged, and
Debian's Alertmanager routing to a webhook receiver on loopback.

How `for:` is covered. The rule file is loaded as shipped, so its `for:` durations (5 to 30 minutes, what an
on-call engineer accepts) stand. This test proves the firing path on the real server: each incident makes
exactly its alerts active in Prometheus (pending, or firing at once where the rule has no `for:`), with their
labels and annotations, and inactive again when the incident ends; the one rule without `for:`
(DeskBotWebhookTimeoutBurst) goes all the way through Alertmanager to the webhook, firing and resolved. The
`for:` logic itself (pending turning into firing after the duration, and not before) is proven by promtool's
unit tests of the same file (tests/deploy/test_alert_rules.py). Then every PromQL expression of the Grafana
dashboard, the Grafana-provisioned alerting and the rules runs against that Prometheus.
"""

import json
import re
import time
from contextlib import ExitStack

import pytest
import requests
import yaml

from tests.deploy.chart import REPO
from tests.e2e.alert_pipeline import wait_for
from tests.e2e.alert_scenario import RULE_FILE, TIMINGS, Scenario, matches

DASHBOARD = REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json"
GRAFANA_ALERTING = REPO / "examples" / "grafana" / "provisioning" / "alerting" / "otel-desk-receiver.yaml"
# Alerts no incident here is meant to raise, and why their expressions may stay empty.
NO_INCIDENT = {
    "DeskApiRateLimited": "Desk never answers 429 here (promtool covers it)",
    "DeskReceiverLagging": "the receiver keeps up: no backlog",
    "DeskReceiverNotExporting": "entries are delivered throughout (its 2-hour window)",
}
# Active while the pipeline starts (before the first poll cycle and the first delivered entries): the
# expressions are right to be true for those seconds; their `for:` keeps them from firing.
WARM_UP = {"DeskReceiverNotExporting", "DeskReceiverDown"}


@pytest.fixture
def scenario(tmp_path, make_desk_emulator):
    with ExitStack() as stack:
        yield Scenario(stack, tmp_path, make_desk_emulator(control=True))


def test_every_shipped_alert_fires_for_its_incident_only_and_resolves(scenario, capsys):
    s = scenario
    warm_up(s)
    bot_unreadable(s)
    timeout_burst(s)
    error_ratio(s)
    otlp_down(s)
    desk_down(s)
    unread_flag_cleared(s)
    s.wait_inactive("DeskReceiverExportFailing", timeout_s=420)
    wait_for(lambda: [a for a in s.webhook.alerts("resolved") if a["labels"]["alertname"] == "DeskBotWebhookTimeoutBurst"],
             420, "the timeout burst's resolved notification")
    s.timing("timeout burst resolved at the webhook (its 5-minute window)", s.burst_at)
    check_each_incident_raised_only_its_alerts(s)
    check_labels_and_annotations(s)
    assert set(s.api.rules_health().values()) == {"ok"}
    check_every_query_returns_data(s)
    TIMINGS.append(("whole scenario", time.monotonic() - s.started_s))
    with capsys.disabled():  # shown in `make test`'s output, not only on failure
        print("\nalert pipeline timing:\n" + "\n".join(f"  {what}: {seconds:.1f} s" for what, seconds in TIMINGS))


def warm_up(s: Scenario) -> None:
    """The 404 bot and the flagged bot are incidents from the start; the others get entries delivered."""
    s.incident("one bot answering 404, and the unread-error flag, from the start",
               ("DeskBotUnreadable", {"sendbird_desk_bot_id": s.bot("gone")}),
               ("DeskBotUnreadError", {"sendbird_desk_bot_id": s.bot("flagged")}), allowed=tuple(WARM_UP))
    # The zero series first (every known status from discovery), then entries: increase() sees them.
    wait_for(lambda: s.api.query(f'sendbird_desk_bot_webhook_logs_total{{sendbird_desk_bot_id="{s.bot("burst")}"}}'),
             60, "the receiver's zero series in Prometheus")
    for name in ("burst", "ratio", "flagged", "steady"):
        s.control.entries(s.bots[name], 2, "RECEIVED")
    wait_for(lambda: len(s.api.query("sum by (sendbird_desk_bot_id) (increase(sendbird_desk_bot_webhook_logs_total[2h])) > 0")) == 4,
             60, "the first entries counted")
    s.wait_active("DeskBotUnreadable", sendbird_desk_bot_id=s.bot("gone"))
    s.timing("404 bot: DeskBotUnreadable active after start", s.started_s)
    s.wait_active("DeskBotUnreadError", sendbird_desk_bot_id=s.bot("flagged"))
    for alertname in WARM_UP:
        s.wait_inactive(alertname)
    _, active = s.watcher.snapshot()
    assert {key[0] for key in active} == {"DeskBotUnreadable", "DeskBotUnreadError"}, active


def bot_unreadable(s: Scenario) -> None:
    s.control.call("DELETE", "/faults")
    since = time.monotonic()
    s.wait_inactive("DeskBotUnreadable", sendbird_desk_bot_id=s.bot("gone"))
    s.timing("404 bot answers again: DeskBotUnreadable inactive", since)
    s.incident_over()


def timeout_burst(s: Scenario) -> None:
    s.burst_at = s.incident("a timeout burst on a bot that never had one",
                            ("DeskBotWebhookTimeoutBurst", {"sendbird_desk_bot_id": s.bot("burst")}))
    s.control.entries(s.bots["burst"], 6, "TIMEOUT")
    s.wait_active("DeskBotWebhookTimeoutBurst", sendbird_desk_bot_id=s.bot("burst"))
    try:
        firing = wait_for(lambda: [a for a in s.webhook.alerts("firing")
                                   if a["labels"]["alertname"] == "DeskBotWebhookTimeoutBurst"], 60,
                          "the timeout burst at the Alertmanager webhook")
    except AssertionError as error:
        raise AssertionError(f"{error}\nAlertmanager holds: {requests.get(s.alertmanager.url + '/api/v2/alerts').text}\n"
                             f"{s.alertmanager.output()[-2000:]}") from None
    s.timing("timeout burst in Desk -> Alertmanager webhook", s.burst_at)
    alert = firing[0]
    assert alert["labels"]["sendbird_desk_bot_id"] == s.bot("burst")
    assert alert["labels"]["sendbird_desk_bot_name"] == "burst" and alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == f"Desk bot burst ({s.bot('burst')}): burst of webhook timeouts"
    assert alert["annotations"]["runbook_url"] == "docs/runbook.md#deskbotwebhooktimeoutburst"
    s.incident_over()


def error_ratio(s: Scenario) -> None:
    since = s.incident("an error ratio above 20%",
                       ("DeskBotWebhookFailureRatioHigh", {"sendbird_desk_bot_id": s.bot("ratio")}))
    s.control.entries(s.bots["ratio"], 10, "ERROR", "RECEIVED", "ERROR", "RECEIVED", "ERROR")
    s.wait_active("DeskBotWebhookFailureRatioHigh", sendbird_desk_bot_id=s.bot("ratio"))
    s.timing("error ratio: DeskBotWebhookFailureRatioHigh active", since)
    s.control.entries(s.bots["ratio"], 40, "RECEIVED")  # the bot recovers: 6 of 52 calls failed
    s.wait_inactive("DeskBotWebhookFailureRatioHigh", sendbird_desk_bot_id=s.bot("ratio"))
    s.incident_over()


def otlp_down(s: Scenario) -> None:
    since = s.incident("the OTLP endpoint down",
                       ("DeskReceiverExportFailing", {"otel_desk_receiver_signal": "logs"}),
                       ("DeskReceiverExportFailing", {"otel_desk_receiver_signal": "metrics"}))
    s.sink.set_down(True)
    s.control.entries(s.bots["steady"], 3, "RECEIVED")
    s.wait_active("DeskReceiverExportFailing", otel_desk_receiver_signal="logs")
    s.wait_active("DeskReceiverExportFailing", otel_desk_receiver_signal="metrics")
    s.timing("OTLP endpoint down: DeskReceiverExportFailing active", since)
    s.sink.set_down(False)
    wait_for(lambda: s.sink.count() >= 3 + 2 * 4 + 6 + 50, 60, "the held entries delivered")
    s.incident_over()


def desk_down(s: Scenario) -> None:
    since = s.incident("Desk down", ("DeskApiUnreachable", {}))
    s.control.call("POST", "/faults", {"drop_next": {"n": 1_000_000}})
    s.wait_active("DeskApiUnreachable", timeout_s=240)
    s.timing("Desk down: DeskApiUnreachable active (2 minutes without a read)", since)
    s.control.call("DELETE", "/faults")
    back = time.monotonic()
    s.wait_inactive("DeskApiUnreachable")
    s.timing("Desk back: DeskApiUnreachable inactive", back)
    s.incident_over()


def unread_flag_cleared(s: Scenario) -> None:
    """The flag is read with the bot list (every 10 minutes, and at start): a restart re-reads it now."""
    # While it restarts its series are gone: DeskReceiverDown is right to go pending for those seconds.
    since = s.incident("the unread-error flag cleared, seen at the receiver's restart", allowed=("DeskReceiverDown",))
    s.control.call("PATCH", f"/bots/{s.bots['flagged']}", {"is_unread_error": False})
    s.restart_receiver()
    # Inactive for the right reason: the new process reports the flag, at 0 (a gap in the series is not enough).
    wait_for(lambda: s.api.query(f'sendbird_desk_bot_unread_error{{sendbird_desk_bot_id="{s.bot("flagged")}"}} == 0'),
             60, "the restarted receiver's unread-error gauge at 0")
    s.wait_inactive("DeskBotUnreadError", sendbird_desk_bot_id=s.bot("flagged"))
    s.timing("flag cleared and receiver restarted: DeskBotUnreadError inactive", since)
    s.wait_inactive("DeskReceiverDown")
    s.incident_over()


def check_each_incident_raised_only_its_alerts(s: Scenario) -> None:
    seen, active = s.watcher.snapshot()
    for incident in s.incidents:
        raised = {key for key, item in seen.items() if incident.start_s <= item.first_s <= incident.end_s}
        for alertname, labels in incident.expected:
            assert any(matches(key, alertname, **labels) for key in raised), (incident.name, alertname, labels, raised)
        unexpected = {key for key in raised if key[0] not in incident.allowed
                      and not any(matches(key, a, **labels) for a, labels in incident.expected)}
        assert not unexpected, (incident.name, unexpected)
    assert not active, f"still active at the end: {active}"
    shipped = {rule["alert"] for group in yaml.safe_load(RULE_FILE.read_text())["groups"] for rule in group["rules"]}
    assert {key[0] for key in seen} | set(NO_INCIDENT) == shipped


def check_labels_and_annotations(s: Scenario) -> None:
    rules = {rule["alert"]: rule for group in yaml.safe_load(RULE_FILE.read_text())["groups"] for rule in group["rules"]}
    seen, _ = s.watcher.snapshot()
    for (alertname, _), item in seen.items():
        rule = rules[alertname]
        assert item.labels["severity"] == rule["labels"]["severity"]
        assert set(item.annotations) == set(rule["annotations"])
        assert item.annotations["runbook_url"] == rule["annotations"]["runbook_url"]
        assert "{{" not in item.annotations["summary"] and "<no value>" not in item.annotations["summary"], item.annotations
        for label in re.findall(r"\$labels\.(\w+)", rule["annotations"]["summary"]):
            assert item.labels[label] in item.annotations["summary"]


def shipped_expressions() -> dict[str, str]:
    """Every PromQL expression shipped, by where it comes from; Grafana's variables as Grafana fills them."""
    exprs = {}
    for group in yaml.safe_load(RULE_FILE.read_text())["groups"]:
        for rule in group["rules"]:
            exprs[f"rule {rule['alert']}"] = rule["expr"]
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            if target["datasource"]["type"] == "prometheus":
                exprs[f"panel {panel['title']} {target['refId']}"] = target["expr"]
    for group in yaml.safe_load(GRAFANA_ALERTING.read_text())["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if "expr" in query["model"]:
                    exprs[f"grafana alert {rule['uid']}"] = query["model"]["expr"]
    return {where: expr.replace("$__rate_interval", "1m").replace("$bot", ".*") for where, expr in exprs.items()}


def check_every_query_returns_data(s: Scenario) -> None:
    # No incident implies data for these; the query still has to run without error.
    quiet = {f"rule {alert}" for alert in NO_INCIDENT} | {"panel Export failures and rejected entries B"}  # none malformed
    # A rule's expression may hold for a second or two only (the ratio rule, until the bot recovers): an
    # alert Prometheus itself raised from it is the proof its data was there; the query still has to run.
    seen, _ = s.watcher.snapshot()
    raised = {f"rule {key[0]}" for key in seen}
    end = time.time()
    for where, expr in shipped_expressions().items():
        result = s.api.query_range(expr, s.started_unix, end, step_s=1)
        if where in quiet or where in raised:
            continue
        assert result, f"{where}: no data over the scenario: {expr}"
