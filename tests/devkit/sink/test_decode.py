"""Decoding OTLP export requests into plain records and points; removing refused records; counting items."""

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from otel_desk_receiver.devkit.sink.decode import (
    LOGS, METRICS, count_items, decode_log_records, decode_metric_points, without_records)


def kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def logs_request(*bodies: str) -> ExportLogsServiceRequest:
    records = [LogRecord(time_unix_nano=i, severity_number=17, severity_text="ERROR", event_name="e",
                         body=AnyValue(string_value=body), attributes=[kv("i", AnyValue(int_value=i))])
               for i, body in enumerate(bodies)]
    resource = Resource(attributes=[kv("service.name", AnyValue(string_value="svc"))])
    scope = InstrumentationScope(name="scope", version="1.0")
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=resource, scope_logs=[
        ScopeLogs(scope=scope, log_records=records)])])


def test_log_records_carry_their_resource_scope_and_python_values():
    request = logs_request("a")
    nested = AnyValue(kvlist_value=KeyValueList(values=[kv("list", AnyValue(array_value=ArrayValue(values=[
        AnyValue(bool_value=True), AnyValue(double_value=1.5)])))]))
    request.resource_logs[0].scope_logs[0].log_records[0].attributes.append(kv("nested", nested))
    request.resource_logs[0].scope_logs[0].log_records[0].attributes.append(kv("empty", AnyValue()))
    [record] = decode_log_records(request)
    assert record.resource == {"service.name": "svc"}
    assert (record.scope_name, record.scope_version, record.event_name, record.body) == ("scope", "1.0", "e", "a")
    assert (record.severity_number, record.severity_text) == (17, "ERROR")
    assert record.attributes == {"i": 0, "nested": {"list": (True, 1.5)}, "empty": None}


def metrics_request() -> ExportMetricsServiceRequest:
    point = metrics_pb2.NumberDataPoint(as_int=3, start_time_unix_nano=1, time_unix_nano=2,
                                        attributes=[kv("status", AnyValue(string_value="ERROR"))])
    counter = metrics_pb2.Metric(name="c", unit="{entry}", sum=metrics_pb2.Sum(
        data_points=[point], is_monotonic=True, aggregation_temporality=2))
    gauge = metrics_pb2.Metric(name="g", gauge=metrics_pb2.Gauge(data_points=[
        metrics_pb2.NumberDataPoint(as_double=0.5, time_unix_nano=2)]))
    histogram = metrics_pb2.Metric(name="h", unit="s", histogram=metrics_pb2.Histogram(
        aggregation_temporality=1, data_points=[metrics_pb2.HistogramDataPoint(
            count=4, sum=2.5, bucket_counts=[1, 3], explicit_bounds=[1.0], time_unix_nano=2)]))
    return ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[counter, gauge, histogram])])])


def test_metric_points_by_kind_with_their_temporality():
    counter, gauge, histogram = decode_metric_points(metrics_request())
    assert (counter.name, counter.unit, counter.kind, counter.temporality, counter.value) == \
        ("c", "{entry}", "sum", "cumulative", 3)
    assert counter.attributes == {"status": "ERROR"} and counter.start_time_unix_nano == 1
    assert (gauge.kind, gauge.temporality, gauge.value) == ("gauge", None, 0.5)
    assert (histogram.kind, histogram.temporality, histogram.value) == ("histogram", "delta", None)
    assert (histogram.count, histogram.sum, histogram.bucket_counts, histogram.explicit_bounds) == \
        (4, 2.5, (1, 3), (1.0,))


def test_without_records_removes_the_refused_ones_in_place():
    request = logs_request("keep", "drop", "keep too", "drop")
    assert without_records(request, lambda record: record.body == "drop") == 2
    assert [record.body for record in decode_log_records(request)] == ["keep", "keep too"]


def test_items_are_records_or_data_points():
    assert count_items(LOGS, logs_request("a", "b", "c")) == 3
    assert count_items(METRICS, metrics_request()) == 3
