"""The receiver's own instruments: per-bot gauges observed from the poller's snapshot, the self counters and
histograms with their attributes, named from names.py."""

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_desk_receiver import names
from otel_desk_receiver.runtime.selfmetrics import BotGauges, SelfTelemetry


@pytest.fixture
def reader():
    reader = InMemoryMetricReader()
    yield reader
    reader.shutdown()


def points(reader) -> dict[str, list]:
    """metric name -> its points, each (attributes, value or histogram count)."""
    found: dict[str, list] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [(dict(p.attributes), getattr(p, "value", getattr(p, "count", None)))
                                      for p in metric.data.data_points]
    return found


def telemetry(reader, **kwargs) -> SelfTelemetry:
    return SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test"), **kwargs)


def test_per_bot_gauges_are_observed_from_the_snapshot_with_the_bots_attributes(reader):
    snapshot = [BotGauges(7, "alpha", pending=3, unread_error=True, lag_s=12.5),
                BotGauges(8, "beta", pending=0, unread_error=False, lag_s=None)]
    telemetry(reader, gauges=lambda: snapshot)
    alpha = {names.ATTR_BOT_ID: 7, names.ATTR_BOT_NAME: "alpha"}
    beta = {names.ATTR_BOT_ID: 8, names.ATTR_BOT_NAME: "beta"}
    found = points(reader)
    assert found[names.WEBHOOK_LOGS_PENDING.name] == [(alpha, 3), (beta, 0)]
    assert found[names.UNREAD_ERROR.name] == [(alpha, 1), (beta, 0)]
    assert found[names.LAG.name] == [(alpha, 12.5)]  # no entry read yet: no lag point


def test_counters_and_histograms_carry_only_the_attributes_known(reader):
    discovered = []
    self_telemetry = telemetry(reader, on_bot_discovered=discovered.append)
    self_telemetry.rejected(7, "malformed")
    self_telemetry.rejected(7, "malformed")
    self_telemetry.export_failed("logs")
    self_telemetry.http_request("GET", "/bots/{id}/webhook_logs", "desk.example", 443, None, 0.2, "timeout")
    self_telemetry.poll_duration(1.5)
    self_telemetry.bot_discovered(9)
    found = points(reader)
    assert found[names.ENTRIES_REJECTED.name] == [({names.ATTR_BOT_ID: 7, names.ATTR_ERROR_TYPE: "malformed"}, 2)]
    assert found[names.EXPORT_FAILURES.name] == [({names.ATTR_SIGNAL: "logs"}, 1)]
    assert found[names.HTTP_CLIENT_DURATION.name] == [(
        {names.ATTR_HTTP_METHOD: "GET", names.ATTR_HTTP_ROUTE: "/bots/{id}/webhook_logs",
         names.ATTR_SERVER_ADDRESS: "desk.example", names.ATTR_SERVER_PORT: 443, names.ATTR_ERROR_TYPE: "timeout"}, 1)]
    assert found[names.POLL_DURATION.name] == [({}, 1)]
    assert discovered == [9]
