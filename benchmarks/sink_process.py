"""The benchmark's OTLP endpoint as its own process: an OtlpSink keeping counts only.

Prints one JSON line with its endpoints when ready; then answers every line read on stdin with
one JSON line of stats ({"logs": {"requests", "items", "bytes"}, "cpu_s"}), so the benchmark can
take readings between phases; exits on end of input.
"""

import json
import os
import sys

from otel_desk_receiver.devkit.sink.server import LOGS, OtlpSink


def _reading(sink: OtlpSink) -> dict:
    logs = sink.stats[LOGS]
    times = os.times()
    return {
        "logs": {key: sum(by_protocol[key] for by_protocol in logs.values()) for key in ("requests", "items", "bytes")},
        "cpu_s": times.user + times.system,
    }


def main() -> int:
    with OtlpSink(count_only=True) as sink:
        print(json.dumps({"pid": os.getpid(), "grpc_endpoint": sink.grpc_endpoint,
                          "http_endpoint": sink.http_endpoint}), flush=True)
        for _ in sys.stdin:
            print(json.dumps(_reading(sink)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
