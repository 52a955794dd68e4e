"""Metrics over OTLP: the SDK's metric exporter (failures counted), the meter provider and its views."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import names
from otel_desk_receiver.otlp import wire
from otel_desk_receiver.otlp.answer import Answer, Kind
from otel_desk_receiver.otlp.wire import AnswerRecorder

__all__ = ["build_meter_provider", "build_metric_exporter", "probe_metrics", "shutdown_meter_provider"]

logger = logging.getLogger(__name__)

# Histogram buckets in seconds. Desk API calls: the semantic conventions' advice for
# http.client.request.duration (5 ms .. 10 s). A poll cycle over many bots can take minutes.
HTTP_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
POLL_DURATION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def build_metric_exporter(on_failure: Callable[[], None] | None = None,
                          environ: Mapping[str, str] | None = None, *, timeout_s: float | None = None) -> MetricExporter:
    """The SDK's gRPC or HTTP metric exporter, counting failed exports through on_failure.

    The SDK exporter reads OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself. Its answers are
    recorded in ``otlp_answers`` (wire.py), so a redirect or a non-OTLP 200 is not taken for an
    acceptance; ``timeout_s`` overrides the export timeout.
    """
    exporter, recorder = wire.build_exporter("metrics", environ, timeout_s)
    exporter = _FailureCountingExporter(exporter, recorder, on_failure)
    exporter.otlp_answers = recorder
    return exporter


class _FailureCountingExporter(MetricExporter):
    """Delegates to the SDK exporter; an answer that is not an OTLP acceptance is a FAILURE, counted
    through on_failure."""

    def __init__(self, inner: MetricExporter, answers: AnswerRecorder, on_failure: Callable[[], None] | None):
        # The reader takes temporality and aggregation from its exporter: pass the inner ones on.
        super().__init__(preferred_temporality=inner._preferred_temporality,
                         preferred_aggregation=inner._preferred_aggregation)
        self.inner = self._inner = inner
        self._answers = answers
        self._on_failure = on_failure

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        self._answers.start()
        try:
            result = self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:  # noqa: BLE001 - counted and reported like a refusal
            self._answers.record(Answer(Kind.DOWN, f"the exporter raised {type(exc).__name__}"))
            result = MetricExportResult.FAILURE
        answer = self._answers.answer(result is MetricExportResult.SUCCESS)
        if answer.kind not in (Kind.ACCEPTED, Kind.PARTIAL):
            result = MetricExportResult.FAILURE
            if self._on_failure is not None:
                self._on_failure()
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def build_meter_provider(resource: Resource, exporter: MetricExporter | None, *,
                         interval_ms: float | None = None, readers: Sequence[MetricReader] = ()) -> MeterProvider:
    """A MeterProvider exporting every interval_ms (default: OTEL_METRIC_EXPORT_INTERVAL, read by the SDK),
    unless exporter is None, and read by ``readers`` too (the Prometheus endpoint's).

    Shut it down with shutdown_meter_provider(). With OTEL_SDK_DISABLED=true the SDK hands out no-op
    meters, so nothing is recorded or sent.
    """
    periodic = [] if exporter is None else [PeriodicExportingMetricReader(exporter, export_interval_millis=interval_ms)]
    views = [
        View(instrument_name=names.HTTP_CLIENT_DURATION.name,
             aggregation=ExplicitBucketHistogramAggregation(HTTP_DURATION_BUCKETS_S)),
        View(instrument_name=names.POLL_DURATION.name,
             aggregation=ExplicitBucketHistogramAggregation(POLL_DURATION_BUCKETS_S)),
    ]
    # shutdown_on_exit=False: the caller shuts down once, in order, after the last export.
    return MeterProvider(resource=resource, metric_readers=[*periodic, *readers], views=views, shutdown_on_exit=False)


def probe_metrics(exporter: MetricExporter) -> Answer:
    """The endpoint's answer to a metrics export request that carries no data point (for `check`)."""
    answers = exporter.otlp_answers
    try:
        exporter.export(MetricsData(resource_metrics=[]))
        return answers.answer(False)
    finally:
        exporter.shutdown()


def shutdown_meter_provider(meter_provider: MeterProvider, timeout_ms: float = 10_000) -> None:
    """Export the final points exactly once, then stop.

    Measured: force_flush() then shutdown() exports cumulative points twice
    (docs/testing.md#opentelemetry-sdk-pitfalls). The periodic reader's shutdown already makes one last
    collection, so shutdown alone is the flush.
    """
    meter_provider.shutdown(timeout_millis=timeout_ms)
