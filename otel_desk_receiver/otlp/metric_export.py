"""Metrics over OTLP: our metric exporter (the SDK's public encode_metrics, our sender), the meter provider
and its views."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import names
from otel_desk_receiver.otlp.answer import Answer, Kind
from otel_desk_receiver.otlp.sender import Sender, build_sender

__all__ = ["OtlpMetricExporter", "build_meter_provider", "build_metric_exporter", "probe_metrics",
           "shutdown_meter_provider"]

logger = logging.getLogger(__name__)

# Histogram buckets in seconds. Desk API calls: the semantic conventions' advice for
# http.client.request.duration (5 ms .. 10 s). A poll cycle over many bots can take minutes.
HTTP_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
POLL_DURATION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

_DELTA, _CUMULATIVE = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE
# OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, as the specification's OTLP metric exporter defines it
# (metrics/sdk_exporters/otlp.md): the instruments exported as deltas; every other one is cumulative.
DELTA_INSTRUMENTS = {
    "cumulative": (),
    "delta": (Counter, Histogram, ObservableCounter),
    "lowmemory": (Counter, Histogram),
}
INSTRUMENTS = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)


def build_metric_exporter(on_failure: Callable[[], None] | None = None,
                          environ: Mapping[str, str] | None = None, *, timeout_s: float | None = None) -> OtlpMetricExporter:
    """The OTLP metric exporter of the protocol OTEL_* names, counting failed exports through on_failure.

    Temporality and the default histogram aggregation come from OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
    and OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION (values checked at load, otel_env);
    ``timeout_s`` overrides the export timeout."""
    env = os.environ if environ is None else environ
    preference = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    delta = DELTA_INSTRUMENTS.get(preference, ())
    histogram = env.get("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "").strip().lower()
    aggregation = (ExponentialBucketHistogramAggregation() if histogram == "base2_exponential_bucket_histogram"
                   else ExplicitBucketHistogramAggregation())
    return OtlpMetricExporter(
        build_sender("metrics", environ, timeout_s), on_failure,
        temporality={kind: _DELTA if kind in delta else _CUMULATIVE for kind in INSTRUMENTS},
        aggregation={Histogram: aggregation})


class OtlpMetricExporter(MetricExporter):
    """Exports MetricsData through a sender. ``send`` returns the endpoint's answer (the counters' own loop
    and `check` act on it); ``export``, for the SDK's readers, calls anything but an acceptance (or a partial
    one) a FAILURE and counts it through on_failure."""

    def __init__(self, sender: Sender, on_failure: Callable[[], None] | None, *, temporality, aggregation):
        super().__init__(preferred_temporality=temporality, preferred_aggregation=aggregation)
        self.sender = sender
        self._on_failure = on_failure

    def send(self, metrics_data: MetricsData) -> Answer:
        try:
            return self.sender.send(encode_metrics(metrics_data))
        except Exception as exc:  # noqa: BLE001 - an endpoint failure is an answer, never a crash
            return Answer(Kind.DOWN, f"the exporter raised {type(exc).__name__}")

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        if self.send(metrics_data).kind in (Kind.ACCEPTED, Kind.PARTIAL):
            return MetricExportResult.SUCCESS
        if self._on_failure is not None:
            self._on_failure()
        return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True  # nothing is buffered here

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self.sender.close()


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


def probe_metrics(exporter: OtlpMetricExporter) -> Answer:
    """The endpoint's answer to a metrics export request that carries no data point (for `check`)."""
    try:
        return exporter.send(MetricsData(resource_metrics=[]))
    finally:
        exporter.shutdown()


def shutdown_meter_provider(meter_provider: MeterProvider, timeout_ms: float = 10_000) -> None:
    """Export the final points exactly once, then stop.

    Measured: force_flush() then shutdown() exports cumulative points twice
    (docs/testing.md#opentelemetry-sdk-pitfalls). The periodic reader's shutdown already makes one last
    collection, so shutdown alone is the flush.
    """
    meter_provider.shutdown(timeout_millis=timeout_ms)
