"""One bot, one cycle: read a page, settle, map, export, and only then commit the cursor."""

import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.desk.models import Bot, MalformedEntryError, parse_webhook_log
from otel_desk_receiver.core.mapping import to_log_record
from otel_desk_receiver.core.progress import BackfillProgress
from otel_desk_receiver.service.selfmetrics import SelfTelemetry
from otel_desk_receiver.core.settle import settle
from otel_desk_receiver.core.cursors import BotCursor, CursorStore
from otel_desk_receiver.units import NS_PER_DAY, NS_PER_S

log = logging.getLogger(__name__)

REBASE_AFTER_DAYS = 7  # move the date window forward once it is this much older than needed


@dataclass
class BotCycleResult:
    """What one bot's cycle did; ``delivered`` is False when something read could not be exported."""

    read: int = 0
    settled: int = 0
    exported: int = 0
    rejected: int = 0
    requests: int = 0
    delivered: bool = True
    error: str | None = None
    pending: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


class OffsetsShiftedError(Exception):
    """The entry expected just before the cursor is not there: the listing changed under us."""


@dataclass(frozen=True)
class PipelineOptions:
    app: str  # first part of log.record.uid: DESK_APP_ID, or the API host
    page_size: int
    backfill_days: int
    settle_grace_s: float
    extra_fields: Collection[str] = ()


class BotPipeline:
    """Reads one bot's entries in ascending id order from its cursor and delivers the settled ones.

    Guarantees: a cursor is committed to the store only after the exporter got the endpoint's acceptance of every record of the page, so the
    saved cursor never runs ahead of delivery; an entry is emitted once (it is skipped on later
    reads because its id is at or below ``last_id`` and it is no longer pending).
    """

    def __init__(self, client, exporter, cursors: CursorStore, telemetry: SelfTelemetry, options: PipelineOptions,
                 clock_ns: Callable[[], int], should_stop=lambda: False):
        self._client = client
        self._exporter = exporter
        self._telemetry = telemetry
        self._options = options
        self._cursors = cursors
        self._clock_ns = clock_ns
        self._should_stop = should_stop

    def run_cycle(self, bot: Bot) -> BotCycleResult:
        result = BotCycleResult()
        cursor = self._cursors.get(bot.id)
        if cursor is None:
            cursor = self._start_cursor(bot, result)
            self._cursors.commit(bot.id, cursor)
        cursor = self._rebase_if_stale(cursor)
        try:
            self._read(bot, cursor, result)
        except OffsetsShiftedError:
            log.warning("bot %s: the webhook log listing shifted under the cursor; re-reading from %s",
                        bot.id, self._rebased(cursor).window_start)
            self._read(bot, self._rebased(cursor), result)
        return result

    def _start_cursor(self, bot: Bot, result: BotCycleResult) -> BotCursor:
        now_ns = self._clock_ns()
        since_ns = now_ns - self._options.backfill_days * NS_PER_DAY
        window = self._window_start(since_ns)
        cursor = BotCursor(window_start=window.isoformat(), offset=0, anchor_id=None, last_id=0, frontier=0,
                           since_ns=since_ns)
        if self._options.backfill_days:
            return cursor
        # Starting "from now": one request for the newest entry and the count gives the end of the listing.
        # Past that point every entry is new, so no createdAt filter applies (Desk may print createdAt
        # with fewer fraction digits than it has, which would make "created after now" unreliable).
        page = self._client.get_webhook_logs_page(bot.id, offset=0, limit=1, order="-id", start_date=window)
        result.requests += 1
        if page.count is None:
            return cursor
        if not page.results:
            return replace(cursor, since_ns=0)
        try:
            newest = parse_webhook_log(page.results[0])
        except MalformedEntryError:
            return cursor
        return replace(cursor, offset=page.count, anchor_id=newest.id, last_id=newest.id, frontier=page.count,
                       newest_created_ns=newest.created_at_ns, since_ns=0)

    def _rebase_if_stale(self, cursor: BotCursor) -> BotCursor:
        rebased = self._rebased(cursor)
        if date.fromisoformat(rebased.window_start) - date.fromisoformat(cursor.window_start) > timedelta(
            days=REBASE_AFTER_DAYS
        ):
            return rebased
        return cursor

    def _rebased(self, cursor: BotCursor) -> BotCursor:
        """A cursor over a fresh window starting a day before the oldest entry still needed; offsets
        restart at 0 and ``last_id`` alone tells what was already handled."""
        oldest_ns = min(cursor.pending.values(), default=cursor.newest_created_ns or cursor.since_ns)
        return replace(cursor, window_start=self._window_start(oldest_ns).isoformat(), offset=0, anchor_id=None,
                       frontier=0)

    def _window_start(self, oldest_ns: int) -> date:
        """start_date for a read that must include oldest_ns: a day earlier (desk-api.md, "Dates": the
        project's time zone is unknown), but never past Desk's retention."""
        return max(_day(oldest_ns) - timedelta(days=1), _day(self._clock_ns() - RETENTION_DAYS * NS_PER_DAY))

    def _read(self, bot: Bot, cursor: BotCursor, result: BotCycleResult) -> None:
        progress = BackfillProgress(bot.id, cursor.offset)
        read_offset = cursor.offset - 1 if cursor.anchor_id is not None else cursor.offset
        page_reader = _PageReader(bot, cursor, self._options, self._clock_ns(), self._telemetry)
        start_date = date.fromisoformat(cursor.window_start)

        def fetch(offset: int):
            return self._client.get_webhook_logs_page(bot.id, offset=offset, limit=self._options.page_size,
                                                      order="id", start_date=start_date)

        # Read-ahead of one page: while a page is mapped and exported, the next is fetched (measured: it
        # lifts a backfill from about 0.5 to 0.6 of the exporter's ceiling, benchmarks/RESULTS.md). Only
        # once the cycle's first page went through, so a down endpoint costs one page read per bot; never
        # past a stop request; a page read ahead is dropped, uncommitted, if the export before it fails.
        # Leaving the block waits for a fetch in flight: the client is never used by two threads at once.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-read-ahead") as read_ahead:
            page, next_page, delivered_once = fetch(read_offset), None, False
            result.requests += 1
            while True:
                last = len(page.results) < self._options.page_size or not page.has_next
                if delivered_once and not last and not self._should_stop():
                    next_page = read_ahead.submit(fetch, read_offset + len(page.results))
                    result.requests += 1
                records, new_cursor = page_reader.process(read_offset, page.results)
                if records and not self._deliver(bot, records, page_reader, result):
                    return
                delivered_once = True
                page_reader.account(result)
                if new_cursor != cursor:
                    self._cursors.commit(bot.id, new_cursor)
                    cursor = new_cursor
                progress.page_done(read_offset + len(page.results), page.count)
                if last or self._should_stop():
                    return
                read_offset += len(page.results)
                if next_page is None:
                    page = fetch(read_offset)
                    result.requests += 1
                else:
                    page, next_page = next_page.result(), None

    def _deliver(self, bot: Bot, records, page_reader, result: BotCycleResult) -> bool:
        if not self._exporter.export(records):
            result.delivered = False
            result.error = "OTLP endpoint did not accept the log records"
            self._telemetry.export_failed("logs")
            return False
        for status, count in page_reader.settled_statuses.items():
            self._telemetry.settled(bot.id, bot.name, status, count)
        result.exported += len(records)
        return True


