"""Turns: bots' turns on a bounded pool, collected on the caller's thread; what the scheduler learns of one."""

import threading

import pytest

from otel_desk_receiver.pipeline.cycle import BotCycleResult
from otel_desk_receiver.runtime.turns import Turns, scheduler_turn
from tests.harness.wait import wait_until


def test_at_most_the_pool_runs_at_once_and_ended_turns_are_collected_once():
    release, started = threading.Event(), []

    def turn(n):
        def run():
            started.append(n)
            release.wait(30)
            return BotCycleResult(exported=n)
        return run
    turns = Turns(2)
    for n in range(3):
        turns.start(n, turn(n))
    wait_until(lambda: len(started) == 2, what="two turns started")
    assert turns.running == 3 and turns.finished() == []  # the third waits for a worker
    release.set()
    ended = []
    while len(ended) < 3:
        turns.wait(5)
        ended += turns.finished()
    turns.close()
    assert sorted((bot, future.result().exported) for bot, future in ended) == [(0, 0), (1, 1), (2, 2)]
    assert turns.running == 0 and turns.finished() == []


def test_a_turn_that_raised_raises_where_it_is_collected():
    def broken():
        raise RuntimeError("disk full")
    turns = Turns(1)
    turns.start(7, broken)
    turns.close()
    ((bot, future),) = turns.finished()
    with pytest.raises(RuntimeError, match="disk full"):
        future.result()
    assert bot == 7


TURNS = [
    ("quiet", BotCycleResult(requests=1), dict(more=False, active=False, failed=False, requests=1)),
    ("entries", BotCycleResult(exported=3, requests=2), dict(active=True, requests=2)),
    ("backlog", BotCycleResult(more=True, exported=500), dict(more=True, active=True)),
    ("desk failed", BotCycleResult(error="HTTP 503", retry_after_s=4.0), dict(failed=True, retry_after_s=4.0)),
    ("otlp down: not the bot's fault", BotCycleResult(error="down", waiting_for_otlp=True, pending=2),
     dict(failed=False, active=True)),
]


@pytest.mark.parametrize(("outcome", "expected"), [t[1:] for t in TURNS], ids=[t[0] for t in TURNS])
def test_what_the_scheduler_learns_of_a_turn(outcome, expected):
    turn = scheduler_turn(outcome)
    assert {name: getattr(turn, name) for name in expected} == expected
