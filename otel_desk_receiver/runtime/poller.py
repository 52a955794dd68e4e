"""The poll loop: which bots to watch, whose turn it is, and what health and gauges show."""

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from opentelemetry.metrics import NoOpMeter

from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.errors import DeskAuthError, DeskError
from otel_desk_receiver.runtime.health import BotHealth, HealthState
from otel_desk_receiver.runtime.budget import SweepBudget
from otel_desk_receiver.runtime.read_health import ReadHealth
from otel_desk_receiver.runtime.scheduler import IDLE_MAX_INTERVALS, Scheduler, Turn
from otel_desk_receiver.pipeline.cycle import BotCycleResult, BotPipeline
from otel_desk_receiver.runtime.selfmetrics import BotGauges, SelfTelemetry
from otel_desk_receiver.runtime.turn_log import TurnLog
from otel_desk_receiver.runtime.turns import Turns, scheduler_turn
from otel_desk_receiver.runtime.watched import WatchedBots
from otel_desk_receiver.units import NS_PER_S
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore

log = logging.getLogger(__name__)

ONCE_TURN_PAGES = 8  # run --once: pages a bot reads before the next bot's turn
TURN_POLL_S = 0.05  # while turns run, the loop looks this often whether a bot fell due (a turn's end wakes it)


@dataclass
class CycleResult:
    """``delivered``: everything read in the cycle reached the OTLP endpoint (``run --once`` exits 0 on it)."""

    delivered: bool = True
    bots_ok: int = 0
    bots_failed: int = 0
    exported: int = 0
    export_failed: bool = False


