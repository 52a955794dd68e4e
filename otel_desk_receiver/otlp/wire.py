"""What the SDK's OTLP exporters got back from the endpoint, and a total deadline on each HTTP request.

Why hooks into the SDK's exporters rather than our own HTTP client: the SDK resolves every
OTEL_EXPORTER_OTLP_* setting (endpoint and path, headers, compression, timeout, certificate, client
key, credential providers, gRPC channel options) and we keep that in one place, theirs. What it does
not do is look at the answer: its HTTP exporter calls any 2xx-3xx a success and drops the body, and
both exporters ignore partial_success. So each exporter gets an AnswerRecorder that sees every
answer: over HTTP our transport wraps the SDK's own (same session, TLS settings and retries) and also
bounds each request by a total deadline (requests' timeout applies to each socket read, so an endpoint
dripping its answer could hold a request for minutes); over gRPC the stub is wrapped, so the response
message (and its partial_success) or the RpcError is seen before the SDK discards it. Both hooks use
private SDK attributes; the SDK is pinned to 1.45.x and tests/otlp cover both protocols.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.exporter.http.transport._base import BaseHTTPTransport
from opentelemetry.exporter.http.transport._requests import RequestsHTTPResult

from otel_desk_receiver.otel_env import export_timeout_s, exporter_protocol
from otel_desk_receiver.otlp import answer as answers
from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.answer import Answer, Kind
from otel_desk_receiver.units import duration_text

_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"


class AnswerRecorder:
    """The last answer an exporter got on the calling thread (each export call runs on one thread)."""

    def __init__(self, response_type):
        self._response_type = response_type
        self._local = threading.local()

    def start(self) -> None:
        self._local.answer = None

    def answer(self, sdk_succeeded: bool) -> Answer:
        """The last answer recorded since start(); without one, what the SDK's result says."""
        recorded = getattr(self._local, "answer", None)
        if recorded is not None:
            return recorded
        return answers.ACCEPTED if sdk_succeeded else Answer(Kind.FAILED, "the exporter refused to send")

    def record(self, answer: Answer) -> None:
        self._local.answer = answer

    def record_http(self, result) -> None:
        content = result.content() if result.status_code is not None else b""
        self.record(answers.from_http(result.status_code, result.headers(), content, self._response_type,
                                      result.error))


# signal -> (gRPC exporter, HTTP exporter, the OTLP response message), imported only when built:
# gRPC is heavy, and loaded only for a signal whose protocol is grpc.
SDK_EXPORTERS = {
    "logs": ("opentelemetry.exporter.otlp.proto.grpc._log_exporter:OTLPLogExporter",
             "opentelemetry.exporter.otlp.proto.http._log_exporter:OTLPLogExporter",
             "opentelemetry.proto.collector.logs.v1.logs_service_pb2:ExportLogsServiceResponse"),
    "metrics": ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter",
                "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter",
                "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2:ExportMetricsServiceResponse"),
}


def build_exporter(signal: str, environ=None, timeout_s: float | None = None) -> tuple[Any, AnswerRecorder]:
    """(the SDK's gRPC or HTTP exporter for ``signal``, the AnswerRecorder attached to it). Endpoint,
    headers, compression and TLS come from OTEL_* as the SDK reads them; we pick the protocol (the
    contract's default is http/protobuf) and the timeout (milliseconds, per the spec), or ``timeout_s``."""
    protocol = exporter_protocol(signal, environ)
    timeout = export_timeout_s(signal) if timeout_s is None else timeout_s
    grpc_path, http_path, response_path = SDK_EXPORTERS[signal]
    if protocol == "grpc":
        from otel_desk_receiver.otlp.grpc_options import grpc_arguments

        exporter = _load(grpc_path)(**{**grpc_arguments(signal), "timeout": timeout})
    else:
        # No endpoint argument: only the environment variable gets /v1/<signal> appended (test-infra.md).
        exporter = _load(http_path)(timeout=timeout)
    recorder = AnswerRecorder(_load(response_path))
    attach(exporter, protocol, recorder, timeout)
    return exporter, recorder


