"""Start-up cost of `otel-desk-receiver run`: seconds from exec to its first Desk request, and its RSS then.

    python -m benchmarks.startup [--runs N]

A loopback stand-in answers the bot list with no bots, so the figure is what the process costs before
it reads anything: interpreter, imports, settings, exporters, health server. Median of N runs. Then the
floor under it: the peak RSS of an interpreter that only imports the libraries `run` uses with the default
settings (http/protobuf), with and without pydantic-settings.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil

RUN_DEADLINE_S = 30.0
# What `run` imports from its dependencies with the default settings (OTLP over http/protobuf).
LIBRARIES = ("requests", "pydantic.main", "pydantic.types", "opentelemetry.sdk.resources", "opentelemetry.sdk.metrics",
             "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
             "opentelemetry.exporter.otlp.proto.common.metrics_encoder")


class _EmptyDesk(BaseHTTPRequestHandler):
    """GET /platform/v1/bots answers an empty list and marks when the first request came."""

    first_request = threading.Event()

    def do_GET(self):  # noqa: N802 - http.server's name
        _EmptyDesk.first_request.set()
        body = json.dumps({"count": 0, "next": None, "previous": None, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def measure_once(desk_url: str, state_dir: str) -> tuple[float, float]:
    """(seconds to the first Desk request, RSS in MB at that moment) for one `run` process."""
    _EmptyDesk.first_request.clear()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_"))}
    env.update(DESK_API_URL=desk_url, DESK_API_TOKEN="startup-token", DESK_HEALTH_ADDR="127.0.0.1:0",
               DESK_STATE_PATH=os.path.join(state_dir, "state.json"), DESK_LOG_LEVEL="WARNING",
               OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "otel_desk_receiver", "run"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not _EmptyDesk.first_request.wait(RUN_DEADLINE_S):
            raise RuntimeError("the receiver made no Desk request")
        elapsed = time.monotonic() - started
        rss_mb = psutil.Process(process.pid).memory_info().rss / 2**20
        return elapsed, rss_mb
    finally:
        process.terminate()
        process.wait(10)


def libraries_rss_mb(*modules: str) -> float:
    """Peak RSS in MB of a fresh interpreter that imports only ``modules``."""
    code = (f"import resource, {', '.join(modules)}\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyDesk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/platform/v1"
    with tempfile.TemporaryDirectory() as state_dir:
        readings = [measure_once(url, state_dir) for _ in range(args.runs)]
    server.shutdown()
    print(f"run start to first Desk request (median of {args.runs}): "
          f"{statistics.median(r[0] for r in readings):.2f} s")
    print(f"run RSS at first Desk request (median of {args.runs}): {statistics.median(r[1] for r in readings):.1f} MB")
    print(f"its libraries alone, peak RSS: {libraries_rss_mb(*LIBRARIES, 'pydantic_settings'):.1f} MB "
          f"({libraries_rss_mb(*LIBRARIES):.1f} MB without pydantic-settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
