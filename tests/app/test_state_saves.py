"""How often the receiver's own loop writes the state, counted on the emulator's virtual clock (every wait
advances it, so figures are writes per sweep, never timings): a quiet sweep over many bots writes nothing,
a sweep in which every bot delivers writes once, and what was delivered is saved at a stop."""

from datetime import timedelta

import pytest

from otel_desk_receiver.state.file_backend import StateFile
from tests.harness import receiver as harness_receiver
from tests.harness.receiver import drive, make_receiver

INTERVAL_S = 30
BOTS = 40


@pytest.fixture
def emulator(desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return desk_emulator


def virtual_receiver(emulator, state_path, **settings):
    return harness_receiver.virtual_receiver(emulator, state_path, poll_interval=INTERVAL_S, **settings)


def count_documents(receiver) -> list[int]:
    """Documents written to the state (an injected counter around the backend's commit)."""
    written = [0]
    backend = receiver.cursors_backend
    commit = backend.commit

    def counting(cursors):
        commit(cursors)
        written[0] += 1
    backend.commit = counting
    return written


def test_quiet_sweeps_over_many_bots_write_nothing(emulator, otlp_sink, state_path):
    bots = [emulator.add_bot(name=f"quiet-{n}") for n in range(BOTS)]
    for bot in bots:  # delivered in the first sweep, then inside the trailing window for a few sweeps more
        emulator.add_entries(bot["id"], 2, statuses=("RECEIVED",), spacing_s=1,
                             start=emulator.clock.now() - timedelta(seconds=30))
    receiver = virtual_receiver(emulator, state_path, backfill_days=1)
    written = count_documents(receiver)
    try:
        drive(receiver, emulator, INTERVAL_S * 0.9)  # the first sweep: every bot delivers
        first = written[0]
        drive(receiver, emulator, INTERVAL_S * 8)  # eight quiet sweeps
    finally:
        receiver.close()
    assert len(otlp_sink.log_records()) == 2 * BOTS
    assert first <= 2  # one write for the sweep (today: one per bot)
    assert written[0] == first  # quiet sweeps: the trailing window moving on is no reason to write


def test_a_sweep_in_which_every_bot_delivers_is_one_write(emulator, otlp_sink, state_path):
    bots = [emulator.add_bot(name=f"busy-{n}") for n in range(BOTS)]
    receiver = virtual_receiver(emulator, state_path)
    written = count_documents(receiver)
    sweeps = 6
    added = []

    def one_entry_per_bot_each_interval():
        if len(added) < sweeps and emulator.clock.now().timestamp() >= len(added) * INTERVAL_S + start_s:
            for bot in bots:
                emulator.add_entry(bot["id"], status="RECEIVED", created_at=emulator.clock.now())
            added.append(1)
    start_s = emulator.clock.now().timestamp() + 1
    try:
        drive(receiver, emulator, INTERVAL_S * (sweeps + 2), each_wait=one_entry_per_bot_each_interval)
    finally:
        receiver.close()
    assert len(otlp_sink.log_records()) == BOTS * sweeps
    assert written[0] <= sweeps + 3  # a write per sweep (and the first sweep's), not one per bot per sweep
    saved = StateFile(state_path).load()
    assert sum(c.counted.get("RECEIVED", 0) for c in saved.values()) == BOTS * sweeps  # all saved at the stop


def test_every_bot_is_polled_once_an_interval_while_time_passes_between_the_loop_s_readings(emulator, state_path):
    """Issue 25: 1,000 bots at 30 s got far fewer than 2,000 requests a minute. When a bot fell due between
    the loop's look for a due bot and its reading of how long to wait (time passes between them in a real
    process), the wait was read as 0 and taken for "none due": the loop slept a whole interval."""
    bots = [emulator.add_bot(name=f"idle-{n}") for n in range(BOTS)]

    def ticking_monotonic():  # every reading takes a little time, as in a real process
        emulator.clock.advance(0.005)
        return emulator.clock.now().timestamp()
    receiver = make_receiver(emulator, state_path, monotonic=ticking_monotonic,
                             sleep=lambda s: emulator.clock.advance(s), poll_interval=INTERVAL_S)
    try:
        drive(receiver, emulator, INTERVAL_S * 2)  # every bot found and read once
        before = emulator.request_count("webhook_logs")
        drive(receiver, emulator, INTERVAL_S * 10)
        polls = emulator.request_count("webhook_logs") - before
    finally:
        receiver.close()
    assert polls >= len(bots) * 10 * 0.9, polls  # the floor: each bot once an interval
