"""Where a bot's reading starts and which date window it asks Desk for: pure, from a clock reading.

docs/desk-api.md#dates-time-zones-and-retention: start_date is a whole day in an unknown zone (the
project's or UTC), so a window starts a day before the UTC day of the oldest entry it must include; and
entries leave Desk after about 30 days, so a window never starts within a day of that edge, where rows
vanish while they are read (and every offset behind them shifts).
"""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.units import NS_PER_DAY, NS_PER_S

# The oldest instant a reading may start from: two days inside retention, so that its window (a day
# earlier) still starts a day inside it.
MAX_START_AGE_DAYS = RETENTION_DAYS - 2
REBASE_AFTER_DAYS = 7  # move the date window forward once it is this much older than needed


def day_of(ns: int) -> date:
    return datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).date()


def window_start(oldest_ns: int, now_ns: int) -> date:
    """start_date for a read that must include ``oldest_ns``."""
    return max(day_of(oldest_ns) - timedelta(days=1), day_of(now_ns - (RETENTION_DAYS - 1) * NS_PER_DAY))


def clamp_start(since_ns: int, now_ns: int) -> int:
    """A starting point no older than MAX_START_AGE_DAYS: older entries may leave Desk during the read."""
    return max(since_ns, now_ns - MAX_START_AGE_DAYS * NS_PER_DAY)


def cursor_from(since_ns: int, now_ns: int) -> BotCursor:
    """A cursor that reads every entry created from ``since_ns`` on (a backfill, or a bot found later)."""
    since_ns = clamp_start(since_ns, now_ns)
    return BotCursor(window_start=window_start(since_ns, now_ns).isoformat(), offset=0, anchor_id=None, last_id=0,
                     since_ns=since_ns, trail_start_ns=since_ns)


def cursor_at_end(count: int, newest_id: int | None, newest_ns: int | None, now_ns: int) -> BotCursor:
    """A cursor "from now": at the end of today's listing (``count`` rows, the newest with ``newest_id``).

    Past that point every entry is new, so no createdAt filter applies (Desk may print createdAt with
    fewer fraction digits than it has, which would make "created after now" unreliable); the trailing
    window starts now, so nothing listed before it counts as late.
    """
    if newest_ns is not None:
        newest_ns = min(newest_ns, now_ns)  # a row dated ahead of the clock is no measure of the lag
    return BotCursor(window_start=window_start(now_ns, now_ns).isoformat(), offset=count if newest_id else 0,
                     anchor_id=newest_id, last_id=newest_id or 0, since_ns=0, newest_created_ns=newest_ns,
                     trail_start_ns=now_ns)


def rebased(cursor: BotCursor, now_ns: int) -> BotCursor:
    """The same cursor over a fresh window starting a day before the oldest entry still needed: offsets
    restart at 0, and last_id, pending and recent alone tell what was handled."""
    # Still needed: pending and recent entries, what follows the newest read (the rest of a backfill),
    # and late entries, which come from the trailing window.
    position_ns = cursor.newest_created_ns or cursor.trail_start_ns or now_ns
    needed = [*cursor.pending.values(), *cursor.recent.values(), position_ns, cursor.trail_start_ns or position_ns]
    oldest_ns = max(min(needed), cursor.since_ns)
    return replace(cursor, window_start=window_start(oldest_ns, now_ns).isoformat(), offset=0, anchor_id=None)


def rebased_if_stale(cursor: BotCursor, now_ns: int) -> BotCursor:
    """Rebased when the window is much older than needed, or has come within a day of Desk's retention."""
    fresh = rebased(cursor, now_ns)
    current = date.fromisoformat(cursor.window_start)
    too_old = date.fromisoformat(fresh.window_start) - current > timedelta(days=REBASE_AFTER_DAYS)
    at_edge = current < day_of(now_ns - (RETENTION_DAYS - 1) * NS_PER_DAY)
    return fresh if too_old or at_edge else cursor
