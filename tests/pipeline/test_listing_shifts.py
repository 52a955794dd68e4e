"""The read cursor when the listing moves under it, against the emulator changing it at exact points of a
read: entries leaving retention or deleted mid-read, ids committed late, rows repeated across pages,
pages capped below the asked size, bots appearing while the receiver runs. Nothing is lost or sent twice."""

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from otel_desk_receiver import names
from tests.harness.receiver import entry_ids, entry_records, make_receiver, uids

FROZEN_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator(make_desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return make_desk_emulator(frozen_at=FROZEN_AT)


def add(emulator, bot_id, count, days_ago: float, spacing_s=60):
    return list(emulator.add_entries(bot_id, count, statuses=("RECEIVED", "ERROR"),
                                     start=emulator.clock.now() - timedelta(days=days_ago), spacing_s=spacing_s))




def on_page(emulator, page_number: int, action):
    """Run ``action`` once, just before the emulator answers its ``page_number``-th webhook_logs request."""
    seen = []

    def hook(path, _params):
        if "webhook_logs" in path:
            seen.append(path)
            if len(seen) == page_number:
                action()
    emulator.before_each_request(hook)


def run_cycles(receiver, cycles=1):
    try:
        return [receiver.run_once() for _ in range(cycles)]
    finally:
        receiver.close()


def test_a_30_day_backfill_stays_inside_retention_while_entries_leave_it_during_the_read(emulator, otlp_sink,
                                                                                         state_path, caplog):
    bot = emulator.add_bot(name="old-history")
    # 3,000 entries from 29.9 to 25.9 days back; the read starts 28 days back (two days inside retention).
    ids = add(emulator, bot["id"], 3000, days_ago=29.9, spacing_s=115.2)
    start = emulator.clock.now() - timedelta(days=28)
    wanted = [e["id"] for e in emulator.entries(bot["id"]) if datetime.fromisoformat(e["createdAt"]) >= start]

    def prune():  # ten minutes pass between pages: the oldest entries leave Desk during the read
        emulator.clock.advance(600)
    emulator.before_each_request(lambda path, _p: prune() if "webhook_logs" in path else None)
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=30, page_size=100))
    assert result.delivered
    assert sorted(entry_ids(otlp_sink)) == sorted(wanted) and len(wanted) > 1000
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink)))
    assert set(ids) >= set(wanted)
    assert "28 days" in caplog.text  # says that the oldest days are not read


def test_deletions_before_the_cursor_mid_read_lose_nothing_after_it(emulator, otlp_sink, state_path, caplog):
    bot = emulator.add_bot(name="pruned")
    ids = add(emulator, bot["id"], 1000, days_ago=0.9, spacing_s=30)
    deleted = ids[10:93]  # rows already read when the third page is asked for
    on_page(emulator, 3, lambda: emulator.delete_entries(bot["id"], deleted))
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=1, page_size=100))
    assert result.delivered
    assert Counter(entry_ids(otlp_sink)) == Counter(ids)  # every entry once, the deleted ones before deletion
    assert "shifted under the cursor" in caplog.text


def test_an_id_committed_after_a_higher_one_was_read_is_emitted_once(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="late", timeout_seconds=60)
    emulator.add_entries(bot["id"], 5, statuses=("RECEIVED",), start=emulator.clock.now() - timedelta(minutes=10))
    late_ids = [emulator.reserve_entry_id() for _ in range(5)]  # taken now, committed later
    seen_first = emulator.add_entries(bot["id"], 5, statuses=("RECEIVED",), start=emulator.clock.now(),
                                      spacing_s=1)
    pending = emulator.add_entry(bot["id"], status="SENT", created_at=emulator.clock.now())  # held open
    emulator.clock.advance(10)
    receiver = make_receiver(emulator, state_path, backfill_days=1)
    try:
        assert receiver.run_once().exported == 10
        for entry_id in late_ids:
            emulator.add_entry(bot["id"], status="ERROR", created_at=emulator.clock.now() - timedelta(seconds=8),
                               entry_id=entry_id)
        emulator.set_status(bot["id"], pending["id"], "RECEIVED")
        emulator.clock.advance(5)
        assert receiver.run_once().exported == 6
        emulator.clock.advance(600)  # past the trailing window: read again, emitted never twice
        assert receiver.run_once().exported == 0
    finally:
        receiver.close()
    assert sorted(entry_ids(otlp_sink)) == sorted([*range(1, 6), *late_ids, *seen_first, pending["id"]])


def test_rows_repeated_across_pages_are_exported_once(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="racy")
    ids = add(emulator, bot["id"], 1000, days_ago=0.9, spacing_s=30)
    emulator.faults.repeat_next(5, rows=4)  # five pages start four rows early
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=1, page_size=100))
    assert result.delivered and result.exported == 1000
    assert Counter(entry_ids(otlp_sink)) == Counter(ids)


def test_a_desk_that_caps_the_page_size_is_read_to_the_end(make_desk_emulator, otlp_sink, otlp_env, state_path,
                                                           caplog):
    caplog.set_level(logging.INFO)
    otlp_env(otlp_sink, "http/protobuf")
    emulator = make_desk_emulator(frozen_at=FROZEN_AT, max_page_rows=100)
    bot = emulator.add_bot(name="capped")
    ids = add(emulator, bot["id"], 3000, days_ago=0.9, spacing_s=20)
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=1, page_size=500))
    assert result.delivered and result.exported == 3000
    assert sorted(entry_ids(otlp_sink)) == ids
    assert caplog.text.count("caps the page size") == 1


def test_a_bot_that_appears_while_running_is_read_from_the_listing_before(emulator, otlp_sink, state_path):
    first = emulator.add_bot(name="first")
    receiver = make_receiver(emulator, state_path, monotonic=lambda: emulator.clock.now().timestamp())
    try:
        receiver.run_once()
        emulator.clock.advance(60)
        newcomer = emulator.add_bot(name="newcomer")
        emulator.clock.advance(300)
        early = add(emulator, newcomer["id"], 40, days_ago=0.0025, spacing_s=5)  # logged before it is found
        emulator.clock.advance(300)  # the next re-listing, 10 minutes after the first, finds it
        receiver.run_once()
        add(emulator, first["id"], 3, days_ago=0.0005, spacing_s=1)
        emulator.clock.advance(5)
        receiver.run_once()
    finally:
        receiver.close()
    got = Counter(r.attributes[names.ATTR_BOT_ID] for r in entry_records(otlp_sink))
    assert got == {newcomer["id"]: len(early), first["id"]: 3}
    # the re-listing that found it also says so, once (the bot inventory)
    assert [(r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_BOT_CHANGE]) for r in otlp_sink.log_records()
            if r.event_name == names.BOT_CHANGE_EVENT_NAME] == [(newcomer["id"], names.BOT_ADDED)]


def test_window_moves_forward_as_days_pass_without_resending(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="steady")
    add(emulator, bot["id"], 100, days_ago=2)
    receiver = make_receiver(emulator, state_path, backfill_days=3, page_size=100)
    try:
        assert receiver.run_once().exported == 100
        first_window = receiver.cursors.get(bot["id"]).window_start
        for day in range(10):
            emulator.clock.advance(86_400)
            add(emulator, bot["id"], 20, days_ago=0.5)
            assert receiver.run_once().exported == 20, f"day {day}"
        last_window = receiver.cursors.get(bot["id"]).window_start
    finally:
        receiver.close()
    assert last_window > first_window  # rebased at least once: offsets restart in a fresh window
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == 300
