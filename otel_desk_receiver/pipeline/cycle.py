"""One bot, one cycle: read a page, settle, map, export, and only then commit the cursor."""

import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date

from otel_desk_receiver import names
from otel_desk_receiver.pipeline import read_window
from otel_desk_receiver.pipeline.cursor import BotCursor, add_counts
from otel_desk_receiver.pipeline.page_reader import OffsetsShiftedError, PageOutcome, PageReader, ReaderOptions
from otel_desk_receiver.pipeline.progress import BackfillProgress
from otel_desk_receiver.desk.models import Bot, entry_id_of, parse_webhook_log
from otel_desk_receiver.pipeline.ports import Cursors, Desk, LogSink, Telemetry
from otel_desk_receiver.units import NS_PER_S

log = logging.getLogger(__name__)

MAX_REFUSALS_LOGGED = 5  # per page, at ERROR; the others at DEBUG
MAX_REBASES_PER_CYCLE = 2  # a listing that keeps shifting is read again next cycle, not in a loop


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
    waiting: int = 0  # settled entries the OTLP endpoint did not take (read and settled again next turn)
    waiting_for_otlp: bool = False  # stopped because the OTLP endpoint did not take the records
    more: bool = False  # yielded to another bot with more of the listing to read
    auth_failed: bool = False  # Desk refused the token for this bot's logs
    retry_after_s: float | None = None  # Desk's retry hint, when the turn failed on one


@dataclass(frozen=True)
class PipelineOptions:
    app: str  # first part of log.record.uid: DESK_APP_ID, or the API host
    page_size: int
    backfill_s: float  # how far back a bot with no cursor is read first (0: from now)
    settle_grace_s: float
    extra_fields: Collection[str] = ()


