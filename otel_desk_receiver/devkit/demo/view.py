"""The demo's view: tallies what reached the OTLP endpoint, and renders it as a plain-text table (no I/O),
as wide as the terminal allows."""

import shlex
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from otel_desk_receiver import names
from otel_desk_receiver.devkit.demo.screen import continued, fit, usable_width, wrap_lines
from otel_desk_receiver.units import NS_PER_S

__all__ = ["BotRow", "RecentRecord", "SinkTally", "ViewData", "by_hand_lines", "counter_line", "fit", "render"]

# The table's count columns, in order. BY_AGE: still INITIALIZED/SENT when the bot's timeout plus
# DESK_SETTLE_GRACE passed (settled_by=age); OTHER: a status this receiver does not know.
RECEIVED, ERROR, TIMEOUT, BY_AGE, OTHER = "RECEIVED", "ERROR", "TIMEOUT", "BY AGE", "OTHER"
COUNT_COLUMNS = (RECEIVED, ERROR, TIMEOUT, BY_AGE, OTHER)
TABLE_COLUMNS = (*COUNT_COLUMNS, "TOTAL", "PENDING", "LAG")
WIDE_CELLS = (8,) * (len(COUNT_COLUMNS) + 1) + (7, 7)  # the layout when the terminal is wide enough
RECENT_STATUSES = frozenset({ERROR, TIMEOUT})
RECENT_PER_STATUS = 3  # the latest few of each, so a burst of one never hides the other
NAME_WIDTH_MAX = 24
BY_AGE_NOTE = "BY AGE (settled_by=age): INITIALIZED/SENT past timeout + DESK_SETTLE_GRACE"


@dataclass
class BotRow:
    """One bot's line. ``counts`` None: unknown to this view (only the receiver's gauges are seen)."""

    bot_id: int
    name: str
    counts: dict[str, int] | None = field(default_factory=dict)
    pending: int | None = None
    lag_s: float | None = None

    @property
    def total(self) -> int | None:
        return None if self.counts is None else sum(self.counts.values())


@dataclass(frozen=True)
class RecentRecord:
    """One ERROR or TIMEOUT log record as it arrived."""

    time_ns: int  # the entry's createdAt (the record's timestamp)
    bot_id: int
    bot_name: str
    status: str
    server_address: str


@dataclass
class ViewData:
    """Everything one frame shows: free header and footer lines around the bot table and the records."""

    header: list[str] = field(default_factory=list)
    bots: list[BotRow] = field(default_factory=list)
    recent: list[RecentRecord] | None = field(default_factory=list)  # None: not seen by this view
    footer: list[str] = field(default_factory=list)


def column_of(status: str, settled_by: str | None) -> str:
    """Which count column a settled log record falls in."""
    if settled_by == names.SETTLED_BY_AGE:
        return BY_AGE
    return status if status in (RECEIVED, ERROR, TIMEOUT) else OTHER


class SinkTally:
    """Per-bot counts of the log records an OTLP endpoint accepted, the latest ERROR/TIMEOUT records, and the
    latest pending/lag gauges and settled counter from its metric points. Thread-safe; memory stays bounded."""

    def __init__(self, recent_per_status: int = RECENT_PER_STATUS):
        self._lock = threading.Lock()
        self._rows: dict[int, BotRow] = {}
        self._recent = {status: deque(maxlen=recent_per_status) for status in RECENT_STATUSES}
        self._counter: dict[frozenset, float] = {}
        self.record_count = 0
        self.counter_seen = False  # whether any point of the settled counter arrived yet

    def add_records(self, records: Iterable) -> None:
        """Take SinkLogRecords (OtlpSink.on_logs calls this as each request arrives)."""
        with self._lock:
            for record in records:
                attrs = record.attributes
                row = self._row(attrs.get(names.ATTR_BOT_ID), attrs.get(names.ATTR_BOT_NAME))
                status = str(attrs.get(names.ATTR_WEBHOOK_LOG_STATUS, ""))
                column = column_of(status, attrs.get(names.ATTR_SETTLED_BY))
                row.counts[column] = row.counts.get(column, 0) + 1
                self.record_count += 1
                if column in RECENT_STATUSES:
                    self._recent[column].append((self.record_count, RecentRecord(
                        record.time_unix_nano, row.bot_id, row.name, status,
                        str(attrs.get(names.ATTR_SERVER_ADDRESS, "")))))

    def add_metric_points(self, points: Iterable) -> None:
        """Take SinkMetricPoints in arrival order: the latest gauge wins; counters as a backend would sum them."""
        with self._lock:
            for point in points:
                if point.name == names.WEBHOOK_LOGS.name:
                    self.counter_seen = True
                    key = frozenset(point.attributes.items())
                    base = self._counter.get(key, 0) if point.temporality == "delta" else 0
                    self._counter[key] = base + point.value
                elif point.name in (names.WEBHOOK_LOGS_PENDING.name, names.LAG.name):
                    row = self._row(point.attributes.get(names.ATTR_BOT_ID), point.attributes.get(names.ATTR_BOT_NAME))
                    if point.name == names.LAG.name:
                        row.lag_s = point.value
                    else:
                        row.pending = int(point.value)

    @property
    def counter_total(self) -> int:
        """The settled-entries counter summed over bots and statuses."""
        with self._lock:
            return int(sum(self._counter.values()))

    def rows(self) -> list[BotRow]:
        with self._lock:
            return [BotRow(r.bot_id, r.name, dict(r.counts), r.pending, r.lag_s) for _, r in sorted(self._rows.items())]

    def recent(self) -> list[RecentRecord]:
        """The last few of each status to arrive, the newest entry first."""
        with self._lock:
            kept = [item for items in self._recent.values() for item in items]
        return [record for _, record in sorted(kept, key=lambda item: (item[1].time_ns, item[0]), reverse=True)]

    def _row(self, bot_id, bot_name) -> BotRow:
        key = bot_id if isinstance(bot_id, int) else -1
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = BotRow(key, str(bot_name or "?"))
        return row


