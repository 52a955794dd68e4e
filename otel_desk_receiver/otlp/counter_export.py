"""The settled-entry counters (sendbird.desk.bot.webhook_logs), exported from the committed totals of every app of
the process (one CounterSource each; its points carry sendbird.app_id) by our own loop, which builds the MetricsData, hands it to our OTLP metric exporter (metric_export.py) and acts on the answer.

Not the SDK's PeriodicExportingMetricReader: its in-memory sums start at 0 in every process and its
delta points are dropped when an export fails, so counts were lost across crashes and outages. Here:

- the totals per bot and status live in the state, moved in the same atomic commit as the cursor that
  delivered the entries (pipeline/cycle.py): a crash loses or doubles nothing;
- cumulative points carry the saved totals and the saved start time (``counted_since_ns``), so a
  restart neither resets nor doubles a series;
- delta points are the committed totals minus the totals the metrics endpoint last acknowledged
  (``acked``, saved after each accepted export): a refused export loses nothing (the next delta is
  larger), and a crash between the endpoint's answer and the save repeats at most that one delta;
- every known status of a bot is exported, at 0 until it counts, from the moment the bot is first
  seen (Prometheus' increase() ignores a series whose first sample is already non-zero).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_desk_receiver import __version__, names
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.errors import StateError
from otel_desk_receiver.otlp.answer import Answer, Kind
from otel_desk_receiver.otlp.endpoint_hints import with_hints
from otel_desk_receiver.otlp.metric_export import OtlpMetricExporter

log = logging.getLogger(__name__)

# The statuses of docs/desk-api.md#statuses: RECEIVED, ERROR, TIMEOUT settle by status; INITIALIZED and SENT
# settle by age. Each has a series from the bot's discovery; other statuses get one when first counted.
KNOWN_STATUSES = ("INITIALIZED", "SENT", "RECEIVED", "ERROR", "TIMEOUT")


@dataclass(frozen=True)
class CounterSource:
    """One app's settled-entry totals: its label (sendbird.app_id on its points), the store its totals are
    committed in, and its watched bots as (bot id, bot name)."""

    app: str
    cursors: CursorStore
    bots: Callable[[], Iterable[tuple[int, str]]]


class CounterExporter:
    """Exports the counters of every app of the process (one ``CounterSource`` each, all under the process's
    one resource, told apart by sendbird.app_id) every ``interval_s`` on its own thread, and on demand
    (``export_now``).

    ``export_now`` returns the endpoint's answer; only an acceptance moves the acknowledged totals.
    Calls are serialised, so the loop, a flush and a new bot's zeros never race.
    """

    def __init__(self, exporter: OtlpMetricExporter, resource: Resource, sources: Iterable[CounterSource], *,
                 delta: bool, interval_s: float, clock_ns: Callable[[], int] = time.time_ns,
                 on_failure: Callable[[], None] | None = None):
        self._exporter = exporter
        self._resource = resource
        self._sources: list[CounterSource] = []
        self._delta = delta
        self._interval_s = interval_s
        self._clock_ns = clock_ns
        self._on_failure = on_failure
        self._scope = InstrumentationScope(names.SCOPE_NAME, __version__)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._zeros: set[tuple[str, int]] = set()  # (app, bot) seen, whose zero points were not accepted yet
        self._zeros_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_answer: Answer | None = None
        for source in sources:
            self.add_source(source)

    def add_source(self, source: CounterSource) -> None:
        """One more app's totals (its label unique in the process)."""
        with self._lock:
            if any(known.app == source.app for known in self._sources):
                raise ValueError(f"app {source.app!r} has a counter source already")
            self._sources = [*self._sources, source]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="counter-export", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_s = time.monotonic() + self._interval_s
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_s - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            if time.monotonic() >= next_s:
                next_s = time.monotonic() + self._interval_s
                self.export_now()
            else:
                self.export_zeros()

    def stop(self) -> None:
        """End the loop (an export in flight finishes on its own); ``shutdown`` interrupts it."""
        self._stop.set()
        self._wake.set()

    def shutdown(self) -> None:
        self.stop()
        self._exporter.shutdown()

    def bot_discovered(self, app: str, bot_id: int) -> None:
        """A new bot of ``app``: its zeros go out before any count of it (on the loop's thread, or first at a
        flush). Never waits for the endpoint: the pipeline goes on at once."""
        with self._zeros_lock:
            self._zeros.add((app, bot_id))
        self._wake.set()

    def export_zeros(self) -> Answer:
        """Send the zero points of newly seen bots, if any (they stay queued until accepted)."""
        with self._lock:
            return self._export_zeros()

    def _export_zeros(self) -> Answer:
        with self._zeros_lock:
            waiting = set(self._zeros)
        series = [(source.app, bot_id, name, replace(cursor, counted={}, acked={}, acked_ns=None))
                  for source, bot_id, name, cursor in self._series() if (source.app, bot_id) in waiting]
        if not series:
            return Answer(Kind.ACCEPTED)
        answer = self._send(self._metrics_data(series, self._clock_ns()))
        if answer.kind in (Kind.ACCEPTED, Kind.PARTIAL):
            with self._zeros_lock:
                self._zeros -= {(app, bot_id) for app, bot_id, _, _ in series}
        return answer

    def _series(self) -> list[tuple[CounterSource, int, str, BotCursor]]:
        """(source, bot id, bot name, cursor) of every watched bot with a cursor, app after app."""
        series = []
        for source in self._sources:
            cursors = source.cursors.snapshot()
            series += [(source, bot_id, name, cursors[bot_id]) for bot_id, name in source.bots() if bot_id in cursors]
        return series

    def export_now(self) -> Answer:
        with self._lock:
            try:
                self.last_answer = self._export()
            except StateError as error:
                # Delta only: sending what could not be remembered as sent would count it twice later.
                log.error("counters held back: %s", error)
                self.last_answer = Answer(Kind.FAILED, f"the state cannot be written ({error})")
            return self.last_answer

    def _export(self) -> Answer:
        zeros = self._export_zeros()
        if zeros.kind not in (Kind.ACCEPTED, Kind.PARTIAL):
            return self._refused(zeros)
        now_ns = self._clock_ns()
        found = self._series()
        if not found:
            return Answer(Kind.ACCEPTED)
        sources = list({id(source): source for source, _, _, _ in found}.values())
        if self._delta:
            for source in sources:
                source.cursors.acknowledge({})  # every state is writable now, or nothing is sent (disk full)
        answer = self._send(self._metrics_data([(source.app, bot_id, name, cursor)
                                                for source, bot_id, name, cursor in found], now_ns))
        if answer.kind is Kind.PARTIAL:
            # The spec forbids sending it again; which points were refused is not said.
            log.warning("OTLP metrics endpoint accepted the counters only in part: %s", answer.reason)
        if answer.kind in (Kind.ACCEPTED, Kind.PARTIAL):
            if self._delta:
                for source in sources:
                    source.cursors.acknowledge({bot_id: (cursor.counted, now_ns)
                                                for owner, bot_id, _, cursor in found if owner is source})
        else:
            self._refused(answer)
        return answer

    def _refused(self, answer: Answer) -> Answer:
        if self.last_answer is None or self.last_answer.accepted:  # said once, not every interval
            log.warning("OTLP metrics endpoint did not accept the counters (%s); they are kept and sent again",
                        with_hints(answer.reason, "metrics"))
        if self._on_failure is not None:
            self._on_failure()
        return answer

    def _send(self, data: MetricsData) -> Answer:
        return self._exporter.send(data)  # the endpoint's answer, exceptions included (metric_export.py)

    def _metrics_data(self, series: list[tuple[str, int, str, BotCursor]], now_ns: int) -> MetricsData:
        points = [point for app, bot_id, bot_name, cursor in series
                  for point in self._points(app, bot_id, bot_name, cursor, now_ns)]
        temporality = AggregationTemporality.DELTA if self._delta else AggregationTemporality.CUMULATIVE
        metric = Metric(names.WEBHOOK_LOGS.name, names.WEBHOOK_LOGS.description, names.WEBHOOK_LOGS.unit,
                        Sum(points, temporality, is_monotonic=True))
        return MetricsData([ResourceMetrics(self._resource, [ScopeMetrics(self._scope, [metric], "")], "")])

    def _points(self, app: str, bot_id: int, bot_name: str, cursor: BotCursor,
                now_ns: int) -> list[NumberDataPoint]:
        since_ns = cursor.counted_since_ns or now_ns
        start_ns = (cursor.acked_ns or since_ns) if self._delta else since_ns
        statuses = list(KNOWN_STATUSES) + sorted(set(cursor.counted) - set(KNOWN_STATUSES))
        points = []
        for status in statuses:
            value = cursor.counted.get(status, 0)
            if self._delta:
                value -= cursor.acked.get(status, 0)
            attributes = {names.ATTR_APP_ID: app, names.ATTR_BOT_ID: bot_id, names.ATTR_BOT_NAME: bot_name,
                          names.ATTR_WEBHOOK_LOG_STATUS: status}
            points.append(NumberDataPoint(attributes, start_ns, max(now_ns, start_ns), value))
        return points
