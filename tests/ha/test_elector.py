"""The elector against the stand-in API, on an injected clock: client-go's rules for acquiring, renewing,
expiring and releasing a Lease."""

import threading
from contextlib import nullcontext

import pytest

from otel_desk_receiver.config import Settings
from otel_desk_receiver.errors import FencedError
from otel_desk_receiver.kube.lease import LeaseRecord
from otel_desk_receiver.ha import setup as ha_setup
from otel_desk_receiver.ha.elector import ElectionConfig, LeaderElector
from otel_desk_receiver.kube.lease import Term
from tests.harness.fixtures.kube_api import KUBE_TOKEN, NAMESPACE
from tests.harness.clock import ELECTION_T0_NS, SteppedClock as Clock

CONFIG = ElectionConfig(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)
T0_NS = ELECTION_T0_NS  # 2025-12-02T00:00:00.123456789Z


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def candidates(kube_client, clock):
    def make(identity: str, config: ElectionConfig = CONFIG, own_clock: Clock | None = None) -> LeaderElector:
        c = own_clock or clock
        return LeaderElector(kube_client, NAMESPACE, "leader", identity, config, monotonic=c.monotonic,
                             clock_ns=c.wall_ns)
    return make


def record(kube_api) -> LeaseRecord:
    return LeaseRecord.from_lease(kube_api.store.get("leases", NAMESPACE, "leader"))


def test_first_candidate_creates_the_lease_as_client_go_writes_it(kube_api, candidates):
    a = candidates("a")
    assert a.try_acquire_or_renew() and a.is_leading() and a.term() == Term("a", 0)
    spec = kube_api.store.get("leases", NAMESPACE, "leader")["spec"]
    assert spec == {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 0,
                    "acquireTime": "2025-12-02T00:00:00.123456Z", "renewTime": "2025-12-02T00:00:00.123456Z"}


def test_renewing_keeps_acquire_time_and_transitions(kube_api, candidates, clock):
    a = candidates("a")
    a.try_acquire_or_renew()
    clock.advance(2)
    assert a.try_acquire_or_renew()
    renewed = record(kube_api)
    assert (renewed.transitions, renewed.acquire_time_ns < renewed.renew_time_ns) == (0, True)


def test_a_standby_waits_a_full_lease_duration_after_the_last_change_it_saw(kube_api, candidates, clock):
    a, b = candidates("a"), candidates("b")
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b sees the record first now
    clock.advance(14.9)
    assert not b.try_acquire_or_renew() and b.holder() == "a"
    clock.advance(0.2)  # 15.1 s of the same record on b's clock: expired
    assert b.try_acquire_or_renew() and b.term() == Term("b", 1)
    taken = record(kube_api)
    assert (taken.holder, taken.transitions, taken.acquire_time_ns) == ("b", 1, taken.renew_time_ns)
    assert not a.is_leading()  # a's renew deadline (10 s) passed long before


def test_a_renewal_seen_restarts_the_standby_s_wait(candidates, clock):
    a, b = candidates("a"), candidates("b")
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    for _ in range(5):  # a renews every retry period; b never sees the same record for 15 s
        clock.advance(CONFIG.retry_period_s * 2)
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()


def test_a_leader_that_cannot_renew_stops_at_the_renew_deadline_before_the_lease_expires(kube_api, candidates, clock):
    a, b = candidates("a"), candidates("b")
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    kube_api.set_down(True)
    clock.advance(9.9)
    assert not a.try_acquire_or_renew() and a.is_leading()
    clock.advance(0.2)  # 10.1 s since the last renewal was sent
    assert not a.is_leading() and a.term() is None
    kube_api.set_down(False)
    clock.advance(4.8)  # 14.9 s: b still waits, so at no instant do both lead
    assert not b.try_acquire_or_renew()


def test_forbidden_to_update_is_a_failed_renewal(kube_api, candidates, clock):
    a = candidates("a")
    a.try_acquire_or_renew()
    kube_api.store.revoke(KUBE_TOKEN, "leases", "update")
    clock.advance(2)
    assert not a.try_acquire_or_renew()
    clock.advance(8.1)
    assert not a.is_leading()


def test_release_lets_a_standby_take_over_at_its_next_retry(kube_api, candidates, clock):
    a, b = candidates("a"), candidates("b")
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    assert a.release() and not a.is_leading()
    released = record(kube_api)
    assert (released.holder, released.lease_duration_s, released.transitions) == ("", 1, 0)
    clock.advance(CONFIG.retry_period_s)
    assert b.try_acquire_or_renew() and b.term() == Term("b", 1)


def test_a_leader_seeing_another_holder_stops_at_once(kube_api, candidates, clock):
    a = candidates("a")
    a.try_acquire_or_renew()
    other = kube_api.store.get("leases", NAMESPACE, "leader")
    other["spec"]["holderIdentity"] = "intruder"
    kube_api.store.replace("leases", NAMESPACE, "leader", other)
    clock.advance(1)
    assert not a.try_acquire_or_renew() and not a.is_leading()


