"""Golden OTLP: the sample Desk payload, through mapping, the SDK's encoder and a real endpoint, to the export
requests the endpoint decoded (logs, and the counters computed from the delivered records), compared as
OTLP JSON with a golden file, as the Collector's golden tests compare plogtest/pmetrictest output."""

import json
from collections import Counter

import pytest
from google.protobuf.json_format import MessageToDict

from otel_desk_receiver import names
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.devkit.sink.server import OtlpSink
from otel_desk_receiver.otlp.counter_export import CounterExporter, CounterSource
from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.metric_export import build_metric_exporter
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.units import NS_PER_S
from tests.harness.fixtures.otlp import PROTOCOLS, endpoint_for
from tests.harness.sample_payload import TESTDATA, sample_records

GOLDEN = TESTDATA / "golden" / "otlp_webhook_logs_mixed.json"
SINCE_NS = 1_764_000_000 * NS_PER_S  # the counters' saved start time




VOLATILE = ("service.instance.id", "service.version", "telemetry.sdk.version")  # per process, per release


def without_volatile(document: dict) -> dict:
    """Everything is compared but the per-process and per-release resource attributes, and the
    instrumentation scope's version (the release's)."""
    for key, scopes in (("resourceLogs", "scopeLogs"), ("resourceMetrics", "scopeMetrics")):
        for resource in document.get(key, []):
            attributes = resource["resource"]["attributes"]
            resource["resource"]["attributes"] = [a for a in attributes if a["key"] not in VOLATILE]
            for scope in resource.get(scopes, []):
                scope.get("scope", {}).pop("version", None)
    return document


def received(protocol: str, tmp_path, monkeypatch) -> dict:
    with OtlpSink(keep_raw=True) as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint_for(sink, protocol))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        bot, records, now_ns = sample_records()
        resource = build_resource(["app-1"], "test")
        delivery = EntryExporter(build_log_exporter(), resource).deliver(records)
        assert delivery.failure is None and delivery.rejected == []
        # The counters of what the endpoint accepted, as the pipeline commits them with the cursor.
        counted = Counter(r.attributes[names.ATTR_WEBHOOK_LOG_STATUS] for r in delivery.accepted)
        state = StateFile(tmp_path / f"state-{protocol.replace('/', '-')}.json")
        state.commit({bot.id: BotCursor(window_start="2026-11-24", offset=6, anchor_id=9006, last_id=9006,
                                        since_ns=0, counted=dict(counted), counted_since_ns=SINCE_NS)})
        source = CounterSource("app-1", CursorStore(state), lambda: [(bot.id, bot.name)])
        counters = CounterExporter(build_metric_exporter(), resource, [source], delta=False, interval_s=60,
                                   clock_ns=lambda: now_ns)
        assert counters.export_now().accepted
        counters.shutdown()
        return {"logs": [without_volatile(MessageToDict(r)) for r in sink.raw["logs"]],
                "metrics": [without_volatile(MessageToDict(r)) for r in sink.raw["metrics"]]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_sample_payload_reaches_the_endpoint_as_the_golden_otlp(protocol, tmp_path, monkeypatch, update_golden):
    actual = received(protocol, tmp_path, monkeypatch)
    if update_golden and protocol == "http/protobuf":
        GOLDEN.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run pytest --update-golden once and review it"
    assert actual == json.loads(GOLDEN.read_text())  # the same requests over either protocol
