"""The state in a ConfigMap: the file's document, optimistic concurrency, fencing, the size limit."""

from pathlib import Path

import pytest

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity, encode_state
from otel_desk_receiver.errors import FencedError, StateError, StateUnavailableError
from otel_desk_receiver.kube.client import KubeClient
from otel_desk_receiver.kube.connection import KubeConnection
from otel_desk_receiver.kube.access import check_write_access
from otel_desk_receiver.ha.setup import blank_configmap
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.state.retry import RetriedState
from otel_desk_receiver.state.configmap_backend import HOLDER_ANNOTATION, TRANSITIONS_ANNOTATION, KubernetesState
from tests.harness.apps import apps_settings
from tests.harness.fixtures.kube_api import KUBE_TOKEN, NAMESPACE

DESK = DeskIdentity("app-1", "https://desk.example/platform/v1")


class Terms:
    """What LeaderElector.term answers, set by the test."""

    def __init__(self, term: Term | None):
        self.now = term

    def __call__(self) -> Term | None:
        return self.now


def cursor(offset: int = 10, pending: int = 0) -> BotCursor:
    return BotCursor(window_start="2026-11-30", offset=offset, anchor_id=offset - 1, last_id=offset + 100,
                     since_ns=0, pending={i: 1_700_000_000_000_000_000 for i in range(pending)})


def state(kube_client, term, elected=True, **kw) -> KubernetesState:
    return KubernetesState(kube_client, NAMESPACE, "state", DESK, term=term, elected=elected, **kw)


def stored(kube_api) -> dict:
    return kube_api.store.get("configmaps", NAMESPACE, "state")


def test_load_creates_it_and_commit_stores_the_file_s_document(kube_api, kube_client):
    backend = state(kube_client, Terms(Term("a", 3)))
    assert backend.load() == {}
    backend.commit({7: cursor()})
    obj = stored(kube_api)
    assert obj["data"]["state.json"].encode() == encode_state({7: cursor()}, DESK)  # byte for byte the file's
    assert obj["metadata"]["annotations"] == {HOLDER_ANNOTATION: "a", TRANSITIONS_ANNOTATION: "3"}
    assert state(kube_client, Terms(Term("a", 3))).load() == {7: cursor()}


def test_a_standby_loads_nothing_and_writes_nothing(kube_api, kube_client):
    backend = state(kube_client, Terms(None))
    assert backend.load() == {}
    with pytest.raises(FencedError, match="does not lead"):
        backend.commit({7: cursor()})
    assert kube_api.requests[("POST", "configmaps")] == kube_api.requests[("PUT", "configmaps")] == 0


def test_a_deposed_leader_s_late_write_is_refused(kube_api, kube_client):
    old_terms = Terms(Term("a", 1))
    old = state(kube_client, old_terms)
    old.load()
    old.commit({7: cursor(10)})
    new = state(kube_client, Terms(Term("b", 2)))
    assert new.load() == {7: cursor(10)}  # claims the object for term 2
    with pytest.raises(FencedError, match="claimed in the term of 'b'"):
        old.commit({7: cursor(20)})  # a still believes it leads: the 409 is read again and refused
    assert stored(kube_api)["metadata"]["annotations"][HOLDER_ANNOTATION] == "b"
    new.commit({7: cursor(30)})
    assert state(kube_client, Terms(Term("b", 2))).load() == {7: cursor(30)}


def test_an_older_term_cannot_claim_a_newer_state(kube_client):
    state(kube_client, Terms(Term("b", 5))).load()
    with pytest.raises(FencedError, match="newer than"):
        state(kube_client, Terms(Term("a", 4))).load()


def test_a_conflict_in_our_own_term_is_read_again_and_written(kube_api, kube_client):
    backend = state(kube_client, Terms(Term("a", 1)))
    backend.load()
    edited = stored(kube_api)
    edited["metadata"]["labels"]["team"] = "observability"  # someone labels it meanwhile
    kube_api.store.replace("configmaps", NAMESPACE, "state", edited)
    backend.commit({7: cursor(40)})
    obj = stored(kube_api)
    assert obj["metadata"]["labels"]["team"] == "observability"  # kept, not overwritten
    assert state(kube_client, Terms(Term("a", 1))).load() == {7: cursor(40)}


