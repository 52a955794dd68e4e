"""Two receivers into one Prometheus, on the shipped rules: apps and receivers alert apart
(examples/alerts/README.md, "Apps and receivers" and "A receiver that is down").

Two Desk emulators, one app each ("app-a", "app-b"), their bots created alike, so both apps have the same bot
ids; two receiver processes, one per app, each serving /metrics; one Debian Prometheus scraping both (one
job, two targets), evaluating examples/alerts/otel-desk-receiver.rules.yaml with every duration scaled as in
tests/e2e/test_alerts.py, and alerting to a Debian Alertmanager that routes to a webhook on loopback.

Shown: a timeout burst on bot 1 of app A fires DeskBotWebhookTimeoutBurst for app A and never for app B's
bot 1; receiver B killed (kill -9) fires DeskReceiverDown for B's instance, no sooner than its `for:`, while
receiver A polls on and is never reported down; B started again resolves it; nothing else fires.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
import yaml

from otel_desk_receiver.devkit.sink.server import OtlpSink
from tests.e2e.alert_pipeline import (
    SCRAPE_JOB, AlertWatcher, PrometheusApi, WebhookSink, start_alertmanager, start_prometheus,
)
from tests.e2e.alert_scenario import BOT_LIST_INTERVAL_S, WARM_UP, Control, first_matching, matches
from tests.e2e.scaled_rules import FACTOR, duration_s, format_duration, rules_by_alert, write_scaled_rules
from tests.harness.fixtures.otlp import TEST_TIMEOUT_MS
from tests.harness.ports import free_port
from tests.harness.receiver_process import ReceiverProcess, receiver_env
from tests.harness.wait import wait_until

pytestmark = pytest.mark.alert_pipeline

INCIDENT = "two-receivers"
BOTS = ("faq", "orders")
# Each wait: the scaled `for:` (30 s at most here) plus starting processes, scrapes and evaluations on a
# loaded machine.
WAIT_S = 150.0
PORT_ATTEMPTS = 5


class AppReceiver:
    """One Desk app (its own emulator, bots named as in every other app) and the receiver process reading it,
    serving /metrics on a port of its own."""

    def __init__(self, app: str, emulator, sink: OtlpSink, run_dir):
        self.app = app
        self.run_dir = run_dir
        self.control = Control(emulator.control_url)
        self.bots = {name: self.control.call("POST", "/bots", {"name": name})["id"] for name in BOTS}
        # DESK_APP_ID names the app (its sendbird_app_id); DESK_API_URL points at its emulator.
        self.env = receiver_env(emulator, sink.http_endpoint, "http/protobuf", run_dir / "state.json",
                                app_id=app, poll_interval=1,
                                bot_list_interval=format_duration(BOT_LIST_INTERVAL_S * FACTOR))
        self.env.update({"OTEL_METRICS_EXPORTER": "otlp,prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                         "OTEL_METRIC_EXPORT_INTERVAL": "1000", "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS})
        self.receiver: ReceiverProcess | None = None
        for _ in range(PORT_ATTEMPTS):  # a port picked free can be taken before the receiver binds it
            self.env["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(free_port())
            if self._start_serving():
                break
        assert self.receiver and self.receiver.alive(), f"{app}: the receiver did not start:\n{self.receiver.tail()}"

    @property
    def instance(self) -> str:
        """Its scrape target: the `instance` label of its series."""
        return f"127.0.0.1:{self.env['OTEL_EXPORTER_PROMETHEUS_PORT']}"

    def _start_serving(self) -> bool:
        """Started, serving /metrics; False if its port was taken (it exits saying so)."""
        self.receiver = ReceiverProcess.start(self.env, self.run_dir)
        wait_until(lambda: not self.receiver.alive() or "Prometheus metrics on" in self.receiver.output(), 60,
                   f"{self.app}: the receiver serving /metrics or exiting")
        return self.receiver.alive() or "Address already in use" not in self.receiver.output()

    def start_again(self) -> None:
        """On its port again (Prometheus scrapes that one)."""
        wait_until(self._start_serving, 60, f"{self.app}: port {self.instance} free again", poll_s=2)

    def kill(self) -> None:
        if self.receiver is not None:
            self.receiver.kill()


def test_two_receivers_with_the_same_bot_ids_alert_apart(tmp_path, make_desk_emulator, capsys):
    with ExitStack() as stack:
        webhook = WebhookSink().start()
        stack.callback(webhook.stop)
        alertmanager = start_alertmanager(tmp_path, webhook.url)
        stack.callback(alertmanager.stop)
        sink = OtlpSink().start()
        stack.callback(sink.stop)
        receivers = []
        for app in ("app-a", "app-b"):
            (tmp_path / app).mkdir()
            receivers.append(AppReceiver(app, make_desk_emulator(control=True), sink, tmp_path / app))
            stack.callback(receivers[-1].kill)
        a, b = receivers
        assert a.bots == b.bots, "both apps have the same bot ids"
        rule_file = write_scaled_rules(tmp_path / "rules.yaml")
        rules = rules_by_alert(yaml.safe_load(rule_file.read_text()))
        prometheus = start_prometheus(tmp_path, [a.instance, b.instance], alertmanager, rule_file, INCIDENT)
        stack.callback(prometheus.stop)
        api = PrometheusApi(prometheus.url)
        watcher = AlertWatcher(api).start()
        stack.callback(watcher.stop)

        warmed_up_s = warm_up(api, watcher, receivers)
        with capsys.disabled():
            print(f"\n{INCIDENT}: warmed up", flush=True)

        # A burst on bot 1 of app A, among enough answered calls to keep its failure ratio under 20%.
        faq = a.bots["faq"]
        a.control.entries(faq, 40, "RECEIVED")
        a.control.entries(faq, 6, "TIMEOUT")
        burst = {"sendbird_app_id": "app-a", "sendbird_desk_bot_id": str(faq)}
        wait_firing(webhook, "DeskBotWebhookTimeoutBurst", burst)

        killed_s = time.time()
        b.kill()
        down_b = {"job": SCRAPE_JOB, "instance": b.instance}
        alert = wait_firing(webhook, "DeskReceiverDown", down_b)
        for_s = duration_s(rules["DeskReceiverDown"]["for"])
        assert alert["received_s"] >= killed_s + for_s - 1, (killed_s, for_s, alert)
        assert alert["annotations"]["summary"] == f"otel-desk-receiver is not polling ({SCRAPE_JOB}, {b.instance})"
        restarted_s = time.time()
        b.start_again()
        wait_resolved(webhook, "DeskReceiverDown", down_b, restarted_s)
        wait_resolved(webhook, "DeskBotWebhookTimeoutBurst", burst, killed_s)
        with capsys.disabled():
            print(f"{INCIDENT}: burst and receiver B down fired and resolved, {time.time() - killed_s:.0f} s after "
                  f"the kill", flush=True)

        expected = [("DeskBotWebhookTimeoutBurst", burst), ("DeskReceiverDown", down_b)]
        fired = webhook.alerts("firing", INCIDENT)
        unexpected = [f["labels"] for f in fired if not any(first_matching([f], name, labels) for name, labels in expected)]
        assert not unexpected, f"alerts not meant for the incident: {unexpected}"
        seen, active = watcher.snapshot()
        for key, item in seen.items():
            if any(matches(key, name, **labels) for name, labels in expected):
                continue
            # Before the first cycles and entries, DeskReceiverDown (no receiver yet) and NotExporting may be
            # pending; never for app B's bot 1, never for receiver A after that.
            assert key[0] in WARM_UP and item.last_s < warmed_up_s, f"{key} {item.states}: not meant for the incident"
        wait_until(lambda: not watcher.snapshot()[1], 60, "no alert active at the end", poll_s=0.5)


def warm_up(api: PrometheusApi, watcher: AlertWatcher, receivers: list[AppReceiver]) -> float:
    """Entries delivered for every bot of both apps after their zero series reached Prometheus (so increase()
    sees the first ones); the start-up alerts inactive again. When that was."""
    for r in receivers:
        for bot_id in r.bots.values():
            series = f'sendbird_desk_bot_webhook_logs_total{{sendbird_app_id="{r.app}", sendbird_desk_bot_id="{bot_id}"}}'
            wait_until(lambda: api.query(series), 60, f"{r.app}: bot {bot_id}'s zero series in Prometheus", poll_s=0.25)
            r.control.entries(bot_id, 2, "RECEIVED")
    for r in receivers:
        for bot_id in r.bots.values():
            counted = (f'increase(sendbird_desk_bot_webhook_logs_total{{sendbird_app_id="{r.app}", '
                       f'sendbird_desk_bot_id="{bot_id}"}}[2h]) > 0')
            wait_until(lambda: api.query(counted), 60, f"{r.app}: bot {bot_id}'s first entries counted", poll_s=0.25)
    for alertname in WARM_UP:
        wait_until(lambda: not any(key[0] == alertname for key in watcher.snapshot()[1]), 60,
                   f"{alertname} inactive after the warm-up", poll_s=0.25)
    return time.time()


def wait_firing(webhook: WebhookSink, alertname: str, labels: dict[str, str]) -> dict:
    return wait_until(lambda: first_matching(webhook.alerts("firing", INCIDENT), alertname, labels), WAIT_S,
                      f"{alertname} {labels} firing at the webhook", poll_s=0.5)


def wait_resolved(webhook: WebhookSink, alertname: str, labels: dict[str, str], since_s: float) -> dict:
    return wait_until(lambda: first_matching([a for a in webhook.alerts("resolved", INCIDENT) if a["received_s"] >= since_s],
                                             alertname, labels),
                      WAIT_S, f"{alertname} {labels} resolved at the webhook", poll_s=0.5)
