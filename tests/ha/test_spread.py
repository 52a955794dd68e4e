"""Spread: several apps' Leases over several replicas. Each replica takes a free app Lease only below its fair
share (ceil(apps / live members)) and hands its excess over; a dead replica's apps move to the survivors
within a lease duration; never two leaders of one app at a time. Stepped on an injected clock, no threads."""

import pytest

from otel_desk_receiver.ha.elector import ElectionConfig, LeaderElector
from otel_desk_receiver.ha.members import Members
from otel_desk_receiver.ha.spread import Spread, fair_share
from otel_desk_receiver.kube.object_names import per_app_name
from tests.harness.fixtures.kube_api import NAMESPACE
from tests.harness.clock import SteppedClock as Clock

CONFIG = ElectionConfig(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)
APPS = ("eu1", "eu2", "us1", "us2")


@pytest.mark.parametrize("apps, members, share", [
    (4, 2, 2), (4, 1, 4), (6, 3, 2), (7, 3, 3), (2, 3, 1), (1, 1, 1), (0, 2, 0), (5, 0, 5),
], ids=["4/2", "alone", "6/3", "7/3", "fewer-apps-than-members", "one", "none", "no-members-seen"])
def test_fair_share_is_apps_over_live_members_rounded_up(apps, members, share):
    assert fair_share(apps, members) == share


class Replica:
    """One receiver's election parts for APPS, stepped by the test as its threads would run them: the
    spread's tick (members' beat, then excess handed over), a led app handed over once its loop stopped
    (its state saved: here nothing to save), then one try on each app's Lease."""

    def __init__(self, kube_client, identity: str, clock: Clock, apps=APPS):
        self.identity = identity
        self.electors = {label: LeaderElector(kube_client, NAMESPACE, per_app_name("leader", label), identity,
                                              CONFIG, monotonic=clock.monotonic, clock_ns=clock.wall_ns)
                         for label in apps}
        members = Members(kube_client, NAMESPACE, "leader.members", identity, CONFIG.lease_duration_s,
                          monotonic=clock.monotonic, clock_ns=clock.wall_ns)
        self.spread = Spread(members, self.electors, CONFIG.retry_period_s, monotonic=clock.monotonic)

    def step(self) -> None:
        self.spread.tick()
        for elector in self.electors.values():
            if elector.handing_over():
                elector.step_down()  # what Leadership.run_terms does after the loop stopped and saved
            elector.try_acquire_or_renew()

    def led(self) -> set[str]:
        return {label for label, elector in self.electors.items() if elector.is_leading()}


def step_all(replicas, clock: Clock, seconds: float = CONFIG.retry_period_s) -> None:
    """One retry period: every replica steps; after each step, no app has two leaders."""
    for replica in replicas:
        replica.step()
        leaders = [r.led() for r in replicas]
        for label in APPS:
            assert sum(label in led for led in leaders) <= 1, f"{label} led twice: {leaders}"
    clock.advance(seconds)


def test_two_replicas_spread_four_apps_two_and_two(kube_client):
    clock = Clock()
    a, b = Replica(kube_client, "a", clock), Replica(kube_client, "b", clock)
    for _ in range(4):
        step_all([a, b], clock)
    assert (len(a.led()), len(b.led())) == (2, 2) and a.led() | b.led() == set(APPS)
    for _ in range(4):  # and it stays so: a replica at its share does not take a free or expiring Lease
        step_all([a, b], clock)
        assert (len(a.led()), len(b.led())) == (2, 2)


def test_a_replica_that_stops_has_its_apps_taken_by_the_other_within_a_lease_duration(kube_client):
    clock = Clock()
    a, b = Replica(kube_client, "a", clock), Replica(kube_client, "b", clock)
    for _ in range(4):
        step_all([a, b], clock)
    last_b = clock.s  # b is killed: it neither renews nor releases
    step_all([a, b], clock)
    while len(a.led()) < len(APPS):
        assert clock.s - last_b <= CONFIG.lease_duration_s + 2 * CONFIG.retry_period_s, a.led()
        step_all([a], clock)
    assert a.led() == set(APPS)


def test_a_replica_joining_gets_its_share_handed_over_without_two_leaders_at_once(kube_client):
    clock = Clock()
    a = Replica(kube_client, "a", clock)
    for _ in range(3):
        step_all([a], clock)
    assert a.led() == set(APPS)  # alone: every app
    b = Replica(kube_client, "b", clock)
    handed = set()
    for _ in range(5):
        before = a.led()
        step_all([a, b], clock)  # step_all checks every step: never two leaders of one app
        handed |= before - a.led()
    assert (len(a.led()), len(b.led())) == (2, 2) and handed == b.led()


def test_three_replicas_four_apps_none_above_the_share(kube_client):
    clock = Clock()
    a, b, c = (Replica(kube_client, name, clock) for name in "abc")
    for _ in range(4):
        step_all([a, b, c], clock)
    assert max(len(r.led()) for r in (a, b, c)) == 2 and a.led() | b.led() | c.led() == set(APPS)


def test_a_lone_replica_takes_nothing_before_one_retry_period_has_shown_who_else_starts(kube_client):
    clock = Clock()
    a = Replica(kube_client, "a", clock)
    a.step()
    assert a.led() == set()
    b = Replica(kube_client, "b", clock)  # starts within that retry period
    clock.advance(1)
    b.step()
    clock.advance(1)
    step_all([a, b], clock)
    assert len(a.led()) <= 2


def test_only_attempts_under_way_count_towards_the_share_not_attempts_that_failed(kube_client):
    clock = Clock()
    a, b = Replica(kube_client, "a", clock), Replica(kube_client, "b", clock)
    b.spread.members.beat()
    a.spread.tick()
    clock.advance(CONFIG.retry_period_s)
    a.spread.tick()  # two live members: a's share of four apps is 2; a leads none
    with a.spread.claim("eu1") as first, a.spread.claim("eu2") as second, a.spread.claim("us1") as third:
        assert (first, second, third) == (True, True, False)  # two attempts under way fill the share
    # Those attempts failed (another replica wrote first): a still leads none, and may try again.
    with a.spread.claim("us1") as again:
        assert again


def test_a_replica_stopping_gracefully_has_its_apps_taken_at_once_not_after_a_lease_duration(kube_client):
    clock = Clock()
    a, b = Replica(kube_client, "a", clock), Replica(kube_client, "b", clock)
    for _ in range(4):
        step_all([a, b], clock)
    for elector in b.electors.values():  # SIGTERM: every Leadership.stop releases, the last leaves the members
        elector.release()
    b.spread.members.leave()
    step_all([a], clock)
    step_all([a], clock)
    assert a.led() == set(APPS)  # two retry periods, not a lease duration (15 s)
