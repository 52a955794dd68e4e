"""Which bot the poll loop serves next, so that Desk's request budget is shared fairly: pure, clock injected.

Every bot has a due time. The loop serves the bots due earliest, up to ``workers`` turns at once (each turn
one bot's, a bot never in two turns at once). A bot with a backlog reads page after page while no other bot
waits for a turn, or for one poll interval at most (the poller's own duties keep their schedule); while
others wait it reads on only on the backlog share: each request of a live bot's turn earns the backlogs
``share / (1 - share)`` of a page, and a page read while others wait spends one (DESK_BACKLOG_SHARE: 0.25
keeps a quarter of the budget for backlogs when the live bots could use all of it). Without credit it
yields and is due again at once, behind the bots waiting; with credit it goes before them. A bot whose last
turn found entries (or left some pending) is due again one poll interval later; an idle one too, unless
the budget cannot poll every bot each interval, then idle bots are stretched to at most
IDLE_MAX_INTERVALS intervals. A failed turn costs that bot alone: it is due again after Desk's retry hint
or an exponential backoff, while the others keep their turns.
"""

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

IDLE_MAX_INTERVALS = 4  # an idle bot is polled at least once every this many intervals
BACKOFF_MAX_INTERVALS = 10  # a failing bot is retried at least once every this many intervals
MAX_DEFER_S = 3600.0  # the longest a retry hint from Desk may delay a bot
MAX_CREDIT_PAGES = 4.0  # backlog pages saved up at most: a quiet spell earns no burst past this


@dataclass
class _Slot:
    due_s: float
    order: int  # who was served longest ago goes first among bots due at the same time
    idle_turns: int = 0
    failures: int = 0
    auth_failed: bool = False
    busy: bool = False  # in a turn now: never handed out twice
    more: bool = False  # its last turn stopped with more to read: a backlog
    watched: bool = True  # False: gone from the bot list while in a turn; forgotten when that turn ends


@dataclass(frozen=True)
class Turn:
    """What a bot's turn did, as the scheduler needs it."""

    more: bool = False  # stopped early with more to read
    active: bool = False  # found entries, or has entries pending
    failed: bool = False
    retry_after_s: float | None = None  # Desk's hint, on a failure
    auth_failed: bool = False  # Desk refused the token for this bot
    requests: int = 1  # Desk requests the turn made


