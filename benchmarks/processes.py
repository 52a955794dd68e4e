"""The benchmark's three processes: the Desk emulator, the OTLP sink, and the receiver under test.

Each runs apart so that its CPU time is its own: the receiver's rusage comes from wait4 on it alone.
"""

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

TOKEN = "bench-token"
START_DEADLINE_S = 120.0  # a million-entry emulator preload takes a few seconds; leave room on slow machines
_SERVING = re.compile(r"serving (\S+) ")


class BenchmarkError(RuntimeError):
    """A process of the benchmark failed to start or behaved unexpectedly."""


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


class SinkProcess:
    """`python -m benchmarks.sink_process`: OTLP over gRPC and HTTP, counts only, readings on demand."""

    def __init__(self):
        self.process = subprocess.Popen(_python("-m", "benchmarks.sink_process"), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        hello = json.loads(self._line())
        self.endpoints = {"grpc": hello["grpc_endpoint"], "http/protobuf": hello["http_endpoint"]}

    def _line(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise BenchmarkError(f"the OTLP sink exited with {self.process.wait()}")
        return line

    def reading(self) -> dict:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self._line())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)


class EmulatorProcess:
    """`otel-desk-receiver emulator` with settled history only (no live traffic), control surface on."""

    def __init__(self, bots: int, per_bot: int, history_days: float):
        args = ["-m", "otel_desk_receiver", "emulator", "--port", "0", "--token", TOKEN, "--control",
                "--bots", str(bots), "--faq-bots", "0", "--rate", "0", "--history-days", str(history_days),
                "--history-per-bot", str(per_bot)]
        self.process = subprocess.Popen(_python(*args), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        match = _SERVING.search(line)
        if match is None:
            raise BenchmarkError(f"the emulator did not start (exit {self.process.poll()}): {line!r}")
        self.url = match[1]
        self.control_url = self.url.rsplit("/platform/v1", 1)[0] + "/_emulator"
        self.ps = psutil.Process(self.process.pid)

    def stats(self) -> dict:
        return requests.get(self.control_url + "/stats", timeout=30).json()

    def reset_requests(self) -> None:
        requests.post(self.control_url + "/requests/reset", timeout=30).raise_for_status()

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class ReceiverRun:
    exit_code: int
    wall_s: float
    user_s: float
    system_s: float
    peak_rss_mb: float
    log_path: Path

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s

    def output_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def receiver_env(emulator: EmulatorProcess, otlp_endpoint: str, protocol: str, state_path: Path,
                 **desk: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_"))}
    env.update({
        "DESK_API_URL": emulator.url,
        "DESK_API_TOKEN": TOKEN,
        "DESK_STATE_PATH": str(state_path),
        "DESK_HEALTH_ADDR": "",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
    })
    env.update({f"DESK_{name.upper()}": value for name, value in desk.items()})
    return env


def run_receiver(env: dict[str, str], log_path: Path, profile_path: Path | None = None,
                 timeout_s: float = 3600.0) -> ReceiverRun:
    """`otel-desk-receiver run --once` as a child; its own CPU time and peak RSS from wait4."""
    profiler = ["-m", "cProfile", "-o", str(profile_path)] if profile_path else []
    command = _python(*profiler, "-m", "otel_desk_receiver", "run", "--once")
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    deadline = started + timeout_s
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            raise BenchmarkError(f"the receiver did not finish within {timeout_s:.0f}s")
        time.sleep(0.01)
    wall_s = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    # ru_maxrss is in kilobytes on Linux.
    return ReceiverRun(process.returncode, wall_s, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, log_path)
