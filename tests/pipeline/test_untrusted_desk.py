"""What a Desk answer the receiver cannot trust may not do to it: a page nested too deep to decode stops
that bot's read for the cycle (retried, logged, counted) and no other; an entry dated years ahead does not
hold the trailing window open; a clock ahead of Desk's does not settle SENT entries early."""

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.app import Receiver
from tests.harness.receiver import FAST_RETRY, emulator_clock_ns, entry_ids, make_receiver, settings_for

FROZEN_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NS = 10**9
DEEP_JSON = "[" * 200_000  # deeper than any JSON decoder's recursion limit


@pytest.fixture
def emulator(make_desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return make_desk_emulator(frozen_at=FROZEN_AT)




def test_a_page_nested_too_deep_is_that_bots_unusable_answer_and_the_others_go_on(emulator, otlp_sink, state_path,
                                                                                  caplog):
    deep, fine = emulator.add_bot(name="deep"), emulator.add_bot(name="fine")
    for bot in (deep, fine):
        emulator.add_entry(bot["id"], status="RECEIVED", created_at=FROZEN_AT.replace(hour=10))
    emulator.faults.malformed_next(100, path_contains=f"/bots/{deep['id']}/webhook_logs", body=DEEP_JSON)
    receiver = make_receiver(emulator, state_path, backfill_days=1)
    try:
        result = receiver.run_once()
    finally:
        receiver.close()
    assert not result.delivered and result.bots_failed == 1
    deep_reads = emulator.request_count(f"/bots/{deep['id']}/webhook_logs")
    assert deep_reads == 8  # every attempt of FAST_RETRY, then the next bot
    assert entry_ids(otlp_sink) == [emulator.entries(fine["id"])[0]["id"]]
    failures = {frozenset(dict(key).items()): value
                for key, value in otlp_sink.counter_totals(names.READ_FAILURES.name).items() if value}
    assert failures == {frozenset({names.ATTR_APP_ID: urlsplit(emulator.url).netloc, names.ATTR_BOT_ID: deep["id"],
                                   names.ATTR_ERROR_TYPE: names.READ_ERROR_BAD_RESPONSE}.items()): 1}
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(f"bot {deep['id']}" in line and "not valid JSON" in line for line in said), said


@pytest.mark.parametrize("status, first_quiet_cycle", [
    pytest.param("RECEIVED", 0, id="settled"),
    # Pending: re-read until it settles by age, one window (timeout 60 s + grace 60 s) after it was first seen.
    pytest.param("SENT", 5, id="pending"),
])
def test_an_entry_dated_years_ahead_does_not_hold_the_trailing_window_open(emulator, otlp_sink, state_path, status,
                                                                           first_quiet_cycle):
    bot = emulator.add_bot(name="skewed")
    # Stored by Desk two hours ago, its createdAt reading ten years ahead; then five pages of history, all
    # older than the trailing window.
    ahead = emulator.add_entry(bot["id"], status=status, extra={"createdAt": "2036-11-20T12:00:00Z"},
                               created_at=FROZEN_AT - timedelta(hours=2))
    history = emulator.add_entries(bot["id"], 500, start=FROZEN_AT - timedelta(hours=1), spacing_s=5)
    receiver = make_receiver(emulator, state_path, backfill_days=1, page_size=100)
    requests, exported = [], []
    try:
        receiver.run_once()
        for _ in range(10):
            emulator.clock.advance(30)
            emulator.reset_requests()
            exported.append(receiver.run_once().exported)
            requests.append(emulator.request_count("/webhook_logs"))
        late = emulator.add_entry(bot["id"], status="RECEIVED", created_at=emulator.clock.now())
        emulator.clock.advance(2)
        assert receiver.run_once().exported == 1
        newest_ns = receiver.cursors.get(bot["id"]).newest_created_ns
    finally:
        receiver.close()
    assert newest_ns == emulator_clock_ns(emulator)() - 2 * NS  # the lag gauge follows the late entry, not 2036
    # One page from the cursor a cycle, not the listing from the entry ahead again and again.
    assert requests[first_quiet_cycle:] == [1] * (10 - first_quiet_cycle)
    assert sum(exported) == (status == "SENT")
    assert sorted(entry_ids(otlp_sink)) == [ahead["id"], *history, late["id"]]
    [record] = [r for r in otlp_sink.log_records() if r.attributes[names.ATTR_WEBHOOK_LOG_ID] == ahead["id"]]
    assert record.attributes[names.ATTR_SETTLED_BY] == ("age" if status == "SENT" else "status")


def receiver_ahead_of_desk(emulator, state_path, ahead_s: float, **settings) -> Receiver:
    """A receiver whose clock reads ``ahead_s`` ahead of Desk's (the emulator's virtual clock)."""
    desk_ns = emulator_clock_ns(emulator)
    return Receiver(settings_for(emulator, state_path, **settings), clock_ns=lambda: desk_ns() + int(ahead_s * NS),
                    retry=FAST_RETRY)


@pytest.mark.parametrize("ahead_s", [
    pytest.param(600, id="10-minutes-ahead"),
    pytest.param(-600, id="10-minutes-behind"),
])
def test_a_clock_off_desks_settles_sent_entries_by_desks_clock_and_says_so(emulator, otlp_sink, state_path, caplog,
                                                                           ahead_s):
    bot = emulator.add_bot(name="answering", timeout_seconds=60)
    sent = emulator.add_entry(bot["id"], status="SENT", created_at=FROZEN_AT - timedelta(seconds=30))
    receiver = receiver_ahead_of_desk(emulator, state_path, ahead_s, backfill_days=1, settle_grace=60)
    try:
        young = receiver.run_once()
        emulator.clock.advance(30)
        emulator.set_status(bot["id"], sent["id"], "ERROR")  # 60 s after it was sent: Desk's timeout
        emulator.clock.advance(5)
        answered = receiver.run_once()
        [gauges] = receiver.poller.gauges()
        emulator.clock.advance(120)
        quiet = receiver.run_once()
    finally:
        receiver.close()
    assert (young.exported, answered.exported, quiet.exported) == (0, 1, 0)
    assert gauges.lag_s == pytest.approx(65, abs=1.5)  # the entry is 65 s old by Desk's clock, whatever ours says
    [record] = otlp_sink.log_records()
    assert record.attributes[names.ATTR_WEBHOOK_LOG_STATUS] == "ERROR"
    assert record.attributes[names.ATTR_SETTLED_BY] == "status"
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and "DESK_SETTLE_GRACE" in r.getMessage()]
    assert len(warnings) == 1, warnings  # said once, not per answer
    # Date has whole seconds: it proves the clock 599 to 600 s ahead, exactly 600 s behind.
    side = "ahead of" if ahead_s > 0 else "behind"
    assert re.search(f"(599|600) s {side} Desk's", warnings[0]), warnings[0]


def test_a_clock_within_the_grace_of_desks_is_not_warned_about(emulator, otlp_sink, state_path, caplog):
    emulator.add_bot(name="quiet")
    receiver = receiver_ahead_of_desk(emulator, state_path, 50, backfill_days=1, settle_grace=60)
    try:
        receiver.run_once()
    finally:
        receiver.close()
    assert not [r for r in caplog.records if "DESK_SETTLE_GRACE" in r.getMessage()]
