"""StateFile: round trip, atomic replace, and a clear StateError (never a fresh start) on bad files."""

import json
import logging
import os
import stat
import threading
from dataclasses import replace

import pytest

from otel_desk_receiver.errors import StateError
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.state.file_backend import StateFile, StateLockedError
from otel_desk_receiver.state.document import STATE_VERSION, DeskIdentity
from tests.harness.apps import apps_settings


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


def test_a_version_1_file_loads_and_is_rewritten_as_version_4(state_path):
    state_path.write_text(v1_document())
    state = StateFile(state_path, DeskIdentity("app-1", "https://desk.example/platform/v1"))
    [(bot_id, loaded)] = state.load().items()
    assert (bot_id, loaded.offset, loaded.last_id, loaded.pending) == (7, 3, 14, {13: 123})
    assert loaded.trail_start_ns == 2 * 10**18 + 1  # everything up to the newest entry read was done
    state.commit({7: loaded})
    saved = json.loads(state_path.read_text())
    assert saved["version"] == STATE_VERSION == 4
    assert saved["apps"]["app-1"]["desk"] == {"app": "app-1", "url": "https://desk.example/platform/v1"}


def test_a_version_3_state_of_another_desk_app_stops_naming_both(state_path):
    state_path.write_text('{"version":3,"desk":{"app":"app-1","url":"https://a.example"},"bots":{}}')
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


def test_a_version_2_file_loads_unchanged_in_meaning_and_is_rewritten_as_version_4(state_path):
    state_path.write_text(V2_DOCUMENT)
    desk = DeskIdentity("app-1", "https://desk.example/platform/v1")
    state = StateFile(state_path, desk)
    assert state.load() == {7: V2_CURSOR}  # every field as it was, recent createdAt exact
    assert state.needs_rewrite
    store = CursorStore(state)
    store.save()  # nothing changed, but the document is an older version: written again once
    saved = json.loads(state_path.read_text())
    assert saved["version"] == STATE_VERSION == 4
    assert saved["apps"]["app-1"]["bots"]["7"]["recent"] == [[1795699990700000000, "3y8.1"],
                                                             [1795699999000000000, "3yc"]]
    again = StateFile(state_path, desk)
    [(bot_id, loaded)] = again.load().items()
    assert not again.needs_rewrite
    # The same cursor, but for each remembered id's createdAt: the newest of its second, never earlier
    assert bot_id == 7 and replace(loaded, recent=V2_CURSOR.recent) == V2_CURSOR
    assert loaded.recent.keys() == V2_CURSOR.recent.keys()
    assert all(0 <= loaded.recent[i] - t < 10**9 for i, t in V2_CURSOR.recent.items())


def test_version_4_leaves_out_fields_at_their_defaults_and_loads_them_back(state_path):
    bare = BotCursor(window_start="2026-11-20", offset=0, anchor_id=None, last_id=0, since_ns=5, trail_start_ns=5)
    StateFile(state_path).commit({1: bare})
    [section] = json.loads(state_path.read_text())["apps"].values()
    assert section["bots"]["1"] == {
        "window_start": "2026-11-20", "offset": 0, "anchor_id": None, "last_id": 0, "since_ns": 5, "trail_start_ns": 5}
    assert StateFile(state_path).load() == {1: bare}


# Several Desk apps in one file (issue 21): one section each, one lock, every commit writes the whole file.
A = DeskIdentity("app-a", "https://desk.example/a")
B = DeskIdentity("app-b", "https://desk.example/b")


def test_each_app_is_a_section_of_the_one_file_named_in_messages(state_path):
    state = StateFile(state_path, [A, B])
    a, b = state.section("app-a"), state.section("app-b")
    assert a.path == f"{state_path} [app app-a]" and b.path == f"{state_path} [app app-b]"
    assert a.load() == b.load() == {}
    a.commit({1: cursor()})
    b.commit({2: cursor(offset=1)})
    again = StateFile(state_path, [A, B])
    assert again.section("app-a").load() == {1: cursor()} and again.section("app-b").load() == {2: cursor(offset=1)}
    with pytest.raises(KeyError):
        state.section("app-c")


