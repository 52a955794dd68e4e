"""The ConfigMap state under load: an object deleted under the leader is made again from the state it holds,
50,000 remembered ids of one bot fit, an overflow gives up the oldest remembered ids instead of stopping
the receiver, and the size warning names what really fills the object."""

import json
import logging
import random

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.state.configmap_backend import KubernetesState
from tests.harness.fixtures.kube_api import NAMESPACE

DESK = DeskIdentity("app-1", "https://desk.example/platform/v1")
NS = 10**9
T0 = 1_796_000_000 * NS


def state(kube_client, **kw) -> KubernetesState:
    return KubernetesState(kube_client, NAMESPACE, "state", DESK, term=lambda: Term("a", 1), elected=True, **kw)


def cursor(last_id: int = 100, recent: dict[int, int] | None = None, pending: int = 0, **kw) -> BotCursor:
    return BotCursor(window_start="2026-11-30", offset=10, anchor_id=9, last_id=last_id, since_ns=0,
                     recent=recent or {}, pending={i: T0 for i in range(pending)}, trail_start_ns=T0, **kw)


def burst(count: int, first_id: int = 1_000_000, seconds: float = 100, shared: bool = False) -> dict[int, int]:
    """``count`` ids emitted over ``seconds``: id -> createdAt; consecutive ids, or with ``shared`` ids that
    other bots' entries take turns with (irregular gaps of up to 4,000)."""
    rng = random.Random(count)
    ids, next_id = [], first_id
    for _ in range(count):
        ids.append(next_id)
        next_id += rng.randint(1, 4000) if shared else 1
    return {entry_id: T0 + int(i * seconds * NS / count) for i, entry_id in enumerate(ids)}


def encoded_size(cursors) -> int:
    from otel_desk_receiver.state.document import encode_state
    return len(encode_state(cursors, DESK))


def stored_bytes(kube_api) -> int:
    return len(kube_api.store.get("configmaps", NAMESPACE, "state")["data"]["state.json"].encode())


def test_a_configmap_deleted_under_the_leader_is_made_again_from_the_state_it_holds(kube_api, kube_client, caplog):
    backend = state(kube_client)
    store = CursorStore(backend)
    for bot_id in (1, 2):
        store.commit(bot_id, cursor(last_id=100 + bot_id, counted={"RECEIVED": bot_id}))
    store.save()
    kube_api.store.delete("configmaps", NAMESPACE, "state")  # kubectl delete, while it runs
    store.commit(1, cursor(last_id=150, counted={"RECEIVED": 51}))
    with caplog.at_level(logging.WARNING):
        store.save()
    again = state(kube_client).load()
    assert again == {1: cursor(last_id=150, counted={"RECEIVED": 51}), 2: cursor(last_id=102, counted={"RECEIVED": 2})}
    assert "was deleted while this process leads: made again from the state it holds" in caplog.text


def test_fifty_thousand_remembered_ids_of_one_bot_fit_and_load_as_they_were(kube_api, kube_client):
    recent = burst(50_000)  # the README's bound, in a 100 s burst
    backend = state(kube_client)
    backend.load()
    backend.commit({1: cursor(last_id=1_050_000, recent=recent)})
    assert stored_bytes(kube_api) < 16 * 1024
    loaded = state(kube_client).load()[1].recent
    assert loaded.keys() == recent.keys()
    # createdAt comes back as the newest of its second: never earlier, so the window keeps each id as long
    assert all(0 <= loaded[i] - created < NS for i, created in recent.items())


def test_an_overflow_gives_up_the_oldest_remembered_ids_and_never_stops_the_receiver(kube_api, kube_client, caplog):
    interleaved = burst(50_000, shared=True)  # ids shared with many other bots: about 4 bytes each
    backend = state(kube_client, max_bytes=64 * 1024)
    backend.load()
    with caplog.at_level(logging.WARNING):
        backend.commit({1: cursor(), 7: cursor(last_id=10**8, recent=interleaved)})
    assert stored_bytes(kube_api) <= 64 * 1024
    saved = state(kube_client).load()[7]
    kept = sorted(saved.recent)
    assert kept and kept == sorted(interleaved)[-len(kept):]  # the newest kept, the oldest given up
    assert saved.trail_start_ns > max(interleaved[i] for i in interleaved if i not in saved.recent)
    assert "bot 7 remembers too many ids for a ConfigMap; its oldest are given up" in caplog.text


def test_the_size_warning_names_the_bot_that_fills_it_with_its_real_size(kube_api, kube_client, caplog):
    cursors = {1: cursor(), 7: cursor(last_id=10**8, recent=burst(12_000, shared=True))}
    backend = state(kube_client, max_bytes=encoded_size(cursors) * 5 // 4)
    backend.load()
    with caplog.at_level(logging.WARNING):
        backend.commit(cursors)
    [line] = [r.getMessage() for r in caplog.records if "3/4 of its" in r.getMessage()]
    assert "bot 7 holds the largest share (" in line and "12000 remembered ids" in line
    assert "(0 KiB" not in line


def test_the_size_warning_says_when_the_number_of_bots_fills_it(kube_api, kube_client, caplog):
    cursors = {bot_id: cursor(counted={"RECEIVED": 5, "ERROR": 1}) for bot_id in range(1, 1001)}
    backend = state(kube_client, max_bytes=encoded_size(cursors) * 5 // 4)
    backend.load()
    with caplog.at_level(logging.WARNING):
        backend.commit(cursors)
    [line] = [r.getMessage() for r in caplog.records if "3/4 of its" in r.getMessage()]
    assert "no bot dominates: 1000 bots" in line


def test_the_stored_document_is_the_state_document(kube_api, kube_client):
    backend = state(kube_client)
    backend.load()
    backend.commit({1: cursor(recent=burst(10))})
    assert json.loads(kube_api.store.get("configmaps", NAMESPACE, "state")["data"]["state.json"])["version"] == 4
