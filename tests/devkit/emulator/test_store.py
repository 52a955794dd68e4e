"""BotLog: entries kept in (createdAt, id) order, statuses computed from each entry's timeline, pages selected
without scanning; StatusTable: any status a test sets gets a code."""

import pytest

from otel_desk_receiver.devkit.emulator.store import (
    ALWAYS, ERROR, INITIALIZED, RECEIVED, SENT, BotLog, ListSelection, RangeSelection, StatusTable)


def log_of(*rows) -> BotLog:
    """rows: (id, created_us) with a fixed RECEIVED status."""
    log = BotLog()
    for entry_id, created in rows:
        log.append(entry_id, created, ALWAYS, ALWAYS, RECEIVED)
    return log


def test_an_unknown_status_gets_the_next_code_and_keeps_it():
    table = StatusTable()
    assert table.code("ERROR") == ERROR and table.known("QUEUED") is None
    assert table.code("QUEUED") == 5 == table.code("QUEUED") and table.names[5] == "QUEUED"


def test_an_entry_is_initialized_then_sent_then_final_as_the_clock_passes_its_timeline():
    log = BotLog()
    log.append(1, created_us=0, sent_us=10, final_us=20, code=ERROR)
    assert [log.status_code(0, now) for now in (5, 10, 19, 20)] == [INITIALIZED, SENT, SENT, ERROR]
    log.fix_status(0, RECEIVED)
    assert log.status_code(0, 5) == RECEIVED


def test_an_older_entry_is_inserted_in_created_order_and_ids_out_of_order_are_noticed():
    log = log_of((1, 100), (3, 300))
    assert log.append(2, 200, ALWAYS, ALWAYS, RECEIVED) == 1 and log.ids_sorted
    log.append(9, 150, ALWAYS, ALWAYS, RECEIVED)  # a late-committed id, created earlier
    assert list(log.ids) == [1, 9, 2, 3] and not log.ids_sorted
    assert log.index_of(2) == 2
    with pytest.raises(KeyError):
        log.index_of(7)


def test_extend_merges_an_older_block():
    log = log_of((5, 500))
    log.extend([1, 2], [100, 600], [ALWAYS] * 2, [ALWAYS] * 2, [SENT, SENT])
    assert list(log.ids) == [1, 5, 2] and list(log.created) == [100, 500, 600] and not log.ids_sorted


def test_remove_drops_the_entry_and_its_overrides():
    log = log_of((1, 100), (2, 200))
    log.overrides[1] = {"webhookUrl": "x"}
    log.remove(log.index_of(1))
    assert list(log.ids) == [2] and log.overrides == {}


def test_an_unfiltered_window_is_a_range_paged_both_ways():
    log = log_of(*((i, i * 100) for i in range(1, 11)))
    selection = log.select(200, 800, now_us=10_000, codes=None, order="created_at")  # ids 2..7
    assert isinstance(selection, RangeSelection) and selection.count == 6
    assert [log.ids[i] for i in selection.page(4, 5)] == [6, 7]
    newest_first = log.select(200, 800, 10_000, None, "-created_at")
    assert [log.ids[i] for i in newest_first.page(0, 2)] == [7, 6]
    assert list(newest_first.page(6, 2)) == []


def test_a_status_filter_or_id_order_over_unsorted_ids_is_a_list():
    log = BotLog()
    for entry_id, created, code in ((1, 100, SENT), (9, 150, ERROR), (2, 200, ERROR)):
        log.append(entry_id, created, ALWAYS, ALWAYS, code)
    errors = log.select(0, 1_000, 10_000, {ERROR}, "-created_at")
    assert isinstance(errors, ListSelection) and [log.ids[i] for i in errors.page(0, 5)] == [2, 9]
    by_id = log.select(0, 1_000, 10_000, None, "id")
    assert [log.ids[i] for i in by_id.page(0, 5)] == [1, 2, 9]