def test_a_commit_of_one_app_leaves_the_other_app_s_saved_cursors_as_they_were(state_path):
    state = StateFile(state_path, [A, B])
    a, b = state.section("app-a"), state.section("app-b")
    a.load(), b.load()
    b.commit({2: cursor(offset=1)})
    before = json.loads(state_path.read_text())["apps"]["app-b"]
    store_b = CursorStore(b)
    store_b.commit(2, cursor(offset=5, last_id=60))  # committed in app b's store, not saved yet
    for offset in range(3):
        a.commit({1: cursor(offset=offset)})
        assert json.loads(state_path.read_text())["apps"]["app-b"] == before  # never b's unsaved cursor
    assert StateFile(state_path, [A, B]).section("app-b").load() == {2: cursor(offset=1)}


def test_commits_of_several_apps_from_their_own_threads_lose_none(state_path):
    labels = [f"app-{i}" for i in range(4)]
    state = StateFile(state_path, [DeskIdentity(label, f"https://desk.example/{label}") for label in labels])
    sections = [state.section(label) for label in labels]
    for section in sections:
        section.load()
    start = threading.Barrier(len(sections))

    def commits(section):
        start.wait()
        for offset in range(60):
            section.commit({1: cursor(offset=offset)})

    threads = [threading.Thread(target=commits, args=(section,)) for section in sections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = json.loads(state_path.read_text())["apps"]
    assert {label: saved[label]["bots"]["1"]["offset"] for label in labels} == {label: 59 for label in labels}
    assert [p.name for p in state_path.parent.iterdir()] == [state_path.name]  # no temp file left behind


def test_a_section_of_an_app_no_longer_configured_is_carried_on_every_write(state_path):
    both = StateFile(state_path, [A, B])
    both.section("app-a").load()
    both.section("app-a").commit({1: cursor()})
    both.section("app-b").commit({2: cursor(offset=2)})
    gone = json.loads(state_path.read_text())["apps"]["app-b"]
    only_a = StateFile(state_path, A)  # app b left the config for a while
    assert only_a.load() == {1: cursor()}
    only_a.commit({1: cursor(offset=9)})
    assert json.loads(state_path.read_text())["apps"]["app-b"] == gone
    assert StateFile(state_path, [A, B]).section("app-b").load() == {2: cursor(offset=2)}  # back: nothing lost


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_older_file_migrates_into_its_app_s_section_with_every_cursor_as_it_was(state_path, version):
    """Version 1 names no app: it is adopted with one app configured; versions 2 and 3 name theirs."""
    old = json.loads(V2_DOCUMENT)
    old["version"] = version
    old["desk"] = {"app": "app-a", "url": A.url}
    if version == 1:
        del old["desk"]
    if version == 3:
        old["bots"]["7"]["recent"] = [[1795699990700000000, "3y8.1"], [1795699999000000000, "3yc"]]
    state_path.write_text(json.dumps(old))
    desks = A if version == 1 else [A, B]
    state = StateFile(state_path, desks)
    section = state.section("app-a")
    loaded = section.load()
    assert section.needs_rewrite
    CursorStore(section).save()  # written again as version 4 at the first save
    saved = json.loads(state_path.read_text())
    assert saved["version"] == 4 and list(saved["apps"]) == ["app-a"]
    [again] = StateFile(state_path, desks).section("app-a").load().values()
    assert replace(again, recent=loaded[7].recent) == loaded[7]  # recent createdAt: the newest of its second (v3)
    assert again.recent.keys() == loaded[7].recent.keys()
    [(bot_id, cursor_7)] = loaded.items()
    assert bot_id == 7 and cursor_7.recent.keys() == V2_CURSOR.recent.keys()
    if version == 1:  # version 1 had no trailing window: what it read up to the newest entry is done
        assert (cursor_7.offset, cursor_7.last_id, cursor_7.pending) == (120, 5130, V2_CURSOR.pending)
    else:
        assert replace(cursor_7, recent=V2_CURSOR.recent) == V2_CURSOR


def test_a_version_1_file_with_several_apps_configured_is_refused_and_left_as_it_was(state_path):
    state_path.write_text(v1_document())
    with pytest.raises(StateError) as caught:
        StateFile(state_path, [A, B]).section("app-a").load()
    assert str(caught.value).startswith(f"state file {state_path} is a version 1 state, which names no Desk app")
    assert state_path.read_text() == v1_document()


def test_a_version_3_file_of_an_app_not_configured_is_refused_on_load_and_on_commit(state_path):
    state_path.write_text('{"version":3,"desk":{"app":"app-x","url":"https://x.example"},"bots":{}}')
    state = StateFile(state_path, [A, B])
    with pytest.raises(StateError, match="belongs to Desk app 'app-x'"):
        state.section("app-a").load()
    with pytest.raises(StateError, match="belongs to Desk app 'app-x'"):
        state.section("app-b").commit({1: cursor()})  # never written over
    assert "app-x" in state_path.read_text()


def test_an_app_without_a_section_beside_apps_not_configured_is_a_fresh_start_said_in_a_warning(state_path, caplog):
    before = StateFile(state_path, [DeskIdentity("desk.example", "https://desk.example/a"), B])
    before.section("desk.example").commit({2: cursor()})  # app a under its former label (no DESK_APP_ID: the host)
    before.section("app-b").commit({3: cursor()})
    with caplog.at_level(logging.WARNING):
        assert StateFile(state_path, [A, B]).section("app-a").load() == {}
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"state file {state_path} holds no cursors of app 'app-a': it starts afresh") \
        and "'desk.example', not configured, kept as they are" in line and "DESK_APP_ID set or changed" in line


