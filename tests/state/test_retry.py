"""RetriedState: the ConfigMap state with the Kubernetes API's transient failures tried again within the renew
deadline, fenced by the term at every attempt; refusals at once; at start, only a refusal stops the run."""

import logging

import pytest

from otel_desk_receiver.errors import FencedError, KubeError, StateError, StateUnavailableError
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.state.configmap_backend import KubernetesState
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.state.retry import RetriedState
from tests.harness.fixtures.kube_api import NAMESPACE

DESK = DeskIdentity("app-1", "https://desk.example/platform/v1")


class FakeClock:
    """Monotonic seconds moved only by the waits of the code under test."""

    def __init__(self):
        self.s, self.waits = 0.0, []

    def monotonic(self) -> float:
        return self.s

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.s += seconds
        return False


def retried(kube_client, clock, term, budget_s=10.0, retry_s=2.0) -> RetriedState:
    inner = KubernetesState(kube_client, NAMESPACE, "state", DESK, term=term, elected=True, sleep=lambda s: None)
    return RetriedState(inner, budget_s=budget_s, retry_s=retry_s, wait=clock.wait, monotonic=clock.monotonic)


def test_a_blip_shorter_than_the_renew_deadline_is_tried_again_every_retry_period(kube_api, kube_client):
    clock = FakeClock()
    state = retried(kube_client, clock, lambda: Term("a", 0))
    kube_api.inject("status", code=500, method="GET", resource="configmaps", count=3)
    assert state.load() == {}
    assert clock.waits == [2.0, 2.0, 2.0]  # three failures, the fourth attempt answered


def test_a_fault_outlasting_the_renew_deadline_is_given_up_on_after_it(kube_api, kube_client):
    clock = FakeClock()
    state = retried(kube_client, clock, lambda: Term("a", 0))
    kube_api.inject("drop", method="GET", resource="configmaps")
    with pytest.raises(StateUnavailableError, match=r"tried 6 times in 10s, the renew deadline"):
        state.load()
    assert clock.s == 10.0  # attempts at 0, 2, 4, 6, 8 and 10 s


def test_a_term_ending_during_the_retries_ends_them_fenced(kube_api, kube_client):
    clock, terms = FakeClock(), [Term("a", 0)]
    state = retried(kube_client, clock, lambda: terms[-1])
    state.load()
    kube_api.inject("status", code=503, method="PUT", resource="configmaps")
    state._wait = lambda s: terms.append(None) or False  # the renew deadline passes during the first wait
    with pytest.raises(FencedError):
        state.commit({})
    assert len(terms) == 2  # one wait: the next attempt was fenced


def test_a_refusal_is_raised_at_once(kube_api, kube_client):
    clock = FakeClock()
    state = retried(kube_client, clock, lambda: Term("a", 0))
    kube_api.inject("status", code=500, method="GET", resource="configmaps", count=1)  # then a refusal:
    kube_api.store.revoke("kube-token-receiver", "configmaps", "get")
    with pytest.raises(StateError) as raised:
        state.load()
    assert not isinstance(raised.value, StateUnavailableError) and clock.waits == [2.0]


class Unavailable:
    """A state whose API never answers."""

    path = "configmap observability/state"

    def load(self):
        raise StateUnavailableError("the API did not answer")


def test_a_stop_during_the_wait_ends_the_retries():
    state = RetriedState(Unavailable(), budget_s=10, retry_s=2, wait=lambda s: True, monotonic=lambda: 0.0)
    with pytest.raises(StateUnavailableError, match=r"the API did not answer \(stopping\)"):
        state.load()
    assert state.path == "configmap observability/state"  # the wrapped state's, as every other attribute


@pytest.mark.parametrize("error, stops", [
    pytest.param(KubeError("configmaps is forbidden", 403, "Forbidden"), True, id="refusal-exit-2"),
    pytest.param(KubeError("no answer"), False, id="no-answer-warned"),
])
def test_at_start_only_a_refusal_stops_the_run(caplog, error, stops):
    def check_access():
        raise error

    state = RetriedState(Unavailable(), budget_s=1, retry_s=1, check_access=check_access)
    caplog.set_level(logging.WARNING)
    if stops:
        with pytest.raises(StateError, match="^state configmaps is forbidden$"):
            state.check_writable()
    else:
        state.check_writable()
        assert "cannot be checked now (no answer); tried again when this process leads" in caplog.text
