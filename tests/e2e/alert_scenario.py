"""The alert test's building blocks: an incident (what breaks, the alerts meant for it, how it ends) and the
pipeline it runs on (its own Desk emulator, OTLP sink, receiver process with a Prometheus endpoint and
Prometheus), alerting with the label ``incident`` to the Alertmanager every pipeline shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from otel_desk_receiver.devkit.sink.server import OtlpSink
from tests.e2e.alert_pipeline import SCRAPE_JOB, AlertWatcher, PrometheusApi, WebhookSink, start_prometheus
from tests.e2e.scaled_rules import FACTOR, RULE_FILE, duration_s, format_duration, rules_by_alert, write_scaled_rules
from tests.harness.ports import free_port
from tests.harness.wait import wait_until
from tests.harness.fixtures.otlp import TEST_TIMEOUT_MS
from tests.harness.receiver_process import ReceiverProcess, receiver_env

RULES = rules_by_alert(yaml.safe_load(RULE_FILE.read_text()))  # as shipped
BOT_LIST_INTERVAL_S = 600.0  # the receiver's default DESK_BOT_LIST_INTERVAL, scaled with the rules
# Pending while a pipeline starts, before its first poll cycle and first delivered entries: right to be true
# for those seconds; their `for:` keeps them from firing.
WARM_UP = frozenset({"DeskReceiverNotExporting", "DeskReceiverDown"})
# How long after its `for:` an alert may take to reach the webhook, and an ended incident to resolve (the
# longest: DeskApiRateLimited's 15-minute window must slide past the last 429), in the rules' time (scaled
# with them), plus what does not scale: starting processes, scrapes and evaluations, a loaded machine.
FIRING_SLACK_S = 360.0
RESOLVE_DEADLINE_S = 20 * 60.0
UNSCALED_SLACK_S = 60.0
# The first seconds of a pipeline, before its first poll cycle and first delivered entries: WARM_UP
# alerts may be pending then even in an incident whose start is the pipeline's start.
START_UP_S = 60.0
PORT_ATTEMPTS = 5


class Control:
    """The emulator's /_emulator control surface, over HTTP as a test script would use it."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: dict | None = None):
        answer = requests.request(method, self.url + path, json=body, timeout=10)
        assert answer.status_code in (200, 201), (path, answer.text)
        return answer.json()

    def entries(self, bot_id: int, count: int, *statuses: str, spacing_s: float = 0.01) -> None:
        self.call("POST", f"/bots/{bot_id}/entries", {"count": count, "statuses": list(statuses), "spacing_s": spacing_s})


def _nothing(_pipeline: Pipeline) -> None:
    pass


@dataclass(frozen=True)
class Expected:
    """An alert meant for an incident: its name, and the bot (by name) or signal it is about; ``receiver``: it
    names the pipeline's receiver (job and instance: the receiver-wide alerts are per receiver). ``from_start``:
    its condition is there from the pipeline's start (set up by the incident's ``prepare``)."""

    alertname: str
    bot: str | None = None
    signal: str | None = None
    receiver: bool = False
    from_start: bool = False


@dataclass(frozen=True)
class Incident:
    """What breaks (``start``), the alerts meant for it, and how it ends (``stop``). ``bots``: name -> fields
    for the emulator; ``prepare`` runs before the receiver starts; ``warm_up``: the bots that get entries
    delivered before the incident starts (None: all); ``allowed``: alerts it may make pending on the way;
    ``detect_s``: how long after ``start`` the receiver can first see it (the bot list is re-read every 10
    minutes, Desk's silence counts after 2 minutes), added to the time its alerts get to fire. An incident
    without ``start`` is there from the pipeline's start (``prepare`` set it up, or it is the absence of
    something). ``scaled``: its Prometheus evaluates the rules with every duration scaled by
    scaled_rules.FACTOR, and the receiver re-reads the bot list as much sooner (durations in the incident,
    ``detect_s`` and the deadlines, are in the rules' time and scaled with them); False: the shipped file
    unchanged, for an incident where the window's real length matters."""

    name: str
    bots: dict[str, dict]
    expected: tuple[Expected, ...]
    start: Callable[[Pipeline], None] = _nothing
    stop: Callable[[Pipeline], None] = _nothing
    prepare: Callable[[Pipeline], None] = _nothing
    warm_up: tuple[str, ...] | None = None
    allowed: frozenset[str] = frozenset()
    receiver_env: dict[str, str] = field(default_factory=dict)
    detect_s: float = 0.0
    scaled: bool = True


