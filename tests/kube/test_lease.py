"""LeaseRecord and MicroTime: a Lease's spec read and written as client-go's leader election does."""

import pytest

from otel_desk_receiver.kube.lease import API_VERSION, LeaseRecord, lease_object, micro_time, parse_micro_time
from otel_desk_receiver.units import NS_PER_S

NOON_NS = 1_796_126_400 * NS_PER_S  # 2026-12-01T12:00:00Z


def test_micro_time_is_rfc_3339_in_microseconds_utc_and_parses_back():
    ns = NOON_NS + 123_456_789
    assert micro_time(ns) == "2026-12-01T12:00:00.123456Z"
    assert parse_micro_time(micro_time(ns)) == NOON_NS + 123_456_000  # nanoseconds below a microsecond dropped


@pytest.mark.parametrize("text, ns", [
    pytest.param(None, None, id="absent"), pytest.param("", None, id="empty"),
    pytest.param("2026-12-01T21:00:00.5+09:00", NOON_NS + 500_000_000, id="other-offset"),
])
def test_parse_micro_time_takes_what_other_writers_write(text, ns):
    assert parse_micro_time(text) == ns


def test_a_record_round_trips_through_a_spec():
    record = LeaseRecord("pod-a", 15, NOON_NS, NOON_NS + 2 * NS_PER_S, 3)
    assert record.spec() == {"holderIdentity": "pod-a", "leaseDurationSeconds": 15, "leaseTransitions": 3,
                             "acquireTime": "2026-12-01T12:00:00.000000Z", "renewTime": "2026-12-01T12:00:02.000000Z"}
    assert LeaseRecord.from_lease({"spec": record.spec()}) == record


def test_an_empty_or_released_lease_reads_as_no_holder():
    assert LeaseRecord.from_lease({}) == LeaseRecord("", 0, None, None, 0)
    assert "acquireTime" not in LeaseRecord("", 15, None, None, 1).spec()


def test_a_put_keeps_the_metadata_read_and_replaces_only_the_spec():
    read = {"metadata": {"name": "leader", "namespace": "ns", "resourceVersion": "7", "labels": {"app": "x"},
                         "managedFields": [{"manager": "helm"}]}, "spec": {"holderIdentity": "old"}}
    record = LeaseRecord("pod-b", 15, None, None, 4)
    put = lease_object("ns", "leader", record, read)
    assert put["metadata"] == {"name": "leader", "namespace": "ns", "resourceVersion": "7", "labels": {"app": "x"}}
    assert put["spec"]["holderIdentity"] == "pod-b" and put["apiVersion"] == API_VERSION and put["kind"] == "Lease"
    assert lease_object("ns", "leader", record)["metadata"] == {"name": "leader", "namespace": "ns"}
