"""Which bot the poll loop serves next, so that Desk's request budget is shared fairly: pure, clock injected.

Every bot has a due time. The loop serves the bot due earliest; a bot with a backlog reads until another
bot falls due (the pipeline asks ``others_due`` between pages), or for one poll interval at most (the
poller's own duties keep their schedule), and is then due again at once, behind them: one bot's backlog
never holds the others' live entries for more than a page. A bot whose last
turn found entries (or left some pending) is due again one poll interval later; an idle one too, unless
the budget cannot poll every bot each interval, then idle bots are stretched to at most
IDLE_MAX_INTERVALS intervals. A failed turn costs that bot alone: it is due again after Desk's retry hint
or an exponential backoff, while the others keep their turns.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

IDLE_MAX_INTERVALS = 4  # an idle bot is polled at least once every this many intervals
BACKOFF_MAX_INTERVALS = 10  # a failing bot is retried at least once every this many intervals
MAX_DEFER_S = 3600.0  # the longest a retry hint from Desk may delay a bot


@dataclass
class _Slot:
    due_s: float
    order: int  # who was served longest ago goes first among bots due at the same time
    idle_turns: int = 0
    failures: int = 0
    auth_failed: bool = False


@dataclass(frozen=True)
class Turn:
    """What a bot's turn did, as the scheduler needs it."""

    more: bool = False  # stopped early with more to read
    active: bool = False  # found entries, or has entries pending
    failed: bool = False
    retry_after_s: float | None = None  # Desk's hint, on a failure
    auth_failed: bool = False  # Desk refused the token for this bot


class Scheduler:
    def __init__(self, interval_s: float, monotonic: Callable[[], float] = time.monotonic):
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._slots: dict[int, _Slot] = {}
        self._served = 0
        self.max_stretch = 1

    def sync(self, bot_ids: Iterable[int]) -> None:
        """Watch exactly these bots: new ones are due now, gone ones are forgotten."""
        wanted = list(bot_ids)
        now = self._monotonic()
        self._slots = {bot_id: self._slots.get(bot_id) or _Slot(now, self._next_order()) for bot_id in wanted}

    def next_due(self) -> int | None:
        """The bot to serve now, or None if no bot is due yet."""
        now = self._monotonic()
        due = [(slot.due_s, slot.order, bot_id) for bot_id, slot in self._slots.items() if slot.due_s <= now]
        return min(due)[2] if due else None

    def seconds_until_due(self) -> float | None:
        if not self._slots:
            return None
        return max(0.0, min(slot.due_s for slot in self._slots.values()) - self._monotonic())

    def others_due(self, bot_id: int) -> bool:
        now = self._monotonic()
        return any(slot.due_s <= now for other, slot in self._slots.items() if other != bot_id)

    def served(self, bot_id: int, turn: Turn) -> float:
        """Record a turn; returns the seconds until the bot is due again."""
        slot = self._slots.get(bot_id)
        if slot is None:
            return 0.0
        slot.order = self._next_order()
        slot.auth_failed = turn.auth_failed
        if turn.failed:
            slot.failures += 1
            backoff = self._interval_s * min(2 ** (slot.failures - 1), BACKOFF_MAX_INTERVALS)
            delay = min(max(backoff, turn.retry_after_s or 0.0), max(MAX_DEFER_S, backoff))
        else:
            slot.failures = 0
            slot.idle_turns = 0 if (turn.active or turn.more) else slot.idle_turns + 1
            stretch = min(1 + max(slot.idle_turns - 1, 0), self.max_stretch)
            delay = 0.0 if turn.more else self._interval_s * stretch
        slot.due_s = self._monotonic() + delay
        return delay

    def all_auth_failed(self) -> bool:
        """Desk refused the token for every watched bot at its last turn (then the token is wrong)."""
        return bool(self._slots) and all(slot.auth_failed for slot in self._slots.values())

    def _next_order(self) -> int:
        self._served += 1
        return self._served
