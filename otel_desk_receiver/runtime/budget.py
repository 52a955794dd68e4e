"""Desk's request budget against the poll interval: the shortest sweep over every bot, said in the log,
exported as a gauge, and printed by `check`.

A quiet poll costs one request per bot, and the bot list one request per 100 bots every 10 minutes
(negligible), so one sweep takes at least bots / DESK_MAX_RPS seconds. When that exceeds the interval,
entries wait longer than the interval and idle bots are polled less often (scheduler.py): say so.
"""

import logging
import math

log = logging.getLogger(__name__)


def sweep_s(bots: int, max_rps: float) -> float:
    """Seconds one poll of every bot takes at least, at ``max_rps`` requests per second."""
    return bots / max_rps


def describe(bots: int, max_rps: float, interval_s: float, setting: str = "DESK_MAX_RPS") -> tuple[bool, str]:
    """(fits, a line for the log and for `check`); ``setting`` names where max_rps was set (an app's key)."""
    sweep = sweep_s(bots, max_rps)
    line = (f"{bots} bot(s) at {setting}={max_rps:g}: one sweep takes at least {sweep:.1f} s against "
            f"DESK_POLL_INTERVAL={interval_s:g} s")
    if sweep <= interval_s:
        return True, line
    needed = math.ceil(bots / interval_s * 10) / 10
    return False, (f"{line}: the budget cannot meet the interval; entries wait up to about {sweep + interval_s:.0f} s "
                   f"and idle bots are polled less often (raise {setting} to {needed:g} if Desk allows, or the "
                   "interval)")


class SweepBudget:
    """The sweep time of one app's current bot list: said in the log when the count changes, and the points of
    the gauge otel_desk_receiver.sweep.duration (``points``, observed through the app's telemetry, which labels
    them with the app: runtime/selfmetrics.py AppTelemetry.observe)."""

    def __init__(self, max_rps: float, interval_s: float, setting: str = "DESK_MAX_RPS"):
        self._max_rps, self._interval_s, self._setting = max_rps, interval_s, setting
        self._bots: int | None = None

    def update(self, bots: int) -> bool:
        """Take the bot count; log when it changed. True when the budget meets the interval."""
        fits, line = describe(bots, self._max_rps, self._interval_s, self._setting)
        if bots != self._bots:
            (log.info if fits else log.warning)("%s", line)
        self._bots = bots
        return fits

    def sweep_s(self) -> float | None:
        """The sweep time of the last bot count; None before the first listing."""
        return None if self._bots is None else sweep_s(self._bots, self._max_rps)

    def points(self) -> list[tuple[float, dict]]:
        """The gauge's point: the sweep time, none before the first listing."""
        seconds = self.sweep_s()
        return [] if seconds is None else [(seconds, {})]
