"""One bot's pages in, records and the next cursor out: which entries are new, settled, pending or done.

Pure apart from the clock reading it is given: no I/O, no telemetry. The pipeline exports the records
and commits the cursor only once the OTLP endpoint accepted them.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.pipeline.mapping import to_log_record
from otel_desk_receiver.pipeline.settle import settle
from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.desk.models import Bot, MalformedEntryError, entry_id_of, parse_webhook_log
from otel_desk_receiver.units import NS_PER_DAY, NS_PER_S

# Bound on the ids remembered as emitted inside the trailing window, per bot. Past it the window
# shrinks to the newest ids (an entry that turns up later than that is missed, never doubled).
MAX_RECENT_IDS = 50_000


class OffsetsShiftedError(Exception):
    """The entry expected just before a page is not in it: rows before the cursor moved (deleted,
    pruned at the retention edge): offsets into the listing no longer mean what the cursor says."""


@dataclass(frozen=True)
class ReaderOptions:
    app: str  # first part of log.record.uid
    settle_grace_s: float
    extra_fields: Collection[str] = ()


@dataclass
class PageOutcome:
    """What one page gave: records to export, the cursor to commit once they are accepted, counts."""

    records: list
    cursor: BotCursor
    read: int = 0
    settled: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    rejections: list[tuple[int | None, str]] = field(default_factory=list)  # (entry id, reason), new ones only


class PageReader:
    """Reads one bot's listing from a cursor, page after page, within one cycle.

    An entry is emitted once: it is skipped when pending-turned-settled was already done, when this
    cycle emitted it (Desk may list a row twice), when it sits in ``recent`` (emitted inside the
    trailing window), or when its id is at or below the cursor's ``last_id`` and it was created before
    the trailing window (read on an earlier cycle). An entry below ``last_id`` created inside the window
    and never emitted is a late one (a lower id committed after a higher one was read): it is emitted.
    """

    def __init__(self, bot: Bot, cursor: BotCursor, options: ReaderOptions, now_ns: int,
                 resume_at: tuple[int, int] | None = None, observed_ns: int | None = None):
        """``now_ns``: Desk's now, which createdAt is compared with (desk/clock.py); ``observed_ns``:
        the receiver's, the records' observed time (``now_ns`` when not given). ``resume_at`` (position, id
        of the row there): go on from there, in a turn that follows one that yielded; ``cursor`` is what
        that turn committed, its hold stays the hold."""
        self._bot, self._start, self._options, self._now_ns = bot, cursor, options, now_ns
        self._observed_ns = now_ns if observed_ns is None else observed_ns
        self._trailing_ns = int((bot.timeout_s + options.settle_grace_s) * NS_PER_S)
        self._pending = dict(cursor.pending)
        self._recent = dict(cursor.recent)
        self._emitted: set[int] = set()  # this cycle, any age
        self._rejected: set[int] = set()
        self._max_id = cursor.last_id
        self._newest_ns = min(cursor.newest_created_ns or 0, now_ns)  # one saved from a row dated ahead, too
        self._hold: tuple[int, int | None] | None = None  # (position, id just before it) to re-read from
        self._previous: tuple[int, int | None] = (cursor.offset - 1, cursor.anchor_id)  # last row with a usable id
        self._before_previous: tuple[int, int | None] = (-2, None)
        if resume_at is not None:
            if cursor.offset <= resume_at[0]:
                self._hold = (cursor.offset, cursor.anchor_id)
            self._previous = resume_at
        self._idless_run = 0  # rows without a usable id since the last row with one
        self._idless_counted: set[int] = set()  # positions of id-less malformed rows counted this cycle
        self._hold_from_ns = max(cursor.trail_start_ns, now_ns - self._trailing_ns)
        # The trailing window ends at the clock, not at the newest entry: a row whose createdAt reads far
        # ahead (a Desk glitch, years ahead) is no place where late ids land, and holding on it would re-read
        # everything after it every cycle. It is still remembered in ``recent`` (never sent twice). One
        # window's length of slack keeps holding on fresh rows of a Desk whose clock runs a little ahead.
        self._hold_until_ns = now_ns + self._trailing_ns

    def process(self, offset: int, items: list, anchor_id: int | None) -> PageOutcome:
        """Classify the rows of the page that starts at ``offset``; ``anchor_id`` (the id expected at
        ``offset``, the row read last) must be among them, or OffsetsShiftedError."""
        if anchor_id is not None and not any(entry_id_of(raw) == anchor_id for raw in items):
            raise OffsetsShiftedError
        outcome = PageOutcome([], self._start)
        # What precedes the page's first row is known only once a row with an id is read: Desk may have
        # repeated or inserted rows before the anchor, so an id-less row there follows nothing known.
        self._previous = (offset - 1, None if offset > 0 or self._start.last_id else 0)
        for position, raw in enumerate(items, offset):
            record = self._one(position, raw, outcome)
            if record is not None:
                outcome.records.append(record)
        outcome.cursor = self._next_cursor(offset + len(items))
        return outcome

    def _one(self, position: int, raw, outcome: PageOutcome):
        outcome.read += 1
        try:
            entry = parse_webhook_log(raw)
        except MalformedEntryError as error:
            self._malformed(position, raw, error, outcome)
            return None
        self._identified(position, entry.id)
        # Bounded by the clock: the lag gauge and the window's rebase would otherwise follow a row dated ahead.
        self._newest_ns = max(self._newest_ns, min(entry.created_at_ns, self._now_ns))
        if not self._is_new(entry.id, entry.created_at_ns):
            self._maybe_hold(position, entry.created_at_ns, pending=False)
            return None
        # A row dated ahead of the clock has no age to trust: it ages from when it was first seen pending.
        aged_from_ns = min(entry.created_at_ns, self._pending.get(entry.id, self._now_ns))
        settlement = settle(entry.status, aged_from_ns, timeout_s=self._bot.timeout_s,
                            grace_s=self._options.settle_grace_s, now_ns=self._now_ns)
        if settlement is None:
            self._pending[entry.id] = aged_from_ns
            self._maybe_hold(position, entry.created_at_ns, pending=True)
            return None
        self._pending.pop(entry.id, None)
        self._emitted.add(entry.id)
        if entry.created_at_ns >= self._hold_from_ns:
            self._recent[entry.id] = entry.created_at_ns
            self._maybe_hold(position, entry.created_at_ns, pending=False)
        outcome.settled += 1
        outcome.statuses[settlement.status] = outcome.statuses.get(settlement.status, 0) + 1
        return to_log_record(entry, self._bot, settlement, app=self._options.app, observed_ns=self._observed_ns,
                             extra_fields=self._options.extra_fields)

    def _identified(self, position: int, entry_id: int) -> None:
        """A row with a usable id: it anchors what follows, and may be the new highest id."""
        self._before_previous = self._previous
        self._previous = (position, entry_id)
        self._idless_run = 0
        self._max_id = max(self._max_id, entry_id)

    def _is_new(self, entry_id: int, created_ns: int) -> bool:
        start = self._start
        if entry_id in self._pending:
            return True  # seen before, not settled yet: look again
        if entry_id in self._emitted or entry_id in self._recent or created_ns < start.since_ns:
            return False
        return entry_id > start.last_id or created_ns >= start.trail_start_ns

    def _maybe_hold(self, position: int, created_ns: int, *, pending: bool) -> None:
        """The next cycle re-reads from the first row still pending or inside the trailing window,
        anchored on the nearest row before it that has an id (id-less rows between are read again,
        never counted again)."""
        if self._hold is None and (pending or self._hold_from_ns <= created_ns <= self._hold_until_ns):
            before_position, before_id = self._before_previous
            self._hold = (before_position + 1, before_id) if before_id is not None else (position, None)

    def _malformed(self, position: int, raw, error: MalformedEntryError, outcome: PageOutcome) -> None:
        entry_id = entry_id_of(raw)
        if entry_id is not None:
            new = entry_id > self._start.last_id and entry_id not in self._rejected
            self._rejected.add(entry_id)
            self._identified(position, entry_id)
        else:
            # No id to recognise it by: new if it follows the highest id read so far, and that is above the
            # highest read before this cycle, or is it and this row lies beyond the id-less rows that
            # already followed it then (a row Desk lists twice follows a lower id the second time).
            self._idless_run += 1
            before = self._previous[1] or 0
            new = before == self._max_id and position not in self._idless_counted and (
                before > self._start.last_id or self._idless_run > self._start.rejected_after_last)
            if new:
                self._idless_counted.add(position)
        if new:
            outcome.rejections.append((entry_id, error.reason))

    def _next_cursor(self, end_position: int) -> BotCursor:
        """The cursor to commit once this cycle's records so far are delivered."""
        if self._hold is not None:
            offset, anchor = self._hold
        else:
            # Just past the last row with an id: id-less rows after it are read again, never counted again.
            last_position, last_id = self._previous
            offset, anchor = (last_position + 1, last_id) if last_id is not None else (end_position, None)
        trail_start = max(self._start.trail_start_ns, self._now_ns - self._trailing_ns)
        recent = {k: v for k, v in self._recent.items() if v >= trail_start}
        if len(recent) > MAX_RECENT_IDS:
            # Cut at a strict boundary: every id kept is newer than every id dropped, so a dropped one
            # (created before the new trail start) is never taken for a late one.
            ordered = sorted(recent.values())
            trail_start = ordered[-MAX_RECENT_IDS - 1] + 1
            recent = {k: v for k, v in recent.items() if v >= trail_start}
        oldest_kept_ns = self._now_ns - RETENTION_DAYS * NS_PER_DAY  # Desk no longer has older ones
        return replace(
            self._start,
            offset=offset,
            anchor_id=anchor if offset > 0 else None,
            last_id=self._max_id,
            newest_created_ns=self._newest_ns or None,
            pending={k: v for k, v in self._pending.items() if v >= oldest_kept_ns},
            recent=recent,
            trail_start_ns=trail_start,
            # id-less rows after the highest id: the next cycle counts only those beyond them as new
            rejected_after_last=self._idless_run if self._previous[1] == self._max_id else 0,
        )
