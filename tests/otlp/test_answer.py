"""An OTLP success is a 2xx with an OTLP body: redirects, web pages, partial success, permanent refusals."""

import grpc
import pytest

from otel_desk_receiver import names
from otel_desk_receiver.otlp.answer import REASON_PARTIAL, REASON_REFUSED, REASON_TOO_LARGE, Kind
from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.metric_export import build_metric_exporter, probe_metrics
from otel_desk_receiver.otlp.resource import build_resource
from tests.harness.entries import entry
from tests.harness.fixtures.otlp import PROTOCOLS

UID = names.ATTR_LOG_RECORD_UID


def exporter(**options) -> EntryExporter:
    return EntryExporter(build_log_exporter(), build_resource([], "test"), **options)


def uids(records) -> list[str]:
    return [r.attributes[UID] for r in records]


IMPOSTERS = [
    ("308 from an ingress forcing https", "redirect", 308, "HTTP 308 redirect to https://otlp.example.com/v1/logs"),
    ("301", "redirect", 301, "HTTP 301 redirect"),
    ("200 with an HTML page", "html", 200, "HTTP 200 but the body is not an OTLP response (text/html"),
]


@pytest.mark.parametrize(("kind", "status", "reason"), [c[1:] for c in IMPOSTERS], ids=[c[0] for c in IMPOSTERS])
def test_an_answer_that_is_not_otlp_is_a_failure_with_its_reason(otlp_sink, otlp_env, kind, status, reason):
    otlp_env(otlp_sink, "http/protobuf")
    otlp_sink.impersonate_next(1, kind, status=status)
    sink = exporter()
    delivery = sink.deliver([entry(i) for i in range(3)])
    assert delivery.failure is not None and delivery.failure.kind is Kind.FAILED
    assert reason in delivery.failure.reason
    assert delivery.accepted == [] and delivery.rejected == []
    assert sink.export([entry(9)])  # the next request is answered normally again
    assert otlp_sink.count() == 1


def test_a_metrics_answer_that_is_not_otlp_is_a_failure(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    otlp_sink.impersonate_next(1, "html", signal="metrics")
    answer = probe_metrics(build_metric_exporter())
    assert answer.kind is Kind.FAILED and "text/html" in answer.reason


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_partial_success_rejected_records_are_isolated_never_counted_as_accepted(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    refused = {f"app:7:{i}" for i in (3, 4, 10)}
    otlp_sink.reject_records(lambda r: r.attributes[UID] in refused, "timestamp too old")
    delivery = exporter().deliver([entry(i) for i in range(12)])
    assert delivery.failure is None
    assert sorted(uids(r.record for r in delivery.rejected)) == sorted(refused)
    assert {r.reason for r in delivery.rejected} == {REASON_PARTIAL}
    assert all("timestamp too old" in r.detail for r in delivery.rejected)
    assert sorted(uids(delivery.accepted)) == sorted(f"app:7:{i}" for i in range(12) if f"app:7:{i}" not in refused)
    # Every accepted record arrived (some twice: narrowing a partial success down sends halves again).
    assert set(uids(otlp_sink.log_records())) == set(uids(delivery.accepted))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_partial_success_naming_every_record_rejects_them_without_splitting(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    otlp_sink.reject_records(lambda r: True, "all too old")
    delivery = exporter().deliver([entry(i) for i in range(8)])
    assert len(delivery.rejected) == 8 and delivery.accepted == [] and delivery.requests == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_permanent_400_isolates_each_refused_record_and_delivers_the_rest(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    refused = {"app:7:5", "app:7:6", "app:7:31"}
    otlp_sink.reject_records(lambda r: r.attributes[UID] in refused, "entry too far behind", http_status=400)
    delivery = exporter().deliver([entry(i) for i in range(40)])
    assert delivery.failure is None
    assert sorted(uids(r.record for r in delivery.rejected)) == sorted(refused)
    assert {r.reason for r in delivery.rejected} == {REASON_REFUSED}
    assert "entry too far behind" in delivery.rejected[0].detail
    assert uids(otlp_sink.log_records()) == [u for u in (f"app:7:{i}" for i in range(40)) if u not in refused]
    assert delivery.requests <= 2 * 40  # halves down to single records, never a loop


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_batch_refused_as_too_large_is_split_until_it_fits(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    otlp_sink.max_records = 100
    delivery = exporter().deliver([entry(i) for i in range(512)])
    assert delivery.failure is None and delivery.rejected == []
    assert uids(otlp_sink.log_records()) == [f"app:7:{i}" for i in range(512)]  # in order, each once
    otlp_sink.max_records = 0
    delivery = exporter().deliver([entry(1)])
    assert [r.reason for r in delivery.rejected] == [REASON_TOO_LARGE]


TRANSIENT_AND_ENDPOINT_WIDE = [
    ("503 down", 503, Kind.DOWN),
    ("429", 429, Kind.DOWN),
    ("401", 401, Kind.FAILED),
    ("404 wrong path", 404, Kind.FAILED),
    ("500", 500, Kind.FAILED),
]


@pytest.mark.parametrize(("status", "kind"), [c[1:] for c in TRANSIENT_AND_ENDPOINT_WIDE],
                         ids=[c[0] for c in TRANSIENT_AND_ENDPOINT_WIDE])
def test_transient_and_endpoint_wide_failures_skip_nothing(otlp_sink, otlp_env, status, kind):
    otlp_env(otlp_sink, "http/protobuf")
    otlp_sink.fail_next(10, http_status=status, message="no")
    delivery = exporter().deliver([entry(i) for i in range(5)])
    assert delivery.failure.kind is kind and f"HTTP {status}" in delivery.failure.reason
    assert delivery.rejected == [] and delivery.accepted == []


def test_once_down_the_endpoint_is_not_tried_again_until_the_next_cycle(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    sink = exporter(hold_when_down=True)
    otlp_sink.set_down(True)
    assert sink.deliver([entry(1)]).failure.kind is Kind.DOWN
    refused_before = otlp_sink.stats["logs"]["http"]["refused"]
    for bot in range(5):
        assert sink.deliver([entry(bot), entry(bot + 10)]).failure is not None
    assert otlp_sink.stats["logs"]["http"]["refused"] == refused_before  # no request while down
    assert (sink.waiting.deliveries, sink.waiting.records) == (6, 11)
    otlp_sink.set_down(False)
    sink.new_cycle()
    assert sink.deliver([entry(1)]).failure is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_endpoint_refusing_every_request_skips_no_record(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol)
    otlp_sink.fail_next(10_000, http_status=400, grpc_code=grpc.StatusCode.INVALID_ARGUMENT, message="unknown tenant")
    delivery = exporter().deliver([entry(i) for i in range(6)])
    assert delivery.rejected == [] and delivery.accepted == []
    assert delivery.failure.kind is Kind.FAILED and "refuses even an empty export request" in delivery.failure.reason
