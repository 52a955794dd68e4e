"""Progress of a long read (a backfill): a log line every few seconds with position, rate and time left."""

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

REPORT_EVERY_S = 10.0


class BackfillProgress:
    """Logs "bot 12: read 150000 of 1000000 (15%), 45000 entries/s, about 19 s left" at most every 10 s."""

    def __init__(self, bot_id: int, start_offset: int, monotonic: Callable[[], float] = time.monotonic,
                 every_s: float = REPORT_EVERY_S):
        self._bot_id = bot_id
        self._start_offset = start_offset
        self._monotonic = monotonic
        self._every_s = every_s
        self._started = monotonic()
        self._last_report = self._started

    def page_done(self, position: int, total: int | None) -> None:
        now = self._monotonic()
        if now - self._last_report < self._every_s:
            return
        self._last_report = now
        log.info("%s", self.describe(position, total, now))

    def describe(self, position: int, total: int | None, now: float) -> str:
        done = position - self._start_offset
        rate = done / max(now - self._started, 1e-9)
        if total is None or total <= 0:
            return f"bot {self._bot_id}: backfill read {position} entries, {rate:.0f} entries/s"
        left_s = max(total - position, 0) / rate if rate > 0 else float("inf")
        return (f"bot {self._bot_id}: backfill read {position} of {total} ({100 * position / total:.0f}%), "
                f"{rate:.0f} entries/s, about {_duration(left_s)} left")


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown time"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
