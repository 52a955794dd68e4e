"""CursorStore: the one owner of cursors; saves are coalesced (one write for many commits, none for a change
that delivered nothing), a bot's delivery is saved before its next batch goes out, and the counters see only
what is saved."""

from dataclasses import replace

import pytest

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.errors import StateError


def cursor(offset: int = 0) -> BotCursor:
    return BotCursor(window_start="2026-11-20", offset=offset, anchor_id=None, last_id=offset,
                     since_ns=0)


def delivered(base: BotCursor, n: int) -> BotCursor:
    """``base`` after a page of n RECEIVED entries was accepted."""
    return replace(base, last_id=base.last_id + n, counted={"RECEIVED": base.counted.get("RECEIVED", 0) + n})


class CountingState(StateFile):
    """The state file, counting the documents written (an injected write counter)."""

    def __init__(self, path):
        super().__init__(path)
        self.documents = 0

    def commit(self, cursors):
        super().commit(cursors)
        self.documents += 1


def test_loads_what_the_file_holds_and_saves_every_bot(state_path):
    StateFile(state_path).commit({1: cursor(5)})
    store = CursorStore(StateFile(state_path))
    assert store.get(1) == cursor(5) and store.get(2) is None
    store.commit(2, cursor(7))
    assert store.get(2) == cursor(7)
    assert StateFile(state_path).load() == store.snapshot() == {1: cursor(5)}  # not saved yet
    store.save()
    assert StateFile(state_path).load() == store.snapshot() == {1: cursor(5), 2: cursor(7)}


def test_a_sweep_of_deliveries_over_many_bots_is_one_write(state_path):
    state = CountingState(state_path)
    store = CursorStore(state)
    for bot_id in range(1, 201):
        store.before_export(bot_id)
        store.commit(bot_id, delivered(cursor(), 3))
    store.save()
    store.save()  # nothing new: nothing written
    assert state.documents == 1
    assert StateFile(state_path).load()[200].counted == {"RECEIVED": 3}


def test_a_change_that_delivered_nothing_is_not_written(state_path):
    state = CountingState(state_path)
    store = CursorStore(state)
    store.commit(1, delivered(cursor(), 2))
    store.save()
    moved = replace(store.get(1), trail_start_ns=10**18, recent={}, offset=9, anchor_id=8)  # time passed, no entry
    store.commit(1, moved)
    store.before_export(1)
    store.save()
    assert state.documents == 1
    assert store.get(1) == moved and StateFile(state_path).load()[1].offset == 0  # the earlier one stays saved


def test_a_bot_s_delivery_is_saved_before_its_next_batch_goes_out(state_path):
    state = CountingState(state_path)
    store = CursorStore(state)
    store.commit(1, delivered(cursor(), 5))
    store.before_export(2)  # another bot's batch: bot 1's may wait
    assert state.documents == 0
    store.before_export(1)  # bot 1's next batch: a crash from here on may repeat that batch alone
    assert state.documents == 1 and StateFile(state_path).load()[1].counted == {"RECEIVED": 5}


def test_a_delivery_waits_one_save_interval_at_most(state_path):
    now = [0.0]
    state = CountingState(state_path)
    store = CursorStore(state, save_every_s=30, monotonic=lambda: now[0])
    store.commit(1, delivered(cursor(), 1))
    now[0] = 29.9
    store.save_due()
    assert state.documents == 0
    now[0] = 30.0
    store.save_due()
    assert state.documents == 1


def test_without_persist_commits_stay_in_memory_and_the_file_is_untouched(state_path):
    StateFile(state_path).commit({1: cursor(5)})
    before = state_path.read_bytes()
    store = CursorStore(StateFile(state_path), persist=False)
    store.commit(1, cursor(9))
    assert store.get(1) == cursor(9)
    assert state_path.read_bytes() == before


def test_a_failed_write_keeps_the_saved_state_as_it_was(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir()
    store = CursorStore(StateFile(directory / "state.json"))
    store.commit(1, cursor(1))
    store.save()
    (directory / "state.json").unlink()
    directory.rmdir()
    store.commit(1, cursor(2))
    with pytest.raises(StateError):
        store.save()
    assert store.snapshot() == {1: cursor(1)} and store.get(1) == cursor(2)


def test_a_snapshot_is_a_copy(state_path):
    store = CursorStore(StateFile(state_path))
    snapshot = store.snapshot()
    store.commit(1, cursor(1))
    store.save()
    assert snapshot == {}
