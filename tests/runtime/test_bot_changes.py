"""runtime/bot_changes.py: each bot listing as a gauge per bot and each change as a log record, delivered to a real
OTLP endpoint (the sink) through the entry exporter; a change not accepted is kept and sent again, never dropped."""

import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import parse_bot
from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.runtime.bot_changes import BotInventory
from otel_desk_receiver.runtime.selfmetrics import SelfTelemetry

SECRET_URL = "https://hook-user:pa55word@bots.example.com:8443/t0ken-in-path/hook?token=abc123&sig=zz9"
SECRETS = ("hook-user", "pa55word", "t0ken-in-path", "abc123", "zz9", "/hook")


def bot(bot_id: int = 7, **fields):
    return parse_bot({"id": bot_id, "name": f"bot-{bot_id}", "type": "CUSTOM", "status": "ACTIVE",
                      "timeoutSeconds": 60, "isUnreadError": False,
                      "webhookUrl": "https://hooks.example.com/desk/webhook", **fields})


class Clock:
    def __init__(self):
        self.ns = 1_765_000_000 * 10**9

    def __call__(self) -> int:
        self.ns += 10**9
        return self.ns


@pytest.fixture
def reader():
    reader = InMemoryMetricReader()
    yield reader
    reader.shutdown()


@pytest.fixture
def inventory(otlp_sink, otlp_env, reader):
    otlp_env(otlp_sink, "http/protobuf")
    exporter = EntryExporter(build_log_exporter(), Resource.create({}), hold_when_down=True)
    telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test")).for_app("app-eu")
    yield BotInventory(telemetry, exporter, clock_ns=Clock())
    exporter.shutdown()


def changes(sink) -> list[tuple]:
    return [(r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_BOT_CHANGE],
             r.attributes.get(names.ATTR_BOT_CHANGE_FROM), r.attributes.get(names.ATTR_BOT_CHANGE_TO))
            for r in sink.log_records()]


def gauge(reader) -> list[dict]:
    data = reader.get_metrics_data()
    return [dict(point.attributes) for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == names.BOT_STATE.name
            for point in metric.data.data_points] if data else []


def test_the_first_listing_is_the_baseline_and_each_later_change_is_one_record(inventory, otlp_sink):
    inventory.listed([bot(7), bot(8)])
    assert otlp_sink.log_records() == []
    inventory.listed([bot(7, status="PAUSED"), bot(9)])
    assert changes(otlp_sink) == [(7, names.BOT_STATUS_CHANGED, "ACTIVE", "PAUSED"), (8, names.BOT_REMOVED, None, None),
                                  (9, names.BOT_ADDED, None, None)]
    inventory.listed([bot(7, status="PAUSED"), bot(9)])  # nothing changed: nothing sent
    assert len(otlp_sink.log_records()) == 3


def test_a_change_record_carries_its_event_name_app_state_and_a_stable_uid(inventory, otlp_sink):
    inventory.listed([bot(7)])
    inventory.listed([bot(7, webhookUrl="https://new-hooks.example.net/desk/webhook", timeoutSeconds=120)])
    host, timeout = otlp_sink.log_records()
    assert host.event_name == timeout.event_name == names.BOT_CHANGE_EVENT_NAME
    assert host.attributes == {
        names.ATTR_APP_ID: "app-eu", names.ATTR_LOG_RECORD_UID: host.attributes[names.ATTR_LOG_RECORD_UID],
        names.ATTR_BOT_ID: 7, names.ATTR_BOT_NAME: "bot-7", names.ATTR_BOT_CHANGE: names.BOT_WEBHOOK_HOST_CHANGED,
        names.ATTR_BOT_CHANGE_FROM: "hooks.example.com", names.ATTR_BOT_CHANGE_TO: "new-hooks.example.net",
        names.ATTR_BOT_STATUS: "ACTIVE", names.ATTR_BOT_TYPE: "CUSTOM", names.ATTR_BOT_TIMEOUT: 120,
        names.ATTR_BOT_WEBHOOK_HOST: "new-hooks.example.net"}
    assert host.attributes[names.ATTR_LOG_RECORD_UID] == f"app-eu:7:change:webhook_host_changed:{host.time_unix_nano}"
    assert host.body == "bot 'bot-7' (7) webhook host hooks.example.com -> new-hooks.example.net"
    assert timeout.body == "bot 'bot-7' (7) timeout 60 s -> 120 s"
    assert (host.severity_text, timeout.severity_text) == ("INFO", "INFO")


def test_the_unread_error_flag_set_is_a_warning_and_cleared_is_not(inventory, otlp_sink):
    inventory.listed([bot(7)])
    inventory.listed([bot(7, isUnreadError=True)])
    inventory.listed([bot(7)])
    assert [(r.attributes[names.ATTR_BOT_CHANGE], r.severity_text) for r in otlp_sink.log_records()] == [
        (names.BOT_UNREAD_ERROR_SET, "WARN"), (names.BOT_UNREAD_ERROR_CLEARED, "INFO")]


