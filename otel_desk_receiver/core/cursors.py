"""Cursors: where each bot's reading stands (BotCursor), and their one owner in a process (CursorStore)."""

import threading
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_desk_receiver.core.state_file import StateFile


class CursorFormatError(ValueError):
    """A saved cursor does not have the shape of one; the message names the field ("pending", "offset")."""


@dataclass
class BotCursor:
    """Where a bot's reading stands.

    Reads go through ``GET /bots/{id}/webhook_logs?order=id&start_date=window_start``: with ids that grow
    with time that listing only grows at its end, so an offset into it stays put while entries arrive.
    What breaks that (deletions, retention, ids committed late, rows repeated) is caught by re-reading
    the entry before each page (``anchor_id``) and by the trailing window: the offset never moves past
    an entry created less than the bot's settle horizon ago, so such entries are read again next cycle,
    and ``recent`` says which of them were already emitted.
    """

    window_start: str  # start_date sent to Desk (YYYY-MM-DD); offsets are positions in this window
    offset: int  # position of the first entry still to be read again: the oldest pending or recent one, or the end
    anchor_id: int | None  # id of the entry at offset - 1: re-read first to prove offsets did not shift
    last_id: int  # highest entry id read; older ids at or below it, neither pending nor recent, are done
    since_ns: int  # entries created before this instant are never emitted (the bot's starting point)
    newest_created_ns: int | None = None  # createdAt of the newest entry read (for the lag gauge)
    pending: dict[int, int] = field(default_factory=dict)  # entry id -> createdAt (ns), seen but not settled
    recent: dict[int, int] = field(default_factory=dict)  # entry id -> createdAt (ns), emitted, inside the trailing window
    trail_start_ns: int = 0  # start of the trailing window ``recent`` covers: older entries at or below last_id are done
    rejected_after_last: int = 0  # malformed rows without an id that follow the last_id row (counted already)
    # Counters (otlp/counter_export.py): per status, the entries whose records the OTLP endpoint accepted,
    # moved in the same commit as the offsets that delivered them, so they are never lost or doubled;
    # since when (the cumulative start time); and what the metrics endpoint last acknowledged (the base
    # of delta points), owned by the metrics loop: CursorStore.commit keeps it as it is.
    counted: dict[str, int] = field(default_factory=dict)
    counted_since_ns: int | None = None
    acked: dict[str, int] = field(default_factory=dict)
    acked_ns: int | None = None

    def to_json(self) -> dict:
        # Shallow, not dataclasses.asdict: every commit writes every bot's cursor, and asdict's deep
        # copy was the costliest part of a commit over many bots (benchmarks/RESULTS.md).
        data = {f.name: getattr(self, f.name) for f in _CURSOR_FIELDS}
        data["pending"] = {str(k): v for k, v in self.pending.items()}
        data["recent"] = {str(k): v for k, v in self.recent.items()}
        return data

    @classmethod
    def from_json(cls, data) -> "BotCursor":
        """The cursor a saved object describes; CursorFormatError names the first field that is wrong.
        Fields of older versions that are no longer used (``frontier``) are ignored."""
        if not isinstance(data, dict):
            raise CursorFormatError(f"expected an object, got {type(data).__name__}")
        values = {}
        for name, (kinds, required) in _FIELD_TYPES.items():
            if name not in data:
                if required:
                    raise CursorFormatError(f"{name}: missing")
                continue
            value = data[name]
            if kinds is dict:
                values[name] = _id_map(name, value)
            elif kinds is _COUNTS:
                values[name] = _counts(name, value)
            elif isinstance(value, bool) or not isinstance(value, kinds):
                raise CursorFormatError(f"{name}: expected {_KIND_NAMES[kinds]}, got {json_type(value)}")
            else:
                values[name] = value
        # Version 1 had no trailing window: everything up to the newest entry read was done.
        values.setdefault("trail_start_ns", (values["newest_created_ns"] + 1) if values.get("newest_created_ns")
                          else values["since_ns"])
        try:
            date.fromisoformat(values["window_start"])
        except ValueError:
            raise CursorFormatError("window_start: expected a date as YYYY-MM-DD") from None
        return cls(**values)


_CURSOR_FIELDS = fields(BotCursor)
_INT = int
_INT_OR_NONE = (int, type(None))
_COUNTS = "counts"  # status -> non-negative count
# field -> (accepted JSON types, required)
_FIELD_TYPES = {
    "window_start": (str, True), "offset": (_INT, True), "anchor_id": (_INT_OR_NONE, True), "last_id": (_INT, True),
    "since_ns": (_INT, True), "newest_created_ns": (_INT_OR_NONE, False), "pending": (dict, False),
    "recent": (dict, False), "trail_start_ns": (_INT, False), "rejected_after_last": (_INT, False),
    "counted": (_COUNTS, False), "counted_since_ns": (_INT_OR_NONE, False), "acked": (_COUNTS, False),
    "acked_ns": (_INT_OR_NONE, False),
}
_KIND_NAMES = {str: "a string", _INT: "an integer", _INT_OR_NONE: "an integer or null"}


def json_type(value) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _id_map(name: str, value) -> dict[int, int]:
    if not isinstance(value, dict):
        raise CursorFormatError(f"{name}: expected an object of entry id -> createdAt, got {json_type(value)}")
    result = {}
    for key, created_ns in value.items():
        if not (isinstance(key, str) and key.isdecimal()) or isinstance(created_ns, bool) \
                or not isinstance(created_ns, int):
            raise CursorFormatError(f"{name}: expected entry id -> createdAt in ns, got {key!r}: {json_type(created_ns)}")
        result[int(key)] = created_ns
    return result


def _counts(name: str, value) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              and v >= 0 for k, v in value.items()):
        raise CursorFormatError(f"{name}: expected an object of status -> count, got {json_type(value)}")
    return dict(value)


def add_counts(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """``counts`` plus ``more``, a new dict (cursors are replaced, never changed in place)."""
    total = dict(counts)
    for status, n in more.items():
        total[status] = total.get(status, 0) + n
    return total


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
        self._source = state_file
        self._cursors: dict[int, BotCursor] = state_file.load()
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Load the saved state again: a new leader's term starts from what the previous leader committed."""
        with self._lock:
            self._cursors = self._source.load()

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
            current = self._cursors.get(bot_id)
            if current is not None:  # the metrics loop's fields: a pipeline's cursor never moves them
                cursor = replace(cursor, acked=current.acked, acked_ns=current.acked_ns)
            cursors = {**self._cursors, bot_id: cursor}
            if self._file is not None:
                self._file.commit(cursors)
            self._cursors = cursors

    def acknowledge(self, acked: dict[int, tuple[dict[str, int], int]]) -> None:
        """Record per bot the counts the metrics endpoint acknowledged and when, in one atomic commit."""
        with self._lock:
            cursors = dict(self._cursors)
            for bot_id, (counts, at_ns) in acked.items():
                if bot_id in cursors:
                    cursors[bot_id] = replace(cursors[bot_id], acked=dict(counts), acked_ns=at_ns)
            if self._file is not None:
                self._file.commit(cursors)
            self._cursors = cursors
