"""BotCursor's counts: added into a new dict, never in place (cursors are replaced, and the saved document reuses
an unchanged cursor's bytes by identity)."""

from otel_desk_receiver.pipeline.cursor import BotCursor, add_counts


def test_add_counts_sums_per_status_into_a_new_dict():
    counts = {"SENT": 2, "ERROR": 1}
    total = add_counts(counts, {"ERROR": 3, "TIMEOUT": 1})
    assert total == {"SENT": 2, "ERROR": 4, "TIMEOUT": 1}
    assert counts == {"SENT": 2, "ERROR": 1} and total is not counts


def test_a_new_cursor_has_nothing_pending_remembered_or_counted():
    cursor = BotCursor(window_start="2026-11-20", offset=0, anchor_id=None, last_id=0, since_ns=5)
    assert (cursor.pending, cursor.recent, cursor.counted, cursor.acked) == ({}, {}, {}, {})
    other = BotCursor(window_start="2026-11-20", offset=0, anchor_id=None, last_id=0, since_ns=5)
    assert cursor.pending is not other.pending  # never shared between cursors
