"""Members: the replicas campaigning for several apps' Leases, each renewing its entry in one shared Lease;
live is judged by an entry seen changing on the reader's own clock, as client-go judges a Lease."""

import json

from otel_desk_receiver.devkit.kube_api import Grant
from otel_desk_receiver.ha.members import MEMBERS_ANNOTATION, Members, members_lease_name
from tests.harness.fixtures.kube_api import NAMESPACE
from tests.harness.clock import SteppedClock as Clock

LEASE_S = 15
NAME = "leader.members"


def member(kube_client, identity: str, clock: Clock) -> Members:
    return Members(kube_client, NAMESPACE, NAME, identity, LEASE_S, monotonic=clock.monotonic, clock_ns=clock.wall_ns)


def stored(kube_api) -> dict:
    lease = kube_api.store.get("leases", NAMESPACE, NAME)
    return json.loads(lease["metadata"]["annotations"][MEMBERS_ANNOTATION])


def test_the_members_lease_name_is_never_an_apps_lease_name():
    assert members_lease_name("otel-desk-receiver-leader") == "otel-desk-receiver-leader.members"
    long = "l" * 253
    assert len(members_lease_name(long)) <= 253 and members_lease_name(long).endswith(".members")


def test_each_member_renews_its_own_entry_and_sees_the_others(kube_api, kube_client):
    clock = Clock()
    a, b = member(kube_client, "a", clock), member(kube_client, "b", clock)
    assert a.beat() and a.live() == ("a",)
    assert b.beat() and b.live() == ("a", "b")
    clock.advance(2)
    assert a.beat() and a.live() == ("a", "b")
    assert set(stored(kube_api)) == {"a", "b"}


def test_a_member_whose_entry_stops_changing_is_gone_after_a_lease_duration_on_the_readers_clock(kube_client):
    clock = Clock()
    a, b = member(kube_client, "a", clock), member(kube_client, "b", clock)
    b.beat()
    a.beat()
    for _ in range(7):  # 14 s: b's entry unchanged since a first saw it
        clock.advance(2)
        a.beat()
        assert a.live() == ("a", "b")
    clock.advance(1.1)
    a.beat()
    assert a.live() == ("a",)
    b.beat()  # b comes back: seen at once
    a.beat()
    assert a.live() == ("a", "b")


def test_a_member_first_seen_counts_as_live_until_it_stays_unchanged_for_a_lease_duration(kube_client):
    clock = Clock()
    old = member(kube_client, "old", clock)
    old.beat()
    clock.advance(60)  # "old" was killed long ago; "new" starts and cannot tell at first
    new = member(kube_client, "new", clock)
    new.beat()
    assert new.live() == ("new", "old")
    clock.advance(LEASE_S + 0.1)
    new.beat()
    assert new.live() == ("new",)


def test_entries_dead_for_two_lease_durations_are_pruned_and_leave_removes_ones_own(kube_api, kube_client):
    clock = Clock()
    a, b, c = (member(kube_client, name, clock) for name in "abc")
    for m in (a, b, c):
        m.beat()
    for _ in range(16):  # 32 s: b stops
        clock.advance(2)
        a.beat()
        c.beat()
    assert set(stored(kube_api)) == {"a", "c"}
    c.leave()
    assert set(stored(kube_api)) == {"a"}
    a.beat()
    assert a.live() == ("a",)


class WriterFirst:
    """The API client, but before this client's next PUT, ``first`` runs: another member writes between
    this one's read and its write."""

    def __init__(self, client, first):
        self._client, self._first = client, first

    def get(self, *args):
        return self._client.get(*args)

    def create(self, *args, **kwargs):
        return self._client.create(*args, **kwargs)

    def replace(self, *args, **kwargs):
        first, self._first = self._first, lambda: None
        first()
        return self._client.replace(*args, **kwargs)


def test_concurrent_writers_are_merged_not_overwritten(kube_api, kube_client):
    clock = Clock()
    b = member(kube_client, "b", clock)
    a = Members(WriterFirst(kube_client, b.beat), NAMESPACE, NAME, "a", LEASE_S, monotonic=clock.monotonic,
                clock_ns=clock.wall_ns)
    b.beat()
    clock.advance(2)
    assert a.beat()  # its first PUT meets b's newer version: a Conflict, read again, merged
    assert set(stored(kube_api)) == {"a", "b"}
    assert [r.status for r in kube_api.served if r.method == "PUT"][-2:] == [409, 200]


def test_a_refused_member_says_why_and_sees_only_itself(kube_api):
    from otel_desk_receiver.kube.client import KubeClient
    from otel_desk_receiver.kube.connection import KubeConnection

    kube_api.add_service_account("read-only", NAMESPACE, "ro", [Grant("leases", frozenset({"get"}))])
    client = KubeClient(KubeConnection(server=kube_api.url, verify=True, token=lambda: "read-only"))
    clock = Clock()
    try:
        m = member(client, "a", clock)
        assert not m.beat() and m.live() == ("a",)
        assert "leases" in m.problem() and "create" in m.problem()
    finally:
        client.close()
