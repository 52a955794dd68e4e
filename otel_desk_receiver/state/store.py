"""CursorStore: the one owner of the bots' cursors in a process; saves are grouped (see the class)."""

import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace
from typing import TYPE_CHECKING

from otel_desk_receiver.pipeline.cursor import BotCursor

if TYPE_CHECKING:
    from otel_desk_receiver.state.backend import StateBackend


# Fields a cursor moves with time alone (the trailing window passing, an offset passing rows that left it,
# a fresh date window): a change to these only delivered nothing, so losing it in a crash loses nothing.
_TIME_ONLY = frozenset({"window_start", "offset", "anchor_id", "trail_start_ns", "recent"})
_PROGRESS_FIELDS = tuple(f.name for f in fields(BotCursor) if f.name not in _TIME_ONLY)


def _progress(cursor: BotCursor | None) -> tuple | None:
    return None if cursor is None else tuple(getattr(cursor, name) for name in _PROGRESS_FIELDS)


class CursorStore:
    """The one owner of the cursors in a process: loads them once, hands them out, commits and saves them.

    ``commit`` makes a cursor the bot's current one at once; the write that makes it durable is
    coalesced, so that a sweep over a thousand bots costs one write, not a thousand:

    - ``save`` writes every bot's current cursor in one atomic backend write (StateFile: after a crash
      the file holds the previous state or the new one, never a mix), and only when a cursor changed in
      what it delivered (counts, ids read, pending entries);
    - ``before_export(bot)``: a bot whose delivered records are not saved yet is saved before its next
      records go out, so a crash repeats at most one batch per bot;
    - the poll loop saves at the end of each sweep and at the latest ``save_every_s`` after a delivery
      (``save_due``), and at a stop;
    - a change that delivered nothing (the trailing window moving on, offsets passing rows that left it)
      waits for the next write: the saved cursor is then an earlier one, which reads the same rows again
      and skips them.

    Callers commit only after the OTLP endpoint accepted what the new cursor covers, so the saved state
    never runs ahead of delivery. ``snapshot`` is the state as saved: the counters export only that, so a
    total once exported is never taken back by a crash. With ``persist=False`` (the SDK disabled: nothing
    is exported, so nothing may be remembered as delivered) the state is read but never written. Safe
    to call from several threads.
    """

    def __init__(self, state: "StateBackend", *, persist: bool = True, save_every_s: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self._backend = state if persist else None
        self._source = state
        self._save_every_s = save_every_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._unsaved_since: dict[int, float] = {}  # bot id -> when its first unsaved delivery was committed
        self._load()

    def _load(self) -> None:
        self._cursors = self._saved = self._source.load()
        self._unsaved_since = {}
        # A document in an older version (or written by hand) is written again as this version writes it,
        # at the first save, even if nothing else changed.
        self._rewrite = bool(getattr(self._source, "needs_rewrite", False)) and self._backend is not None

    def reload(self) -> None:
        """Load the saved state again: a new leader's term starts from what the previous leader saved."""
        with self._lock:
            self._load()

    def get(self, bot_id: int) -> BotCursor | None:
        return self._cursors.get(bot_id)

    def snapshot(self) -> dict[int, BotCursor]:
        """Every bot's cursor as saved (a copy: safe to read on another thread): what the counters export."""
        with self._lock:
            return dict(self._saved)

    def current(self) -> dict[int, BotCursor]:
        """Every bot's cursor as committed, saved or not (a copy): for gauges."""
        with self._lock:
            return dict(self._cursors)

    def commit(self, bot_id: int, cursor: BotCursor) -> None:
        """Make ``cursor`` the bot's current cursor; saved with the next ``save`` (see the class)."""
        with self._lock:
            current = self._cursors.get(bot_id)
            if current is not None:  # the metrics loop's fields: a pipeline's cursor never moves them
                cursor = replace(cursor, acked=current.acked, acked_ns=current.acked_ns)
            self._cursors = {**self._cursors, bot_id: cursor}
            if self._backend is None:
                self._saved = self._cursors
            elif _progress(cursor) != _progress(self._saved.get(bot_id)):
                self._unsaved_since.setdefault(bot_id, self._monotonic())
            else:
                self._unsaved_since.pop(bot_id, None)

    def before_export(self, bot_id: int) -> None:
        """Before the bot's next records go out: save its earlier delivery (what its counts say the OTLP
        endpoint accepted) if it is not saved yet. A bot just found, or one whose change delivered
        nothing, waits for the sweep's write."""
        if bot_id not in self._unsaved_since:
            return
        current, saved = self._cursors.get(bot_id), self._saved.get(bot_id)
        if current is not None and current.counted != (saved.counted if saved is not None else {}):
            self.save()

    def save_due(self) -> None:
        """Save if a delivery has waited ``save_every_s`` or longer."""
        unsaved = self._unsaved_since
        if self._rewrite or unsaved and self._monotonic() - min(unsaved.values()) >= self._save_every_s:
            self.save()

    def save(self) -> None:
        """Write every bot's current cursor now if any delivered something since the last write; raises
        StateError if the state cannot be written (then the saved state stays the previous one)."""
        with self._lock:
            if self._backend is None or not (self._unsaved_since or self._rewrite):
                return
            cursors = self._cursors
            self._backend.commit(cursors)
            self._saved = cursors
            self._unsaved_since, self._rewrite = {}, False

    def acknowledge(self, acked: dict[int, tuple[dict[str, int], int]]) -> None:
        """Record per bot the counts the metrics endpoint acknowledged and when, in one atomic write."""
        with self._lock:
            cursors = dict(self._cursors)
            for bot_id, (counts, at_ns) in acked.items():
                if bot_id in cursors:
                    cursors[bot_id] = replace(cursors[bot_id], acked=dict(counts), acked_ns=at_ns)
            if self._backend is not None:
                self._backend.commit(cursors)
                self._unsaved_since, self._rewrite = {}, False
            self._cursors = self._saved = cursors
