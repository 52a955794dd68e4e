"""runtime/poller.py over fake pipelines, without Desk or sockets: whose turn it is, and one bot's errors its own.

The bots come from a fake client, each turn from a fake pipeline that answers what the test scripted for
that bot (tests/runtime/test_poller.py runs the loop against the emulator instead).
"""

import threading

import pytest

from otel_desk_receiver.errors import DeskAuthError, DeskRetryableError
from otel_desk_receiver.pipeline.cycle import BotCycleResult
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.poller import ONCE_TURN_PAGES, Poller
from otel_desk_receiver.runtime.watched import WatchedBots
from tests.harness.wait import WAIT_S
from tests.pipeline.fakes import NOW_NS, FakeCursors, bot

NS = 10**9


class FakeClient:
    """The bot list; a test may change ``bots`` between listings."""

    def __init__(self, bots):
        self.bots = list(bots)

    def list_bots(self):
        return list(self.bots)

    def get_bot(self, bot_id):
        return next(b for b in self.bots if b.id == bot_id)

    def isolate_bots(self):
        pass


class FakeStore(FakeCursors):
    """The cursor store's side the poller uses beyond the pipeline's port."""

    def __init__(self):
        super().__init__()
        self.saves = 0

    def save(self):
        self.saves += 1

    def save_due(self):
        pass

    def current(self):
        return dict(self.cursors)


class FakePipeline:
    """Each bot's turns as scripted: ``backlog[bot]`` turns that yield when asked to (more to read), then
    one that ends; ``fails[bot]`` an error raised on every turn."""

    def __init__(self, backlog=None, fails=None):
        self.backlog = dict(backlog or {})
        self.fails = dict(fails or {})
        self.turns: list[int] = []
        self.started_since: dict[int, int | None] = {}

    def run_cycle(self, bot, start_since_ns=None, should_yield=lambda pages: False):
        self.turns.append(bot.id)
        self.started_since[bot.id] = start_since_ns
        if bot.id in self.fails:
            raise self.fails[bot.id]
        if self.backlog.get(bot.id, 0) and should_yield(ONCE_TURN_PAGES):
            self.backlog[bot.id] -= 1
            return BotCycleResult(exported=ONCE_TURN_PAGES, more=True)
        self.backlog[bot.id] = 0
        return BotCycleResult(exported=1)


class FakeTelemetry:
    def __init__(self):
        self.polls: list[float] = []

    def poll_duration(self, seconds):
        self.polls.append(seconds)


class Clock:
    def __init__(self):
        self.now_s = 0.0

    def monotonic(self):
        return self.now_s

    def ns(self):
        return NOW_NS + int(self.now_s * NS)


A, B, C = bot(1, "a"), bot(2, "b"), bot(3, "c")


def poller(pipeline, bots=(A, B, C), client=None, **kwargs):
    clock = Clock()
    health = HealthState(30.0, clock_ns=clock.ns)
    made = Poller(client or FakeClient(bots), FakeStore(), pipeline, FakeTelemetry(), health, bot_ids=None,
                  clock_ns=clock.ns, monotonic=clock.monotonic, interval_s=30.0, **kwargs)
    return made, health, clock


def test_a_cycle_gives_every_bot_a_turn_and_a_desk_error_fails_that_bot_alone():
    pipeline = FakePipeline(fails={B.id: DeskRetryableError("Desk answered 503", 503)})
    loop, health, _ = poller(pipeline)
    result = loop.run_cycle()
    assert pipeline.turns == [A.id, B.id, C.id]
    assert (result.bots_ok, result.bots_failed, result.exported, result.delivered) == (2, 1, 2, False)
    errors = {int(bot_id): entry["last_error"] for bot_id, entry in health.snapshot()["bots"].items()}
    assert errors[B.id] == "Desk answered 503" and errors[A.id] is None and errors[C.id] is None


class HangingPipeline(FakePipeline):
    """Bot A's first turn hangs (a Desk read held) until another bot's turn has run, or WAIT_S."""

    def __init__(self):
        super().__init__()
        self.other_turn = threading.Event()
        self.released_by_another = None

    def run_cycle(self, bot, start_since_ns=None, should_yield=lambda pages: False):
        if bot.id == A.id and A.id not in self.turns:
            self.turns.append(bot.id)
            self.released_by_another = self.other_turn.wait(WAIT_S)
            return BotCycleResult(exported=1)
        self.other_turn.set()
        return super().run_cycle(bot, start_since_ns, should_yield)


def test_run_once_reads_desk_concurrency_bots_at_once_so_a_hanging_read_costs_its_bot_alone():
    pipeline = HangingPipeline()
    loop, _, _ = poller(pipeline, concurrency=2)
    result = loop.run_cycle()
    assert pipeline.released_by_another  # B and C were read while A's read hung
    assert sorted(pipeline.turns) == [A.id, B.id, C.id] and (result.bots_ok, result.exported) == (3, 3)


def test_a_backlog_yields_to_the_bots_waiting_and_reads_on_alone_after_them():
    pipeline = FakePipeline(backlog={A.id: 5})
    loop, _, _ = poller(pipeline, bots=(A, B))
    result = loop.run_cycle()
    # A yields while B waits; once alone it is never asked to yield again, however long its backlog.
    assert pipeline.turns == [A.id, B.id, A.id]
    assert result.bots_ok == 2 and result.delivered


def test_a_run_ends_only_when_desk_refuses_the_token_for_every_bot():
    refused = DeskAuthError("401 for DESK_API_TOKEN", 401)
    some = FakePipeline(fails={A.id: refused})
    assert poller(some)[0].run_cycle().bots_failed == 1
    every = FakePipeline(fails={A.id: refused, B.id: refused, C.id: refused})
    with pytest.raises(DeskAuthError, match="every bot.*401 for DESK_API_TOKEN"):
        poller(every)[0].run_cycle()


def test_a_bot_found_after_the_start_is_read_from_the_listing_before_it_appeared():
    pipeline, client = FakePipeline(), FakeClient([A])
    loop, _, clock = poller(pipeline, client=client, bot_list_interval_s=600.0)
    loop.run_cycle()
    first_listing_ns = clock.ns()
    client.bots.append(B)
    clock.now_s += 600
    loop.run_cycle()
    assert pipeline.started_since == {A.id: None, B.id: first_listing_ns}


def test_each_listing_is_published_to_the_watched_bots():
    watched, client = WatchedBots(), FakeClient([A, B])
    loop, _, _ = poller(FakePipeline(), client=client, watched=watched)
    loop.refresh_bots()
    assert watched.ids_and_names() == [(1, "a"), (2, "b")]
    client.bots.remove(A)
    loop.refresh_bots(force=True)
    assert watched.ids_and_names() == [(2, "b")]


def test_the_loop_goes_on_polling_the_others_while_one_bot_fails_every_turn():
    pipeline = FakePipeline(fails={A.id: DeskRetryableError("Desk answered 503", 503)})
    loop, health, clock = poller(pipeline, bots=(A, B))

    def wait(seconds):
        clock.now_s += max(seconds, 0.01)

    loop.run_until(lambda: pipeline.turns.count(B.id) >= 5 or clock.now_s > 3600, wait)
    assert pipeline.turns.count(B.id) >= 5 and clock.now_s <= 3600
    assert pipeline.turns.count(A.id) < pipeline.turns.count(B.id)  # the failing bot backs off, alone
    assert health.snapshot()["bots"][str(B.id)]["last_error"] is None
