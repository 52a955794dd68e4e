"""OTLP export: the SDK's exporters, built from OTEL_* by the SDK itself, called directly and checked."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import grpc

from opentelemetry._logs import LogRecord, SeverityNumber
# The logs SDK is still underscored (test-infra.md): every import of it stays in this module.
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_desk_receiver import __version__, names
from otel_desk_receiver.config import otlp_protocol
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.records import EntryRecord

__all__ = [
    "LogSink", "NullLogSink", "build_log_exporter", "build_meter_provider", "build_metric_exporter",
    "build_resource", "export_timeout_s", "probe_metrics", "shutdown_meter_provider",
]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 512  # measured: ~60,000 records/s through exporter.export() at this size (test-infra.md)
DEFAULT_TIMEOUT_MS = 10_000.0  # the specification's default for OTEL_EXPORTER_OTLP_TIMEOUT
_GRPC_COMPRESSION = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}
_INSTANCE_ID = str(uuid.uuid4())  # service.instance.id: one per process, as the semantic conventions ask

# Histogram buckets in seconds. Desk API calls: the semantic conventions' advice for
# http.client.request.duration (5 ms .. 10 s). A poll cycle over many bots can take minutes.
HTTP_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
POLL_DURATION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def build_resource(app_id: str | None) -> Resource:
    """Our resource; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override any attribute of ours."""
    ours = {
        "service.name": names.DEFAULT_SERVICE_NAME,
        "service.version": __version__,
        "service.instance.id": _INSTANCE_ID,
    }
    if app_id:
        ours[names.ATTR_APP_ID] = app_id
    # Resource.create lets its argument win over the environment; the spec wants the user's
    # OTEL_* to win, so the environment detector is merged once more on top.
    return Resource.create(ours).merge(OTELResourceDetector().detect())


class LogSink:
    """Hands entry records straight to an OTLP log exporter and reports whether the endpoint accepted them.

    ``export`` returns True only if every batch got SUCCESS; it stops at the first failed batch
    (earlier batches of the same call were delivered, and are sent again if the caller retries).
    No BatchLogRecordProcessor: its queue silently dropped half of a large backlog (test-infra.md).
    """

    def __init__(self, exporter: LogRecordExporter, resource: Resource, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 on_failure: Callable[[int], None] | None = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._exporter = exporter
        self._resource = _HashOnceResource(resource.attributes, resource.schema_url)
        self._batch_size = batch_size
        self._on_failure = on_failure
        self._scope = InstrumentationScope(names.SCOPE_NAME, __version__)

    def export(self, records: Sequence[EntryRecord]) -> bool:
        for start in range(0, len(records), self._batch_size):
            batch = [self._to_readable(record) for record in records[start:start + self._batch_size]]
            if not self._export_batch(batch):
                if self._on_failure is not None:
                    self._on_failure(len(batch))
                return False
        return True

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def probe(self) -> bool:
        """Whether the endpoint accepts an export request that carries no record (for `check`)."""
        return self._export_batch([])

    def _export_batch(self, batch: list[ReadableLogRecord]) -> bool:
        try:
            result = self._exporter.export(batch)
        except Exception as exc:  # noqa: BLE001 - an endpoint failure is an answer, never a crash
            # The type only: an exception's text may quote the endpoint URL with its user info.
            logger.warning("OTLP log export of %d records raised %s", len(batch), type(exc).__name__)
            return False
        if result is not LogRecordExportResult.SUCCESS:
            logger.warning("OTLP log export of %d records failed", len(batch))
            return False
        return True

    def _to_readable(self, record: EntryRecord) -> ReadableLogRecord:
        log_record = LogRecord(
            timestamp=record.timestamp_ns,
            observed_timestamp=record.observed_timestamp_ns,
            severity_number=_SEVERITY_NUMBERS[record.severity_number],
            severity_text=record.severity_text,
            body=record.body,
            attributes=dict(record.attributes),
            # The OTLP event_name field: an event.name attribute is deprecated (contract.md).
            event_name=record.event_name,
        )
        return ReadableLogRecord(log_record, resource=self._resource, instrumentation_scope=self._scope)


_SEVERITY_NUMBERS = {number.value: number for number in SeverityNumber}


class _HashOnceResource(Resource):
    """The same resource, hashed once. The SDK's log encoder groups a batch by resource, hashing it for
    every record, and Resource.__hash__ JSON-encodes all its attributes each time: a tenth of the
    receiver's CPU per entry in the profile (benchmarks/RESULTS.md). Equality is Resource's own."""

    def __init__(self, attributes, schema_url: str | None = None):
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


class NullLogSink:
    """For OTEL_SDK_DISABLED=true, if the caller chooses it: accepts every record and sends nothing.

    Using it means entries count as delivered although they went nowhere; the caller decides
    whether that is what "SDK disabled" should mean.
    """

    def export(self, records: Sequence[EntryRecord]) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def _protocol(signal: str, environ: Mapping[str, str] | None) -> str:
    # Chosen here: the SDK would fall back to gRPC, our contract's default is http/protobuf.
    protocol = otlp_protocol(signal, dict(os.environ if environ is None else environ))
    if protocol not in ("grpc", "http/protobuf"):
        raise ValueError(f"unsupported OTLP protocol {protocol!r} (config.otlp_problems reports it)")
    return protocol


def _grpc_arguments(signal: str) -> dict[str, Any]:
    """Compression, timeout and transport security for the SDK's gRPC exporters, resolved as the spec
    says (per-signal, generic, default; empty means unset). Measured on 1.45, the gRPC exporter left
    to itself raises on compression "none" (valid per spec) and on an empty timeout, and uses TLS
    towards an http:// endpoint when an *_INSECURE variable is "false" or empty. The HTTP exporter
    reads these correctly, so it gets no arguments."""
    def setting(name: str) -> str:
        return _setting(signal, name)

    per_signal_timeout = f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT"
    if per_signal_timeout in os.environ and not os.environ[per_signal_timeout].strip():
        # The SDK parses this one before looking at any argument: float("") would raise.
        raise ConfigError([f"{per_signal_timeout}: set but empty; give a number of milliseconds or unset it"])
    scheme = urlsplit(setting("ENDPOINT") or "http://localhost:4317").scheme
    # The spec: *_INSECURE applies only to an endpoint without a scheme; the scheme decides otherwise.
    insecure = scheme == "http" if scheme in ("http", "https") else setting("INSECURE").lower() == "true"
    return {
        "compression": _GRPC_COMPRESSION.get(setting("COMPRESSION").lower(), grpc.Compression.NoCompression),
        "timeout": export_timeout_s(signal),
        "insecure": insecure,
    }


def _setting(signal: str, name: str) -> str:
    """An OTEL_EXPORTER_OTLP_* value: per-signal variable, then generic; empty means unset."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        if value := os.environ.get(variable, "").strip():
            return value
    return ""


