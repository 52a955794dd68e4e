"""Run `otel-desk-receiver` as a real child process aimed at an in-test emulator and OTLP endpoint."""

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import requests

from otel_desk_receiver import names

WAIT_S = 60.0


def receiver_env(emulator, otlp_endpoint: str, protocol: str, state_path: Path, **desk) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_"))}
    env.update({
        "DESK_API_URL": emulator.url,
        "DESK_API_TOKEN": emulator.config.token,
        "DESK_STATE_PATH": str(state_path),
        "DESK_HEALTH_ADDR": "",
        "DESK_MAX_RPS": "1000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({f"DESK_{k.upper()}": str(v) for k, v in desk.items()})
    return env


@dataclass
class ReceiverProcess:
    process: subprocess.Popen
    log_path: Path

    @classmethod
    def start(cls, env: dict[str, str], tmp_path: Path, *args: str) -> "ReceiverProcess":
        log_path = tmp_path / f"receiver-{time.monotonic_ns()}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "otel_desk_receiver", "run", *args], env=env,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return cls(process, log_path)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout_s: float = WAIT_S) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"receiver did not exit within {timeout_s}s:\n{self.output()[-3000:]}") from None

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def run_command(env: dict[str, str], *args: str, timeout_s: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "otel_desk_receiver", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)


def wait_until(predicate, timeout_s: float = WAIT_S, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def http_status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


def delivered_counter_total(sink, instance_id: str | None = None) -> int:
    """The settled count the metrics endpoint last got, over every bot and status: the latest point of each
    series (cumulative) or the sum of the deltas. The counters carry the state's service.instance.id, one
    for every process that wrote that state (otlp/resource.counters_resource); ``instance_id`` narrows to one."""
    last = defaultdict(int)
    for point in sink.metric_points(names.WEBHOOK_LOGS.name):
        if instance_id is not None and point.resource.get("service.instance.id") != instance_id:
            continue
        key = frozenset(point.attributes.items())
        last[key] = point.value if point.temporality == "cumulative" else last[key] + point.value
    return int(sum(last.values()))
