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


def telemetry(reader) -> SelfTelemetry:
    return SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test"))


def test_per_bot_gauges_are_observed_from_each_apps_snapshot_with_the_app_and_the_bots_attributes(reader):
    snapshot = [BotGauges(7, "alpha", pending=3, unread_error=True, lag_s=12.5),
                BotGauges(8, "beta", pending=0, unread_error=False, lag_s=None)]
    self_telemetry = telemetry(reader)
    self_telemetry.for_app("app-eu").observe_bot_gauges(lambda: snapshot)
    self_telemetry.for_app("app-us").observe_bot_gauges(lambda: snapshot[:1])  # the same bot id in another app
    alpha = {names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 7, names.ATTR_BOT_NAME: "alpha"}
    beta = {names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 8, names.ATTR_BOT_NAME: "beta"}
    alpha_us = {**alpha, names.ATTR_APP_ID: "app-us"}
    found = points(reader)
    assert found[names.WEBHOOK_LOGS_PENDING.name] == [(alpha, 3), (beta, 0), (alpha_us, 3)]
    assert found[names.UNREAD_ERROR.name] == [(alpha, 1), (beta, 0), (alpha_us, 1)]
    assert found[names.LAG.name] == [(alpha, 12.5), (alpha_us, 12.5)]  # no entry read yet: no lag point


def test_per_app_points_say_their_app_and_receiver_wide_points_none(reader):
    self_telemetry = telemetry(reader)
    app = self_telemetry.for_app("app-9")
    assert app.app == "app-9"
    app.rejected(7, "malformed")
    app.rejected(7, "malformed")
    self_telemetry.for_app("app-1").rejected(7, "malformed")
    app.export_failed("logs")
    self_telemetry.export_failed("metrics")
    app.http_request("GET", "/bots/{id}/webhook_logs", "desk.example", 443, None, 0.2, "timeout")
    app.poll_duration(1.5)
    found = points(reader)
    assert found[names.ENTRIES_REJECTED.name] == [
        ({names.ATTR_APP_ID: "app-9", names.ATTR_BOT_ID: 7, names.ATTR_ERROR_TYPE: "malformed"}, 2),
        ({names.ATTR_APP_ID: "app-1", names.ATTR_BOT_ID: 7, names.ATTR_ERROR_TYPE: "malformed"}, 1)]
    assert found[names.EXPORT_FAILURES.name] == [({names.ATTR_SIGNAL: "logs"}, 1), ({names.ATTR_SIGNAL: "metrics"}, 1)]
    assert found[names.HTTP_CLIENT_DURATION.name] == [(
        {names.ATTR_APP_ID: "app-9", names.ATTR_HTTP_METHOD: "GET", names.ATTR_HTTP_ROUTE: "/bots/{id}/webhook_logs",
         names.ATTR_SERVER_ADDRESS: "desk.example", names.ATTR_SERVER_PORT: 443, names.ATTR_ERROR_TYPE: "timeout"}, 1)]
    assert found[names.POLL_DURATION.name] == [({names.ATTR_APP_ID: "app-9"}, 1)]


def test_a_gauge_observed_per_app_is_one_instrument_each_point_led_by_its_app(reader):
    self_telemetry = telemetry(reader)
    listed = [(1, {names.ATTR_BOT_ID: 7, names.ATTR_BOT_STATUS: "ACTIVE"})]
    self_telemetry.for_app("app-eu").observe(names.BOT_STATE, lambda: listed)
    self_telemetry.for_app("app-us").observe(names.BOT_STATE, lambda: [(1, {names.ATTR_BOT_ID: 7})])
    found = points(reader)[names.BOT_STATE.name]
    assert found == [({names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 7, names.ATTR_BOT_STATUS: "ACTIVE"}, 1),
                     ({names.ATTR_APP_ID: "app-us", names.ATTR_BOT_ID: 7}, 1)]
    listed[0] = (1, {names.ATTR_BOT_ID: 7, names.ATTR_BOT_STATUS: "PAUSED"})  # read at each collection
    eu = [attributes for attributes, _ in points(reader)[names.BOT_STATE.name]
          if attributes[names.ATTR_APP_ID] == "app-eu"]
    assert eu == [{names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 7, names.ATTR_BOT_STATUS: "PAUSED"}]
