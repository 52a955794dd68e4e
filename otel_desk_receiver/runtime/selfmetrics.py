"""The receiver's metric instruments, created from names.METRICS; the pipeline reports through them."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_desk_receiver import names


@dataclass(frozen=True)
class BotGauges:
    """One bot's current gauge values, published by the poller after each cycle."""

    bot_id: int
    bot_name: str
    pending: int
    unread_error: bool
    lag_s: float | None


class SelfTelemetry:
    """The SDK's instruments: gauges observed from a snapshot function, histograms, the self counters.

    The settled-entry counters are not here: they are exported from the committed totals by
    otlp/counter_export.py; ``bot_discovered`` tells it a bot was first seen (its zeros go out then).
    """

    def __init__(self, meter: Meter, gauges: Callable[[], Iterable[BotGauges]] | None = None,
                 on_bot_discovered: Callable[[int], None] | None = None):
        """``gauges``: the per-bot gauges' source, when it exists already; else observe_bot_gauges() once
        it does (the poller, which itself reports through this object)."""
        self._on_bot_discovered = on_bot_discovered
        self._rejected = _create(meter, names.ENTRIES_REJECTED)
        self._export_failures = _create(meter, names.EXPORT_FAILURES)
        self._http_duration = _create(meter, names.HTTP_CLIENT_DURATION)
        self._poll_duration = _create(meter, names.POLL_DURATION)
        if gauges is not None:
            observe_bot_gauges(meter, gauges)

    def bot_discovered(self, bot_id: int) -> None:
        if self._on_bot_discovered is not None:
            self._on_bot_discovered(bot_id)

    def rejected(self, bot_id: int, reason: str) -> None:
        self._rejected.add(1, {names.ATTR_BOT_ID: bot_id, names.ATTR_ERROR_TYPE: reason})

    def export_failed(self, signal: str) -> None:
        self._export_failures.add(1, {names.ATTR_SIGNAL: signal})

    def http_request(self, method: str, route: str, address: str | None, port: int | None,
                     status_code: int | None, duration_s: float, error_type: str | None) -> None:
        attributes = {names.ATTR_HTTP_METHOD: method, names.ATTR_HTTP_ROUTE: route}
        if address:
            attributes[names.ATTR_SERVER_ADDRESS] = address
        if port:
            attributes[names.ATTR_SERVER_PORT] = port
        if status_code is not None:
            attributes[names.ATTR_HTTP_STATUS] = status_code
        if error_type:
            attributes[names.ATTR_ERROR_TYPE] = error_type
        self._http_duration.record(duration_s, attributes)

    def poll_duration(self, seconds: float) -> None:
        self._poll_duration.record(seconds)


def observe_bot_gauges(meter: Meter, gauges: Callable[[], Iterable[BotGauges]]) -> None:
    """The per-bot gauges (pending, unread error, lag), observed from ``gauges()`` on the meter's thread."""
    for spec, read in (
        (names.WEBHOOK_LOGS_PENDING, lambda g: g.pending),
        (names.UNREAD_ERROR, lambda g: int(g.unread_error)),
        (names.LAG, lambda g: g.lag_s),
    ):
        meter.create_observable_gauge(spec.name, [_observer(gauges, read)], unit=spec.unit,
                                      description=spec.description)


def _observer(gauges: Callable[[], Iterable[BotGauges]], read: Callable[[BotGauges], float | None]):
    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        for gauge in gauges():
            value = read(gauge)
            if value is not None:
                yield Observation(value, bot_attributes(gauge.bot_id, gauge.bot_name))
    return observe


def bot_attributes(bot_id: int, bot_name: str) -> dict[str, int | str]:
    return {names.ATTR_BOT_ID: bot_id, names.ATTR_BOT_NAME: bot_name}


def _create(meter: Meter, spec: names.MetricSpec):
    factory = {"counter": meter.create_counter, "histogram": meter.create_histogram}[spec.instrument]
    return factory(spec.name, unit=spec.unit, description=spec.description)
