"""StateFile: round trip, atomic replace, and a clear StateError (never a fresh start) on bad files."""

import json
import os
import stat
from dataclasses import replace

import pytest

from otel_desk_receiver.errors import StateError
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.state.file_backend import StateFile, StateLockedError
from otel_desk_receiver.state.document import STATE_VERSION, DeskIdentity


def cursor(**overrides) -> BotCursor:
    values = dict(window_start="2026-11-20", offset=7, anchor_id=41, last_id=48, since_ns=10**18,
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
    ("bots not an object", '{"version": 2, "bots": [1]}'),
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


def v1_document() -> str:
    return json.dumps({"version": 1, "bots": {"7": {
        "window_start": "2026-11-20", "offset": 3, "anchor_id": 12, "last_id": 14, "frontier": 5,
        "since_ns": 10**18, "newest_created_ns": 2 * 10**18, "pending": {"13": 123}}}})


def test_a_version_1_file_loads_and_is_rewritten_as_version_2(state_path):
    state_path.write_text(v1_document())
    state = StateFile(state_path, DeskIdentity("app-1", "https://desk.example/platform/v1"))
    [(bot_id, loaded)] = state.load().items()
    assert (bot_id, loaded.offset, loaded.last_id, loaded.pending) == (7, 3, 14, {13: 123})
    assert loaded.trail_start_ns == 2 * 10**18 + 1  # everything up to the newest entry read was done
    state.commit({7: loaded})
    saved = json.loads(state_path.read_text())
    assert saved["version"] == STATE_VERSION
    assert saved["desk"] == {"app": "app-1", "url": "https://desk.example/platform/v1"}


def test_a_state_of_another_desk_app_stops_naming_both(state_path):
    StateFile(state_path, DeskIdentity("app-1", "https://a.example")).commit({1: cursor()})
    with pytest.raises(StateError) as caught:
        StateFile(state_path, DeskIdentity("app-2", "https://b.example")).load()
    message = str(caught.value)
    assert str(state_path) in message and "'app-1'" in message and "'app-2'" in message


WRONG_TYPES = [
    ("offset", "x", "bots.1.offset: expected an integer, got a string"),
    ("anchor_id", True, "bots.1.anchor_id: expected an integer or null, got a boolean"),
    ("pending", [1], "bots.1.pending: expected an object"),
    ("pending", {"x": 1}, "bots.1.pending: expected entry id -> createdAt"),
    ("window_start", "yesterday", "bots.1.window_start: expected a date"),
    ("since_ns", None, "bots.1.since_ns: expected an integer, got null"),
    ("last_id", 1.5, "bots.1.last_id: expected an integer, got a number"),
]


@pytest.mark.parametrize(("field", "value", "expected"), WRONG_TYPES,
                         ids=[f"{f}={v!r}" for f, v, _ in WRONG_TYPES])
def test_a_hand_edited_field_of_the_wrong_type_is_a_state_error_naming_file_and_field(state_path, field, value,
                                                                                        expected):
    document = json.loads(v1_document())
    document["bots"] = {"1": {**document["bots"]["7"], field: value}}
    state_path.write_text(json.dumps(document))
    with pytest.raises(StateError) as caught:
        StateFile(state_path).load()
    assert str(state_path) in str(caught.value) and expected in str(caught.value)


def test_a_missing_field_is_named(state_path):
    document = json.loads(v1_document())
    del document["bots"]["7"]["last_id"]
    state_path.write_text(json.dumps(document))
    with pytest.raises(StateError, match="bots.7.last_id: missing"):
        StateFile(state_path).load()


def test_commit_syncs_the_file_before_the_rename_and_the_directory_after(state_path):
    synced = []

    def fsync(fd):
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append((kind, state_path.exists()))
        os.fsync(fd)

    StateFile(state_path, fsync=fsync).commit({1: cursor()})
    assert synced == [("file", False), ("dir", True)]  # the data is durable before it replaces the old


def test_a_second_holder_of_the_lock_is_refused_naming_the_first(state_path):
    first = StateFile(state_path)
    first.lock()
    try:
        with pytest.raises(StateLockedError) as caught:
            StateFile(state_path).lock()
        assert f'"pid": {os.getpid()}' in str(caught.value) and str(state_path) in str(caught.value)
    finally:
        first.unlock()
    second = StateFile(state_path)
    second.lock()  # free again once the first let go
    second.unlock()


def test_who_holds_the_lock_is_asked_without_taking_it_or_leaving_a_file(state_path):
    """check asks this: before, it took and let go of the lock, and left a .lock beside a fresh state."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    assert StateFile(state_path).holder() is None and not lock_path.exists()
    first = StateFile(state_path)
    first.lock()
    try:
        assert f'"pid": {os.getpid()}' in StateFile(state_path).holder()
    finally:
        first.unlock()
    assert StateFile(state_path).holder() is None  # a lock file a stopped receiver left: nobody holds it


# A version-2 state as 0.2.0 wrote it (its shape, field for field): every field, recent ids as id -> createdAt.
V2_DOCUMENT = ('{"version":2,"desk":{"app":"app-1","url":"https://desk.example/platform/v1"},"bots":{"7":{'
               '"window_start":"2026-11-19","offset":120,"anchor_id":5119,"last_id":5130,"since_ns":0,'
               '"newest_created_ns":1795700000900000000,"pending":{"5125":1795700000500000000},'
               '"recent":{"5120":1795699990100000000,"5121":1795699990700000000,"5124":1795699999000000000},'
               '"trail_start_ns":1795699880000000000,"rejected_after_last":1,"counted":{"RECEIVED":40,"ERROR":2},'
               '"counted_since_ns":1795600000000000000,"acked":{"RECEIVED":38},"acked_ns":1795699999999000000}}}')
V2_CURSOR = BotCursor(window_start="2026-11-19", offset=120, anchor_id=5119, last_id=5130, since_ns=0,
                      newest_created_ns=1795700000900000000, pending={5125: 1795700000500000000},
                      recent={5120: 1795699990100000000, 5121: 1795699990700000000, 5124: 1795699999000000000},
                      trail_start_ns=1795699880000000000, rejected_after_last=1, counted={"RECEIVED": 40, "ERROR": 2},
                      counted_since_ns=1795600000000000000, acked={"RECEIVED": 38}, acked_ns=1795699999999000000)


def test_a_version_2_file_loads_unchanged_in_meaning_and_is_rewritten_as_version_3(state_path):
    state_path.write_text(V2_DOCUMENT)
    desk = DeskIdentity("app-1", "https://desk.example/platform/v1")
    state = StateFile(state_path, desk)
    assert state.load() == {7: V2_CURSOR}  # every field as it was, recent createdAt exact
    assert state.needs_rewrite
    store = CursorStore(state)
    store.save()  # nothing changed, but the document is an older version: written again once
    saved = json.loads(state_path.read_text())
    assert saved["version"] == STATE_VERSION == 3
    assert saved["bots"]["7"]["recent"] == [[1795699990700000000, "3y8.1"], [1795699999000000000, "3yc"]]
    again = StateFile(state_path, desk)
    [(bot_id, loaded)] = again.load().items()
    assert not again.needs_rewrite
    # The same cursor, but for each remembered id's createdAt: the newest of its second, never earlier
    assert bot_id == 7 and replace(loaded, recent=V2_CURSOR.recent) == V2_CURSOR
    assert loaded.recent.keys() == V2_CURSOR.recent.keys()
    assert all(0 <= loaded.recent[i] - t < 10**9 for i, t in V2_CURSOR.recent.items())


def test_version_3_leaves_out_fields_at_their_defaults_and_loads_them_back(state_path):
    bare = BotCursor(window_start="2026-11-20", offset=0, anchor_id=None, last_id=0, since_ns=5, trail_start_ns=5)
    StateFile(state_path).commit({1: bare})
    assert json.loads(state_path.read_text())["bots"]["1"] == {
        "window_start": "2026-11-20", "offset": 0, "anchor_id": None, "last_id": 0, "since_ns": 5, "trail_start_ns": 5}
    assert StateFile(state_path).load() == {1: bare}