def test_without_election_a_restart_takes_over_and_a_second_writer_is_fenced(kube_client):
    first = state(kube_client, Terms(Term("pod-a", 0)), elected=False)
    first.load()
    first.commit({7: cursor(10)})
    second = state(kube_client, Terms(Term("pod-b", 0)), elected=False)
    assert second.load() == {7: cursor(10)}
    with pytest.raises(FencedError):
        first.commit({7: cursor(11)})


def test_helm_s_labels_and_annotations_survive_every_write(kube_api, kube_client):
    kube_api.store.create("configmaps", NAMESPACE, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "state", "labels": {"app.kubernetes.io/managed-by": "Helm"},
                     "annotations": {"meta.helm.sh/release-name": "r", "helm.sh/resource-policy": "keep"}}})
    backend = state(kube_client, Terms(Term("a", 0)))
    assert backend.load() == {}
    backend.commit({7: cursor()})
    metadata = stored(kube_api)["metadata"]
    assert metadata["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
    assert metadata["annotations"]["meta.helm.sh/release-name"] == "r"


def test_too_large_fails_before_the_object_limit_naming_the_bot(kube_api, kube_client):
    """Pending entries cannot be given up (remembered ids can: tests/state/test_configmap_backend_size.py)."""
    backend = state(kube_client, Terms(Term("a", 0)), max_bytes=64 * 1024)
    backend.load()
    backend.commit({1: cursor()})
    with pytest.raises(StateError, match=r"would pass the 64 KiB .* bot 2 holds the largest share \(\d+ KiB of \d+ "
                                         r"KiB: 0 remembered ids, 4000 pending"):
        backend.commit({1: cursor(), 2: cursor(pending=4000), 3: cursor(pending=10)})
    assert state(kube_client, Terms(Term("a", 0))).load() == {1: cursor()}  # nothing written


def test_forbidden_update_is_a_state_error_naming_the_configmap(kube_api, kube_client):
    backend = state(kube_client, Terms(Term("a", 0)))
    backend.load()
    kube_api.store.revoke(KUBE_TOKEN, "configmaps", "update")
    with pytest.raises(StateError, match=f"configmap {NAMESPACE}/state cannot be written: .*403 Forbidden"):
        backend.commit({1: cursor()})


def test_an_unreadable_configmap_is_reported_at_start(kube_api, kube_client):
    """As run asks at start: the backend wrapped as ha/setup.py wraps it (kube/access.py)."""
    kube_api.store.revoke(KUBE_TOKEN, "configmaps", "get")
    at_start = RetriedState(state(kube_client, Terms(Term("a", 0))), budget_s=1, retry_s=0.1,
                            check_access=lambda: check_write_access(kube_client, "configmaps", NAMESPACE, "state",
                                                                    blank_configmap(NAMESPACE, "state")))
    with pytest.raises(StateError, match="cannot be read .*Forbidden"):
        at_start.check_writable()


def test_transient_errors_are_tried_again(kube_api, kube_client):
    backend = state(kube_client, Terms(Term("a", 0)), sleep=lambda s: kube_api.set_down(False))
    backend.load()
    kube_api.set_down(True)  # back after the first retry's sleep
    backend.commit({1: cursor()})
    assert state(kube_client, Terms(Term("a", 0))).load() == {1: cursor()}


@pytest.mark.parametrize(("fault", "step"), [
    (dict(kind="status", code=500, method="GET"), "load"),
    (dict(kind="status", code=503, method="PUT"), "commit"),
    (dict(kind="status", code=429, method="PUT"), "commit"),
    (dict(kind="drop", method="PUT"), "commit"),
    (dict(kind="timeout", method="PUT"), "commit"),
], ids=["500 reading", "503 writing", "429 writing", "dropped connection", "timeout"])
def test_an_api_that_does_not_answer_is_unavailable_not_a_bad_state(kube_api, fault, step):
    """Transient: StateUnavailableError (tried again, then the leader stands by), never the exit-2 StateError."""
    client = KubeClient(KubeConnection(server=kube_api.url, verify=True, token=lambda: KUBE_TOKEN), timeout_s=0.3)
    backend = state(client, Terms(Term("a", 0)), sleep=lambda s: None)
    if step == "commit":
        backend.load()
    kube_api.inject(**fault, resource="configmaps")
    with pytest.raises(StateUnavailableError, match=f"configmap {NAMESPACE}/state"):
        backend.commit({1: cursor()}) if step == "commit" else backend.load()
    kube_api.clear_faults()
    backend.commit({1: cursor()}) if step == "commit" else backend.load()  # the same object, once it answers again
    client.close()


# One ConfigMap per app (issue 21): a missing one adopts the single ConfigMap earlier releases wrote.
V3_OF_APP_1 = ('{"version":3,"desk":{"app":"app-1","url":"https://desk.example/platform/v1"},"bots":{"7":'
               '{"window_start":"2026-11-30","offset":10,"anchor_id":9,"last_id":110,"since_ns":0}}}')


def legacy(kube_api, text: str) -> dict:
    return kube_api.store.create("configmaps", NAMESPACE, {
        "apiVersion": "v1", "kind": "ConfigMap", "data": {"state.json": text},
        "metadata": {"name": "state", "annotations": {HOLDER_ANNOTATION: "old-pod", TRANSITIONS_ANNOTATION: "9"}}})


def per_app(kube_client, term, desk=DESK, sole=True) -> KubernetesState:
    return KubernetesState(kube_client, NAMESPACE, "state-app-1", desk, term=term, elected=True, legacy_name="state",
                           sole=sole)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_missing_per_app_configmap_adopts_the_legacy_one_holding_this_app_s_state(kube_api, kube_client, version):
    text = {1: V3_OF_APP_1.replace('"version":3,"desk":{"app":"app-1","url":"https://desk.example/platform/v1"},',
                                   '"version":1,'),
            2: V3_OF_APP_1.replace('"version":3', '"version":2'), 3: V3_OF_APP_1,
            4: encode_state({7: cursor()}, DESK).decode()}[version]
    before = legacy(kube_api, text)
    backend = per_app(kube_client, Terms(Term("a", 1)))
    assert backend.load() == {7: cursor()}
    adopted = kube_api.store.get("configmaps", NAMESPACE, "state-app-1")
    assert adopted["data"]["state.json"].encode() == encode_state({7: cursor()}, DESK)  # written at once, as version 4
    assert adopted["metadata"]["annotations"] == {HOLDER_ANNOTATION: "a", TRANSITIONS_ANNOTATION: "1"}
    assert stored(kube_api) == before  # the legacy one is left as it was: a rollback reads it
    backend.commit({7: cursor(20)})
    assert per_app(kube_client, Terms(Term("a", 1))).load() == {7: cursor(20)}
    assert stored(kube_api) == before


def test_a_legacy_configmap_of_another_app_is_not_adopted(kube_api, kube_client):
    before = legacy(kube_api, V3_OF_APP_1)
    other = DeskIdentity("app-2", "https://desk.example/platform/v1")
    assert per_app(kube_client, Terms(Term("a", 1)), desk=other).load() == {}
    assert kube_api.store.get("configmaps", NAMESPACE, "state-app-1")["data"] == {}
    assert stored(kube_api) == before


def test_a_legacy_version_1_state_with_several_apps_configured_is_refused(kube_api, kube_client):
    legacy(kube_api, V3_OF_APP_1.replace('"version":3,"desk":{"app":"app-1","url":"https://desk.example/platform/v1"},',
                                         '"version":1,'))
    with pytest.raises(StateError, match="is a version 1 state, which names no Desk app"):
        per_app(kube_client, Terms(Term("a", 1)), sole=False).load()


def test_an_existing_per_app_configmap_is_read_and_the_legacy_one_ignored(kube_api, kube_client):
    first = per_app(kube_client, Terms(Term("a", 1)))
    first.load()
    first.commit({7: cursor(30)})
    legacy(kube_api, V3_OF_APP_1)  # made later (a rollback ran, say): the per-app state is the one
    assert per_app(kube_client, Terms(Term("a", 2))).load() == {7: cursor(30)}


def test_too_large_with_an_apps_file_names_the_items_bot_ids(kube_api, kube_client):
    # DESK_BOT_IDS is refused beside an apps file: the advice names the app's item.
    settings = apps_settings([{"app_id": "app-0", "api_url": "https://desk.example/0", "api_token": "t"},
                              {"app_id": "app-1", "api_url": "https://desk.example/platform/v1", "api_token": "t"}],
                             Path("unused.json"))
    backend = KubernetesState(kube_client, NAMESPACE, "state", DeskIdentity.of(settings.desk_apps[1]),
                              term=Terms(Term("a", 0)), elected=True, max_bytes=64 * 1024)
    backend.load()
    with pytest.raises(StateError, match=r"Watch fewer bots per receiver \(apps\[1\].bot_ids\) or use "):
        backend.commit({2: cursor(pending=4000)})
