"""log_encoding.py: entry records as an OTLP ExportLogsServiceRequest (the golden test proves the bytes on the
real path; here, each field and value type)."""

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otel_desk_receiver.otlp.log_encoding import LogEncoder, encode_value
from otel_desk_receiver.otlp.resource import build_resource
from tests.harness.entries import entry


def test_one_resource_one_scope_every_field():
    encoder = LogEncoder(build_resource(["app-9"], "test"), "scope-name", "1.2.3")
    request = ExportLogsServiceRequest.FromString(encoder.encode([entry(1), entry(2)]).SerializeToString())
    (resource_logs,) = request.resource_logs
    resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
    assert resource["sendbird.app_id"] == "app-9"
    (scope_logs,) = resource_logs.scope_logs
    assert (scope_logs.scope.name, scope_logs.scope.version) == ("scope-name", "1.2.3")
    first, expected = scope_logs.log_records[0], entry(1)
    assert (first.time_unix_nano, first.observed_time_unix_nano) == (expected.timestamp_ns,
                                                                    expected.observed_timestamp_ns)
    assert (first.severity_number, first.severity_text, first.event_name) == (
        expected.severity_number, expected.severity_text, expected.event_name)
    assert first.body.string_value == expected.body
    assert [kv.key for kv in first.attributes] == list(expected.attributes)  # in their order
    assert len(scope_logs.log_records) == 2


def test_no_record_is_an_empty_request():
    assert LogEncoder(build_resource([], "test"), "s", "v").encode([]).SerializeToString() == b""


def test_value_types_as_otlp_any_value():
    assert encode_value(True).WhichOneof("value") == "bool_value"  # a bool is an int in Python: not here
    assert encode_value(7).int_value == 7 and encode_value(0.5).double_value == 0.5
    assert encode_value(b"\x00").bytes_value == b"\x00"
    assert [v.string_value for v in encode_value(("a", "b")).array_value.values] == ["a", "b"]
    assert encode_value({"k": 1}).kvlist_value.values[0].key == "k"
    assert encode_value(None).WhichOneof("value") is None