def test_a_file_holding_none_of_the_apps_configured_is_refused_naming_them(state_path):
    StateFile(state_path, DeskIdentity("desk.example", "https://desk.example/a")).commit({2: cursor()})
    with pytest.raises(StateError) as caught:
        StateFile(state_path, A).load()  # DESK_APP_ID set since: the same app, another label
    assert str(caught.value).startswith(
        f"state file {state_path} holds the state of Desk app 'desk.example' (https://desk.example/a), not of "
        "'app-a' (https://desk.example/a): if it is the same app under another label (DESK_APP_ID set or changed), "
        "a fresh start would send again what was delivered")


def test_with_an_apps_file_the_fresh_start_and_refusal_name_the_items_keys(state_path, caplog):
    # DESK_APP_ID and DESK_BACKFILL are refused beside an apps file: the lines name the item's keys.
    settings = apps_settings([{"app_id": "app-z", "api_url": "https://desk.example/z", "api_token": "t"},
                              {"app_id": "app-a", "api_url": "https://desk.example/a", "api_token": "t"}],
                             state_path)
    desks = [DeskIdentity.of(app) for app in settings.desk_apps]
    before = StateFile(state_path, [DeskIdentity("desk.example", "https://desk.example/a"), desks[0]])
    before.section("desk.example").commit({2: cursor()})
    before.section("app-z").commit({3: cursor()})
    with caplog.at_level(logging.WARNING):
        assert StateFile(state_path, desks).section("app-a").load() == {}
    [line] = [r.getMessage() for r in caplog.records]
    assert "it starts afresh (apps[1].backfill back)" in line and "(apps[1].app_id set or changed)" in line, line
    state_path.unlink()
    StateFile(state_path, DeskIdentity("desk.example", "https://desk.example/a")).commit({2: cursor()})
    with pytest.raises(StateError, match=r"\(apps\[0\].app_id or apps\[1\].app_id set or changed\)"):
        StateFile(state_path, desks).section("app-a").load()
