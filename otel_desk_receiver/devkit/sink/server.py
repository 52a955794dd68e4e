"""OtlpSink: a real OTLP receiving end (gRPC and HTTP, in-process) keeping what arrives, for tests, demo, benchmark."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent import futures

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc

from otel_desk_receiver.devkit.sink import faults
from otel_desk_receiver.devkit.sink.http import HTTP, HttpServer, with_partial
from otel_desk_receiver.devkit.sink.faults import Imposter, RecordRule, Refusal, Reply
from otel_desk_receiver.devkit.sink.decode import (
    LOGS,
    METRICS,
    SinkLogRecord,
    SinkMetricPoint,
    SinkRequest,
    count_items,
    decode_log_records,
    decode_metric_points,
    without_records,
)

logger = logging.getLogger(__name__)

GRPC = "grpc"
_GRPC_MAX_MESSAGE = 64 * 1024 * 1024  # the SDK's HTTP exporters send up to 64 MiB; gRPC's default is 4 MiB




class OtlpSink:
    """Accepts OTLP logs and metrics on 127.0.0.1 over gRPC and HTTP; thread-safe; refuses on request."""

    def __init__(self, host: str = "127.0.0.1", grpc_port: int = 0, http_port: int = 0, *, count_only: bool = False,
                 keep_raw: bool = False):
        self.host, self.grpc_port, self.http_port = host, grpc_port, http_port
        self.count_only = count_only  # keep counts only: no records, no requests (the benchmark's mode)
        self.keep_raw = keep_raw  # also keep each accepted request's protobuf message (golden tests)
        self.raw: dict[str, list] = {LOGS: [], METRICS: []}
        self._cond = threading.Condition(threading.RLock())
        self._callbacks: list[Callable[[list[SinkLogRecord]], None]] = []
        self._grpc_server: grpc.Server | None = None
        self._http_server: HttpServer | None = None
        self._down = False
        self._refusal = Refusal(0, 503, grpc.StatusCode.UNAVAILABLE, None)
        self._imposter = Imposter(0, "html", None)
        self._record_rule: RecordRule | None = None
        self.max_records: int | None = None  # more records in one request: 413 / RESOURCE_EXHAUSTED
        self.stopped = threading.Event()
        self.drip_s = 0.0  # write each answer one byte every drip_s seconds (HTTP); hold it that long (gRPC)
        self.clear()

    # --- lifecycle
    def start(self) -> OtlpSink:
        self.start_listening()
        return self

    def stop(self) -> None:
        self.stop_listening()

    def __enter__(self) -> OtlpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start_listening(self) -> None:
        """Listen again, on the same ports once they are known (an endpoint that comes back)."""
        self.stopped.clear()
        self._grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="otlp-sink-grpc"),
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE)],
        )
        logs_grpc.add_LogsServiceServicer_to_server(_LogsService(self), self._grpc_server)
        metrics_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self), self._grpc_server)
        self.grpc_port = self._grpc_server.add_insecure_port(f"{self.host}:{self.grpc_port}")
        self._grpc_server.start()
        self._http_server = HttpServer((self.host, self.http_port), self)
        self.http_port = self._http_server.server_address[1]
        threading.Thread(target=self._http_server.serve_forever, args=(0.05,), daemon=True,
                         name="otlp-sink-http").start()

    def stop_listening(self) -> None:
        """Close both ports and every open connection (an endpoint that is gone, not one that refuses)."""
        self.stopped.set()  # a dripping or held answer ends now
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait()
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.close_connections()
            self._http_server.server_close()
            self._http_server = None

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    # --- fault injection
    def fail_next(self, n: int, *, http_status: int = 503, grpc_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
                  signal: str | None = None, message: str = "refused by OtlpSink",
                  quote_headers: tuple[str, ...] = ()) -> None:
        """Refuse the next n export requests (of one signal, or any); the message ends with the headers named in
        ``quote_headers`` that the request carried, values included (a 401 echoing the credentials it refused)."""
        with self._cond:
            self._refusal = Refusal(n, http_status, grpc_code, signal, message, tuple(quote_headers))

    def impersonate_next(self, n: int, kind: str, *, signal: str | None = None, status: int = 308,
                         location: str = "https://otlp.example.com/v1/logs") -> None:
        """Answer the next n HTTP requests with something that is not OTLP: ``redirect`` (status, Location)
        or ``html`` (200 with a web page). Nothing is kept."""
        with self._cond:
            self._imposter = Imposter(n, kind, signal, location, status)

    def reject_records(self, rejects, message: str = "record refused", *, http_status: int | None = None) -> None:
        """Refuse the log records for which rejects(SinkLogRecord) is true, until called with None: with a
        partial success (the others are kept), or with http_status (400) refusing every request holding one."""
        with self._cond:
            self._record_rule = None if rejects is None else RecordRule(rejects, message, http_status)

    def set_down(self, down: bool) -> None:
        """While down, refuse every request with 503 / UNAVAILABLE, as an unavailable endpoint does."""
        with self._cond:
            self._down = down

    # --- what arrived
    def clear(self) -> None:
        """Forget what arrived and the counts (fault injection stays as it is)."""
        with self._cond:
            self._raw: dict[str, list] = {LOGS: [], METRICS: []}
            self.raw = {LOGS: [], METRICS: []}
            self._decoded: dict[str, list] = {LOGS: [], METRICS: []}
            self._requests: list[SinkRequest] = []
            self._stats = {s: {p: {"requests": 0, "items": 0, "bytes": 0, "refused": 0} for p in (GRPC, HTTP)}
                           for s in (LOGS, METRICS)}

    def on_logs(self, callback: Callable[[list[SinkLogRecord]], None]) -> None:
        """Call callback with the decoded records of each accepted logs request, as it arrives."""
        self._callbacks.append(callback)

    @property
    def stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """{signal: {protocol: {requests, items, bytes, refused}}}; bytes are uncompressed protobuf."""
        with self._cond:
            return json.loads(json.dumps(self._stats))

    def count(self, signal: str = LOGS) -> int:
        with self._cond:
            return sum(p["items"] for p in self._stats[signal].values())

    def requests(self, signal: str | None = None) -> list[SinkRequest]:
        with self._cond:
            return [r for r in self._requests if signal in (None, r.signal)]

    def log_records(self) -> list[SinkLogRecord]:
        return list(self._decode(LOGS, decode_log_records))

    def metric_points(self, name: str | None = None) -> list[SinkMetricPoint]:
        return [p for p in self._decode(METRICS, decode_metric_points) if name in (None, p.name)]

    def counter_totals(self, name: str) -> dict[frozenset, float]:
        """Per attribute set, the total a backend would show: deltas summed; for cumulative points the
        latest value of each series, a series being the attributes with their start time (a new start
        time is a reset, as a restarted process whose counter starts again at 0), summed over series."""
        deltas: dict[frozenset, float] = {}
        latest: dict[tuple, tuple[int, float]] = {}
        for point in self.metric_points(name):
            key = frozenset(point.attributes.items())
            if point.temporality == "delta":
                deltas[key] = deltas.get(key, 0) + point.value
            else:
                series = (point.start_time_unix_nano, key)
                if series not in latest or point.time_unix_nano >= latest[series][0]:
                    latest[series] = (point.time_unix_nano, point.value)
        for (_, key), (_, value) in latest.items():
            deltas[key] = deltas.get(key, 0) + value
        return deltas

    def wait_for_logs(self, n: int, timeout_s: float) -> bool:
        """True once at least n log records have been accepted since the last clear()."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count(LOGS) >= n, timeout=timeout_s)

    def wait_for_metric(self, name: str, predicate: Callable[[SinkMetricPoint], bool] | None = None,
                        timeout_s: float = 5.0) -> bool:
        """True once a data point of that metric (satisfying predicate, if given) has arrived."""
        def seen() -> bool:
            return any(predicate is None or predicate(p) for p in self.metric_points(name))
        with self._cond:
            return self._cond.wait_for(seen, timeout=timeout_s)

    # --- the one receiving path of both transports
    def _decode(self, signal: str, decoder) -> list:
        # Decoded lazily: storing the parsed request keeps up with what the exporter can push (encoding bounds
        # it, docs/testing.md#opentelemetry-sdk-pitfalls); turning every attribute into Python values does not.
        with self._cond:
            decoded, raw = self._decoded[signal], self._raw[signal]
            for request in raw:
                decoded.extend(decoder(request))
            raw.clear()
            return list(decoded)

    def _refusal_for(self, signal: str, protocol: str, request, headers: dict[str, str]) -> Reply | None:
        if self._down:
            return faults.DOWN
        if self._refusal.remaining > 0 and self._refusal.signal in (None, signal):
            self._refusal.remaining -= 1
            refusal = self._refusal
            message = refusal.message
            quoted = [f"{name}: {headers[name]}" for name in refusal.quote_headers if name in headers]
            if quoted:
                message += "; received " + ", ".join(quoted)
            return Reply("error", refusal.http_status, refusal.grpc_code, message)
        imposter = self._imposter
        if protocol == HTTP and imposter.remaining > 0 and imposter.signal in (None, signal):
            imposter.remaining -= 1
            return Reply(imposter.kind, imposter.status if imposter.kind == "redirect" else 200,
                         location=imposter.location)
        if self.max_records is not None and count_items(signal, request) > self.max_records:
            return Reply("error", 413, grpc.StatusCode.RESOURCE_EXHAUSTED, "request too large")
        return None

    def _apply_record_rule(self, signal: str, request) -> Reply:
        rule = self._record_rule
        if signal != LOGS or rule is None:
            return faults.OK
        if rule.http_status is not None:
            if any(rule.rejects(record) for record in decode_log_records(request)):
                return Reply("error", rule.http_status, grpc.StatusCode.INVALID_ARGUMENT, rule.message)
            return faults.OK
        removed = without_records(request, rule.rejects)
        return Reply("ok", message=rule.message, rejected=removed) if removed else faults.OK

    def _receive(self, signal: str, protocol: str, request, headers: dict[str, str], size: int) -> Reply:
        with self._cond:
            stats = self._stats[signal][protocol]
            reply = self._refusal_for(signal, protocol, request, headers)
            if reply is None:
                reply = self._apply_record_rule(signal, request)
            if reply.kind != "ok":
                stats["refused"] += 1
                return reply
            items = count_items(signal, request)
            stats["requests"] += 1
            stats["items"] += items
            stats["bytes"] += size
            if self.keep_raw:
                self.raw[signal].append(request)
            if not self.count_only:
                self._raw[signal].append(request)
                self._requests.append(SinkRequest(signal, protocol, headers, size, items))
            self._cond.notify_all()
        if signal == LOGS and self._callbacks:
            records = list(decode_log_records(request))
            for callback in list(self._callbacks):
                try:
                    callback(records)
                except Exception:  # noqa: BLE001 - the records were accepted; a viewer's bug must not refuse them
                    logger.exception("OtlpSink on_logs callback failed")
        return reply

    def _grpc_export(self, signal: str, request, context, response):
        reply = self._receive(signal, GRPC, request, dict(context.invocation_metadata()), request.ByteSize())
        if self.drip_s:
            self.stopped.wait(self.drip_s * 50)  # a held answer (gRPC has no bytes to drip), until stopped
        if reply.kind == "error":
            context.abort(reply.grpc_code, reply.message)
        return with_partial(response, reply)


class _LogsService(logs_grpc.LogsServiceServicer):
    def __init__(self, sink: OtlpSink):
        self._sink = sink

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        return self._sink._grpc_export(LOGS, request, context, logs_pb.ExportLogsServiceResponse())


class _MetricsService(metrics_grpc.MetricsServiceServicer):
    def __init__(self, sink: OtlpSink):
        self._sink = sink

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        return self._sink._grpc_export(METRICS, request, context, metrics_pb.ExportMetricsServiceResponse())


def main(argv: list[str] | None = None) -> int:
    """Run a sink as its own process: one JSON line with the endpoints when ready, one with stats on SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m otel_desk_receiver.devkit.sink.server", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="keep counts only, not what arrived")
    args = parser.parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with OtlpSink(args.host, args.grpc_port, args.http_port, count_only=args.count_only) as sink:
        print(json.dumps({"pid": os.getpid(), "grpc_endpoint": sink.grpc_endpoint,
                          "http_endpoint": sink.http_endpoint}), flush=True)
        while not stopping.wait(0.2):
            pass
        print(json.dumps({"stats": sink.stats, "logs": sink.count(LOGS), "metric_points": sink.count(METRICS)}),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
