"""pipeline/page_reader.py: which rows of a page are new, settled, pending or done, and the cursor that follows."""

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import BAD_CREATED_AT
from otel_desk_receiver.pipeline.page_reader import OffsetsShiftedError, PageReader, ReaderOptions
from otel_desk_receiver.pipeline.read_window import cursor_from
from tests.pipeline.fakes import NOW_NS, bot, ids_of, row

BOT = bot(7, timeout_s=10.0)  # with the 60 s grace: a 70 s trailing window
OPTIONS = ReaderOptions(app="app", settle_grace_s=60)
DAY_NS = 86_400 * 10**9


def reader(cursor=None, now_ns: int = NOW_NS) -> PageReader:
    return PageReader(BOT, cursor or cursor_from(NOW_NS - DAY_NS, NOW_NS), OPTIONS, now_ns)


def test_settled_rows_become_records_and_the_cursor_moves_past_them():
    outcome = reader().process(0, [row(1), row(2, status="ERROR"), row(3, status="TIMEOUT")], None)
    assert ids_of(outcome.records) == [1, 2, 3]
    assert outcome.statuses == {"RECEIVED": 1, "ERROR": 1, "TIMEOUT": 1} and outcome.read == outcome.settled == 3
    assert (outcome.cursor.offset, outcome.cursor.anchor_id, outcome.cursor.last_id) == (3, 3, 3)
    assert outcome.records[0].attributes[names.ATTR_LOG_RECORD_UID].startswith("app:")


def test_a_young_sent_row_is_pending_and_the_cursor_holds_before_it():
    outcome = reader().process(0, [row(1), row(2), row(3, status="SENT", age_s=5), row(4)], None)
    assert ids_of(outcome.records) == [1, 2, 4]
    assert outcome.cursor.pending.keys() == {3}
    assert (outcome.cursor.offset, outcome.cursor.anchor_id) == (2, 2)  # re-read from it, anchored on row 2
    assert outcome.cursor.last_id == 4


def test_a_pending_row_is_emitted_once_when_it_settles_and_the_rest_not_again():
    first = reader().process(0, [row(1), row(2, status="SENT", age_s=5), row(3)], None)
    cursor = first.cursor
    again = reader(cursor).process(cursor.offset - 1, [row(1), row(2, status="RECEIVED", age_s=5), row(3)],
                                   cursor.anchor_id)
    assert ids_of(again.records) == [2] and again.cursor.pending == {}


def test_an_old_sent_row_settles_by_age():
    outcome = reader().process(0, [row(1, status="SENT", age_s=3600)], None)
    assert ids_of(outcome.records) == [1]
    assert outcome.records[0].attributes[names.ATTR_SETTLED_BY] == "age"


def test_a_page_without_the_row_read_last_means_the_offsets_shifted():
    with pytest.raises(OffsetsShiftedError):
        reader().process(5, [row(7), row(8)], anchor_id=6)


def test_a_row_listed_twice_in_one_cycle_is_emitted_once():
    pages = reader()
    first = pages.process(0, [row(1), row(2)], None)
    second = pages.process(1, [row(2), row(2), row(3)], 2)
    assert ids_of(first.records) + ids_of(second.records) == [1, 2, 3]


def test_a_malformed_row_is_a_rejection_once_and_not_again_from_the_committed_cursor():
    malformed = {"id": 2, "status": "RECEIVED", "createdAt": "yesterday"}
    first = reader().process(0, [row(1), malformed, row(3)], None)
    assert ids_of(first.records) == [1, 3] and first.rejections == [(2, BAD_CREATED_AT)]
    cursor = first.cursor
    again = reader(cursor).process(0, [row(1), malformed, row(3)], None)
    assert again.rejections == [] and again.records == []


def test_a_late_row_inside_the_trailing_window_is_emitted_an_old_one_below_last_id_is_not():
    first = reader().process(0, [row(1), row(10)], None)
    cursor = first.cursor
    # Desk commits ids late: 5 appears below 10 (created 20 s ago, inside the 70 s window); 3 appears too,
    # created an hour ago: below last_id and before the window, taken for one read before.
    late = reader(cursor).process(0, [row(1), row(3), row(5, age_s=20), row(10)], None)
    assert ids_of(late.records) == [5]


def test_recent_rows_keep_the_cursor_inside_the_trailing_window_and_are_remembered():
    outcome = reader().process(0, [row(1), row(2, age_s=30), row(3, age_s=20)], None)
    assert ids_of(outcome.records) == [1, 2, 3]
    assert outcome.cursor.offset == 1 and outcome.cursor.recent.keys() == {2, 3}
    again = reader(outcome.cursor).process(0, [row(1), row(2, age_s=30), row(3, age_s=20)], None)
    assert again.records == []  # remembered in recent: never sent twice


def test_a_row_dated_far_ahead_is_remembered_but_does_not_hold_the_cursor():
    ahead = row(2, age_s=-365 * 86_400)  # a year ahead of the clock
    outcome = reader().process(0, [row(1), ahead, row(3)], None)
    assert ids_of(outcome.records) == [1, 2, 3]
    assert outcome.cursor.offset == 3 and 2 in outcome.cursor.recent
