"""A BotCursor's saved form: compact (defaults left out, recent ids grouped), read back from every state version,
and the first wrong field named."""

import pytest

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.cursor_json import CursorFormatError, cursor_from_json, cursor_to_json

REQUIRED = {"window_start": "2026-11-20", "offset": 4, "anchor_id": 10, "last_id": 11, "since_ns": 5}


def test_a_cursor_at_its_defaults_saves_only_what_is_required():
    bare = BotCursor(**REQUIRED, trail_start_ns=5)
    assert cursor_to_json(bare) == {**REQUIRED, "trail_start_ns": 5}
    assert cursor_from_json(cursor_to_json(bare)) == bare


def test_a_full_cursor_round_trips():
    cursor = BotCursor(**REQUIRED, newest_created_ns=9 * 10**18, pending={12: 8 * 10**18}, recent={11: 9 * 10**18},
                       trail_start_ns=7, rejected_after_last=1, counted={"ERROR": 2}, counted_since_ns=3,
                       acked={"ERROR": 1}, acked_ns=4)
    saved = cursor_to_json(cursor)
    assert saved["pending"] == {"12": 8 * 10**18} and saved["recent"] == [[9 * 10**18, "b"]]
    assert cursor_from_json(saved) == cursor


def test_version_2_recent_is_an_object_and_version_1_has_no_trailing_window():
    v2 = {**REQUIRED, "recent": {"11": 900}, "trail_start_ns": 6}
    assert cursor_from_json(v2, version=2).recent == {11: 900}
    v1 = {**REQUIRED, "newest_created_ns": 1000, "frontier": 3}  # frontier: an old field, ignored
    assert cursor_from_json(v1, version=1).trail_start_ns == 1001  # everything up to the newest read was done
    assert cursor_from_json(REQUIRED, version=1).trail_start_ns == 5  # nothing read: since_ns


@pytest.mark.parametrize("change, message", [
    pytest.param({"offset": None}, "offset: expected an integer, got null", id="offset-null"),
    pytest.param({"offset": True}, "offset: expected an integer, got a boolean", id="bool-is-no-integer"),
    pytest.param({"anchor_id": "10"}, "anchor_id: expected an integer or null, got a string", id="anchor"),
    pytest.param({"window_start": "20 Nov"}, "window_start: expected a date as YYYY-MM-DD", id="date"),
    pytest.param({"pending": {"x": 1}}, "pending: expected entry id -> createdAt in ns, got 'x'", id="pending-key"),
    pytest.param({"recent": {"1": 2}}, "recent: expected a list of [createdAt in ns, ids]", id="recent-v3"),
    pytest.param({"counted": {"ERROR": -1}}, "counted: expected an object of status -> count", id="counted"),
    pytest.param({"last_id": "missing"}, "last_id: missing", id="missing"),
])
def test_the_first_wrong_field_is_named(change, message):
    saved = {**REQUIRED, **change}
    if saved.get("last_id") == "missing":
        del saved["last_id"]
    with pytest.raises(CursorFormatError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        cursor_from_json(saved)


def test_a_cursor_that_is_not_an_object_says_what_it_is():
    with pytest.raises(CursorFormatError, match="expected an object, got list"):
        cursor_from_json([1, 2])
