"""Builds one signal's OTLP sender for the protocol OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL names.

Our own senders, on public APIs only (README, "Supported OpenTelemetry SDK"): the SDK's OTLP exporters call
any 2xx-3xx a success, drop the body and ignore partial_success, and seeing their answers took hooks into
private attributes that change between releases. A sender encodes nothing: it takes an
Export*ServiceRequest (log_encoding.py, or the SDK's public encode_metrics) and returns the endpoint's
Answer (answer.py), with the SDK's retries (retry.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Protocol

from otel_desk_receiver.otlp.answer import Answer
from otel_desk_receiver.otlp.target import OtlpTarget, resolve_target

# signal -> (the OTLP response message, the gRPC service stub), from opentelemetry-proto; the stub module
# imports grpc, so it is loaded only for a signal whose protocol is grpc.
_PROTO = {
    "logs": ("opentelemetry.proto.collector.logs.v1.logs_service_pb2:ExportLogsServiceResponse",
             "opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc:LogsServiceStub"),
    "metrics": ("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2:ExportMetricsServiceResponse",
                "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc:MetricsServiceStub"),
}


class Sender(Protocol):
    """Sends one signal's export requests; ``close`` cuts a request in flight and its retries short."""

    target: OtlpTarget

    def send(self, request) -> Answer: ...

    def close(self) -> None: ...


def build_sender(signal: str, environ: Mapping[str, str] | None = None, timeout_s: float | None = None) -> Sender:
    """The sender for ``signal`` ("logs" or "metrics"), configured from OTEL_* (``environ``, default
    os.environ); ``timeout_s`` overrides the export timeout (``check`` answers within seconds). Opens no
    connection yet."""
    target = resolve_target(signal, environ, timeout_s)
    response_path, stub_path = _PROTO[signal]
    if target.protocol == "grpc":
        from otel_desk_receiver.otlp.grpc_sender import GrpcSender

        return GrpcSender(target, _load(stub_path))
    from otel_desk_receiver.otlp.http_sender import HttpSender

    return HttpSender(target, _load(response_path))


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
