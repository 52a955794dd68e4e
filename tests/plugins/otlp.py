"""Fixtures starting real OTLP receiving ends: the in-process OtlpSink and the rotel collector."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from otel_desk_receiver.devkit.sink.server import OtlpSink

PROTOCOLS = ("grpc", "http/protobuf")
# Milliseconds, as the specification gives OTEL_EXPORTER_OTLP_TIMEOUT (export.export_timeout_s).
# Below the SDK's first retry backoff
# (0.8..1.2 s), so a refused export fails after one attempt instead of ~6 s of retries (test-infra.md).
TEST_TIMEOUT_MS = "700"
ROTEL_START_DEADLINE_S = 10.0


@pytest.fixture
def otlp_sink():
    """A started OtlpSink on loopback ports; stopped after the test."""
    with OtlpSink() as sink:
        yield sink


def endpoint_for(sink: OtlpSink, protocol: str) -> str:
    return sink.grpc_endpoint if protocol == "grpc" else sink.http_endpoint


@pytest.fixture
def otlp_env(monkeypatch):
    """otlp_env(sink, protocol, **extra): point the SDK's OTEL_* variables at a sink for this test.

    extra: more variables, e.g. OTEL_EXPORTER_OTLP_HEADERS="k=v"; a value of None removes one.
    """

    def apply(sink: OtlpSink, protocol: str, **extra: str | None) -> dict[str, str]:
        values = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint_for(sink, protocol),
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS,
            **extra,
        }
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return {name: value for name, value in values.items() if value is not None}

    return apply


def rotel_agent_path() -> Path:
    """The collector binary inside the installed rotel wheel."""
    import rotel

    return Path(rotel.__file__).parent / "rotel-agent"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@dataclass
class RotelCollector:
    """A running rotel collector: OTLP in on grpc_endpoint / http_endpoint, OTLP out to one sink."""

    process: subprocess.Popen
    grpc_port: int
    http_port: int
    log_path: Path
    deadline: float  # time.monotonic() by which it must listen

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def output(self) -> str:
        """Its stdout and stderr so far, for failure messages."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def rotel_command(grpc_port: int, http_port: int, sink_endpoint: str, sink_protocol: str, run_dir: Path) -> list[str]:
    """rotel-agent start in the foreground (no --daemon: the fixture owns the PID)."""
    return [
        str(rotel_agent_path()), "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--otlp-receiver-traces-disabled",
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", sink_endpoint,
        "--otlp-exporter-protocol", sink_protocol,  # grpc | http
        "--batch-timeout", "50ms",  # forward promptly; the default 200 ms only slows tests
        "--pid-file", str(run_dir / "rotel.pid"),
        "--log-file", str(run_dir / "rotel.log"),
    ]


def _start_rotel(run_dir: Path, sink: OtlpSink, protocol: str) -> RotelCollector:
    run_dir.mkdir()
    sink_endpoint = sink.grpc_endpoint if protocol == "grpc" else sink.http_endpoint
    grpc_port, http_port = free_port(), free_port()
    log_path = run_dir / "output.txt"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            rotel_command(grpc_port, http_port, sink_endpoint, protocol, run_dir),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    return RotelCollector(process, grpc_port, http_port, log_path, time.monotonic() + ROTEL_START_DEADLINE_S)


def _wait_listening(collector: RotelCollector) -> bool:
    """Poll both ports until they accept connections; False if rotel exits or the deadline passes."""
    while not (_listening(collector.grpc_port) and _listening(collector.http_port)):
        if collector.process.poll() is not None or time.monotonic() > collector.deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def rotel(tmp_path):
    """rotel(sink, protocol="grpc"): start a rotel collector forwarding to the sink; stopped after the test."""
    started: list[RotelCollector] = []

    def start(sink: OtlpSink, protocol: str = "grpc") -> RotelCollector:
        # Free ports are probed, then handed over: another process may take one in between,
        # so a collector that exits at once is started again on fresh ports.
        for attempt in range(3):
            collector = _start_rotel(tmp_path / f"rotel-{len(started)}-{attempt}", sink, protocol)
            started.append(collector)
            if _wait_listening(collector):
                return collector
            collector.stop()
            if time.monotonic() > collector.deadline:
                break
        pytest.fail(f"rotel did not start listening (rc {collector.process.returncode}):\n{collector.output()}")

    yield start
    for collector in started:
        collector.stop()
