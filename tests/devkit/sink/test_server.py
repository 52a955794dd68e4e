"""OtlpSink: the SDK's own exporters, both protocols, into the sink; fault injection seen by the exporter."""

import json
import os
import signal
import sys

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.metric_export import build_meter_provider, build_metric_exporter, shutdown_meter_provider
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.records import EntryRecord
from tests.harness.fixtures.otlp import PROTOCOLS
from tests.harness.otlp_http import post, raw_logs_request
from tests.harness.process import ServerProcess

WAIT_S = 10.0


def entry(i: int = 0, **attributes) -> EntryRecord:
    return EntryRecord(
        timestamp_ns=1_700_000_000_000_000_000 + i, observed_timestamp_ns=1_700_000_001_000_000_000 + i,
        severity_number=17, severity_text="ERROR", event_name="sendbird.desk.bot.webhook",
        body=f"entry {i}", attributes={"n": i, **attributes},
    )


def log_sink() -> EntryExporter:
    return EntryExporter(build_log_exporter(), build_resource(["app-1"], "test"))



@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_log_records_arrive_decoded(otlp_sink, otlp_env, protocol, compression):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_COMPRESSION=compression)
    sink = log_sink()
    assert sink.export([entry(1, flag=True, ratio=0.5), entry(2)])
    sink.shutdown()

    first, second = otlp_sink.log_records()
    assert (first.time_unix_nano, first.observed_time_unix_nano) == (1_700_000_000_000_000_001, 1_700_000_001_000_000_001)
    assert (first.severity_number, first.severity_text) == (17, "ERROR")
    assert (first.event_name, first.body) == ("sendbird.desk.bot.webhook", "entry 1")
    assert first.attributes == {"n": 1, "flag": True, "ratio": 0.5}
    assert (first.scope_name, first.resource["sendbird.app_id"]) == ("otel_desk_receiver", "app-1")
    assert second.body == "entry 2"
    wire = "grpc" if protocol == "grpc" else "http"
    assert otlp_sink.stats["logs"][wire]["requests"] == 1
    assert otlp_sink.stats["logs"][wire]["items"] == 2
    if protocol == "http/protobuf":
        expected = "gzip" if compression == "gzip" else None
        assert otlp_sink.requests("logs")[0].headers.get("content-encoding") == expected


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metric_points_arrive_decoded(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    provider = build_meter_provider(build_resource([], "test"), build_metric_exporter(), interval_ms=60_000)
    meter = provider.get_meter("test")
    meter.create_counter("c", unit="{x}").add(3, {"bot": 7})
    meter.create_histogram("h", unit="s").record(0.2)
    meter.create_gauge("g").set(1.5, {"bot": 7})
    shutdown_meter_provider(provider)

    (counter,) = otlp_sink.metric_points("c")
    assert (counter.kind, counter.unit, counter.temporality, counter.value) == ("sum", "{x}", "cumulative", 3)
    assert counter.attributes == {"bot": 7}
    assert counter.resource["service.name"] == "otel-desk-receiver"
    (histogram,) = otlp_sink.metric_points("h")
    assert (histogram.kind, histogram.count, histogram.sum) == ("histogram", 1, 0.2)
    assert sum(histogram.bucket_counts) == 1
    (gauge,) = otlp_sink.metric_points("g")
    assert (gauge.kind, gauge.temporality, gauge.value) == ("gauge", None, 1.5)
    assert otlp_sink.counter_totals("c") == {frozenset({("bot", 7)}): 3}
    assert otlp_sink.wait_for_metric("c", lambda point: point.value == 3, timeout_s=0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fail_next_is_a_failure_to_the_exporter(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    sink = log_sink()
    otlp_sink.fail_next(1)
    assert not sink.export([entry()])
    assert sink.export([entry()])
    sink.shutdown()
    wire = "grpc" if protocol == "grpc" else "http"
    assert otlp_sink.stats["logs"][wire] | {"bytes": 0} == {"requests": 1, "items": 1, "bytes": 0, "refused": 1}


def test_fail_next_can_target_one_signal(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    otlp_sink.fail_next(1, signal="metrics", http_status=502)
    sink = log_sink()
    assert sink.export([entry()])
    sink.shutdown()
    status, _, _ = post(otlp_sink.http_endpoint + "/v1/metrics", b"")
    assert status == 502


def test_fail_next_can_quote_the_headers_it_refused(otlp_sink):
    otlp_sink.fail_next(1, http_status=401, message="bad credentials", quote_headers=("authorization", "x-absent"))
    status, _, body = post(otlp_sink.http_endpoint + "/v1/logs", b"", Authorization="Bearer quoted-7")
    assert status == 401
    assert status_pb2.Status.FromString(body).message == "bad credentials; received authorization: Bearer quoted-7"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_set_down_refuses_until_up_again(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    sink = log_sink()
    otlp_sink.set_down(True)
    assert not sink.export([entry()])
    assert not sink.export([entry()])
    otlp_sink.set_down(False)
    assert sink.export([entry()])
    sink.shutdown()
    assert len(otlp_sink.log_records()) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stopped_sink_is_unreachable_and_comes_back_on_the_same_ports(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    sink = log_sink()
    assert sink.export([entry(1)])  # a pooled keep-alive connection now exists
    ports = (otlp_sink.grpc_port, otlp_sink.http_port)
    otlp_sink.stop_listening()
    assert not sink.export([entry(2)])
    otlp_sink.start_listening()
    assert (otlp_sink.grpc_port, otlp_sink.http_port) == ports
    assert sink.export([entry(3)])
    sink.shutdown()
    assert [r.body for r in otlp_sink.log_records()] == ["entry 1", "entry 3"]


def test_on_logs_sees_records_as_they_arrive(otlp_sink):
    seen = []
    otlp_sink.on_logs(seen.extend)
    post(otlp_sink.http_endpoint + "/v1/logs", raw_logs_request("live"))
    assert [record.body for record in seen] == ["live"]


def test_a_failing_callback_does_not_refuse_records(otlp_sink, caplog):
    otlp_sink.on_logs(lambda records: 1 / 0)
    assert post(otlp_sink.http_endpoint + "/v1/logs", raw_logs_request())[0] == 200
    assert "on_logs callback failed" in caplog.text


def test_wait_for_logs_and_clear(otlp_sink):
    assert not otlp_sink.wait_for_logs(1, timeout_s=0)
    post(otlp_sink.http_endpoint + "/v1/logs", raw_logs_request())
    assert otlp_sink.wait_for_logs(1, timeout_s=WAIT_S)
    otlp_sink.clear()
    assert otlp_sink.log_records() == [] and otlp_sink.count() == 0


def test_counter_totals_sum_deltas_and_cumulative_series(otlp_sink):
    def request(start_ns: int, time_ns: int, value: int, temporality: int) -> ExportMetricsServiceRequest:
        point = metrics_pb2.NumberDataPoint(as_int=value, start_time_unix_nano=start_ns, time_unix_nano=time_ns,
                                            attributes=[KeyValue(key="a", value=AnyValue(int_value=1))])
        metric = metrics_pb2.Metric(name="c", sum=metrics_pb2.Sum(data_points=[point], is_monotonic=True,
                                                                 aggregation_temporality=temporality))
        resource = Resource(attributes=[KeyValue(key="service.instance.id", value=AnyValue(string_value="i"))])
        return ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
            resource=resource, scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])])])

    cumulative, delta = 2, 1
    metrics_url = otlp_sink.http_endpoint + "/v1/metrics"
    # start 10: 2 then 7 (a series carried on across a restart keeps its start time); start 50: a reset, 1
    for start, time_ns, value in [(10, 20, 2), (10, 40, 7), (10, 30, 5), (50, 60, 1)]:
        assert post(metrics_url, request(start, time_ns, value, cumulative).SerializeToString())[0] == 200
    assert otlp_sink.counter_totals("c") == {frozenset({("a", 1)}): 8}
    otlp_sink.clear()
    for value in (2, 3):
        assert post(metrics_url, request(10, 20, value, delta).SerializeToString())[0] == 200
    assert otlp_sink.counter_totals("c") == {frozenset({("a", 1)}): 5}


def first_line(output: str) -> str | None:
    """The first line once it is whole (ends with a newline)."""
    line, newline, _ = output.partition("\n")
    return line if newline else None


def test_separate_process_counts_and_reports_on_sigterm(tmp_path):
    process = ServerProcess("sink", [sys.executable, "-m", "otel_desk_receiver.devkit.sink.server", "--count-only"],
                            tmp_path / "sink.log", cwd=os.getcwd())
    try:
        ready = json.loads(process.wait_for(lambda: first_line(process.output()), WAIT_S, "printing its endpoints"))
        status, _, _ = post(ready["http_endpoint"] + "/v1/logs", raw_logs_request())
        assert status == 200
        process.signal(signal.SIGTERM)
        assert process.wait(WAIT_S) == 0
    finally:
        process.kill()
    report = json.loads(process.output().splitlines()[-1])  # the line it prints on SIGTERM, after the ready line
    assert report["logs"] == 1 and report["stats"]["logs"]["http"]["requests"] == 1
    assert ready["grpc_endpoint"].startswith("http://127.0.0.1:")