class _PageReader:
    """Turns pages into records and the cursor that will be true once those records are delivered."""

    def __init__(self, bot: Bot, cursor: BotCursor, options: PipelineOptions, now_ns: int,
                 telemetry: SelfTelemetry):
        self._bot = bot
        self._options = options
        self._now_ns = now_ns
        self._telemetry = telemetry
        self._cursor = cursor
        self._pending = dict(cursor.pending)
        self._expect_anchor = cursor.anchor_id
        self._first_pending: tuple[int, int | None] | None = None  # (offset, id just before it)
        self._previous_id = cursor.anchor_id
        self._max_id = cursor.last_id
        self._newest_ns: int | None = None
        self.settled_statuses: dict[str, int] = {}
        self._counts = BotCycleResult()

    def process(self, offset: int, items: list) -> tuple[list, BotCursor]:
        self.settled_statuses = {}
        self._counts = BotCycleResult()
        if self._expect_anchor is not None:
            if not items or _raw_id(items[0]) != self._expect_anchor:
                raise OffsetsShiftedError
            items, offset, self._expect_anchor = items[1:], offset + 1, None
        records = [r for position, raw in enumerate(items, offset) if (r := self._one(position, raw))]
        return records, self._next_cursor(offset + len(items))

    def _one(self, position: int, raw):
        cursor, counts, id_before = self._cursor, self._counts, self._previous_id
        counts.read += 1
        try:
            entry = parse_webhook_log(raw)
        except MalformedEntryError as error:
            self._previous_id = _raw_id(raw)
            if position >= cursor.frontier:  # count each malformed entry once, however often re-read
                counts.rejected += 1
                self._telemetry.rejected(self._bot.id, error.reason)
                log.warning("bot %s: skipped malformed webhook log entry at offset %d (%s)",
                            self._bot.id, position, error.reason)
            return None
        self._previous_id = entry.id
        self._max_id = max(self._max_id, entry.id)
        self._newest_ns = max(self._newest_ns or 0, entry.created_at_ns)
        known = entry.id in self._pending
        if not known and (entry.id <= cursor.last_id or entry.created_at_ns < cursor.since_ns):
            return None  # emitted on an earlier read, or older than this bot's starting point
        settlement = settle(entry.status, entry.created_at_ns, timeout_s=self._bot.timeout_s,
                            grace_s=self._options.settle_grace_s, now_ns=self._now_ns)
        if settlement is None:
            if self._first_pending is None:
                self._first_pending = (position, id_before)
            self._pending[entry.id] = entry.created_at_ns
            return None
        self._pending.pop(entry.id, None)
        counts.settled += 1
        self.settled_statuses[settlement.status] = self.settled_statuses.get(settlement.status, 0) + 1
        return to_log_record(entry, self._bot, settlement, app=self._options.app, observed_ns=self._now_ns,
                             extra_fields=self._options.extra_fields)

    def _next_cursor(self, end_position: int) -> BotCursor:
        """The cursor to save once this cycle's records so far are delivered."""
        if self._first_pending is not None:
            offset, anchor = self._first_pending
        else:
            offset, anchor = end_position, self._previous_id
        oldest_kept_ns = self._now_ns - RETENTION_DAYS * NS_PER_DAY  # Desk no longer has older ones
        return replace(
            self._cursor,
            offset=offset,
            anchor_id=anchor if offset > 0 else None,
            last_id=max(self._cursor.last_id, self._max_id),
            frontier=max(self._cursor.frontier, end_position),
            newest_created_ns=max(self._cursor.newest_created_ns or 0, self._newest_ns or 0) or None,
            pending={k: v for k, v in self._pending.items() if v >= oldest_kept_ns},
        )

    def account(self, result: BotCycleResult) -> None:
        """Add this page's counts to the cycle's result (called once the page is delivered)."""
        result.read += self._counts.read
        result.settled += self._counts.settled
        result.rejected += self._counts.rejected
        for status, count in self.settled_statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + count
        result.pending = len(self._pending)


def _raw_id(raw) -> int | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _day(ns: int) -> date:
    return datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).date()
