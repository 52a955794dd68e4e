"""Bots isolated from each other under one request budget: the receiver's own loop (Poller.run_until)
against the emulator, on the emulator's virtual clock (every wait advances it), so everything is
counted in requests and turns, never timed."""

import logging
from collections import Counter
from datetime import timedelta

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import DeskAuthError
from tests.harness import receiver as harness_receiver
from tests.harness.receiver import drive

INTERVAL_S = 30


@pytest.fixture
def emulator(desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return desk_emulator


def virtual_receiver(emulator, state_path, **settings):
    return harness_receiver.virtual_receiver(emulator, state_path, **{"poll_interval": INTERVAL_S, **settings})


def requested_bots(emulator) -> list[int]:
    return [int(r.path.split("/bots/")[1].split("/")[0]) for r in emulator.requests if "webhook_logs" in r.path]


def delivered(sink, bot_id) -> int:
    return sum(1 for r in sink.log_records() if r.attributes[names.ATTR_BOT_ID] == bot_id)


def test_a_backlog_never_holds_another_bots_live_entries_for_more_than_a_page(emulator, otlp_sink, state_path):
    backlog = emulator.add_bot(name="backlog")
    live = emulator.add_bot(name="live")
    emulator.add_entries(backlog["id"], 30_000, statuses=("RECEIVED",), start=emulator.clock.now() - timedelta(hours=5),
                         spacing_s=0.5)
    # One read at a time: the order of reads is then the scheduler's policy alone. With concurrent reads
    # (DESK_CONCURRENCY) the loop starts the live bot's turn and the backlog's next one together, and on a
    # loaded machine the backlog's worker asked for two pages before the live bot's asked for its one (1 run
    # in 6): a race between two worker threads, not the policy this proves.
    receiver = virtual_receiver(emulator, state_path, backfill_days=1, page_size=100, concurrency=1)
    pages_between = []

    def add_live_entries(path, _params):  # every 20th page: an entry on the live bot, one interval later
        if f"/bots/{backlog['id']}/" in path and len(requested_bots(emulator)) % 20 == 19:
            emulator.clock.advance(INTERVAL_S)
            emulator.add_entry(live["id"], status="RECEIVED", created_at=emulator.clock.now())
            pages_between.append(len(requested_bots(emulator)))
    emulator.before_each_request(add_live_entries)
    try:
        drive(receiver, emulator, until=lambda: delivered(otlp_sink, backlog["id"]) >= 30_000, virtual_s=10_000)
    finally:
        receiver.close()
    order = requested_bots(emulator)
    assert delivered(otlp_sink, backlog["id"]) == 30_000 and delivered(otlp_sink, live["id"]) == len(pages_between)
    for asked_at in pages_between:  # the live bot is read within two backlog pages of its entry (one read ahead)
        assert live["id"] in order[asked_at:asked_at + 3]
    assert len(set(r.attributes[names.ATTR_LOG_RECORD_UID] for r in otlp_sink.log_records())) == len(otlp_sink.log_records())


def test_a_bot_told_to_wait_an_hour_waits_alone(emulator, otlp_sink, state_path):
    limited = emulator.add_bot(name="limited")
    other = emulator.add_bot(name="other")
    emulator.faults.fail_next(1000, status=429, retry_after=3600, path_contains=f"/bots/{limited['id']}/webhook_logs")
    # Desk's hints honoured as given (up to the policy's 300 s cap), not shortened as in the other tests.
    receiver = virtual_receiver(emulator, state_path, retry=RetryPolicy(max_attempts=8, base_s=0.001, cap_s=0.01))
    try:
        drive(receiver, emulator, until=lambda: False, virtual_s=1)  # both bots start from now
        for _ in range(10):  # ten intervals, an entry on the other bot in each
            emulator.add_entry(other["id"], status="RECEIVED", created_at=emulator.clock.now())
            drive(receiver, emulator, until=lambda: False, virtual_s=INTERVAL_S)
        drive(receiver, emulator, until=lambda: delivered(otlp_sink, other["id"]) == 10, virtual_s=INTERVAL_S)
    finally:
        receiver.close()
    counts = Counter(requested_bots(emulator))
    assert delivered(otlp_sink, other["id"]) == 10
    assert counts[limited["id"]] <= 2 * 2  # asked at most twice in 300 s (one turn, two attempts each)


@pytest.mark.parametrize("status", [401, 403])
def test_one_bot_refusing_the_token_fails_that_bot_only(emulator, otlp_sink, state_path, status, caplog):
    forbidden = emulator.add_bot(name="forbidden")
    other = emulator.add_bot(name="other")
    emulator.faults.fail_next(1000, status=status, path_contains=f"/bots/{forbidden['id']}/webhook_logs")
    receiver = virtual_receiver(emulator, state_path)
    try:
        drive(receiver, emulator, until=lambda: False, virtual_s=1)  # both bots start from now
        for _ in range(5):
            emulator.add_entry(other["id"], status="RECEIVED", created_at=emulator.clock.now())
            drive(receiver, emulator, until=lambda: False, virtual_s=INTERVAL_S)
        drive(receiver, emulator, until=lambda: delivered(otlp_sink, other["id"]) == 5, virtual_s=INTERVAL_S)
        assert receiver.health.alive() and receiver.health.ready()
    finally:
        receiver.close()
    assert delivered(otlp_sink, other["id"]) == 5
    assert f"bot {forbidden['id']}" in caplog.text


def test_every_bot_refusing_the_token_is_fatal(emulator, state_path):
    bots = [emulator.add_bot(name=f"bot-{n}") for n in range(3)]
    for bot in bots:
        emulator.faults.fail_next(1000, status=403, path_contains=f"/bots/{bot['id']}/webhook_logs")
    receiver = virtual_receiver(emulator, state_path)
    try:
        with pytest.raises(DeskAuthError):
            drive(receiver, emulator, until=lambda: False, virtual_s=20 * INTERVAL_S)
    finally:
        receiver.close()


def test_probes_stay_true_through_a_long_backfill_and_with_one_failing_bot(emulator, otlp_sink, state_path):
    backlog = emulator.add_bot(name="backlog")
    broken = emulator.add_bot(name="broken")
    healthy = [emulator.add_bot(name=f"healthy-{n}") for n in range(20)]
    emulator.add_entries(backlog["id"], 20_000, statuses=("RECEIVED",), start=emulator.clock.now() - timedelta(hours=5),
                         spacing_s=0.5)
    emulator.faults.fail_next(10_000, status=500, path_contains=f"/bots/{broken['id']}/webhook_logs")
    receiver = virtual_receiver(emulator, state_path, backfill_days=1, page_size=100)
    samples = []

    def sample(path, _params):  # each request takes a second; the probes are asked before each
        emulator.clock.advance(1.0)
        samples.append((receiver.health.alive(), receiver.health.ready()))
    emulator.before_each_request(sample)
    started = emulator.clock.now()
    try:
        drive(receiver, emulator, until=lambda: delivered(otlp_sink, backlog["id"]) >= 20_000, virtual_s=5_000)
    finally:
        receiver.close()
    assert delivered(otlp_sink, backlog["id"]) == 20_000
    assert (emulator.clock.now() - started).total_seconds() > 361  # past where /healthz used to fail
    assert all(alive for alive, _ in samples)
    first_ready = next(i for i, (_, ready) in enumerate(samples) if ready)
    assert first_ready <= len(healthy) + 3  # ready after the first delivered turns, not after the whole backfill
    assert all(ready for _, ready in samples[first_ready:])  # and it does not flap


def test_liveness_fails_when_the_loop_is_truly_stuck(emulator, state_path):
    emulator.add_bot(name="any")
    receiver = virtual_receiver(emulator, state_path)
    try:
        drive(receiver, emulator, until=lambda: False, virtual_s=INTERVAL_S)
        assert receiver.health.alive()
        emulator.clock.advance(3 * INTERVAL_S + 121)  # nothing ran meanwhile: no request, no turn, no wait
        assert not receiver.health.alive()
    finally:
        receiver.close()


def test_the_budget_is_said_when_it_cannot_meet_the_interval(emulator, otlp_sink, state_path, caplog):
    caplog.set_level(logging.INFO)
    for n in range(120):
        emulator.add_bot(name=f"bot-{n}")
    receiver = virtual_receiver(emulator, state_path, max_rps=2)
    try:
        drive(receiver, emulator, until=lambda: len(requested_bots(emulator)) >= 120, virtual_s=10 * INTERVAL_S)
    finally:
        receiver.close()
    assert "120 bot(s) at DESK_MAX_RPS=2: one sweep takes at least 60.0 s against DESK_POLL_INTERVAL=30 s" in caplog.text
    assert "cannot meet the interval" in caplog.text
    assert [p.value for p in otlp_sink.metric_points(names.SWEEP_DURATION.name)][-1:] == [60.0]


def test_every_idle_bot_is_polled_within_a_bounded_number_of_intervals(emulator, state_path):
    bots = [emulator.add_bot(name=f"bot-{n}") for n in range(100)]
    receiver = virtual_receiver(emulator, state_path, max_rps=2)  # 50 s a sweep against 30 s
    try:
        drive(receiver, emulator, until=lambda: False, virtual_s=20 * INTERVAL_S)
    finally:
        receiver.close()
    counts = Counter(requested_bots(emulator))
    assert set(counts) == {bot["id"] for bot in bots}
    assert min(counts.values()) >= 20 // 4 - 1  # every bot at least once per IDLE_MAX_INTERVALS intervals


def test_a_bot_list_that_cannot_be_read_is_asked_for_once_an_interval(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="known")
    receiver = virtual_receiver(emulator, state_path, retry=RetryPolicy(max_attempts=1))
    try:
        drive(receiver, emulator, until=lambda: False, virtual_s=1)  # listed once, bot known
        emulator.clock.advance(600)  # the list is due again, and Desk now fails it
        emulator.faults.fail_next(1000, status=503, path_contains="/bots$")
        emulator.reset_requests()
        drive(receiver, emulator, until=lambda: False, virtual_s=10 * INTERVAL_S)
    finally:
        receiver.close()
    listings = sum(1 for r in emulator.requests if r.path.endswith("/bots"))
    assert 5 <= listings <= 11  # about one an interval, not one a turn
    assert Counter(requested_bots(emulator))[bot["id"]] >= 5  # the last list is still polled


def test_one_bots_long_backlog_keeps_the_loops_own_schedule(emulator, otlp_sink, state_path):
    """One bot alone, hours behind, each page a second: its turn ends every poll interval (nobody else is due
    to end it), so sweeps keep being recorded (DeskReceiverDown watches them) and the bot list, with its
    unread-error flags, is still re-read every 10 minutes."""
    backlog = emulator.add_bot(name="backlog")
    emulator.add_entries(backlog["id"], 6_000, statuses=("RECEIVED",), start=emulator.clock.now() - timedelta(hours=5),
                         spacing_s=3)
    receiver = virtual_receiver(emulator, state_path, backfill_days=1, page_size=5)
    listed_at = []

    def one_second_a_page(path, _params):
        emulator.clock.advance(1.0)
        if path.endswith("/bots"):
            listed_at.append(emulator.clock.now())
    emulator.before_each_request(one_second_a_page)
    started = emulator.clock.now()
    try:
        drive(receiver, emulator, until=lambda: delivered(otlp_sink, backlog["id"]) >= 6_000, virtual_s=5_000)
    finally:
        receiver.close()
    took_s = (emulator.clock.now() - started).total_seconds()
    assert delivered(otlp_sink, backlog["id"]) == 6_000 and took_s > 1_200  # 1,200 pages: a 20-minute turn before
    sweeps = max(p.count for p in otlp_sink.metric_points(names.POLL_DURATION.name))
    assert sweeps >= took_s / INTERVAL_S - 2
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(listed_at, listed_at[1:])]
    assert len(listed_at) >= 2 and max(gaps) <= 600 + INTERVAL_S + 5, listed_at


def test_a_receiver_with_no_bot_to_read_is_ready_and_says_why_nothing_flows(emulator, state_path):
    emulator.add_bot(name="faq", type="FAQ")
    receiver = virtual_receiver(emulator, state_path)
    try:  # five intervals: longer than a success stays fresh (three), shorter than the bot list's (600 s)
        drive(receiver, emulator, virtual_s=INTERVAL_S * 5)
        ready, snapshot, page = receiver.health.ready(), receiver.health.snapshot(), receiver.health.status(())
    finally:
        receiver.close()
    assert ready and snapshot["note"] == "no bot to watch" and page["note"] == "no bot to watch", snapshot


def test_a_receiver_whose_bot_ids_are_all_unreadable_is_not_ready_and_says_why(emulator, state_path):
    emulator.add_bot(name="support")
    receiver = virtual_receiver(emulator, state_path, bot_ids="990001")
    try:
        drive(receiver, emulator, virtual_s=INTERVAL_S * 2)
        ready, snapshot = receiver.health.ready(), receiver.health.snapshot()
    finally:
        receiver.close()
    assert not ready and snapshot["reason"] == "no successful read yet", snapshot
    assert snapshot["bots"]["990001"]["last_error"] and "note" not in snapshot
