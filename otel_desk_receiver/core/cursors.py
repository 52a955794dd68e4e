"""Cursors: where each bot's reading stands (BotCursor), and their one owner in a process (CursorStore)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import TYPE_CHECKING

from otel_desk_receiver.core.id_codec import decode_recent, encode_recent

if TYPE_CHECKING:
    from otel_desk_receiver.core.state_backend import StateBackend


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
        """The saved form (state version 3): ``recent`` in the compact form of core/id_codec.py, and the
        optional fields left out while they hold their defaults (a ConfigMap holds more bots)."""
        # Shallow, not dataclasses.asdict: asdict's deep copy was the costliest part of a commit over many
        # bots (benchmarks/RESULTS.md).
        data = {name: value for name in _FIELD_NAMES
                if (value := getattr(self, name)) != _DEFAULTS.get(name, _REQUIRED)}
        if self.pending:
            data["pending"] = {str(k): v for k, v in self.pending.items()}
        if self.recent:
            data["recent"] = encode_recent(self.recent)
        return data

    @classmethod
    def from_json(cls, data, version: int = 3) -> "BotCursor":
        """The cursor a saved object of state ``version`` describes; CursorFormatError names the first
        field that is wrong. Fields of older versions that are no longer used (``frontier``) are ignored;
        versions 1 and 2 saved ``recent`` as an object of id -> createdAt, version 3 compactly."""
        if not isinstance(data, dict):
            raise CursorFormatError(f"expected an object, got {type(data).__name__}")
        values = {}
        for name, (kinds, required) in _FIELD_TYPES.items():
            if name not in data:
                if required:
                    raise CursorFormatError(f"{name}: missing")
                continue
            value = data[name]
            if name == "recent" and version >= 3:
                values[name] = _recent_groups(value)
            elif kinds is dict:
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
_FIELD_NAMES = tuple(f.name for f in _CURSOR_FIELDS)
_REQUIRED = object()  # never equal to a value: required fields are always written
_DEFAULTS = {"newest_created_ns": None, "pending": {}, "recent": {}, "rejected_after_last": 0, "counted": {},
             "counted_since_ns": None, "acked": {}, "acked_ns": None}
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


def _recent_groups(value) -> dict[int, int]:
    try:
        if not isinstance(value, list):
            raise ValueError(value)
        return decode_recent(value)
    except ValueError:
        raise CursorFormatError("recent: expected a list of [createdAt in ns, ids]") from None


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


# Fields a cursor moves with time alone (the trailing window passing, an offset passing rows that left it,
# a fresh date window): a change to these only delivered nothing, so losing it in a crash loses nothing.
_TIME_ONLY = frozenset({"window_start", "offset", "anchor_id", "trail_start_ns", "recent"})
_PROGRESS_FIELDS = tuple(f.name for f in _CURSOR_FIELDS if f.name not in _TIME_ONLY)


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
