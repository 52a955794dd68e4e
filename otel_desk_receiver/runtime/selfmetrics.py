"""The receiver's metric instruments, created from names.METRICS; the pipeline reports through them.

Receiver-wide points (export failures) carry no app; every per-app point carries sendbird.app_id. The app is
given once, by the view a part of one app reports through: ``SelfTelemetry.for_app(label)`` (an AppTelemetry),
so no call site can forget it, and the instruments themselves exist once per process, whatever the number of
apps (an observable gauge registered twice under one name would keep only the first one's callback).
"""

import threading
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


GaugeSource = Callable[[], Iterable[BotGauges]]
# (value, attributes) of each point of one app's gauge; the app's attribute is added by AppTelemetry.observe.
PointSource = Callable[[], Iterable[tuple[float, dict]]]


class SelfTelemetry:
    """The SDK's instruments of the process: the per-bot gauges observed from each app's snapshot function,
    the histograms and the self counters.

    The settled-entry counters are not here: they are exported from the committed totals by
    otlp/counter_export.py (app/build.py's CycleTelemetry tells it of a bot first seen).
    """

    def __init__(self, meter: Meter):
        self._meter = meter
        self._rejected = _create(meter, names.ENTRIES_REJECTED)
        self._export_failures = _create(meter, names.EXPORT_FAILURES)
        self._http_duration = _create(meter, names.HTTP_CLIENT_DURATION)
        self._poll_duration = _create(meter, names.POLL_DURATION)
        self._gauge_sources: dict[str, GaugeSource] = {}
        self._gauges_lock = threading.Lock()
        self._gauges_created = False
        self._point_sources: dict[str, dict[str, PointSource]] = {}  # gauge name -> app -> its points

    def for_app(self, app: str) -> "AppTelemetry":
        """The view one app's parts (Desk client, pipeline, poller) report through: its points say ``app``."""
        return AppTelemetry(self, app)

    def export_failed(self, signal: str) -> None:
        """Receiver-wide: an OTLP export of ``signal`` (logs, metrics) failed."""
        self._export_failures.add(1, {names.ATTR_SIGNAL: signal})

    def observe_bot_gauges(self, app: str, gauges: GaugeSource) -> None:
        """``app``'s per-bot gauges (pending, unread error, lag), observed from ``gauges()`` on the meter's
        thread from now on (one source per app; a second one for the same app replaces the first)."""
        with self._gauges_lock:
            self._gauge_sources = {**self._gauge_sources, app: gauges}
            if self._gauges_created:
                return
            self._gauges_created = True
        for spec, read in (
            (names.WEBHOOK_LOGS_PENDING, lambda g: g.pending),
            (names.UNREAD_ERROR, lambda g: int(g.unread_error)),
            (names.LAG, lambda g: g.lag_s),
        ):
            self._meter.create_observable_gauge(spec.name, [self._observer(read)], unit=spec.unit,
                                                description=spec.description)

    def observe_points(self, spec: names.MetricSpec, app: str, points: PointSource) -> None:
        """``app``'s points of the gauge ``spec``, observed from ``points()`` (each attributes dict led by the
        app) on the meter's thread from now on; one instrument per process, one source per app and gauge."""
        with self._gauges_lock:
            sources = self._point_sources.get(spec.name)
            self._point_sources[spec.name] = {**(sources or {}), app: points}
            if sources is not None:
                return

        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            for source in self._point_sources[spec.name].values():
                for value, attributes in source():
                    yield Observation(value, attributes)
        self._meter.create_observable_gauge(spec.name, [observe], unit=spec.unit, description=spec.description)

    def _observer(self, read: Callable[[BotGauges], float | None]):
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            for app, gauges in self._gauge_sources.items():
                for gauge in gauges():
                    value = read(gauge)
                    if value is not None:
                        yield Observation(value, bot_attributes(app, gauge.bot_id, gauge.bot_name))
        return observe


class AppTelemetry:
    """One app's view of SelfTelemetry: the same calls, each point labelled with the app (``app``)."""

    def __init__(self, telemetry: SelfTelemetry, app: str):
        self.app = app
        self._telemetry = telemetry

    def rejected(self, bot_id: int, reason: str) -> None:
        self._telemetry._rejected.add(1, {names.ATTR_APP_ID: self.app, names.ATTR_BOT_ID: bot_id,
                                          names.ATTR_ERROR_TYPE: reason})

    def export_failed(self, signal: str) -> None:
        """Receiver-wide (no app): exports carry every app's records and points alike."""
        self._telemetry.export_failed(signal)

    def http_request(self, method: str, route: str, address: str | None, port: int | None,
                     status_code: int | None, duration_s: float, error_type: str | None) -> None:
        attributes = {names.ATTR_APP_ID: self.app, names.ATTR_HTTP_METHOD: method, names.ATTR_HTTP_ROUTE: route}
        if address:
            attributes[names.ATTR_SERVER_ADDRESS] = address
        if port:
            attributes[names.ATTR_SERVER_PORT] = port
        if status_code is not None:
            attributes[names.ATTR_HTTP_STATUS] = status_code
        if error_type:
            attributes[names.ATTR_ERROR_TYPE] = error_type
        self._telemetry._http_duration.record(duration_s, attributes)

    def poll_duration(self, seconds: float) -> None:
        self._telemetry._poll_duration.record(seconds, {names.ATTR_APP_ID: self.app})

    def observe_bot_gauges(self, gauges: GaugeSource) -> None:
        self._telemetry.observe_bot_gauges(self.app, gauges)

    def observe(self, spec: names.MetricSpec, points: PointSource) -> None:
        """The gauge ``spec``'s points of this app from ``points()``, each labelled with the app first."""
        self._telemetry.observe_points(spec, self.app, lambda: (
            (value, {names.ATTR_APP_ID: self.app, **attributes}) for value, attributes in points()))


def bot_attributes(app: str, bot_id: int, bot_name: str) -> dict[str, int | str]:
    return {names.ATTR_APP_ID: app, names.ATTR_BOT_ID: bot_id, names.ATTR_BOT_NAME: bot_name}


def _create(meter: Meter, spec: names.MetricSpec):
    factory = {"counter": meter.create_counter, "histogram": meter.create_histogram}[spec.instrument]
    return factory(spec.name, unit=spec.unit, description=spec.description)
