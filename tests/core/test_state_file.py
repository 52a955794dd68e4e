"""StateFile: round trip, atomic replace, and a clear StateError (never a fresh start) on bad files."""

import os

import pytest

from otel_desk_receiver.errors import StateError
from otel_desk_receiver.core.cursors import BotCursor
from otel_desk_receiver.core.state_file import STATE_VERSION, StateFile


def cursor(**overrides) -> BotCursor:
    values = dict(window_start="2026-11-20", offset=7, anchor_id=41, last_id=48, frontier=9, since_ns=10**18,
                  newest_created_ns=2 * 10**18, pending={42: 123, 47: 456})
    return BotCursor(**{**values, **overrides})


def test_missing_file_is_empty_state(state_path):
    assert StateFile(state_path).load() == {}


def test_round_trip(state_path):
    store = StateFile(state_path)
    store.commit({5: cursor(), 3: cursor(pending={})})
    assert store.load() == {5: cursor(), 3: cursor(pending={})}


def test_commit_replaces_atomically_and_leaves_no_temp_files(state_path):
    store = StateFile(state_path)
    store.commit({1: cursor()})
    inode_before = os.stat(state_path).st_ino
    store.commit({1: cursor(offset=99)})
    assert os.stat(state_path).st_ino != inode_before  # a new file renamed over the old, not rewritten in place
    assert [p.name for p in state_path.parent.iterdir()] == [state_path.name]
    assert store.load()[1].offset == 99


CORRUPT = [
    ("truncated json", '{"version": 1, "bots": {"1": {"window_st'),
    ("empty file", ""),
    ("wrong version", '{"version": 99, "bots": {}}'),
    ("not an object", "[1, 2]"),
    ("bad cursor", '{"version": 1, "bots": {"1": {"offset": "x"}}}'),
    ("bad bot id", '{"version": 1, "bots": {"abc": {}}}'),
]


@pytest.mark.parametrize("content", [c[1] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_corrupt_file_raises_naming_it_and_is_left_untouched(state_path, content):
    state_path.write_text(content)
    with pytest.raises(StateError) as caught:
        StateFile(state_path).load()
    assert str(state_path) in str(caught.value)
    assert state_path.read_text() == content


def test_unreadable_file(state_path):
    state_path.mkdir()  # a directory where the file should be: reading fails with an OSError
    with pytest.raises(StateError, match=str(state_path)):
        StateFile(state_path).load()


def test_unwritable_directory_detected_at_start(tmp_path):
    with pytest.raises(StateError, match="does not exist"):
        StateFile(tmp_path / "missing-dir" / "state.json").check_writable()


def test_version_is_written(state_path):
    StateFile(state_path).commit({})
    assert f'"version":{STATE_VERSION}' in state_path.read_text()


def test_write_failure_is_a_state_error_naming_the_file(tmp_path):
    path = tmp_path / "gone" / "state.json"
    with pytest.raises(StateError, match=f"state file {path} cannot be written"):
        StateFile(path).commit({1: cursor()})
