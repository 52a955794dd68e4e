"""What the poll loop says about bots' turns: one summary line per poll interval at INFO, a bot's own line when
its state changes (its first read, a failure, a recovery, a backlog begun or caught up), the rest at DEBUG.

The summary covers the turns that ended since the one before, the window the receiver's OTLP warning covers
too (both are said once an interval, one after the other), so their numbers agree: entries settled = exported
+ rejected + waiting for the OTLP endpoint.
"""

import logging
import threading
from dataclasses import dataclass, field

from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.pipeline.cycle import BotCycleResult
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)

NEW, LIVE, BACKLOG, FAILING = "new", "live", "backlog", "failing"


@dataclass
class _Tally:
    turns: int = 0
    read: int = 0
    settled: int = 0
    exported: int = 0
    rejected: int = 0
    waiting: int = 0
    bots: set[int] = field(default_factory=set)
    backlog_read: dict[int, int] = field(default_factory=dict)  # bot -> entries read while it had a backlog


class TurnLog:
    """Safe to call from the turns' threads (``turn``) and the loop's (``summary``)."""

    def __init__(self):
        self._state: dict[int, str] = {}
        self._pending: dict[int, int] = {}  # bot -> entries pending at its last turn
        self._lag_s: dict[int, float] = {}
        self._tally = _Tally()
        self._lock = threading.Lock()

    def turn(self, bot: Bot, outcome: BotCycleResult, pending: int, lag_s: float | None) -> None:
        """A bot's turn ended: its line, at INFO when its state changed, else at DEBUG."""
        failed = outcome.error is not None and not outcome.waiting_for_otlp
        state = FAILING if failed else BACKLOG if outcome.more else LIVE
        with self._lock:
            before = self._state.get(bot.id, NEW)
            self._state[bot.id] = state
            self._count(bot.id, outcome, pending, lag_s, backlog=state == BACKLOG or before == BACKLOG)
        if failed:  # the OTLP endpoint's failures are said once an interval by the receiver, not per bot
            log.log(logging.WARNING if before != FAILING else logging.DEBUG, "bot %s (%s): cycle stopped: %s",
                    bot.id, bot.name, outcome.error)
            return
        line = (f"bot {bot.id} ({bot.name}): read {outcome.read}, settled {outcome.settled}, exported "
                f"{outcome.exported}, rejected {outcome.rejected}, waiting {outcome.waiting}, pending {pending}, "
                f"lag {'n/a' if lag_s is None else duration_text(lag_s)}")
        change = {NEW: "first read", FAILING: "reading again after a failure"}.get(before)
        if change is None and state != before:
            change = "a backlog: read on in turns beside the others" if state == BACKLOG else "backlog caught up"
        log.log(logging.INFO if change else logging.DEBUG, "%s%s", line, f" ({change})" if change else "")

    def _count(self, bot_id: int, outcome: BotCycleResult, pending: int, lag_s: float | None, *,
               backlog: bool) -> None:
        tally = self._tally
        tally.turns += 1
        tally.bots.add(bot_id)
        tally.read += outcome.read
        tally.settled += outcome.settled
        tally.exported += outcome.exported
        tally.rejected += outcome.rejected
        tally.waiting += outcome.waiting
        if backlog:
            tally.backlog_read[bot_id] = tally.backlog_read.get(bot_id, 0) + outcome.read
        self._pending[bot_id] = pending
        if lag_s is None:
            self._lag_s.pop(bot_id, None)
        else:
            self._lag_s[bot_id] = lag_s

    def forget(self, bot_ids: set[int]) -> None:
        """Bots no longer watched."""
        with self._lock:
            for mapping in (self._state, self._pending, self._lag_s):
                for bot_id in [b for b in mapping if b not in bot_ids]:
                    del mapping[bot_id]

    def summary(self, window_s: float) -> None:
        """One INFO line for the turns since the last summary."""
        with self._lock:
            tally, self._tally = self._tally, _Tally()
            failing = sum(1 for state in self._state.values() if state == FAILING)
            pending = sum(self._pending.values())
            lag = max(self._lag_s.values(), default=None)
        backlogs = "".join(f"; bot {bot_id}'s backlog: read {read}" + (" (more to read)"
                                                                       if self._state.get(bot_id) == BACKLOG else "")
                           for bot_id, read in sorted(tally.backlog_read.items()))
        log.info("last %s: %d turn(s) of %d bot(s): read %d, settled %d, exported %d, rejected %d, %d waiting for "
                 "the OTLP endpoint, %d pending; %d bot(s) failing; lag up to %s%s", duration_text(window_s),
                 tally.turns, len(tally.bots), tally.read, tally.settled, tally.exported, tally.rejected,
                 tally.waiting, pending, failing, "n/a" if lag is None else duration_text(lag), backlogs)