def _load(path: str):
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def attach(exporter, protocol: str, recorder: AnswerRecorder, deadline_s: float) -> None:
    """Make ``exporter`` (an SDK OTLP exporter of either protocol) report its answers to ``recorder``."""
    if protocol == "grpc":
        make_stub = exporter._stub
        exporter._stub = lambda channel: _RecordingStub(make_stub(channel), recorder)
        exporter._client = exporter._stub(exporter._channel)
    else:
        client = exporter._client  # the SDK's _OTLPHTTPClient: retries, compression, headers
        client._transport = DeadlineTransport(client._transport, recorder, deadline_s)


class DeadlineTransport(BaseHTTPTransport):
    """The SDK's HTTP transport, each request bounded by a total deadline and its answer recorded.

    A request still running at its deadline is abandoned to its (daemon) thread, whose socket reads
    time out on their own; the caller gets a timeout at once. ``close`` releases every waiting caller.
    """

    def __init__(self, inner: BaseHTTPTransport, recorder: AnswerRecorder, deadline_s: float):
        self._inner = inner
        self._recorder = recorder
        self._deadline_s = deadline_s
        self._closed = threading.Event()
        self._waiting: set[threading.Event] = set()
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None,
                data: bytes | None = None):
        done, box = threading.Event(), {}

        headers = {**(headers or {}), **headers_file.current()}  # DESK_OTLP_HEADERS_FILE, re-read on change

        def call() -> None:
            try:
                result = self._inner.request(method, url, headers=headers, timeout=timeout, data=data)
                result.content()  # read here, on this thread, within the deadline
                box["result"] = result
            except Exception as error:  # noqa: BLE001 - becomes the result, as the SDK's transport does
                box["result"] = RequestsHTTPResult(error=error)
            finally:
                done.set()

        limit_s = min(timeout, self._deadline_s) if timeout is not None else self._deadline_s
        with self._lock:
            self._waiting.add(done)
        try:
            if not self._closed.is_set():
                threading.Thread(target=call, name="otlp-http-request", daemon=True).start()
                done.wait(limit_s)
        finally:
            with self._lock:
                self._waiting.discard(done)
        result = box.get("result") if done.is_set() else None
        if result is None:
            import requests

            reason = ("exporter shut down" if self._closed.is_set()
                      else f"no complete answer within {duration_text(limit_s)}")
            result = RequestsHTTPResult(error=requests.exceptions.ReadTimeout(f"timed out: {reason}"))
        self._recorder.record_http(result)
        return result

    def is_connection_error(self, exception: Exception | None) -> bool:
        return self._inner.is_connection_error(exception)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for waiting in self._waiting:
                waiting.set()
        self._inner.close()


class _RecordingStub:
    """A gRPC Export stub that records the response message or the error before the SDK sees it."""

    def __init__(self, inner: Any, recorder: AnswerRecorder):
        self._inner = inner
        self._recorder = recorder

    def Export(self, request, metadata=None, timeout=None):  # noqa: N802 - the gRPC method name
        import grpc

        extra = tuple((key.lower(), value) for key, value in headers_file.current().items())
        if extra:  # DESK_OTLP_HEADERS_FILE: gRPC metadata keys are lower case
            names = {key for key, _ in extra}
            metadata = tuple(item for item in (metadata or ()) if item[0] not in names) + extra
        try:
            response = self._inner.Export(request=request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as error:
            trailing = dict(error.trailing_metadata() or ()) if hasattr(error, "trailing_metadata") else {}
            self._recorder.record(answers.from_grpc_error(error.code().name, error.details() or "",
                                                          _RETRY_INFO_KEY in trailing))
            raise
        self._recorder.record(answers.from_grpc_response(response))
        return response
