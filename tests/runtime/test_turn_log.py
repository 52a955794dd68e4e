"""What the poll loop says at INFO, counted over scenarios on the emulator's virtual clock: one summary line per
poll interval, a bot's own line only when its state changes, numbers that agree with the OTLP warning."""

import logging
import re

import pytest

from otel_desk_receiver import names
from tests.harness.receiver import drive, virtual_receiver

INTERVAL_S = 5


@pytest.fixture
def emulator(desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return desk_emulator


def info_lines(caplog, logger: str = "otel_desk_receiver.runtime") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith(logger)]


def summaries(caplog) -> list[str]:
    return [line for line in info_lines(caplog) if line.startswith("last ")]


def test_five_quiet_bots_say_one_line_an_interval_and_one_first_read_each(emulator, otlp_sink, state_path, caplog):
    caplog.set_level(logging.DEBUG)
    bots = [emulator.add_bot(name=f"bot-{n}") for n in range(5)]
    receiver = virtual_receiver(emulator, state_path, poll_interval=INTERVAL_S)
    added = []

    def now_and_then():  # an entry on one bot about every interval
        if emulator.clock.now().timestamp() >= (added[-1] if added else 0) + INTERVAL_S:
            added.append(emulator.clock.now().timestamp())
            emulator.add_entry(bots[0]["id"], status="RECEIVED", created_at=emulator.clock.now())
    try:
        drive(receiver, emulator, virtual_s=200, each_wait=now_and_then)
    finally:
        receiver.close()
    own = [line for line in info_lines(caplog) if line.startswith("bot ")]
    assert sorted(line.split(" (")[0] for line in own) == sorted(f"bot {bot['id']}" for bot in bots)  # first reads
    assert all("first read" in line for line in own)
    assert 35 <= len(summaries(caplog)) <= 40  # one an interval (86 lines in 200 s before: one a turn)
    assert len(info_lines(caplog)) == len(own) + len(summaries(caplog)) + 2  # and the bot list, the budget: once
    exported = sum(int(re.search(r"exported (\d+)", line).group(1)) for line in summaries(caplog))
    assert exported <= len(otlp_sink.log_records()) <= exported + 1  # the last turns are in no summary yet
    assert len(otlp_sink.log_records()) >= len(added) - 1


def test_a_failing_bot_says_so_once_and_once_again_when_it_recovers(emulator, otlp_sink, state_path, caplog):
    caplog.set_level(logging.INFO)
    bot = emulator.add_bot(name="flaky")
    receiver = virtual_receiver(emulator, state_path, poll_interval=INTERVAL_S)
    try:
        drive(receiver, emulator, virtual_s=1)
        emulator.faults.fail_next(6, status=500, path_contains=f"/bots/{bot['id']}/webhook_logs")  # three turns
        drive(receiver, emulator, virtual_s=40 * INTERVAL_S, until=lambda: emulator.faults.settings()["pending_one_shot"] == 0)
        emulator.add_entry(bot["id"], status="RECEIVED", created_at=emulator.clock.now())
        drive(receiver, emulator, virtual_s=30 * INTERVAL_S, until=lambda: len(otlp_sink.log_records()) == 1)
        drive(receiver, emulator, virtual_s=5 * INTERVAL_S)
    finally:
        receiver.close()
    own = [r for r in caplog.records if r.name.startswith("otel_desk_receiver.runtime")
           and r.getMessage().startswith(f"bot {bot['id']} ")]
    assert [r.levelname for r in own] == ["INFO", "WARNING", "INFO"], [r.getMessage() for r in own]
    assert "first read" in own[0].getMessage() and "cycle stopped" in own[1].getMessage()
    assert "reading again" in own[2].getMessage()
    # Short waits in the unit that shows them (they read "retrying in 0.0s" and "waits 0 s" before).
    assert re.search(r"retrying in [\d.]+ ms", caplog.text) and re.search(r"this bot waits [\d.]+ ms", caplog.text)


def test_during_an_otlp_outage_the_summary_and_the_warning_count_the_same_waiting_entries(emulator, otlp_sink,
                                                                                       state_path, caplog):
    caplog.set_level(logging.INFO)
    bots = [emulator.add_bot(name=f"bot-{n}") for n in range(3)]
    receiver = virtual_receiver(emulator, state_path, poll_interval=INTERVAL_S)
    try:
        drive(receiver, emulator, virtual_s=1)
        otlp_sink.set_down(True)
        for bot in bots:
            for _ in range(9):
                emulator.add_entry(bot["id"], status="RECEIVED", created_at=emulator.clock.now())
        caplog.clear()
        drive(receiver, emulator, virtual_s=3 * INTERVAL_S)
    finally:
        receiver.close()
    warnings = [r.getMessage() for r in caplog.records if "did not accept the log records" in r.getMessage()]
    told = [(int(re.search(r"(\d+) settled entr", line).group(1))) for line in warnings]
    said = [int(re.search(r"(\d+) waiting for the OTLP endpoint", line).group(1)) for line in summaries(caplog)]
    settled = [int(re.search(r"settled (\d+)", line).group(1)) for line in summaries(caplog)]
    assert told and told == said[-len(told):] and settled[-len(told):] == said[-len(told):]
    assert 27 in told
