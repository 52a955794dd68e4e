"""A real alert pipeline on loopback for tests/e2e/test_alerts.py: Debian's Prometheus scraping a receiver
and evaluating a rule file, Debian's Alertmanager routing to a webhook receiver, and a watcher recording
every alert state Prometheus reports. The servers are harness ServerProcesses."""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml

from tests.harness.process import ServerProcess, start_on_free_port

START_DEADLINE_S = 20.0
SCRAPE_JOB = "otel-desk-receiver"  # the job Prometheus scrapes the receivers as: their `job` label
IGNORED_LABELS = {"alertname", "severity", "incident"}


def binary(name: str) -> str:
    path = shutil.which(name)
    # `make test` installs them (make deps); missing binaries are a failure, not a skip.
    assert path, f"{name} not found: run `make deps` (apt-get install -y --no-install-recommends prometheus prometheus-alertmanager)"
    return path


def _start(name: str, command: list[str], run_dir: Path, url: str, ready_path: str) -> ServerProcess:
    """Started, and answering 200 at ``ready_path``."""
    def ready() -> bool:
        try:
            return requests.get(url + ready_path, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    server = ServerProcess(name, command, run_dir / f"{name}.log", cwd=run_dir)
    server.url = url
    return server.wait_ready(ready, START_DEADLINE_S)


def start_alertmanager(run_dir: Path, webhook_url: str) -> ServerProcess:
    """Alertmanager routing every alert at once (group_wait 0s) to the webhook, resolved ones too; one group
    per incident (the external label each Prometheus adds), alert, receiver, app and bot or signal."""
    config = {
        "route": {"receiver": "webhook",
                  "group_by": ["incident", "alertname", "job", "instance", "sendbird_app_id", "sendbird_desk_bot_id",
                               "otel_desk_receiver_signal"],
                  "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
    directory = run_dir / "alertmanager"
    directory.mkdir()
    (directory / "alertmanager.yml").write_text(yaml.safe_dump(config))
    # --cluster.listen-address empty: no gossip on all interfaces (docs/testing.md#tool-pitfalls).
    # prometheus-alertmanager: Debian's name for it.
    return _start_on_a_free_port("alertmanager", lambda port: [
        binary("prometheus-alertmanager"), f"--config.file={directory / 'alertmanager.yml'}",
        f"--storage.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        directory)


def start_prometheus(run_dir: Path, targets: list[str], alertmanager: ServerProcess, rule_file: Path,
                     incident: str) -> ServerProcess:
    """Prometheus scraping ``targets`` (host:port, one job) and evaluating ``rule_file`` every second; the
    alerts it sends carry the external label ``incident``."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s",
                   "external_labels": {"incident": incident}},
        "rule_files": [str(rule_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager.url.removeprefix("http://")]}]}]},
        "scrape_configs": [{"job_name": SCRAPE_JOB, "static_configs": [{"targets": list(targets)}]}],
    }
    directory = run_dir / "prometheus"
    directory.mkdir()
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    return _start_on_a_free_port("prometheus", lambda port: [
        binary("prometheus"), f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}"], directory)


def _start_on_a_free_port(name: str, command_for, directory: Path) -> ServerProcess:
    return start_on_free_port(lambda port: _start(name, command_for(port), directory, f"http://127.0.0.1:{port}",
                                                  "/-/ready"))


class PrometheusApi:
    def __init__(self, url: str):
        self.url = url

    def _get(self, path: str, **params) -> dict:
        answer = requests.get(self.url + path, params=params, timeout=10)
        body = answer.json()
        assert body.get("status") == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self._get("/api/v1/query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step_s: float = 1.0) -> list[dict]:
        return self._get("/api/v1/query_range", query=expr, start=start, end=end, step=step_s)["result"]

    def alerts(self) -> list[dict]:
        return self._get("/api/v1/alerts")["alerts"]

    def rules_health(self) -> dict[str, str]:
        groups = self._get("/api/v1/rules")["groups"]
        return {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}


def alert_key(labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(alertname, the alert's own labels): what tells one alert instance from another."""
    own = tuple(sorted((k, v) for k, v in labels.items() if k not in IGNORED_LABELS))
    return labels["alertname"], own


@dataclass
class Seen:
    """One alert instance as Prometheus reported it."""

    labels: dict[str, str]
    annotations: dict[str, str]
    first_s: float  # wall clock (time.time()), first seen pending or firing
    last_s: float
    states: set[str] = field(default_factory=set)
    active_ats: list[float] = field(default_factory=list)  # Prometheus' activeAt each time it became active


class AlertWatcher:
    """Polls Prometheus' /api/v1/alerts on a thread and keeps every alert instance it ever saw."""

    def __init__(self, api: PrometheusApi, interval_s: float = 0.5):
        self._api = api
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.seen: dict[tuple, Seen] = {}
        self.active: set[tuple] = set()
        self._thread = threading.Thread(target=self._loop, name="alert-watcher", daemon=True)

    def start(self) -> AlertWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                alerts = self._api.alerts()
            except (requests.RequestException, AssertionError, ValueError):
                continue
            now = time.time()
            with self._lock:
                self.active = set()
                for alert in alerts:
                    key = alert_key(alert["labels"])
                    self.active.add(key)
                    seen = self.seen.setdefault(key, Seen(alert["labels"], alert["annotations"], now, now))
                    seen.last_s = now
                    seen.states.add(alert["state"])
                    active_at = _unix_s(alert["activeAt"])
                    if not seen.active_ats or seen.active_ats[-1] != active_at:
                        seen.active_ats.append(active_at)

    def snapshot(self) -> tuple[dict[tuple, Seen], set[tuple]]:
        with self._lock:
            return dict(self.seen), set(self.active)


def _unix_s(rfc3339: str) -> float:
    """Prometheus' timestamps (2026-12-03T11:14:18.123456789Z) in seconds since the epoch."""
    whole, _, fraction = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole).replace(tzinfo=timezone.utc).timestamp() + float(f"0.{fraction or 0}")


class WebhookSink:
    """Alertmanager's webhook receiver: keeps every notification body, with when it arrived (``received_s``,
    time.time())."""

    def __init__(self):
        self.notifications: list[dict] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                body["received_s"] = time.time()
                with sink._lock:
                    sink.notifications.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True)

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alerts(self, status: str, incident: str | None = None) -> list[dict]:
        """Every alert of every notification with that status (firing or resolved), each with its
        notification's ``received_s``; ``incident`` narrows to one Prometheus' alerts."""
        with self._lock:
            return [{**a, "received_s": n["received_s"]} for n in self.notifications for a in n["alerts"]
                    if a["status"] == status and (incident is None or a["labels"].get("incident") == incident)]