class Poller:
    """Polls the watched bots; one bot's failure is logged and recorded, the others go on."""

    def __init__(self, client, cursors: CursorStore, pipeline: BotPipeline, telemetry: SelfTelemetry,
                 health: HealthState, *, bot_ids: list[int] | None, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, read_health: ReadHealth | None = None,
                 interval_s: float = 30.0, bot_list_interval_s: float = 600.0, budget: SweepBudget | None = None,
                 should_stop: Callable[[], bool] = lambda: False, desk_clock_ns: Callable[[], int] | None = None,
                 concurrency: int = 1, backlog_share: float = 0.0,
                 watched: WatchedBots | None = None, bot_ids_setting: str = "DESK_BOT_IDS"):
        self._client = client
        self._bot_ids_setting = bot_ids_setting  # where bot_ids is set, as a line names it (an apps file's item)
        self._read_health = read_health or ReadHealth(NoOpMeter(__name__), "")
        self._cursors = cursors
        self._pipeline = pipeline
        self._telemetry = telemetry
        self._health = health
        self._bot_ids = bot_ids
        self._clock_ns = clock_ns
        self._desk_clock_ns = desk_clock_ns or clock_ns  # Desk's now (desk/clock.py): the lag's, as createdAt's
        self._monotonic = monotonic
        self._bots: list[Bot] = []
        self._watched = watched or WatchedBots()  # each new list published, for the counters and /metrics
        self._bots_listed_at: float | None = None
        self._unreadable: list[int] = []  # DESK_BOT_IDS entries that could not be read at the last listing
        self._listed_at_ns: int | None = None  # wall clock when the last successful listing began
        self._found_later: dict[int, int] = {}  # bot id -> since when to read it (a bot that appeared while running)
        self._interval_s = interval_s
        self._bot_list_interval_s = bot_list_interval_s  # DESK_BOT_LIST_INTERVAL
        # DESK_CONCURRENCY: turns run_until runs at once, each a different bot's, all through the one client
        # (its rate limit shared); DESK_BACKLOG_SHARE: the budget kept for backlogs (scheduler.py).
        self._concurrency = concurrency
        self._scheduler = Scheduler(interval_s, monotonic, workers=concurrency, backlog_share=backlog_share)
        self._budget = budget or SweepBudget(max_rps=1e9, interval_s=interval_s)
        self._should_stop = should_stop
        self._listing_retry_after_s: float | None = None
        self._turn_log = TurnLog()  # a line an interval at INFO, a bot's own line when its state changes

    @property
    def bots(self) -> list[Bot]:
        return list(self._bots)

    def refresh_bots(self, force: bool = False) -> None:
        due = self._bots_listed_at is None or self._monotonic() - self._bots_listed_at >= self._bot_list_interval_s
        if not (due or force):
            return
        listing_ns = self._clock_ns()
        if self._bot_ids is None:
            bots = [bot for bot in self._client.list_bots() if bot.is_custom]
        else:
            bots = self._listed_bots(self._bot_ids)
        added = {b.id for b in bots} - {b.id for b in self._bots}
        removed = {b.id for b in self._bots} - {b.id for b in bots}
        if added or removed or self._bots_listed_at is None:
            log.info("watching %d bot(s): %s%s", len(bots), ", ".join(f"{b.id} ({b.name})" for b in bots),
                     f"; no longer watching {sorted(removed)}" if removed else "")
        if self._listed_at_ns is not None:
            # Found after the receiver started: it may have logged since the listing before, when it was
            # not there yet; read from then (or from its creation), not from now.
            for bot in bots:
                if bot.id in added and self._cursors.get(bot.id) is None:
                    self._found_later[bot.id] = max(self._listed_at_ns, bot.created_at_ns or 0)
        self._listed_at_ns = listing_ns
        self._read_health.discovered(b.id for b in bots)
        self._bots = bots
        self._watched.publish(bots)
        self._bots_listed_at = self._monotonic()
        # A bot asked for but unreadable stays in health with its error: failing, and not "no bot to watch".
        self._health.set_bots([b.id for b in bots] + self._unreadable)
        self._health.listing_done(None)
        self._turn_log.forget({b.id for b in bots})

    def _listed_bots(self, bot_ids: list[int]) -> list[Bot]:
        """DESK_BOT_IDS read one by one. A bot that cannot be read now is kept as last known (a blip must
        not drop it for ten minutes); only a token refused for every one of them is fatal."""
        bots, refused = [], 0
        known = {bot.id: bot for bot in self._bots}
        self._unreadable = []
        for bot_id in bot_ids:
            try:
                bot = self._client.get_bot(bot_id)
            except DeskError as error:
                self._read_health.failed(bot_id, error)
                refused += isinstance(error, DeskAuthError)
                log.error("bot %s from %s cannot be read: %s", bot_id, self._bot_ids_setting, error)
                self._health.record(bot_id, BotHealth(last_error=str(error)))
                if bot_id in known:
                    bots.append(known[bot_id])
                else:
                    self._unreadable.append(bot_id)
                if refused == len(bot_ids):
                    raise
                continue
            if not bot.is_custom:
                log.warning("bot %s (%s) is a %s bot: only CUSTOM bots have webhook logs; skipped",
                            bot.id, bot.name, bot.type)
                continue
            bots.append(bot)
        return bots

    def run_cycle(self) -> CycleResult:
        """One catch-up cycle (``run --once``): every bot read to the end of its listing, up to ``concurrency``
        bots at once as run_until reads them (a hanging read costs its own bot), page turns interleaved across
        bots (ONCE_TURN_PAGES at a time, so a page read ahead is rarely wasted)."""
        started = self._monotonic()
        result = CycleResult()
        listed = self._try_refresh_bots(result)
        self._budget.update(len(self._bots))  # the budget line, and the sweep gauge's point, as run_until's
        if self._unreadable:  # asked for in DESK_BOT_IDS but not readable: this cycle did not read them
            result.bots_failed += len(self._unreadable)
            result.delivered = False
        todo, auth_failures, refusal = deque(self._bots), 0, ""
        watched = {bot.id: bot for bot in self._bots}
        turns = Turns(self._concurrency)
        try:
            while turns.running or (todo and not self._should_stop()):
                while todo and turns.running < self._concurrency and not self._should_stop():
                    bot = todo.popleft()
                    turns.start(bot.id, lambda bot=bot: self._poll_one(
                        bot, should_yield=lambda pages: pages >= ONCE_TURN_PAGES and bool(todo)))
                turns.wait(TURN_POLL_S)
                for bot_id, future in turns.finished():
                    outcome = future.result()  # what a turn raised (a state that cannot be saved) ends the cycle
                    result.exported += outcome.exported
                    if outcome.error is not None:
                        result.bots_failed += 1
                        result.delivered = False
                        result.export_failed |= not outcome.delivered
                        auth_failures += outcome.auth_failed
                        refusal = outcome.error if outcome.auth_failed else refusal
                    elif outcome.more:
                        todo.append(watched[bot_id])
                    else:
                        result.bots_ok += 1
        finally:
            turns.close()  # the other turns end (they see a stop, or finish) before the cycle does
        if self._bots and auth_failures == len(self._bots):
            raise _refused_everywhere(refusal)
        self._cursors.save()  # one write for the whole cycle (CursorStore: coalesced saves)
        self._telemetry.poll_duration(self._monotonic() - started)
        ready = not result.export_failed and (result.bots_ok > 0 or (listed and not self._bots))
        self._health.cycle_done(succeeded=ready, now_ns=self._clock_ns())
        return result

    def run_until(self, stop: Callable[[], bool], wait: Callable[[float], object],
                  on_sweep: Callable[[], None] = lambda: None) -> None:
        """Poll forever (until ``stop``), the scheduler choosing each turn (scheduler.py) and up to
        ``concurrency`` turns running at once, each a different bot's on a worker thread: a bot's backlog,
        slow or hanging read, rate limit or errors cost that bot, never the others' turns. ``wait(s)`` sleeps
        up to s seconds (returning early on a stop) when no turn runs and no bot is due. Raises DeskAuthError
        only when Desk refuses the token for the bot list, or for every bot. ``on_sweep`` runs once a poll
        interval (the receiver says then if the OTLP endpoint was down, and tries it again). At a stop the
        running turns end at their next page (a Desk request in flight is abandoned), then what was
        delivered is saved."""
        self._client.isolate_bots()  # a bot's long waits and retries are its own, never the loop's
        self._sweep_started, self._served = self._monotonic(), set()
        listing_retry_s, retry_otlp_s = 0.0, self._monotonic() + self._interval_s
        turns = Turns(self._concurrency)
        try:
            while not stop():
                self._turns_ended(turns.finished())
                self._cursors.save_due()  # a delivery waits one interval at most to be saved
                if self._monotonic() >= retry_otlp_s:  # an endpoint found down is tried again once an interval
                    # The interval's summary, then the receiver's word on the OTLP endpoint: the same turns.
                    self._turn_log.summary(self._monotonic() - retry_otlp_s + self._interval_s)
                    on_sweep()
                    retry_otlp_s = self._monotonic() + self._interval_s
                if self._monotonic() >= listing_retry_s and not self._try_refresh_bots(CycleResult()):
                    # Desk cannot list now: the last list is polled, the listing tried again once an interval
                    # (or after Desk's hint, if longer).
                    listing_retry_s = self._monotonic() + max(self._interval_s, self._listing_retry_after_s or 0.0)
                self._scheduler.sync(b.id for b in self._bots)
                self._scheduler.max_stretch = 1 if self._budget.update(len(self._bots)) else IDLE_MAX_INTERVALS
                while turns.running < self._concurrency and (bot_id := self._scheduler.next_due()) is not None:
                    bot = next(b for b in self._bots if b.id == bot_id)
                    self._scheduler.started(bot_id)
                    turns.start(bot_id, lambda bot=bot: self._poll_one(bot, self._turn_over(bot.id, stop)))
                if turns.running:
                    turns.wait(TURN_POLL_S)  # until a turn ends, or a bot may have fallen due
                    continue
                self._health.beat()
                # 0 is a bot that fell due since next_due looked (time passes between the two readings):
                # go round at once; only no bots at all waits a whole interval.
                until_s = self._scheduler.seconds_until_due()
                wait(self._interval_s if until_s is None else min(until_s, self._interval_s))
        finally:
            turns.close()  # the running turns end (they see the stop, or finish) before the state is saved
            self._serve(turns.finished())  # the scheduler learns them: the next run_until goes on
        self._cursors.save()  # a stop: what was delivered is saved before the process goes

    def _serve(self, ended: list[tuple[int, Future]]) -> None:
        """The scheduler learns of every ended turn, one that raised as a failure: none stays in a turn."""
        for bot_id, future in ended:
            self._scheduler.served(bot_id, scheduler_turn(future.result()) if future.exception() is None
                                   else Turn(failed=True))

    def _turns_ended(self, ended: list[tuple[int, Future]]) -> None:
        """Turns ended (told on the loop's thread): the scheduler learns them all, then what a turn raised (a
        state that cannot be saved) is raised here; a sweep ends once every bot had a turn."""
        self._serve(ended)
        for bot_id, future in ended:
            self._turn_done(bot_id, future.result())

    def _turn_done(self, bot_id: int, outcome: BotCycleResult) -> None:
        if self._scheduler.all_auth_failed():
            raise _refused_everywhere(outcome.error or "")
        self._served.add(bot_id)
        if self._served >= {b.id for b in self._bots}:  # every bot had a turn: one sweep, one write
            self._cursors.save()
            self._telemetry.poll_duration(self._monotonic() - self._sweep_started)
            self._sweep_started, self._served = self._monotonic(), set()

    def _turn_over(self, bot_id: int, stop: Callable[[], bool]) -> Callable[[int], bool]:
        """When a backlog turn yields: at a stop, when other bots wait and the backlog share has no page for it
        (Scheduler.may_read_on), or after one poll interval. The last holds with one bot alone: its backlog
        would otherwise be one turn for as long as it lasts, and the loop's own duties (a sweep recorded, the
        bot list and its flags re-read, the OTLP endpoint tried) would wait for its end."""
        ends_s = self._monotonic() + self._interval_s
        granted = 0  # the pipeline asks twice about one page (before reading it ahead, after the one before it)

        def over(pages: int) -> bool:
            nonlocal granted
            if stop() or self._monotonic() >= ends_s:
                return True
            if pages > granted and not self._scheduler.may_read_on(bot_id):
                return True
            granted = max(granted, pages)
            return False
        return over

    def _try_refresh_bots(self, result: CycleResult) -> bool:
        """Refresh the bot list when due; if Desk cannot list them now, go on with the last list."""
        try:
            self.refresh_bots()
            return True
        except DeskError as error:
            if self._bot_ids is None:  # DESK_BOT_IDS bots were recorded one by one in _listed_bots
                self._read_health.failed(None, error)
            self._health.listing_done(str(error))
            if isinstance(error, DeskAuthError):
                raise
            self._listing_retry_after_s = getattr(error, "retry_after_s", None)
            log.error("listing the bots failed, polling the last known %d bot(s): %s", len(self._bots), error)
            result.bots_failed += 1
            result.delivered = False
            return False

    def _poll_one(self, bot: Bot, should_yield: Callable[[int], bool] = lambda pages: False) -> BotCycleResult:
        try:
            outcome = self._pipeline.run_cycle(bot, start_since_ns=self._found_later.get(bot.id),
                                               should_yield=should_yield)
            if self._cursors.get(bot.id) is not None:
                self._found_later.pop(bot.id, None)
            self._read_health.succeeded(bot.id, bot.name)
        except DeskError as error:
            self._read_health.failed(bot.id, error)
            # One bot's 401/403 (a token that may not read it, a gateway blip) fails that bot only.
            outcome = BotCycleResult(delivered=True, error=str(error), auth_failed=isinstance(error, DeskAuthError),
                                     retry_after_s=getattr(error, "retry_after_s", None))
        self._health.turn_done(ok=outcome.error is None, export_ok=not outcome.waiting_for_otlp,
                               exported=outcome.exported)
        cursor = self._cursors.get(bot.id)
        lag_s = self._lag_s(cursor)
        self._turn_log.turn(bot, outcome, len(cursor.pending) if cursor else 0, lag_s)
        self._health.record(bot.id, BotHealth(last_poll_ns=self._clock_ns(), last_error=outcome.error, lag_s=lag_s))
        return outcome

    def gauges(self) -> list[BotGauges]:
        """Current per-bot gauge values (observed by the meter on its own thread)."""
        cursors = self._cursors.current()
        result = []
        for bot in list(self._bots):
            cursor = cursors.get(bot.id)
            result.append(BotGauges(bot.id, bot.name, len(cursor.pending) if cursor else 0, bot.is_unread_error,
                                    self._lag_s(cursor)))
        return result

    def _lag_s(self, cursor: BotCursor | None) -> float | None:
        """Now minus createdAt of the newest entry read for the bot (README.md, "Metrics": otel_desk_receiver.lag)."""
        if cursor is None or not cursor.newest_created_ns:
            return None
        return max(0.0, (self._desk_clock_ns() - cursor.newest_created_ns) / NS_PER_S)


def _refused_everywhere(last_refusal: str) -> DeskAuthError:
    """The end of a run whose token Desk refused for every bot: with the last refusal, which names the setting
    the token came from (DESK_API_TOKEN or DESK_API_TOKEN_FILE, desk/transport.py) and what Desk said."""
    return DeskAuthError(f"Desk rejected the API token for every bot's webhook logs; the last refusal: {last_refusal}")
