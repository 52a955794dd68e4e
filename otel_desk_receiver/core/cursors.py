"""Cursors: where each bot's reading stands (BotCursor), and their one owner in a process (CursorStore)."""

import threading
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_desk_receiver.core.state_file import StateFile


@dataclass
class BotCursor:
    """Where a bot's reading stands.

    Reads go through ``GET /bots/{id}/webhook_logs?order=id&start_date=window_start``: ids only grow,
    so that listing is append-only and an offset into it stays put while new entries arrive.
    """

    window_start: str  # start_date sent to Desk (YYYY-MM-DD); offsets are positions in this window
    offset: int  # position of the first entry not yet fully handled (the oldest pending, or the end)
    anchor_id: int | None  # id of the entry at offset - 1: re-read first to prove offsets did not shift
    last_id: int  # highest entry id read; ids at or below it, not pending, were emitted or skipped
    frontier: int  # position just past the furthest entry ever read in this window
    since_ns: int  # entries created before this instant are never emitted (the bot's starting point)
    newest_created_ns: int | None = None  # createdAt of the newest entry read (for the lag gauge)
    pending: dict[int, int] = field(default_factory=dict)  # entry id -> createdAt (ns), seen but not settled

    def to_json(self) -> dict:
        # Shallow, not dataclasses.asdict: every commit writes every bot's cursor, and asdict's deep
        # copy was the costliest part of a commit over many bots (benchmarks/RESULTS.md).
        data = {f.name: getattr(self, f.name) for f in _CURSOR_FIELDS}
        data["pending"] = {str(k): v for k, v in self.pending.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "BotCursor":
        values = dict(data)
        values["pending"] = {int(k): int(v) for k, v in data.get("pending", {}).items()}
        return cls(**values)


_CURSOR_FIELDS = fields(BotCursor)




class CursorStore:
    """The one owner of the cursors in a process: loads them once, hands them out, commits them.

    ``commit`` replaces one bot's cursor and, with a state file, writes every bot's cursor in one
    atomic replace before it returns (StateFile.commit: after a crash the file holds the previous
    state or the new one, never a mix). Callers commit only after the OTLP endpoint accepted what
    the new cursor covers, so the saved state never runs ahead of delivery. With ``persist=False``
    (the SDK disabled: nothing is exported, so nothing may be remembered as delivered) the file is
    read but never written, and commits live in memory. Safe to call from several threads.
    """

    def __init__(self, state_file: "StateFile", *, persist: bool = True):
        self._file = state_file if persist else None
        self._cursors: dict[int, BotCursor] = state_file.load()
        self._lock = threading.Lock()

    def get(self, bot_id: int) -> BotCursor | None:
        return self._cursors.get(bot_id)

    def snapshot(self) -> dict[int, BotCursor]:
        """Every bot's cursor as committed (a copy: safe to read on another thread)."""
        with self._lock:
            return dict(self._cursors)

    def commit(self, bot_id: int, cursor: BotCursor) -> None:
        """Make ``cursor`` the bot's committed cursor; raises StateError if the file cannot be written
        (then the previous cursor stays, in memory and on disk)."""
        with self._lock:
            cursors = {**self._cursors, bot_id: cursor}
            if self._file is not None:
                self._file.commit(cursors)
            self._cursors = cursors
