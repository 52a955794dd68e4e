"""The rotel collector fixture: SDK exporter -> rotel (OTLP gRPC or HTTP in) -> OtlpSink."""

import pytest

from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.records import EntryRecord

WAIT_S = 10.0


def entry(i: int) -> EntryRecord:
    return EntryRecord(
        timestamp_ns=1_700_000_000_000_000_000 + i, observed_timestamp_ns=1_700_000_001_000_000_000,
        severity_number=9, severity_text="INFO", event_name="sendbird.desk.bot.webhook",
        body=f"RECEIVED bot 7 #{i}", attributes={"sendbird.desk.bot.id": 7, "log.record.uid": f"app:7:{i}"},
    )


@pytest.mark.parametrize("sink_protocol", ["grpc", "http"])
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_records_pass_through_rotel(otlp_sink, rotel, protocol, sink_protocol, monkeypatch):
    collector = rotel(otlp_sink, sink_protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT",
                       collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
    sink = EntryExporter(build_log_exporter(), build_resource(["app"], "test"))
    assert sink.export([entry(i) for i in range(3)])
    sink.shutdown()

    assert otlp_sink.wait_for_logs(3, timeout_s=WAIT_S), collector.output()
    records = otlp_sink.log_records()
    assert [r.attributes["log.record.uid"] for r in records] == ["app:7:0", "app:7:1", "app:7:2"]
    assert {(r.event_name, r.scope_name, r.resource["sendbird.app_id"]) for r in records} == {
        ("sendbird.desk.bot.webhook", "otel_desk_receiver", "app")}
    assert records[0].time_unix_nano == entry(0).timestamp_ns
