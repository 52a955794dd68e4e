"""Turns and their edges, found by a review with reproductions: a turn that yields goes on where it
stopped (a busy trailing window is never read again and again), page size 1, the upgrade from a 0.1.0
state, the bound on remembered ids, an id-less row that Desk lists twice, readiness while the OTLP
endpoint accepts nothing, DESK_BOT_IDS bots that cannot be read for a moment, a rate-limited bot list."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.pipeline import page_reader
from otel_desk_receiver.pipeline.page_reader import PageReader, ReaderOptions
from otel_desk_receiver.pipeline.read_window import cursor_from
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.desk.models import parse_bot, parse_timestamp_ns
from otel_desk_receiver.desk.throttle import RetryPolicy
from tests.harness.receiver import drive, entry_ids, make_receiver, virtual_receiver

FROZEN_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NS = 10**9


@pytest.fixture
def emulator(make_desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return make_desk_emulator(frozen_at=FROZEN_AT)




def add_recent(emulator, bot_id, count, seconds_ago, spacing_s):
    return list(emulator.add_entries(bot_id, count, statuses=("RECEIVED",), spacing_s=spacing_s,
                                     start=emulator.clock.now() - timedelta(seconds=seconds_ago)))


def test_run_once_ends_when_bots_hold_more_than_a_turn_inside_their_trailing_window(emulator, otlp_sink,
                                                                                    state_path):
    bots = [emulator.add_bot(name=f"busy-{n}") for n in range(2)]
    for bot in bots:  # 1,000 entries in the last 100 s: ten pages of 100, all inside the 120 s window
        add_recent(emulator, bot["id"], 1000, seconds_ago=100, spacing_s=0.1)
    receiver = make_receiver(emulator, state_path, backfill_days=1, page_size=100)
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("result", receiver.run_once()), daemon=True)
    worker.start()
    worker.join(60)
    receiver.stop()
    worker.join(10)
    receiver.close()
    assert done["result"].delivered and done["result"].exported == 2000
    assert Counter(entry_ids(otlp_sink)).most_common(1)[0][1] == 1
    assert emulator.request_count("webhook_logs") <= 2 * 12  # each page once, not the window again and again


def test_a_page_size_of_one_reads_on(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="tiny")
    ids = add_recent(emulator, bot["id"], 5, seconds_ago=3600, spacing_s=60)
    receiver = make_receiver(emulator, state_path, backfill_days=1, page_size=1)
    try:
        assert receiver.run_once().exported == 5
    finally:
        receiver.close()
    assert entry_ids(otlp_sink) == ids


def test_the_upgrade_from_a_0_1_0_state_sends_nothing_again(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="upgraded")
    ids = add_recent(emulator, bot["id"], 5, seconds_ago=7200, spacing_s=60)
    receiver = make_receiver(emulator, state_path, backfill_days=1)
    try:
        receiver.run_once()
    finally:
        receiver.close()
    cursor = StateFile(state_path).load()[bot["id"]]
    as_0_1_0 = {"window_start": cursor.window_start, "offset": cursor.offset, "anchor_id": cursor.anchor_id,
                "last_id": cursor.last_id, "frontier": cursor.offset, "since_ns": cursor.since_ns,
                "newest_created_ns": cursor.newest_created_ns, "pending": {}}
    state_path.write_text(__import__("json").dumps({"version": 1, "bots": {str(bot["id"]): as_0_1_0}}))
    otlp_sink.clear()
    receiver = make_receiver(emulator, state_path, backfill_days=1)
    try:
        assert receiver.run_once().exported == 0
    finally:
        receiver.close()
    assert entry_ids(otlp_sink) == [] and len(ids) == 5


def reader_for(cursor, now_ns):
    bot = parse_bot({"id": 1, "name": "b", "type": "CUSTOM", "timeoutSeconds": 60})
    return PageReader(bot, cursor, ReaderOptions(app="app", settle_grace_s=60), now_ns)


def test_the_bound_on_remembered_ids_never_sends_one_again(monkeypatch):
    monkeypatch.setattr(page_reader, "MAX_RECENT_IDS", 3)
    same = "2026-11-20T12:00:00.000Z"  # five entries in one millisecond, inside the trailing window
    now = parse_timestamp_ns(same) + 10 * NS
    rows = [{"id": i, "status": "RECEIVED", "createdAt": same, "webhookUrl": "https://x/"} for i in range(1, 6)]
    cursor, emitted = cursor_from(now - 3600 * NS, now), []
    for cycle in range(3):
        start = cursor.offset - 1 if cursor.anchor_id is not None else cursor.offset
        outcome = reader_for(cursor, now + cycle * NS).process(start, rows[start:], cursor.anchor_id)
        emitted += [r.attributes[names.ATTR_WEBHOOK_LOG_ID] for r in outcome.records]
        cursor = outcome.cursor
    assert emitted == [1, 2, 3, 4, 5]


def test_an_id_less_row_desk_lists_twice_is_counted_once():
    created = "2026-11-20T10:00:00Z"
    now = parse_timestamp_ns(created) + 3600 * NS
    row = {"status": "RECEIVED", "createdAt": created, "webhookUrl": "https://x/"}
    malformed = {"status": "RECEIVED", "createdAt": created}  # no id
    reader = reader_for(cursor_from(now - 7200 * NS, now), now)
    first = reader.process(0, [{**row, "id": 1}, malformed, {**row, "id": 2}], None)
    again = reader.process(2, [malformed, {**row, "id": 2}, {**row, "id": 3}], 2)  # one row early, and repeated
    assert first.rejections + again.rejections == [(None, "missing_id")]




def test_readyz_stays_503_while_the_otlp_endpoint_accepts_nothing(emulator, otlp_sink, state_path):
    quiet = emulator.add_bot(name="quiet")
    busy = emulator.add_bot(name="busy")
    receiver = virtual_receiver(emulator, state_path, poll_interval=5, backfill_days=1)
    ready = []
    emulator.before_each_request(lambda *_: ready.append(receiver.health.ready()))
    try:
        otlp_sink.set_down(True)
        add_recent(emulator, busy["id"], 10, seconds_ago=600, spacing_s=1)
        drive(receiver, emulator, virtual_s=60)
        down = list(ready)
        otlp_sink.set_down(False)
        drive(receiver, emulator, virtual_s=20, until=lambda: len(otlp_sink.log_records()) >= 10)
        drive(receiver, emulator, virtual_s=1)
        ready_again = receiver.health.ready()
    finally:
        receiver.close()
    assert True not in down[3:]  # the quiet bot's turns do not make it look ready
    assert len(entry_ids(otlp_sink)) == 10 and quiet
    assert ready_again, receiver.health.snapshot()


def test_desk_bot_ids_a_refused_or_unreadable_bot_stops_nothing_and_is_not_dropped(emulator, otlp_sink,
                                                                                  state_path):
    a = emulator.add_bot(name="a")
    b = emulator.add_bot(name="b")
    receiver = virtual_receiver(emulator, state_path, poll_interval=5, bot_ids=[a["id"], b["id"]],
                       retry=RetryPolicy(max_attempts=1))
    try:
        drive(receiver, emulator, virtual_s=1)
        emulator.clock.advance(600)  # the ids are read again: one 403 on a, then a 503
        emulator.faults.fail_next(1, status=403, path_contains=f"/bots/{a['id']}$")
        drive(receiver, emulator, virtual_s=10)
        emulator.clock.advance(600)
        emulator.faults.fail_next(1, status=503, path_contains=f"/bots/{a['id']}$")
        drive(receiver, emulator, virtual_s=10)
        emulator.add_entry(a["id"], status="RECEIVED", created_at=emulator.clock.now())
        drive(receiver, emulator, virtual_s=20, until=lambda: len(otlp_sink.log_records()) >= 1)
    finally:
        receiver.close()
    assert [b.id for b in receiver.poller.bots] == [a["id"], b["id"]]
    assert len(entry_ids(otlp_sink)) == 1


def test_a_rate_limited_bot_list_does_not_hold_the_loop(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="live")
    receiver = virtual_receiver(emulator, state_path, poll_interval=1,
                       retry=RetryPolicy(max_attempts=6, base_s=0.001, cap_s=0.01))
    try:
        drive(receiver, emulator, virtual_s=1)
        emulator.clock.advance(600)
        emulator.faults.fail_next(3, status=429, retry_after=4, path_contains="/bots$")
        emulator.reset_requests()
        drive(receiver, emulator, virtual_s=14)
    finally:
        receiver.close()
    polls = sum(1 for r in emulator.requests if f"/bots/{bot['id']}/webhook_logs" in r.path)
    assert polls >= 10  # about one a second, not held by the listing's retries
