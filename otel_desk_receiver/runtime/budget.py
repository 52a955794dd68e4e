"""Desk's request budget against the poll interval: the shortest sweep over every bot, said in the log,
exported as a gauge, and printed by `check`.

A quiet poll costs one request per bot, and the bot list one request per 100 bots every 10 minutes
(negligible), so one sweep takes at least bots / DESK_MAX_RPS seconds. When that exceeds the interval,
entries wait longer than the interval and idle bots are polled less often (scheduler.py): say so.
"""

import logging
import math

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_desk_receiver import names

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
    """Publishes the sweep time of the current bot list (gauge otel_desk_receiver.sweep.duration)."""

    def __init__(self, meter: Meter, max_rps: float, interval_s: float, setting: str = "DESK_MAX_RPS"):
        self._max_rps, self._interval_s, self._setting = max_rps, interval_s, setting
        self._bots: int | None = None
        spec = names.SWEEP_DURATION
        meter.create_observable_gauge(spec.name, callbacks=[self._observe], unit=spec.unit,
                                      description=spec.description)

    def update(self, bots: int) -> bool:
        """Take the bot count; log when it changed. True when the budget meets the interval."""
        fits, line = describe(bots, self._max_rps, self._interval_s, self._setting)
        if bots != self._bots:
            (log.info if fits else log.warning)("%s", line)
        self._bots = bots
        return fits

    def _observe(self, _options: CallbackOptions):
        if self._bots is None:
            return []
        return [Observation(sweep_s(self._bots, self._max_rps))]