class Scheduler:
    """Safe to call from the poll loop and from the turns it runs (they ask ``may_read_on`` between pages)."""

    def __init__(self, interval_s: float, monotonic: Callable[[], float] = time.monotonic, *, workers: int = 1,
                 backlog_share: float = 0.0):
        if not 0 <= backlog_share < 1:
            raise ValueError("backlog_share must be at least 0 and less than 1")
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._workers = workers
        self._earn = backlog_share / (1 - backlog_share)  # backlog pages per live request
        # Live turns at once while a backlog reads: Desk's rate limit serves requests in the order they queue,
        # so n live turns leave a backlog at most 1 / (n + 1) of it; fewer than that bound, the credit rules.
        self._live_turns_beside_backlog = max(1, min(workers - 1, math.ceil(1 / backlog_share) - 2)) \
            if backlog_share else workers
        self._credit = 0.0
        self._slots: dict[int, _Slot] = {}
        self._served = 0
        self._lock = threading.RLock()
        self.max_stretch = 1

    def sync(self, bot_ids: Iterable[int]) -> None:
        """Watch exactly these bots: new ones are due now, gone ones are forgotten. A gone bot still in a turn
        is forgotten when that turn ends (``served``): listed again meanwhile, it is still in its turn, never
        handed out a second one."""
        wanted = list(bot_ids)
        with self._lock:
            now = self._monotonic()
            slots = {bot_id: self._slots.get(bot_id) or _Slot(now, self._next_order()) for bot_id in wanted}
            for bot_id, slot in slots.items():
                slot.watched = True
            for bot_id, slot in self._slots.items():
                if slot.busy and bot_id not in slots:
                    slot.watched = False
                    slots[bot_id] = slot
            self._slots = slots

    def next_due(self) -> int | None:
        """The bot to serve now, or None if no bot is due yet (or every due one is in a turn, or the turns left
        are not for it). A backlog with credit goes first; otherwise the live bot due earliest, then the one
        served longest ago; a backlog also takes a turn no live bot may take."""
        with self._lock:
            now = self._monotonic()
            due = [(slot.due_s, slot.order, bot_id) for bot_id, slot in self._slots.items()
                   if slot.due_s <= now and not slot.busy]
            backlogs = [(order, bot_id) for _due, order, bot_id in due if self._slots[bot_id].more]
            live = [item for item in due if not self._slots[item[2]].more]
            free_live = self._free_live_turns()
            if backlogs and (self._credit >= 1 or not live or free_live <= 0):
                return min(backlogs)[1]
            return min(live)[2] if live and free_live > 0 else None

    def started(self, bot_id: int) -> None:
        """The bot's turn begins: it is handed out to no one else until ``served``. A backlog taking a turn
        while others wait pays its first page from the credit."""
        with self._lock:
            slot = self._slots.get(bot_id)
            if slot is None:
                return
            slot.busy = True
            if slot.more and self._others_wait(bot_id):
                self._credit = max(0.0, self._credit - 1)

    def seconds_until_due(self) -> float | None:
        with self._lock:
            idle = [slot.due_s for slot in self._slots.values() if not slot.busy]
            if not idle:
                return None
            return max(0.0, min(idle) - self._monotonic())

    def others_due(self, bot_id: int) -> bool:
        """Another bot, not in a turn, is due."""
        with self._lock:
            now = self._monotonic()
            return any(slot.due_s <= now and not slot.busy for other, slot in self._slots.items() if other != bot_id)

    def may_read_on(self, bot_id: int) -> bool:
        """Between two pages of the bot's turn: read on while no other bot waits for a free turn, or on the
        backlog share's credit (one page spent); False: yield."""
        with self._lock:
            if not self._others_wait(bot_id):
                return True
            if self._credit >= 1:
                self._credit -= 1
                return True
            return False

    def _others_wait(self, bot_id: int) -> bool:
        """More bots are due, not in a turn, than there are free turns for them."""
        now = self._monotonic()
        waiting = sum(1 for other, slot in self._slots.items()
                      if other != bot_id and slot.due_s <= now and not slot.busy)
        return waiting > self._free_live_turns()

    def _free_live_turns(self) -> int:
        """Turns that live bots may still start: every free one, or fewer while a backlog reads."""
        busy = sum(1 for slot in self._slots.values() if slot.busy)
        free = self._workers - busy
        if any(slot.more for slot in self._slots.values()):
            live_busy = sum(1 for slot in self._slots.values() if slot.busy and not slot.more)
            free = min(free, self._live_turns_beside_backlog - live_busy)
        return free

    def served(self, bot_id: int, turn: Turn) -> float:
        """Record a turn; returns the seconds until the bot is due again."""
        with self._lock:
            slot = self._slots.get(bot_id)
            if slot is None:
                return 0.0
            if not slot.watched:
                del self._slots[bot_id]
                return 0.0
            if not (slot.more or turn.more or turn.failed):  # a live bot's turn: the backlogs' share grows
                self._credit = min(MAX_CREDIT_PAGES, self._credit + self._earn * max(1, turn.requests))
            slot.busy, slot.more = False, turn.more
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

    def in_turn(self) -> int:
        """How many bots are in a turn now."""
        with self._lock:
            return sum(1 for slot in self._slots.values() if slot.busy)

    def all_auth_failed(self) -> bool:
        """Desk refused the token for every watched bot at its last turn (then the token is wrong)."""
        with self._lock:
            watched = [slot for slot in self._slots.values() if slot.watched]
            return bool(watched) and all(slot.auth_failed for slot in watched)

    def _next_order(self) -> int:
        self._served += 1
        return self._served
