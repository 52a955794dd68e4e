"""Log export: protocol choice, EntryExporter delivery and failure, batches, headers, probes, timeouts."""

import logging

import pytest

from otel_desk_receiver import __version__
from otel_desk_receiver.otlp.log_export import EntryExporter, NullEntryExporter, build_log_exporter
from otel_desk_receiver.otlp.metric_export import (
    build_meter_provider,
    build_metric_exporter,
    shutdown_meter_provider,
)
from otel_desk_receiver.otlp.grpc_sender import GrpcSender
from otel_desk_receiver.otlp.http_sender import HttpSender
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.errors import ConfigError
from tests.harness.entries import entry
from tests.harness.fixtures.otlp import PROTOCOLS

SECRET = "s3cr3t-header-value"
PROTOCOL_CASES = [
    ("unset: http/protobuf", {}, HttpSender, HttpSender),
    ("generic grpc", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, GrpcSender, GrpcSender),
    ("generic http", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, HttpSender, HttpSender),
    ("per-signal wins",
     {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"},
     HttpSender, GrpcSender),
    ("per-signal grpc",
     {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
     HttpSender, GrpcSender),
]


@pytest.mark.parametrize(("env", "log_class", "metric_class"), [case[1:] for case in PROTOCOL_CASES],
                         ids=[case[0] for case in PROTOCOL_CASES])
def test_protocol_selection(monkeypatch, env, log_class, metric_class):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    log_exporter, metric_exporter = build_log_exporter(), build_metric_exporter()
    try:
        assert (type(log_exporter), type(metric_exporter.sender)) == (log_class, metric_class)
    finally:
        log_exporter.close()
        metric_exporter.shutdown()


def test_protocol_comes_from_the_environ_given():
    exporter = build_log_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    exporter.close()
    assert type(exporter) is GrpcSender


@pytest.mark.parametrize("compression", ["none", "gzip", "deflate", ""])
def test_grpc_takes_what_the_spec_allows(otlp_sink, otlp_env, compression):
    # The bare SDK gRPC exporter raises on "none" and on an empty timeout, and goes TLS on INSECURE=false.
    otlp_env(otlp_sink, "grpc", OTEL_EXPORTER_OTLP_COMPRESSION=compression, OTEL_EXPORTER_OTLP_INSECURE="false",
             OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=None)
    sink = EntryExporter(build_log_exporter(), build_resource([], "test"))
    assert sink.export([entry()])
    sink.shutdown()


def test_grpc_empty_per_signal_timeout_is_a_config_error(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", " ")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"):
        build_metric_exporter()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_entry_field_arrives(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    sink = EntryExporter(build_log_exporter(), build_resource(["app"], "test"))
    assert sink.export([entry(1)])
    sink.shutdown()
    (record,) = otlp_sink.log_records()
    expected = entry(1)
    assert record.time_unix_nano == expected.timestamp_ns
    assert record.observed_time_unix_nano == expected.observed_timestamp_ns
    assert (record.severity_number, record.severity_text) == (13, "WARN")
    assert record.event_name == "sendbird.desk.bot.webhook"
    assert "event.name" not in record.attributes
    assert record.body == expected.body
    assert record.attributes == dict(expected.attributes)
    assert type(record.attributes["sendbird.desk.bot.id"]) is int
    assert (record.scope_name, record.scope_version) == ("otel_desk_receiver", __version__)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_batches_split_at_512(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    sink = EntryExporter(build_log_exporter(), build_resource([], "test"))
    assert sink.export([entry(i) for i in range(1300)])
    sink.shutdown()
    assert [request.items for request in otlp_sink.requests("logs")] == [512, 512, 276]
    assert [record.attributes["log.record.uid"] for record in otlp_sink.log_records()] == [
        f"app:7:{i}" for i in range(1300)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_refused_export_is_false_and_counted_then_true_again(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    failures = []
    sink = EntryExporter(build_log_exporter(), build_resource([], "test"), on_failure=failures.append)
    otlp_sink.set_down(True)
    assert not sink.export([entry(i) for i in range(1300)])
    assert failures == [512]  # stopped at the first failed batch
    otlp_sink.set_down(False)
    otlp_sink.stop_listening()
    assert not sink.export([entry()])
    assert failures == [512, 1]
    otlp_sink.start_listening()
    assert sink.export([entry(i) for i in range(1300)])
    sink.shutdown()
    assert failures == [512, 1]
    assert otlp_sink.count() == 1300


def test_exporter_exception_is_a_failure():
    class Raising:
        def send(self, request):
            raise RuntimeError("http://user:password@collector")

    failures = []
    assert not EntryExporter(Raising(), build_resource([], "test"), on_failure=failures.append).export([entry()])
    assert failures == [1]


def test_empty_export_sends_nothing(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    assert EntryExporter(build_log_exporter(), build_resource([], "test")).export([])
    assert otlp_sink.requests() == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_headers_arrive_and_never_reach_our_output(otlp_sink, otlp_env, protocol, caplog, capfd):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer {SECRET},x-tenant=t1")
    caplog.set_level(logging.DEBUG)
    sink = EntryExporter(build_log_exporter(), build_resource([], "test"))
    assert sink.export([entry()])
    otlp_sink.set_down(True)
    assert not sink.export([entry()])
    sink.shutdown()
    headers = otlp_sink.requests("logs")[0].headers
    assert (headers["authorization"], headers["x-tenant"]) == (f"Bearer {SECRET}", "t1")
    out, err = capfd.readouterr()
    assert caplog.records, "the failed export was logged"
    assert SECRET not in caplog.text + out + err


def test_sdk_disabled_sends_nothing(otlp_sink, otlp_env, monkeypatch):
    otlp_env(otlp_sink, "http/protobuf")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    provider.get_meter("t").create_counter("c").add(1)
    shutdown_meter_provider(provider)
    build_log_exporter().close()
    assert NullEntryExporter().export([entry()])
    assert otlp_sink.requests() == [] and otlp_sink.stats["metrics"]["http"]["requests"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_probe_sends_an_empty_request_and_reports_refusal(otlp_sink, otlp_env, protocol):
    from otel_desk_receiver.otlp.metric_export import probe_metrics

    otlp_env(otlp_sink, protocol)
    sink = EntryExporter(build_log_exporter(), build_resource([], "test"))
    assert sink.probe().accepted and probe_metrics(build_metric_exporter()).accepted
    otlp_sink.set_down(True)
    assert not sink.probe().accepted and not probe_metrics(build_metric_exporter()).accepted
    sink.shutdown()
    assert otlp_sink.count() == 0


def test_a_timeout_below_a_second_is_said_in_milliseconds(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf", OTEL_EXPORTER_OTLP_TIMEOUT="10")  # 10 ms, as the spec counts
    otlp_sink.drip_s = 0.05  # the answer takes far longer than that
    exporter = EntryExporter(build_log_exporter(), build_resource([], "test"))
    try:
        delivery = exporter.deliver([entry()])
    finally:
        otlp_sink.drip_s = 0.0
        exporter.shutdown()
    assert "no complete answer within 10 ms" in delivery.failure.reason
