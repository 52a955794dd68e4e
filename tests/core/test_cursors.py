"""CursorStore: the one owner of cursors; commits reach the state file before they count, or not at all."""

import pytest

from otel_desk_receiver.core.cursors import BotCursor, CursorStore
from otel_desk_receiver.core.state_file import StateFile
from otel_desk_receiver.errors import StateError


def cursor(offset: int = 0) -> BotCursor:
    return BotCursor(window_start="2026-11-20", offset=offset, anchor_id=None, last_id=offset,
                     since_ns=0)


def test_loads_what_the_file_holds_and_commits_every_bot(state_path):
    StateFile(state_path).commit({1: cursor(5)})
    store = CursorStore(StateFile(state_path))
    assert store.get(1) == cursor(5) and store.get(2) is None
    store.commit(2, cursor(7))
    assert StateFile(state_path).load() == {1: cursor(5), 2: cursor(7)}
    assert store.snapshot() == {1: cursor(5), 2: cursor(7)}


def test_without_persist_commits_stay_in_memory_and_the_file_is_untouched(state_path):
    StateFile(state_path).commit({1: cursor(5)})
    before = state_path.read_bytes()
    store = CursorStore(StateFile(state_path), persist=False)
    store.commit(1, cursor(9))
    assert store.get(1) == cursor(9)
    assert state_path.read_bytes() == before


def test_a_failed_write_keeps_the_previous_cursor(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir()
    store = CursorStore(StateFile(directory / "state.json"))
    store.commit(1, cursor(1))
    (directory / "state.json").unlink()
    directory.rmdir()
    with pytest.raises(StateError):
        store.commit(1, cursor(2))
    assert store.get(1) == cursor(1)


def test_a_snapshot_is_a_copy(state_path):
    store = CursorStore(StateFile(state_path))
    snapshot = store.snapshot()
    store.commit(1, cursor(1))
    assert snapshot == {}