def render(data: ViewData, columns: int | None = None, rows: int | None = None) -> str:
    """The frame as text lines joined by newlines; the same text on a terminal and in a log. With
    ``columns`` it fits that width (prose wrapped, the table narrowed); with ``rows`` the list of
    records is shortened so that the footer still shows."""
    wrap = (lambda lines: wrap_lines(lines, columns)) if columns else list
    top = wrap(data.header) + ([""] if data.header else []) + _bot_table(data.bots, columns)
    bottom = [""] + wrap(data.footer) if data.footer else []
    lines = list(top)
    if data.recent is not None:
        recent = _recent_lines(data.recent)
        room = len(recent) if rows is None else max(1, rows - 1 - len(top) - 1 - len(bottom))
        if room < len(recent):  # the list goes first: the footer says how to stop
            recent = recent[:room - 1] + [f"  ... {len(recent) - room + 1} more, in a taller terminal"]
        lines += [""] + recent
    return "\n".join(lines + bottom) + "\n"


@dataclass(frozen=True)
class _Layout:
    """Widths of the table's columns; ``sep`` spaces between them."""

    bot: int
    name: int
    cells: tuple[int, ...]
    sep: int

    @property
    def width(self) -> int:
        return self.bot + self.sep + self.name + sum(self.cells) + self.sep * len(self.cells)

    def line(self, bot_id: str, name: str, cells: tuple[str, ...]) -> str:
        gap = " " * self.sep
        return (f"{bot_id:>{self.bot}}{gap}{name[:self.name]:<{self.name}}"
                + "".join(f"{gap}{cell:>{width}}" for cell, width in zip(cells, self.cells)))


def _bot_table(bots: list[BotRow], columns: int | None = None) -> list[str]:
    if not bots:
        return ["(no bots seen yet)"]
    rows = [(str(bot.bot_id), bot.name, _cells(bot.counts, bot.total, bot.pending, bot.lag_s)) for bot in bots]
    with_totals = all(bot.counts is not None for bot in bots)
    if with_totals:
        totals = {c: sum(bot.counts.get(c, 0) for bot in bots) for c in COUNT_COLUMNS}
        pending = [bot.pending for bot in bots if bot.pending is not None]
        rows.append(("", "all bots", _cells(totals, sum(totals.values()), sum(pending) if pending else None, None)))
    name_width = min(NAME_WIDTH_MAX, max(len("all bots"), *(len(b.name) for b in bots)))
    layout = _Layout(5, name_width, WIDE_CELLS, 2)
    if columns is not None and layout.width > usable_width(columns):
        layout = _narrow(rows, name_width, usable_width(columns))
    lines = [layout.line("BOT", "NAME", TABLE_COLUMNS)] + [layout.line(*row) for row in rows]
    if with_totals:
        lines += wrap_lines([BY_AGE_NOTE], columns) if columns else [BY_AGE_NOTE]
    return lines