def export_timeout_s(signal: str) -> float:
    """The export timeout in seconds from OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT, which the specification
    gives in milliseconds. The Python SDK (1.45) reads it as seconds, so a value meant as 10000 ms
    would wait almost three hours there: we read it ourselves and pass seconds to both exporters."""
    return float(_setting(signal, "TIMEOUT") or DEFAULT_TIMEOUT_MS) / 1000.0


def build_log_exporter(environ: Mapping[str, str] | None = None) -> LogRecordExporter:
    """The SDK's gRPC or HTTP log exporter; endpoint, headers, timeout, compression and TLS come from
    OTEL_* as the SDK reads them (environ only picks the protocol). Opens no connection yet."""
    if _protocol("logs", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
        return GrpcLogExporter(**_grpc_arguments("logs"))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
    # No endpoint argument: only the environment variable gets /v1/logs appended (test-infra.md).
    return HttpLogExporter(timeout=export_timeout_s("logs"))


def build_metric_exporter(on_failure: Callable[[], None] | None = None,
                          environ: Mapping[str, str] | None = None) -> MetricExporter:
    """The SDK's gRPC or HTTP metric exporter, counting failed exports through on_failure.

    The SDK exporter reads OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself.
    """
    if _protocol("metrics", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
        exporter: MetricExporter = GrpcMetricExporter(**_grpc_arguments("metrics"))
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
        exporter = HttpMetricExporter(timeout=export_timeout_s("metrics"))
    return _FailureCountingExporter(exporter, on_failure) if on_failure is not None else exporter


class _FailureCountingExporter(MetricExporter):
    """Delegates to the SDK exporter, calling on_failure when an export fails."""

    def __init__(self, inner: MetricExporter, on_failure: Callable[[], None]):
        # The reader takes temporality and aggregation from its exporter: pass the inner ones on.
        super().__init__(preferred_temporality=inner._preferred_temporality,
                         preferred_aggregation=inner._preferred_aggregation)
        self._inner = inner
        self._on_failure = on_failure

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        try:
            result = self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:  # noqa: BLE001 - counted and reported like a refusal
            logger.warning("OTLP metric export raised %s", type(exc).__name__)
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self._on_failure()
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def build_meter_provider(resource: Resource, exporter: MetricExporter, *,
                         interval_ms: float | None = None) -> MeterProvider:
    """A MeterProvider exporting every interval_ms (default: OTEL_METRIC_EXPORT_INTERVAL, read by the SDK).

    Shut it down with shutdown_meter_provider(). With OTEL_SDK_DISABLED=true the SDK hands out no-op
    meters, so nothing is recorded or sent.
    """
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval_ms)
    views = [
        View(instrument_name=names.HTTP_CLIENT_DURATION.name,
             aggregation=ExplicitBucketHistogramAggregation(HTTP_DURATION_BUCKETS_S)),
        View(instrument_name=names.POLL_DURATION.name,
             aggregation=ExplicitBucketHistogramAggregation(POLL_DURATION_BUCKETS_S)),
    ]
    # shutdown_on_exit=False: the caller shuts down once, in order, after the last export.
    return MeterProvider(resource=resource, metric_readers=[reader], views=views, shutdown_on_exit=False)


def probe_metrics(exporter: MetricExporter) -> bool:
    """Whether the endpoint accepts a metrics export request that carries no data point (for `check`)."""
    try:
        return exporter.export(MetricsData(resource_metrics=[])) is MetricExportResult.SUCCESS
    except Exception:  # noqa: BLE001 - an endpoint failure is an answer
        return False
    finally:
        exporter.shutdown()


def shutdown_meter_provider(meter_provider: MeterProvider, timeout_ms: float = 10_000) -> None:
    """Export the final points exactly once, then stop.

    Measured: force_flush() then shutdown() exports cumulative points twice (test-infra.md). The
    periodic reader's shutdown already makes one last collection, so shutdown alone is the flush.
    """
    meter_provider.shutdown(timeout_millis=timeout_ms)
