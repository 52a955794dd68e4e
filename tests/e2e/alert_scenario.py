"""The alert test's scenario: the pipeline it starts (emulator, OTLP sink, receiver process with a Prometheus
endpoint, Alertmanager, Prometheus, webhook) and the bookkeeping of incidents and the alerts each raised."""

import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass

import requests

from otel_desk_receiver.devkit.sink.server import OtlpSink
from tests.deploy.chart import REPO
from tests.e2e.alert_pipeline import (
    AlertWatcher, PrometheusApi, WebhookSink, start_alertmanager, start_prometheus, wait_for,
)
from tests.e2e.receiver_process import ReceiverProcess, receiver_env
from tests.plugins.otlp import TEST_TIMEOUT_MS, free_port

RULE_FILE = REPO / "examples" / "alerts" / "otel-desk-receiver.rules.yaml"
BOTS = ("burst", "ratio", "gone", "flagged", "steady")
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
