"""The poll loop: which bots to watch, one cycle over all of them, and what health and gauges show."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.metrics import NoOpMeter

from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.errors import DeskAuthError, DeskError
from otel_desk_receiver.service.health import BotHealth, HealthState
from otel_desk_receiver.service.read_health import ReadHealth
from otel_desk_receiver.core.pipeline import BotCycleResult, BotPipeline
from otel_desk_receiver.service.selfmetrics import BotGauges, SelfTelemetry
from otel_desk_receiver.units import NS_PER_S
from otel_desk_receiver.core.cursors import BotCursor, CursorStore

log = logging.getLogger(__name__)

BOT_LIST_REFRESH_S = 600.0  # contract.md: every CUSTOM bot, re-listed every 10 minutes


@dataclass
class CycleResult:
    """``delivered``: everything read in the cycle reached the OTLP endpoint (``run --once`` exits 0 on it)."""

    delivered: bool = True
    bots_ok: int = 0
    bots_failed: int = 0
    exported: int = 0
    export_failed: bool = False


class Poller:
    """Cycles over the watched bots; one bot's failure is logged and recorded, the others go on."""

    def __init__(self, client, cursors: CursorStore, pipeline: BotPipeline, telemetry: SelfTelemetry,
                 health: HealthState, *, bot_ids: list[int] | None, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, read_health: ReadHealth | None = None):
        self._client = client
        self._read_health = read_health or ReadHealth(NoOpMeter(__name__))
        self._cursors = cursors
        self._pipeline = pipeline
        self._telemetry = telemetry
        self._health = health
        self._bot_ids = bot_ids
        self._clock_ns = clock_ns
        self._monotonic = monotonic
        self._bots: list[Bot] = []
        self._bots_listed_at: float | None = None
        self._unreadable: list[int] = []  # DESK_BOT_IDS entries that could not be read at the last listing
        self._listed_at_ns: int | None = None  # wall clock when the last successful listing began
        self._found_later: dict[int, int] = {}  # bot id -> since when to read it (a bot that appeared while running)

    @property
    def bots(self) -> list[Bot]:
        return list(self._bots)

    def refresh_bots(self, force: bool = False) -> None:
        due = self._bots_listed_at is None or self._monotonic() - self._bots_listed_at >= BOT_LIST_REFRESH_S
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
        self._bots_listed_at = self._monotonic()
        self._health.set_bots([b.id for b in bots])

    def _listed_bots(self, bot_ids: list[int]) -> list[Bot]:
        bots = []
        self._unreadable = []
        for bot_id in bot_ids:
            try:
                bot = self._client.get_bot(bot_id)
            except DeskError as error:
                self._read_health.failed(bot_id, error)
                if isinstance(error, DeskAuthError):
                    raise
                log.error("bot %s from DESK_BOT_IDS cannot be read: %s", bot_id, error)
                self._health.record(bot_id, BotHealth(last_error=str(error)))
                self._unreadable.append(bot_id)
                continue
            if not bot.is_custom:
                log.warning("bot %s (%s) is a %s bot: only CUSTOM bots have webhook logs; skipped",
                            bot.id, bot.name, bot.type)
                continue
            bots.append(bot)
        return bots

    def run_cycle(self) -> CycleResult:
        started = self._monotonic()
        result = CycleResult()
        listed = self._try_refresh_bots(result)
        if self._unreadable:  # asked for in DESK_BOT_IDS but not readable: this cycle did not read them
            result.bots_failed += len(self._unreadable)
            result.delivered = False
        for bot in self._bots:
            outcome = self._poll_one(bot)
            result.exported += outcome.exported
            if outcome.error is None:
                result.bots_ok += 1
            else:
                result.bots_failed += 1
                result.delivered = False
                result.export_failed |= not outcome.delivered
        self._telemetry.poll_duration(self._monotonic() - started)
        ready = not result.export_failed and (result.bots_ok > 0 or (listed and not self._bots))
        self._health.cycle_done(succeeded=ready, now_ns=self._clock_ns())
        return result

    def _try_refresh_bots(self, result: CycleResult) -> bool:
        """Refresh the bot list when due; if Desk cannot list them now, go on with the last list."""
        try:
            self.refresh_bots()
            return True
        except DeskError as error:
            if self._bot_ids is None:  # DESK_BOT_IDS bots were recorded one by one in _listed_bots
                self._read_health.failed(None, error)
            if isinstance(error, DeskAuthError):
                raise
            log.error("listing the bots failed, polling the last known %d bot(s): %s", len(self._bots), error)
            result.bots_failed += 1
            result.delivered = False
            return False

    def _poll_one(self, bot: Bot) -> BotCycleResult:
        try:
            outcome = self._pipeline.run_cycle(bot, start_since_ns=self._found_later.get(bot.id))
            if self._cursors.get(bot.id) is not None:
                self._found_later.pop(bot.id, None)
            self._read_health.succeeded(bot.id, bot.name)
        except DeskError as error:
            self._read_health.failed(bot.id, error)
            if isinstance(error, DeskAuthError):
                raise
            outcome = BotCycleResult(delivered=True, error=str(error))
        cursor = self._cursors.get(bot.id)
        lag_s = self._lag_s(cursor)
        if outcome.error and not outcome.waiting_for_otlp:  # that one is said once per cycle (receiver)
            log.warning("bot %s (%s): cycle stopped: %s", bot.id, bot.name, outcome.error)
        log.info("bot %s (%s): read %d, settled %d, exported %d, rejected %d, pending %d, lag %s",
                 bot.id, bot.name, outcome.read, outcome.settled, outcome.exported, outcome.rejected,
                 len(cursor.pending) if cursor else 0, "n/a" if lag_s is None else f"{lag_s:.1f}s")
        self._health.record(bot.id, BotHealth(last_poll_ns=self._clock_ns(), last_error=outcome.error, lag_s=lag_s))
        return outcome

    def gauges(self) -> list[BotGauges]:
        """Current per-bot gauge values (observed by the meter on its own thread)."""
        cursors = self._cursors.snapshot()
        result = []
        for bot in list(self._bots):
            cursor = cursors.get(bot.id)
            result.append(BotGauges(bot.id, bot.name, len(cursor.pending) if cursor else 0, bot.is_unread_error,
                                    self._lag_s(cursor)))
        return result

    def _lag_s(self, cursor: BotCursor | None) -> float | None:
        """Now minus createdAt of the newest entry read for the bot (contract: otel_desk_receiver.lag)."""
        if cursor is None or not cursor.newest_created_ns:
            return None
        return max(0.0, (self._clock_ns() - cursor.newest_created_ns) / NS_PER_S)