def test_a_change_the_endpoint_does_not_take_is_kept_and_sent_again_with_the_next_listing(inventory, otlp_sink,
                                                                                           caplog):
    inventory.listed([bot(7)])
    otlp_sink.set_down(True)
    with caplog.at_level(logging.WARNING):
        inventory.listed([bot(7, status="PAUSED")])
    assert otlp_sink.log_records() == [] and inventory.kept == 1
    assert "1 bot change record(s) not delivered" in caplog.text and "sent again with the next bot listing" in caplog.text
    otlp_sink.set_down(False)
    inventory._exporter.new_cycle()  # the poller's next cycle: the endpoint is tried again
    inventory.listed([bot(7, status="PAUSED", timeoutSeconds=30)])
    assert changes(otlp_sink) == [(7, names.BOT_STATUS_CHANGED, "ACTIVE", "PAUSED"),
                                  (7, names.BOT_TIMEOUT_CHANGED, "60", "30")]
    assert inventory.kept == 0
    inventory.listed([bot(7, status="PAUSED", timeoutSeconds=30)])
    assert len(otlp_sink.log_records()) == 2  # none sent twice


def test_a_record_refused_for_itself_is_said_and_not_sent_again(inventory, otlp_sink, caplog):
    inventory.listed([bot(7), bot(8)])
    otlp_sink.reject_records(lambda r: r.attributes[names.ATTR_BOT_ID] == 8, "attribute too long", http_status=400)
    with caplog.at_level(logging.WARNING):
        inventory.listed([bot(7, status="INACTIVE"), bot(8, status="INACTIVE")])
    assert changes(otlp_sink) == [(7, names.BOT_STATUS_CHANGED, "ACTIVE", "INACTIVE")]
    assert "refused by the OTLP endpoint" in caplog.text and "bot 'bot-8' (8) status ACTIVE -> INACTIVE" in caplog.text
    assert inventory.kept == 0


def test_kept_records_are_bounded_and_each_dropped_one_is_said(otlp_sink, otlp_env, reader, caplog):
    otlp_env(otlp_sink, "http/protobuf")
    exporter = EntryExporter(build_log_exporter(), Resource.create({}), hold_when_down=True)
    telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test")).for_app("app-eu")
    inventory = BotInventory(telemetry, exporter, clock_ns=Clock(), max_kept=2)
    otlp_sink.set_down(True)
    inventory.listed([bot(7)])
    with caplog.at_level(logging.WARNING):
        for timeout in (10, 20, 30):
            inventory.listed([bot(7, timeoutSeconds=timeout)])
    exporter.shutdown()
    assert inventory.kept == 2
    assert caplog.text.count("bot change record dropped unsent") == 1 and "timeout 60 s -> 10 s" in caplog.text


def test_the_gauge_follows_the_last_listing(inventory, reader):
    assert gauge(reader) == []  # no listing yet: no point
    inventory.listed([bot(7), bot(8, status="PAUSED", timeoutSeconds=7.5, webhookUrl=None)])
    assert gauge(reader) == [
        {names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 7, names.ATTR_BOT_NAME: "bot-7", names.ATTR_BOT_STATUS: "ACTIVE",
         names.ATTR_BOT_TYPE: "CUSTOM", names.ATTR_BOT_TIMEOUT: 60, names.ATTR_BOT_WEBHOOK_HOST: "hooks.example.com"},
        {names.ATTR_APP_ID: "app-eu", names.ATTR_BOT_ID: 8, names.ATTR_BOT_NAME: "bot-8", names.ATTR_BOT_STATUS: "PAUSED",
         names.ATTR_BOT_TYPE: "CUSTOM", names.ATTR_BOT_TIMEOUT: 7.5}]
    inventory.listed([bot(8, status="ACTIVE")])
    assert [(p[names.ATTR_BOT_ID], p[names.ATTR_BOT_STATUS]) for p in gauge(reader)] == [(8, "ACTIVE")]


def test_a_webhook_url_with_secrets_never_reaches_the_endpoint(otlp_env, reader):
    from otel_desk_receiver.devkit.sink.server import OtlpSink

    with OtlpSink(keep_raw=True) as sink:
        otlp_env(sink, "http/protobuf")
        exporter = EntryExporter(build_log_exporter(), Resource.create({}))
        telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test")).for_app("app-eu")
        inventory = BotInventory(telemetry, exporter, clock_ns=Clock())
        inventory.listed([bot(7)])
        inventory.listed([bot(7, webhookUrl=SECRET_URL), bot(8, webhookUrl=SECRET_URL)])
        inventory.listed([bot(7, webhookUrl=SECRET_URL, status="PAUSED")])
        exporter.shutdown()
        sent = b"".join(request.SerializeToString() for request in sink.raw["logs"])
    assert len(sink.raw["logs"]) == 2 and b"bots.example.com:8443" in sent
    for secret in SECRETS:
        assert secret.encode() not in sent, secret
    assert not any(secret in str(point) for point in gauge(reader) for secret in SECRETS)


class BrokenExporter:
    """An exporter with a bug: deliver raises."""

    def deliver(self, records):
        raise RuntimeError("a bug in the export path")


def test_a_failing_export_path_never_stops_the_listing_and_keeps_the_records(reader, caplog):
    telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test")).for_app("app-eu")
    inventory = BotInventory(telemetry, BrokenExporter(), clock_ns=Clock())
    inventory.listed([bot(7)])
    with caplog.at_level(logging.ERROR):
        inventory.listed([bot(7, status="PAUSED")])  # does not raise into the poller
    assert inventory.kept == 1 and "sending 1 bot change record(s) failed" in caplog.text
    assert [p[names.ATTR_BOT_STATUS] for p in gauge(reader)] == ["PAUSED"]
