"""Scheduler: who is served next, counted in turns on a fake clock (no sleeping, no timing)."""

import pytest

from otel_desk_receiver.runtime.scheduler import BACKOFF_MAX_INTERVALS, IDLE_MAX_INTERVALS, MAX_DEFER_S, Scheduler, Turn


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_new_bots_are_due_at_once_in_the_order_they_came(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([3, 1, 2])
    order = []
    while (bot := scheduler.next_due()) is not None:
        order.append(bot)
        scheduler.served(bot, Turn())
    assert order == [3, 1, 2]
    assert scheduler.seconds_until_due() == 30


def test_a_backlog_yields_to_every_bot_that_falls_due_then_goes_on(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([1, 2, 3])
    for bot in (1, 2, 3):
        scheduler.served(bot, Turn(more=bot == 1))
    assert scheduler.next_due() == 1  # the backlog goes on while nobody else is due
    clock.now += 30
    assert scheduler.others_due(1)  # the pipeline asks between pages: bots 2 and 3 wait, so bot 1 yields
    scheduler.served(1, Turn(more=True))
    assert [scheduler.next_due()] == [2]
    scheduler.served(2, Turn())
    assert scheduler.next_due() == 3
    scheduler.served(3, Turn())
    assert scheduler.next_due() == 1 and not scheduler.others_due(1)


def test_idle_bots_are_stretched_only_when_the_budget_cannot_meet_the_interval(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([1])
    delays = [scheduler.served(1, Turn()) for _ in range(6)]
    assert delays == [30] * 6  # the budget fits: every interval
    stretched = Scheduler(30, clock)
    stretched.sync([1])
    stretched.max_stretch = IDLE_MAX_INTERVALS
    delays = [stretched.served(1, Turn()) for _ in range(6)]
    assert delays == [30, 60, 90, 120, 120, 120]  # at least once every IDLE_MAX_INTERVALS intervals
    assert stretched.served(1, Turn(active=True)) == 30  # entries again: back to every interval


def test_a_failing_bot_backs_off_alone_and_honours_desks_hint(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([1, 2])
    delays = [scheduler.served(1, Turn(failed=True)) for _ in range(8)]
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == BACKOFF_MAX_INTERVALS * 30
    assert scheduler.served(1, Turn(failed=True, retry_after_s=3600)) == MAX_DEFER_S
    assert scheduler.served(1, Turn()) == 30  # a success resets the backoff
    assert scheduler.next_due() == 2  # the other bot was never delayed


def test_every_bot_refusing_the_token_is_what_makes_it_fatal(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([1, 2])
    scheduler.served(1, Turn(failed=True, auth_failed=True))
    assert not scheduler.all_auth_failed()
    scheduler.served(2, Turn(failed=True, auth_failed=True))
    assert scheduler.all_auth_failed()
    scheduler.served(2, Turn())
    assert not scheduler.all_auth_failed()


def test_removed_bots_are_forgotten(clock):
    scheduler = Scheduler(30, clock)
    scheduler.sync([1, 2])
    scheduler.sync([2])
    assert scheduler.next_due() == 2
    scheduler.served(1, Turn())  # a late report about a gone bot is ignored
    assert scheduler.next_due() == 2


def simulate(scheduler, clock, backlog: int, requests: int, max_rps: float = 2.0) -> dict[int, int]:
    """Serve turns one after another at ``max_rps``, the backlog reading pages while ``may_read_on`` lets
    it; returns the requests each bot made."""
    made: dict[int, int] = {}
    while sum(made.values()) < requests:
        bot = scheduler.next_due()
        if bot is None:
            clock.now += 1 / max_rps
            continue
        scheduler.started(bot)
        pages = 1
        clock.now += 1 / max_rps
        while bot == backlog and scheduler.may_read_on(bot):
            pages += 1
            clock.now += 1 / max_rps
        made[bot] = made.get(bot, 0) + pages
        scheduler.served(bot, Turn(more=bot == backlog, active=True, requests=pages))
    return made


@pytest.mark.parametrize(("share", "least", "most"), [(0.0, 0.0, 0.05), (0.25, 0.24, 0.27), (0.5, 0.49, 0.52)])
def test_a_backlog_gets_its_share_of_the_budget_while_live_bots_want_all_of_it(clock, share, least, most):
    # 40 live bots at an interval of 5 s and 2 requests/s: one sweep takes 20 s, so they always wait.
    scheduler = Scheduler(5, clock, backlog_share=share)
    scheduler.sync(range(41))
    made = simulate(scheduler, clock, backlog=0, requests=2000)
    backlog_share = made[0] / sum(made.values())
    assert least <= backlog_share <= most
    assert min(made[bot] for bot in range(1, 41)) >= 0.9 * (1 - backlog_share) * 2000 / 40  # the live bots in turn


def test_a_backlog_reads_on_freely_while_no_other_bot_waits(clock):
    scheduler = Scheduler(30, clock, backlog_share=0.25)
    scheduler.sync([1, 2])
    scheduler.served(2, Turn())
    scheduler.started(1)
    assert all(scheduler.may_read_on(1) for _ in range(100))  # bot 2 is not due: the budget is the backlog's


def test_a_bot_in_a_turn_is_never_handed_out_again_and_free_turns_serve_the_others(clock):
    scheduler = Scheduler(30, clock, workers=2)
    scheduler.sync([1, 2, 3])
    first = scheduler.next_due()
    scheduler.started(first)
    second = scheduler.next_due()
    scheduler.started(second)
    assert (first, second) == (1, 2) and scheduler.in_turn() == 2
    assert scheduler.next_due() is None  # bot 3 is due, and waits for a free turn
    scheduler.served(first, Turn())
    assert scheduler.next_due() == 3  # not bot 1 (served), never bot 2 (in its turn)
    scheduler.started(3)
    scheduler.served(3, Turn())
    assert scheduler.next_due() is None and scheduler.seconds_until_due() == 30  # bot 2's turn runs on


def test_a_bot_listed_again_while_its_turn_runs_waits_for_that_turn_to_end(clock):
    # The bot list changes while bot 1's turn runs: it leaves one listing and is back at the next. Its turn is
    # still running, so it must not be handed out again (two turns of one bot read and send the same entries).
    scheduler = Scheduler(30, clock, workers=3)
    scheduler.sync([1, 2])
    scheduler.started(scheduler.next_due())
    scheduler.sync([2])
    scheduler.sync([1, 2])
    handed_out = []
    while (bot := scheduler.next_due()) is not None:
        handed_out.append(bot)
        scheduler.started(bot)
    assert handed_out == [2] and scheduler.in_turn() == 2  # bot 1's turn is still one of the turns running
    scheduler.served(1, Turn())
    assert scheduler.seconds_until_due() == 30  # bot 1 served as usual: due one interval later
    scheduler.sync([1])  # bot 2 gone while in its turn, and not back: forgotten once that turn ends
    assert scheduler.in_turn() == 1
    scheduler.served(2, Turn())
    assert scheduler.in_turn() == 0 and scheduler.next_due() is None