def _narrow(rows: list[tuple[str, str, tuple[str, ...]]], name_width: int, width: int) -> _Layout:
    """Each column as wide as its header or widest value, one space apart; the names get what is left."""
    cells = tuple(max(len(header), *(len(row[2][i]) for row in rows)) for i, header in enumerate(TABLE_COLUMNS))
    bot = max(len("BOT"), *(len(row[0]) for row in rows))
    fixed = _Layout(bot, 0, cells, 1).width
    return _Layout(bot, max(4, min(name_width, width - fixed)), cells, 1)


def _cells(counts: dict[str, int] | None, total: int | None, pending: int | None,
           lag_s: float | None) -> tuple[str, ...]:
    counted = [_cell(None if counts is None else counts.get(c, 0)) for c in COUNT_COLUMNS]
    return (*counted, _cell(total), _cell(pending), format_lag(lag_s))


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def format_lag(lag_s: float | None) -> str:
    """1.2s, 2m05s, 3h07m; '-' when unknown."""
    if lag_s is None:
        return "-"
    if lag_s < 100:
        return f"{lag_s:.1f}s"
    if lag_s < 3600:
        return f"{int(lag_s // 60)}m{int(lag_s % 60):02d}s"
    return f"{int(lag_s // 3600)}h{int(lag_s % 3600 // 60):02d}m"


def _recent_lines(recent: list[RecentRecord]) -> list[str]:
    lines = ["Latest ERROR and TIMEOUT records:"]
    if not recent:
        return lines + ["  (none yet)"]
    bots = [f"{r.bot_name} ({r.bot_id})" for r in recent]
    width = max(len("BOT"), *(len(b) for b in bots))
    lines.append(f"  {'TIME (UTC)':<10}  {'STATUS':<7}  {'BOT':<{width}}  SERVER.ADDRESS")
    for record, bot in zip(recent, bots):
        clock = datetime.fromtimestamp(record.time_ns / NS_PER_S, tz=UTC).strftime("%H:%M:%S")
        lines.append(f"  {clock:<10}  {record.status:<7}  {bot:<{width}}  {record.server_address}")
    return lines


def intro_lines(*, bots: int, interval_s: float, emulator_url: str, token: str, endpoint: str, protocol: str,
                embedded: bool) -> list[str]:
    """What runs where."""
    return [
        f"otel-desk-receiver demo: {bots} bots with live traffic, polled every {interval_s:g}s",
        f"Desk API emulator: {emulator_url} (token {token})",
        f"OTLP endpoint ({'embedded' if embedded else 'yours'}): {endpoint} over {protocol}",
    ]


BY_HAND_TITLE = "The same by hand once this stops, with a collector on the OTLP endpoint:"
BY_HAND_LATER = "Ctrl-C stops the demo; the same by hand, in two commands, is printed then."


def by_hand_lines(emulator_argv: list[str], run_env: dict[str, str], columns: int | None = None) -> list[str]:
    """The same by hand: the emulator command, then `otel-desk-receiver run` with its variables; one line
    each, or with ``columns`` continued with backslashes within that width (they still paste)."""
    emulator = [shlex.quote(arg) for arg in emulator_argv]
    run = [f"{name}={shlex.quote(value)}" for name, value in run_env.items()] + ["otel-desk-receiver", "run"]
    if columns is None:
        return [BY_HAND_TITLE, "  " + " ".join(emulator), "  " + " ".join(run)]
    return wrap_lines([BY_HAND_TITLE], columns) + continued(emulator, columns) + continued(run, columns)


def counter_line(total: int, records: int, seen: bool, interval_s: float) -> str:
    """The settled counter next to the records: it goes out with the metrics, every ``interval_s``, while
    the records go out as they settle, so it trails them; say so rather than show a bare 0."""
    every = f"it goes out with the metrics, every {interval_s:g}s"
    if not seen:
        return f"settled counter: not exported yet ({every})"
    if total == records:
        return f"settled counter: {total}, all of them ({every})"
    return f"settled counter: {total} so far ({every})"


def receiver_line(turns: int, exported: int, bots_ok: int | None, bots_failed: int | None,
                  errors: list[str] = ()) -> str:
    """What the receiver's poll loop reported; bots_ok None: no bot's turn finished yet."""
    if bots_ok is None:
        return "receiver: first turns running"
    line = (f"receiver: {turns} bot turns, {exported} log records exported; at their last turn {bots_ok} bots ok, "
            f"{bots_failed} failed")
    return line + (f" ({'; '.join(errors)})" if errors else "")
