"""delivery: a batch refused for what it carries is narrowed down in few requests, against a real sink."""

import math

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.otlp.answer import REASON_REFUSED, REASON_TOO_OLD
from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.resource import build_resource
from tests.harness.entries import entry
from tests.harness.fixtures.otlp import PROTOCOLS

UID = names.ATTR_LOG_RECORD_UID


def refused_requests(sink) -> int:
    return sum(sink.stats["logs"][protocol]["refused"] for protocol in ("http", "grpc"))


def uid_set(records) -> set[str]:
    return {r.attributes[UID] for r in records}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_page_refused_whole_costs_a_few_requests_not_one_per_record(otlp_sink, otlp_env, protocol):
    # A Loki-like endpoint refusing (400) any request holding a record older than its limit: every record is.
    otlp_env(otlp_sink, protocol)
    otlp_sink.reject_records(lambda r: True, "entry too far behind", http_status=400)
    delivery = EntryExporter(build_log_exporter(), build_resource([], "test")).deliver([entry(i) for i in range(500)])
    assert delivery.failure is None and delivery.accepted == []
    assert len(delivery.rejected) == 500 and {r.reason for r in delivery.rejected} == {REASON_REFUSED}
    assert delivery.requests <= 4 * math.ceil(math.log2(500)) + 1  # was 999: halves down to every record


@pytest.mark.parametrize(("label", "bad"), [
    ("two far apart", {3, 400}),
    ("one in each half, the newest", {0, 499}),
    ("the oldest fifty (an age limit)", set(range(50))),
    ("a run in the middle", set(range(200, 210))),
])
def test_only_the_refused_records_are_skipped_in_o_k_log_n_requests(otlp_sink, otlp_env, label, bad):
    otlp_env(otlp_sink, "http/protobuf")
    refused = {f"app:7:{i}" for i in bad}
    otlp_sink.reject_records(lambda r: r.attributes[UID] in refused, "entry too far behind", http_status=400)
    delivery = EntryExporter(build_log_exporter(), build_resource([], "test")).deliver([entry(i) for i in range(500)])
    assert delivery.failure is None
    assert uid_set(r.record for r in delivery.rejected) == refused
    assert uid_set(delivery.accepted) == {f"app:7:{i}" for i in range(500)} - refused
    assert uid_set(otlp_sink.log_records()) == uid_set(delivery.accepted)
    runs = 1 + sum(1 for i in bad if i - 1 not in bad)  # a run of refused records narrows like one
    assert delivery.requests <= 4 * runs * math.ceil(math.log2(500)), label


def test_records_older_than_the_backends_age_limit_are_rejected_without_being_sent(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    now_ns = entry(0).timestamp_ns + 18 * 3600 * 10**9 + 5  # entries 0 to 4 are older than 18 h, 5 is 18 h old
    exporter = EntryExporter(build_log_exporter(), build_resource([], "test"), max_age_s=18 * 3600, clock_ns=lambda: now_ns)
    delivery = exporter.deliver([entry(i) for i in range(10)])
    assert uid_set(r.record for r in delivery.rejected) == {f"app:7:{i}" for i in range(5)}
    assert {r.reason for r in delivery.rejected} == {REASON_TOO_OLD} and "18h" in delivery.rejected[0].detail
    assert uid_set(otlp_sink.log_records()) == uid_set(delivery.accepted) == {f"app:7:{i}" for i in range(5, 10)}
    assert delivery.requests == 1
    assert exporter.deliver([entry(0)]).requests == 0  # all too old: nothing sent