class Pipeline:
    """One deployment for one incident, and what happened on it: when the incident began and ended, and the
    timings to print."""

    def __init__(self, incident: Incident, stack: ExitStack, run_dir: Path, emulator, alertmanager):
        self.incident = incident
        self.run_dir = run_dir
        self.emulator = emulator
        self.control = Control(emulator.control_url)
        self.bots = {name: self.control.call("POST", "/bots", {"name": name, **fields})["id"]
                     for name, fields in incident.bots.items()}
        incident.prepare(self)
        self.factor = FACTOR if incident.scaled else 1.0
        rule_file = write_scaled_rules(run_dir / "rules.yaml") if incident.scaled else RULE_FILE
        self.rules = rules_by_alert(yaml.safe_load(rule_file.read_text()))
        self.sink = OtlpSink().start()
        stack.callback(self.sink.stop)
        self.env = receiver_env(emulator, self.sink.http_endpoint, "http/protobuf", run_dir / "state.json",
                                poll_interval=1, bot_list_interval=format_duration(self.scaled(BOT_LIST_INTERVAL_S)))
        self.env.update({"OTEL_METRICS_EXPORTER": "otlp,prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                         "OTEL_METRIC_EXPORT_INTERVAL": "1000", "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS,
                         **incident.receiver_env})
        self.closed = False
        for _ in range(PORT_ATTEMPTS):  # a port picked free can be taken before the receiver binds it
            metrics_port = free_port()
            self.env["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(metrics_port)
            if self._start_receiver_serving():
                break
        stack.callback(self.stop_receiver)
        self.prometheus = start_prometheus(run_dir, [f"127.0.0.1:{metrics_port}"], alertmanager, rule_file, incident.name)
        stack.callback(self.prometheus.stop)
        self.api = PrometheusApi(self.prometheus.url)
        self.watcher = AlertWatcher(self.api).start()
        stack.callback(self.watcher.stop)
        self.started_s = time.time()
        self.began_s = self.ended_s = float("inf")
        self.timings: list[tuple[str, float]] = []
        self.step = "starting"  # what the incident's thread waits for, named when the test's deadline passes

    def scaled(self, rule_time_s: float) -> float:
        """A duration of the shipped rules' time in this pipeline's."""
        return rule_time_s * self.factor

    def for_s(self, alertname: str) -> float:
        """The rule's `for:` on this pipeline, in seconds (0 without one)."""
        return duration_s(self.rules[alertname].get("for", "0s"))

    def onset_s(self, expected: Expected) -> float:
        """When the expected alert's condition began: at ``begin``, or at the pipeline's start for an incident
        without ``start`` or an alert ``from_start``."""
        return self.started_s if self.incident.start is _nothing or expected.from_start else self.began_s

    @property
    def name(self) -> str:
        return self.incident.name

    def labels(self, expected: Expected) -> dict[str, str]:
        """The labels that identify the expected alert among the pipeline's."""
        labels = {}
        if expected.bot is not None:
            labels["sendbird_desk_bot_id"] = str(self.bots[expected.bot])
        if expected.signal is not None:
            labels["otel_desk_receiver_signal"] = expected.signal
        if expected.receiver:
            labels.update(job=SCRAPE_JOB, instance=f"127.0.0.1:{self.env['OTEL_EXPORTER_PROMETHEUS_PORT']}")
        return labels

    def timing(self, what: str, since_s: float) -> None:
        """Kept for the summary, and printed as it happens (the test runs the incidents with capture off)."""
        self.timings.append((what, time.time() - since_s))
        print(f"{time.strftime('%H:%M:%S')} {self.name}: {what}: {self.timings[-1][1]:.0f} s", flush=True)

    def begin(self) -> None:
        self.began_s = time.time()
        self.incident.start(self)

    def end(self) -> None:
        self.ended_s = time.time()
        self.incident.stop(self)

    def wait_firing(self, webhook: WebhookSink, expected: Expected) -> dict:
        """The alert's firing notification at the webhook, once the incident was seen and its `for:` passed."""
        self.step = f"{expected} firing at the webhook"
        alert = wait_until(lambda: first_matching(webhook.alerts("firing", self.name), expected.alertname,
                                                  self.labels(expected)),
                           self.scaled(self.incident.detect_s + FIRING_SLACK_S) + self.for_s(expected.alertname)
                           + UNSCALED_SLACK_S, f"{self.name}: {self.step}", poll_s=0.5)
        self.timing(f"{expected.alertname} firing at the webhook (for: {self.rules[expected.alertname].get('for', 'none')})",
                    self.began_s)
        return alert

    def wait_resolved(self, webhook: WebhookSink, expected: Expected) -> dict:
        def resolved():
            return first_matching([a for a in webhook.alerts("resolved", self.name) if a["received_s"] >= self.ended_s],
                                  expected.alertname, self.labels(expected))

        self.step = f"{expected} resolved at the webhook"
        alert = wait_until(resolved, self.scaled(RESOLVE_DEADLINE_S) + UNSCALED_SLACK_S, f"{self.name}: {self.step}",
                           poll_s=0.5)
        self.timing(f"{expected.alertname} resolved at the webhook", self.ended_s)
        return alert

    def start_receiver(self) -> None:
        """Started again on its port (Prometheus scrapes that one): if something took it meanwhile, tried
        again for a minute."""
        wait_until(self._start_receiver_serving, 60,
                   f"{self.name}: port {self.env['OTEL_EXPORTER_PROMETHEUS_PORT']} free again", poll_s=2)

    def _start_receiver_serving(self) -> bool:
        """The receiver started, serving /metrics; False if its port was taken (it exits saying so)."""
        assert not self.closed, f"{self.name}: the pipeline was torn down"  # set at teardown: no late start
        self.receiver = ReceiverProcess.start(self.env, self.run_dir)
        wait_until(lambda: self.receiver.process.poll() is not None or "Prometheus metrics on" in self.receiver.output(),
                   60, f"{self.name}: the receiver serving /metrics or exiting")
        return self.receiver.process.poll() is None or "Address already in use" not in self.receiver.output()

    def stop_receiver(self) -> None:
        self.receiver.kill()


def first_matching(alerts: list[dict], alertname: str, labels: dict[str, str]) -> dict | None:
    for alert in alerts:
        if alert["labels"]["alertname"] == alertname and all(alert["labels"].get(k) == v for k, v in labels.items()):
            return alert
    return None


def matches(key, alertname: str, **labels: str) -> bool:
    """Whether a watcher key (alertname, own labels) is that alert."""
    name, own = key
    return name == alertname and all(dict(own).get(k) == v for k, v in labels.items())
