"""Desk's request budget against the poll interval: the shortest sweep over every bot, said in the log,
exported as a gauge, and printed by `check`.

A quiet poll costs one request per bot, and the bot list one request per 100 bots every 10 minutes
(negligible), so one sweep takes at least bots / DESK_MAX_RPS seconds. When that exceeds the interval,
entries wait longer than the interval and idle bots are polled less often (scheduler.py): say so.
"""

import logging
import math
import threading
import weakref

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
    """Publishes the sweep time of one app's current bot list (gauge otel_desk_receiver.sweep.duration, a point
    per app: sendbird.app_id ``app``)."""

    def __init__(self, meter: Meter, max_rps: float, interval_s: float, setting: str = "DESK_MAX_RPS",
                 app: str = ""):
        self._max_rps, self._interval_s, self._setting, self.app = max_rps, interval_s, setting, app
        self._bots: int | None = None
        _SweepGauge.of(meter).add(self)

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


class _SweepGauge:
    """The sweep gauge, made once per meter whatever the number of apps (an observable gauge made twice under
    one name keeps only the first one's callback): a point per app's budget."""

    _by_meter: "weakref.WeakKeyDictionary[Meter, _SweepGauge]" = weakref.WeakKeyDictionary()
    _made = threading.Lock()

    def __init__(self, meter: Meter):
        self._budgets: list[SweepBudget] = []
        spec = names.SWEEP_DURATION
        meter.create_observable_gauge(spec.name, callbacks=[self._observe], unit=spec.unit,
                                      description=spec.description)

    @classmethod
    def of(cls, meter: Meter) -> "_SweepGauge":
        with cls._made:
            if meter not in cls._by_meter:
                cls._by_meter[meter] = cls(meter)
            return cls._by_meter[meter]

    def add(self, budget: SweepBudget) -> None:
        self._budgets = [*self._budgets, budget]

    def _observe(self, _options: CallbackOptions):
        return [Observation(seconds, {names.ATTR_APP_ID: budget.app} if budget.app else {})
                for budget in self._budgets if (seconds := budget.sweep_s()) is not None]