class BotPipeline:
    """Reads one bot's entries in ascending id order from its cursor and delivers the settled ones.

    Guarantees: a cursor is committed to the store only after the OTLP endpoint accepted every record
    it covers, so the saved cursor never runs ahead of delivery; at most one page is read ahead of what
    was delivered; an entry is emitted once (page_reader.PageReader says how), and every page is checked
    to follow the one before (it starts one row early, with the row read last), so rows that vanish or
    appear before the cursor are noticed and the window read again instead of skipped in silence.
    """

    def __init__(self, client: Desk, exporter: LogSink, cursors: Cursors, telemetry: Telemetry,
                 options: PipelineOptions,
                 clock_ns: Callable[[], int], should_stop=lambda: False,
                 desk_clock_ns: Callable[[], int] | None = None):
        """``clock_ns``: the receiver's clock (observed times, counts); ``desk_clock_ns``: Desk's now
        (desk/clock.py), which every comparison with createdAt uses: ages, settling, the trailing
        window, the retention edge, the date window (the receiver's clock when not given)."""
        self._client = client
        self._exporter = exporter
        self._telemetry = telemetry
        self._options = options
        self._reader_options = ReaderOptions(options.app, options.settle_grace_s, options.extra_fields)
        self._cursors = cursors
        self._clock_ns = clock_ns
        self._desk_now_ns = desk_clock_ns or clock_ns
        self._should_stop = should_stop
        self._short_pages_logged = False
        self._unsent_said: set[tuple[int, str]] = set()  # (bot, reason) of rejections made without sending
        # bot id -> ((position, id) of the row a yielded turn read last, the cursor it committed)
        self._resume: dict[int, tuple[tuple[int, int], BotCursor]] = {}

    def run_cycle(self, bot: Bot, start_since_ns: int | None = None,
                  should_yield: Callable[[int], bool] = lambda pages: False) -> BotCycleResult:
        """One turn over the bot: read to the end of its listing, or until ``should_yield(pages)`` (asked
        with the pages delivered in this turn) says another bot waits; ``more`` is then set, and the next
        turn goes on from where this one stopped. ``start_since_ns``: for a bot with no cursor yet that
        was found after the receiver started, read what it logged from then on instead of from now."""
        result = BotCycleResult()
        cursor = self._cursors.get(bot.id)
        if cursor is None or cursor.counted_since_ns is None:  # first seen (or saved by 0.1.0, without counts)
            cursor = self._start_cursor(bot, result, start_since_ns) if cursor is None else cursor
            cursor = replace(cursor, counted_since_ns=self._clock_ns())
            self._cursors.commit(bot.id, cursor)
            self._telemetry.bot_discovered(bot.id)  # its counters exist at 0 before the first count
        resume = self._resume.pop(bot.id, None)
        if resume is not None and resume[1] is not cursor:
            resume = None  # the cursor moved since (another writer, a reload): start from it
        if resume is None:
            cursor = read_window.rebased_if_stale(cursor, self._desk_now_ns())
        for rebases in range(MAX_REBASES_PER_CYCLE + 1):
            try:
                self._read(bot, cursor, result, should_yield, resume[0] if resume else None)
                return result
            except OffsetsShiftedError:
                resume = None
                cursor = read_window.rebased(self._cursors.get(bot.id), self._desk_now_ns())
                if rebases == MAX_REBASES_PER_CYCLE:
                    result.error = "the webhook log listing kept shifting during the read; read again next cycle"
                    result.delivered = False
                    return result
                log.warning("bot %s: the webhook log listing shifted under the cursor (rows before it were "
                            "removed or moved); re-reading from %s", bot.id, cursor.window_start)
        return result

    def _start_cursor(self, bot: Bot, result: BotCycleResult, start_since_ns: int | None) -> BotCursor:
        now_ns = self._desk_now_ns()
        if start_since_ns is not None:
            return read_window.cursor_from(start_since_ns, now_ns)
        if self._options.backfill_s:
            return read_window.cursor_from(now_ns - int(self._options.backfill_s * NS_PER_S), now_ns)
        # Starting "from now": one request for the newest entry and the count gives the end of the listing.
        window = date.fromisoformat(read_window.cursor_at_end(0, None, None, now_ns).window_start)
        page = self._client.get_webhook_logs_page(bot.id, offset=0, limit=1, order="-id", start_date=window)
        result.requests += 1
        newest = _parsed_or_none(page.results[0]) if page.results else None
        if page.count is None or (page.results and newest is None):
            # No usable end of the listing: read today's window, but only what is created from now on.
            return replace(read_window.cursor_from(now_ns, now_ns), since_ns=now_ns)
        return read_window.cursor_at_end(page.count, newest.id if newest else None,
                                         newest.created_at_ns if newest else None, now_ns)

    def _read(self, bot: Bot, cursor: BotCursor, result: BotCycleResult, should_yield: Callable[[int], bool],
              resume_at: tuple[int, int] | None) -> None:
        """Pages from the cursor (or ``resume_at``: the position and id of the row a yielded turn read
        last) to the end of the listing, each delivered then committed; one page read ahead."""
        reader = PageReader(bot, cursor, self._reader_options, self._desk_now_ns(), resume_at=resume_at,
                            observed_ns=self._clock_ns())
        start_date = date.fromisoformat(cursor.window_start)
        if resume_at is not None:
            read_offset, anchor = resume_at
        else:
            anchor = cursor.anchor_id
            read_offset = cursor.offset - 1 if anchor is not None else cursor.offset
        progress = BackfillProgress(bot.id, read_offset)

        def fetch(offset: int):
            return self._client.get_webhook_logs_page(bot.id, offset=offset, limit=self._options.page_size,
                                                      order="id", start_date=start_date)

        # Read-ahead of one page: while a page is mapped and exported, the next is fetched (measured: it
        # lifts a backfill from about 0.5 to 0.6 of the exporter's ceiling, benchmarks/RESULTS.md). Only
        # once the cycle's first page went through, so a down endpoint costs one page read per bot; never
        # past a stop request or the turn's end; a page read ahead is dropped, uncommitted, if the export
        # before it fails. Leaving the block waits for a fetch in flight: the client is never used by two
        # threads at once.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-read-ahead") as read_ahead:
            page, next_page, pages = fetch(read_offset), None, 0
            result.requests += 1
            while True:
                self._note_short_page(bot, page)
                next_offset, next_anchor = _next_read(read_offset, page.results)
                if pages and page.has_next and not self._should_stop() and not should_yield(pages + 1):
                    next_page = read_ahead.submit(fetch, next_offset)
                    result.requests += 1
                outcome = reader.process(read_offset, page.results, anchor)
                if not self._deliver_page(bot, outcome, cursor, result):
                    return
                pages += 1
                cursor = self._cursors.get(bot.id)
                progress.page_done(read_offset + len(page.results), page.count)
                if not page.has_next or self._should_stop():
                    return
                if should_yield(pages):
                    result.more = True
                    if next_anchor is not None:
                        self._resume[bot.id] = ((next_offset, next_anchor), cursor)
                    return
                ahead, next_page = (next_page.result() if next_page is not None else None), None
                read_offset, anchor = next_offset, next_anchor
                if ahead is not None and ahead.offset == read_offset:
                    page = ahead
                else:
                    page = fetch(read_offset)
                    result.requests += 1

    def _deliver_page(self, bot: Bot, outcome: PageOutcome, cursor: BotCursor, result: BotCycleResult) -> bool:
        """Export the page's records; commit its cursor (with the counts) only once they were accepted."""
        if outcome.records:  # the bot's previous delivery is saved first: a crash repeats this batch at most
            self._cursors.before_export(bot.id)
        accepted = self._deliver(bot, outcome.records, result) if outcome.records else {}
        if accepted is None:  # read and settled, waiting for the endpoint: read and settled again next turn
            result.read += outcome.read
            result.settled += outcome.settled
            return False
        for entry_id, reason in outcome.rejections:  # counted once delivered, so never twice
            log.warning("bot %s: skipped malformed webhook log entry%s (%s)", bot.id,
                        f" {entry_id}" if entry_id is not None else "", reason)
            self._telemetry.rejected(bot.id, reason)
        # The counts move in the same atomic commit as the offsets that delivered them.
        new_cursor = replace(outcome.cursor, counted=add_counts(cursor.counted, accepted))
        if new_cursor != cursor:
            self._cursors.commit(bot.id, new_cursor)
        result.read += outcome.read
        result.settled += outcome.settled
        result.rejected += len(outcome.rejections)
        for status, count in outcome.statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + count
        result.pending = len(new_cursor.pending)
        return True

    def _note_unsent(self, bot: Bot, unsent: list) -> None:
        """Records the sink rejected without sending (older than the backend's age limit): one line per bot and
        reason, the first time; afterwards at DEBUG (they are counted either way)."""
        for reason in dict.fromkeys(rejection.reason for rejection in unsent):
            some = [rejection for rejection in unsent if rejection.reason == reason]
            first = (bot.id, reason) not in self._unsent_said
            self._unsent_said.add((bot.id, reason))
            log.log(logging.WARNING if first else logging.DEBUG,
                    "bot %s: %d record(s) %s; skipped and counted in %s (error.type %s)%s", bot.id, len(some),
                    some[0].detail, names.ENTRIES_REJECTED.name, reason, "; said once per bot" if first else "")

    def _note_short_page(self, bot: Bot, page) -> None:
        if page.short and page.has_next and not self._short_pages_logged:
            self._short_pages_logged = True
            log.info("bot %s: Desk returned %d rows where %d were asked for, with more to come: it caps the page "
                     "size; reading on by offset (said once)", bot.id, len(page.results), page.limit)

    def _deliver(self, bot: Bot, records, result: BotCycleResult) -> dict[str, int] | None:
        """Export the records; per status, how many the endpoint accepted (the only ones counted), or
        None when it did not take them all (nothing is committed: the page is read again)."""
        delivery = self._exporter.deliver(records)
        if delivery.failure is not None:
            result.delivered = False
            result.waiting_for_otlp = True
            result.error = f"OTLP endpoint did not accept the log records: {delivery.failure.reason}"
            result.waiting += len(records) - len(delivery.accepted) - len(delivery.rejected)
            if delivery.requests:  # not when the endpoint, down this cycle, was not asked again
                self._telemetry.export_failed("logs")
            return None
        refused = [rejection for rejection in delivery.rejected if rejection.sent]
        for rejection in delivery.rejected:
            self._telemetry.rejected(bot.id, rejection.reason)
        self._note_unsent(bot, [rejection for rejection in delivery.rejected if not rejection.sent])
        for index, rejection in enumerate(refused):
            # Permanent: sending it again would be refused again. Skipped, and said so with its uid: each one
            # at ERROR up to a few per page, the rest at DEBUG (a backlog the backend refuses whole would
            # otherwise log a line per record).
            level = logging.ERROR if index < MAX_REFUSALS_LOGGED else logging.DEBUG
            log.log(level, "bot %s: the OTLP endpoint refused the record %s for itself; skipped (%s)", bot.id,
                    rejection.record.attributes[names.ATTR_LOG_RECORD_UID], rejection.detail)
        if len(refused) > MAX_REFUSALS_LOGGED:
            log.error("bot %s: the OTLP endpoint refused %d more records of this page for themselves; skipped "
                      "(their uids at DEBUG; counted in %s)", bot.id, len(refused) - MAX_REFUSALS_LOGGED,
                      names.ENTRIES_REJECTED.name)
        result.rejected += len(delivery.rejected)
        accepted: dict[str, int] = {}
        for record in delivery.accepted:
            status = record.attributes[names.ATTR_WEBHOOK_LOG_STATUS]
            accepted[status] = accepted.get(status, 0) + 1
        result.exported += len(delivery.accepted)
        return accepted


def _next_read(offset: int, results: list) -> tuple[int, int | None]:
    """Where the page after this one is asked for, and the id it must hold: from the last row with an id
    (each page starts with the row read last: the proof that none moved). When that is the page's first
    row (a page size of 1), or no row has an id, no page could start there and move on: read on just
    past this page, unchecked."""
    for index in range(len(results) - 1, 0, -1):
        entry_id = entry_id_of(results[index])
        if entry_id is not None:
            return offset + index, entry_id
    return offset + len(results), None


def _parsed_or_none(raw):
    try:
        return parse_webhook_log(raw)
    except ValueError:
        return None
