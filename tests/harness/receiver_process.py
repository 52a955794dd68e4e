"""`otel-desk-receiver` as a real child process aimed at an in-test emulator and OTLP endpoint: its
environment, the long-running ``run`` (``ReceiverProcess``), a command to completion (``run_command``), and
what a test reads of it (a health status, the settled counter)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import requests

from otel_desk_receiver import names
from tests.harness.process import ServerProcess
from tests.harness.wait import WAIT_S


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


class ReceiverProcess(ServerProcess):
    """`otel-desk-receiver run` with its output in a log file under the test's directory."""

    @classmethod
    def start(cls, env: dict[str, str], tmp_path: Path, *args: str) -> ReceiverProcess:
        log_path = tmp_path / f"receiver-{time.monotonic_ns()}.log"
        return cls("receiver", [sys.executable, "-m", "otel_desk_receiver", "run", *args], log_path, env=env)


def run_command(env: dict[str, str], *args: str, timeout_s: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "otel_desk_receiver", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)


def http_status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


def delivered_counter_total(sink, instance_id: str | None = None) -> int:
    """The settled count the metrics endpoint last got, over every bot and status: the latest point of each
    series (cumulative) or the sum of the deltas. Every signal of a receiver carries its service.instance.id,
    derived from its apps and its state (otlp/resource.instance_key); ``instance_id`` narrows to one."""
    last = defaultdict(int)
    for point in sink.metric_points(names.WEBHOOK_LOGS.name):
        if instance_id is not None and point.resource.get("service.instance.id") != instance_id:
            continue
        key = frozenset(point.attributes.items())
        last[key] = point.value if point.temporality == "cumulative" else last[key] + point.value
    return int(sum(last.values()))