def test_two_standbys_racing_for_an_expired_lease_one_wins(kube_api, kube_client, clock):
    candidates = [LeaderElector(kube_client, NAMESPACE, "leader", name, CONFIG, monotonic=clock.monotonic,
                                clock_ns=clock.wall_ns) for name in ("a", "b", "c")]
    candidates[0].try_acquire_or_renew()
    for c in candidates[1:]:
        c.try_acquire_or_renew()
    clock.advance(16)
    barrier = threading.Barrier(2)
    won = []

    def race(c):
        barrier.wait()
        won.append(c.try_acquire_or_renew())
    threads = [threading.Thread(target=race, args=(c,)) for c in candidates[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False, True]  # the loser's update met a newer resourceVersion (409)
    assert record(kube_api).transitions == 1


@pytest.mark.parametrize(("config", "problems"), [
    (ElectionConfig(15, 10, 2), []),
    (ElectionConfig(10, 10, 2), ["the lease duration must be greater than the renew deadline"]),
    (ElectionConfig(15, 2.4, 2), ["the renew deadline must be greater than 1.2 x the retry period"]),
], ids=["client-go defaults", "lease not above deadline", "deadline not above 1.2 x retry"])
def test_timings_are_validated_as_client_go_does(config, problems):
    assert config.problems() == problems


def test_the_election_loop_reports_changes_and_stops(kube_api, kube_client):
    changes = []
    fast = ElectionConfig(lease_duration_s=3, renew_deadline_s=2, retry_period_s=0.05)
    a = LeaderElector(kube_client, NAMESPACE, "leader", "a", fast,
                      on_change=lambda leading, holder: changes.append((leading, holder)))
    stop = threading.Event()
    thread = threading.Thread(target=a.run, args=(stop,))
    thread.start()
    assert a.leading_event.wait(5)
    stop.set()
    thread.join(5)
    assert changes[0] == (True, "a")
    assert a.release() and changes[-1] == (False, "")


def test_helm_s_labels_and_annotations_on_the_lease_survive_acquire_renew_and_release(kube_api, candidates, clock):
    kube_api.store.create("leases", NAMESPACE, {  # as the chart creates it: empty spec, Helm's metadata
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": {},
        "metadata": {"name": "leader", "labels": {"app.kubernetes.io/managed-by": "Helm"},
                     "annotations": {"meta.helm.sh/release-name": "r", "helm.sh/resource-policy": "keep"}}})
    a, b = candidates("a"), candidates("b")
    assert a.try_acquire_or_renew() and a.term() == Term("a", 1)  # from "" to a: a transition, as client-go counts
    clock.advance(2)
    assert a.try_acquire_or_renew() and a.release()
    assert b.try_acquire_or_renew()
    metadata = kube_api.store.get("leases", NAMESPACE, "leader")["metadata"]
    assert metadata["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
    assert metadata["annotations"] == {"meta.helm.sh/release-name": "r", "helm.sh/resource-policy": "keep"}


# --- A Lease deleted under running receivers (issue 25, point 10)

def test_a_lease_deleted_after_a_failover_is_made_again_counting_on_from_the_state(kube_api, kubeconfig):
    """client-go makes a missing Lease again from transition 0; the state ConfigMap was claimed in a later
    one, so every term would be refused as older. The Lease is made again past the state's transition."""
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes")
    env = {"KUBECONFIG": str(kubeconfig)}
    a, b = ha_setup.build(settings, None, env), ha_setup.build(settings, None, env)
    try:
        assert a.elector.try_acquire_or_renew()
        a.state.load()
        assert a.elector.release() and b.elector.try_acquire_or_renew()  # a failover: lease transition 1
        b.state.load()
        kube_api.store.delete("leases", NAMESPACE, settings.leader_election_lease_name)
        assert a.elector.try_acquire_or_renew()  # the standby finds it missing first and makes it again
        assert a.elector.term().transitions == 2
        a.state.load()  # claimed in a newer term than b's: not refused
        with pytest.raises(FencedError):
            b.state.commit({})  # b, not yet aware, is fenced out
        assert not b.elector.try_acquire_or_renew() and b.elector.holder() == a.elector.identity
    finally:
        a.client.close()
        b.client.close()


def test_a_lease_deleted_under_its_leader_is_made_again_by_it(kube_api, kubeconfig):
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes")
    parts = ha_setup.build(settings, None, {"KUBECONFIG": str(kubeconfig)})
    try:
        assert parts.elector.try_acquire_or_renew()
        parts.state.load()
        kube_api.store.delete("leases", NAMESPACE, settings.leader_election_lease_name)
        assert parts.elector.try_acquire_or_renew()  # a new term, past the one the state was claimed in
        parts.state.load()
        parts.state.commit({})
    finally:
        parts.client.close()


def test_claim_gates_taking_a_lease_never_renewing_one(kube_api, candidates, clock):
    a, b = candidates("a"), candidates("b")
    allowed = {"a": False, "b": False}
    a.claim, b.claim = (lambda: nullcontext(allowed["a"])), (lambda: nullcontext(allowed["b"]))
    assert not a.try_acquire_or_renew()  # missing: not made either
    with pytest.raises(Exception):
        kube_api.store.get("leases", NAMESPACE, "leader")
    allowed["a"] = True
    assert a.try_acquire_or_renew()
    allowed["a"] = False
    clock.advance(2)
    assert a.try_acquire_or_renew()  # its own: renewed whatever claim says
    assert not b.try_acquire_or_renew()
    clock.advance(16)  # a stopped renewing: expired on b's clock, still not taken
    assert not b.try_acquire_or_renew() and b.holder() == "a"
    allowed["b"] = True
    assert b.try_acquire_or_renew() and b.term() == Term("b", 1)  # observed all along: no new wait


def test_a_hand_over_asked_is_seen_until_the_lease_is_given_up(kube_api, candidates, clock):
    a = candidates("a")
    a.try_acquire_or_renew()
    assert not a.handing_over()
    a.request_hand_over()
    assert a.handing_over() and a.is_leading()  # still the holder: the state is saved in this term
    a.step_down()
    assert not a.handing_over() and not a.is_leading() and record(kube_api).holder == ""
