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
import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import requests
import yaml

from otel_desk_receiver.devkit.sink.server import OtlpSink
from tests.deploy.chart import REPO
from tests.e2e.alert_pipeline import (
    AlertWatcher, PrometheusApi, WebhookSink, start_alertmanager, start_prometheus, wait_for,
)
from tests.e2e.receiver_process import ReceiverProcess, receiver_env
from tests.plugins.otlp import TEST_TIMEOUT_MS, free_port

RULE_FILE = REPO / "examples" / "alerts" / "otel-desk-receiver.rules.yaml"
DASHBOARD = REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json"
GRAFANA_ALERTING = REPO / "examples" / "grafana" / "provisioning" / "alerting" / "otel-desk-receiver.yaml"
BOTS = ("burst", "ratio", "gone", "flagged", "steady")
# Alerts no incident here is meant to raise, and why their expressions may stay empty.
NO_INCIDENT = {
    "DeskApiRateLimited": "Desk never answers 429 here (promtool covers it)",
    "DeskReceiverLagging": "the receiver keeps up: no backlog",
    "DeskReceiverNotExporting": "entries are delivered throughout (its 2-hour window)",
}
# Active while the pipeline starts (before the first poll cycle and the first delivered entries): the
# expressions are right to be true for those seconds; their `for:` keeps them from firing.
WARM_UP = {"DeskReceiverNotExporting", "DeskReceiverDown"}
TIMINGS: list[tuple[str, float]] = []


class Control:
    """The emulator's /_emulator control surface, over HTTP as a test script would use it."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: dict | None = None):
        answer = requests.request(method, self.url + path, json=body, timeout=10)
        assert answer.status_code in (200, 201), (path, answer.text)
        return answer.json()

    def entries(self, bot_id: int, count: int, *statuses: str) -> None:
        self.call("POST", f"/bots/{bot_id}/entries", {"count": count, "statuses": list(statuses), "spacing_s": 0.01})


def matches(key, alertname: str, **labels: str) -> bool:
    name, own = key
    return name == alertname and all(dict(own).get(k) == v for k, v in labels.items())


@dataclass
class Incident:
    """What was done, when, the alerts it is meant to raise, and alerts it may raise on the way (by name)."""

    name: str
    start_s: float
    expected: list[tuple[str, dict]]
    allowed: set[str]
    end_s: float = float("inf")


class Scenario:
    """The pipeline, the incidents' bookkeeping and the checks shared by the phases."""

    def __init__(self, stack: ExitStack, tmp_path, emulator):
        self.tmp_path = tmp_path
        self.control = Control(emulator.control_url)
        self.bots = {name: self.control.call("POST", "/bots", {"name": name, "is_unread_error": name == "flagged"})["id"]
                     for name in BOTS}
        # The "gone" bot answers 404 from the start: deleted in Desk while the receiver still lists it.
        self.control.call("POST", "/faults", {"fail_next": {"n": 100_000, "status": 404,
                                                            "path_contains": f"/bots/{self.bots['gone']}/webhook_logs"}})
        self.sink = OtlpSink().start()
        stack.callback(self.sink.stop)
        self.metrics_port = free_port()
        self.env = receiver_env(emulator, self.sink.http_endpoint, "http/protobuf", tmp_path / "state.json",
                                poll_interval=1)
        self.env.update({"OTEL_METRICS_EXPORTER": "otlp,prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                         "OTEL_EXPORTER_PROMETHEUS_PORT": str(self.metrics_port), "OTEL_METRIC_EXPORT_INTERVAL": "1000",
                         "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS})
        self.receiver = ReceiverProcess.start(self.env, tmp_path)
        stack.callback(self.stop_receiver)
        self.webhook = WebhookSink().start()
        stack.callback(self.webhook.stop)
        self.alertmanager = start_alertmanager(tmp_path, self.webhook.url)
        stack.callback(self.alertmanager.stop)
        self.prometheus = start_prometheus(tmp_path, f"127.0.0.1:{self.metrics_port}", self.alertmanager, RULE_FILE)
        stack.callback(self.prometheus.stop)
        self.api = PrometheusApi(self.prometheus.url)
        self.watcher = AlertWatcher(self.api).start()
        stack.callback(self.watcher.stop)
        self.started_s = time.monotonic()
        self.started_unix = time.time()
        self.incidents: list[Incident] = []
        self.burst_at = 0.0

    def bot(self, name: str) -> str:
        return str(self.bots[name])

    def active(self, alertname: str, **labels: str) -> bool:
        return any(matches(key, alertname, **labels) for key in self.watcher.snapshot()[1])

    def wait_active(self, alertname: str, timeout_s: float = 60, **labels: str) -> None:
        wait_for(lambda: self.active(alertname, **labels), timeout_s, f"{alertname} {labels} active")

    def wait_inactive(self, alertname: str, timeout_s: float = 60, **labels: str) -> None:
        wait_for(lambda: not self.active(alertname, **labels), timeout_s, f"{alertname} {labels} inactive")

    def incident(self, name: str, *expected: tuple[str, dict], allowed: tuple[str, ...] = ()) -> float:
        self.incidents.append(Incident(name, time.monotonic(), list(expected), set(allowed)))
        return time.monotonic()

    def incident_over(self) -> None:
        self.incidents[-1].end_s = time.monotonic()

    def timing(self, what: str, since_s: float) -> None:
        TIMINGS.append((what, time.monotonic() - since_s))

    def stop_receiver(self) -> None:
        if self.receiver.process.poll() is None:
            self.receiver.process.kill()
        self.receiver.process.wait(timeout=30)

    def restart_receiver(self) -> None:
        self.receiver.signal(signal.SIGTERM)
        assert self.receiver.wait() == 0, self.receiver.output()[-3000:]
        self.receiver = ReceiverProcess.start(self.env, self.tmp_path)


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
    end = time.time()
    for where, expr in shipped_expressions().items():
        result = s.api.query_range(expr, s.started_unix, end, step_s=2)
        if where in quiet:
            continue
        assert result, f"{where}: no data over the scenario: {expr}"
