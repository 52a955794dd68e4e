"""Metric export: our OTLP metric exporter behind the SDK's periodic reader: the points reach the endpoint once, in
the temporality the environment prefers, histograms in seconds' buckets, a failed export reported."""

import pytest

from otel_desk_receiver.otlp.metric_export import (
    HTTP_DURATION_BUCKETS_S,
    build_meter_provider,
    build_metric_exporter,
    shutdown_meter_provider,
)
from otel_desk_receiver.otlp.resource import build_resource
from tests.harness.fixtures.otlp import PROTOCOLS


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_counter_reaches_the_sink_once(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    provider.get_meter("t").create_counter("sendbird.desk.bot.webhook_logs").add(1, {"status": "RECEIVED"})
    shutdown_meter_provider(provider)
    (point,) = otlp_sink.metric_points("sendbird.desk.bot.webhook_logs")
    assert (point.value, point.temporality) == (1, "cumulative")
    assert len(otlp_sink.requests("metrics")) == 1


def test_flush_then_shutdown_would_export_twice(otlp_sink, otlp_env):
    """The measured pitfall that shutdown_meter_provider avoids (docs/testing.md#opentelemetry-sdk-pitfalls)."""
    otlp_env(otlp_sink, "http/protobuf")
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    provider.get_meter("t").create_counter("c").add(1)
    provider.force_flush()
    provider.shutdown()
    assert len(otlp_sink.metric_points("c")) == 2


@pytest.mark.parametrize(("preference", "expected"), [("delta", "delta"), ("cumulative", "cumulative")])
def test_temporality_from_the_environment(otlp_sink, otlp_env, preference, expected):
    otlp_env(otlp_sink, "grpc", OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=preference)
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    meter = provider.get_meter("t")
    meter.create_counter("c").add(2)
    meter.create_histogram("h").record(1.0)
    shutdown_meter_provider(provider)
    assert [p.temporality for p in otlp_sink.metric_points("c") + otlp_sink.metric_points("h")] == [expected] * 2


def test_histogram_buckets_fit_seconds(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    provider.get_meter("t").create_histogram("http.client.request.duration", unit="s").record(0.3)
    shutdown_meter_provider(provider)
    (point,) = otlp_sink.metric_points("http.client.request.duration")
    assert point.explicit_bounds == HTTP_DURATION_BUCKETS_S


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_failed_metric_export_calls_on_failure(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    failures = []
    exporter = build_metric_exporter(on_failure=lambda: failures.append(1))
    provider = build_meter_provider(build_resource([], "test"), exporter, interval_ms=60_000)
    provider.get_meter("t").create_counter("c").add(1)
    otlp_sink.set_down(True)
    shutdown_meter_provider(provider)
    assert failures == [1]
