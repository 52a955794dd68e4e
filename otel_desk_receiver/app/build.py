"""The receiver's parts built from Settings, one named step each, every step taking only parts built before it.

The order (receiver.py's assemble): Kubernetes (ha/setup.py) -> state -> metrics -> telemetry -> counters ->
health -> leadership -> Desk's clock and client -> entry exporter -> pipeline -> poller -> its gauges. Two
parts reach across it and are built first for that: WatchedBots (the poller publishes its bots there; the
counters and /metrics read them) and the stop event. The one link that cannot follow the order: the
metric exporter's failures are counted in the meter that exporter feeds (MetricFailures).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opentelemetry.metrics import Meter
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import __version__, names
from otel_desk_receiver.config import Settings, token_source
from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.clock import DeskClock
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.ha import setup as ha_setup
from otel_desk_receiver.ha.leadership import Leadership
from otel_desk_receiver.otel_env import (
    counters_delta,
    metric_export_interval_s,
    metrics_exporters,
    prometheus_address,
)
from otel_desk_receiver.otlp import metric_export
from otel_desk_receiver.otlp.counter_export import CounterExporter, CounterSource
from otel_desk_receiver.otlp.log_export import EntryExporter, NullEntryExporter, build_log_exporter
from otel_desk_receiver.otlp.resource import instance_key
from otel_desk_receiver.pipeline.cycle import BotPipeline, PipelineOptions
from otel_desk_receiver.redaction import without_user_info
from otel_desk_receiver.runtime.budget import SweepBudget
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.poller import Poller
from otel_desk_receiver.runtime.read_health import ReadHealth
from otel_desk_receiver.runtime.selfmetrics import AppTelemetry, SelfTelemetry
from otel_desk_receiver.runtime.watched import WatchedBots
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)


def app_label(settings: Settings) -> str:
    """The app part of log.record.uid: DESK_APP_ID, or the API host[:port] when only a URL is given, never
    with the URL's user info (a credential, which would also change the uid when it rotates)."""
    return settings.app_id or without_user_info(urlsplit(settings.base_url).netloc)


def desk_identity(settings: Settings) -> DeskIdentity:
    """Which Desk the state belongs to, as saved in it: the app label and the base URL, without user info."""
    return DeskIdentity(app_label(settings), without_user_info(settings.base_url))


def build_kubernetes(settings: Settings) -> ha_setup.KubernetesParts | None:
    """The Kubernetes client, elector and ConfigMap state (issue 13), when the settings ask for either."""
    return ha_setup.build(settings, desk_identity(settings)) if ha_setup.needs_kubernetes(settings) else None


@dataclass
class State:
    """Where the cursors are kept: the backend (a file, or the ConfigMap), the store, the file's lock."""

    backend: object  # StateFile or ha_setup's RetriedState: ``path`` says where, for messages
    cursors: CursorStore
    lock: StateFile | None  # held while running: one writer per state file

    def close(self) -> None:
        if self.lock is not None:
            self.lock.unlock()


def build_state(settings: Settings, kube: ha_setup.KubernetesParts | None, *, persist: bool,
                monotonic: Callable[[], float]) -> State:
    """The cursor store on the ConfigMap (kubernetes backend) or the state file, locked: a second receiver
    on the same file stops here (exit 2). ``persist`` False (OTEL_SDK_DISABLED): commits stay in memory."""
    backend = kube.state if kube is not None and kube.state is not None else StateFile(
        settings.state_path, desk_identity(settings))
    backend.check_writable()
    lock = backend if isinstance(backend, StateFile) else None
    if lock is not None:
        lock.lock()
    return State(backend, CursorStore(backend, persist=persist, save_every_s=settings.poll_interval,
                                      monotonic=monotonic), lock)


class MetricFailures:
    """Where the metric exporter reports a failed export. The counter of failed exports lives in the meter
    that exporter feeds, so it cannot exist when the exporter is built: build_telemetry connects it, before
    the first export (one export interval after the meter provider starts)."""

    def __init__(self) -> None:
        self._telemetry: SelfTelemetry | None = None

    def count_in(self, telemetry: SelfTelemetry) -> None:
        self._telemetry = telemetry

    def failed(self) -> None:
        if self._telemetry is not None:
            self._telemetry.export_failed("metrics")


@dataclass
class Metrics:
    """The meter the receiver's instruments live on, and what exports it (none with OTEL_SDK_DISABLED)."""

    meter: Meter
    provider: object | None = None  # the SDK MeterProvider
    exporter: object | None = None  # its OTLP metric exporter
    prometheus: object | None = None  # the /metrics endpoint (OTEL_METRICS_EXPORTER=prometheus)
    otlp: bool = False  # OTEL_METRICS_EXPORTER holds otlp: the counters go out over OTLP too
    failures: MetricFailures | None = None  # the exporter's failed exports, counted once telemetry exists

    def close(self) -> None:
        """Stop serving /metrics (the provider is flushed by the receiver's close, within its deadline)."""
        if self.prometheus is not None:
            self.prometheus.stop()


def build_metrics(settings: Settings, resource: Resource, cursors: CursorStore, watched: WatchedBots, *,
                  disabled: bool = False) -> Metrics:
    if disabled:
        from opentelemetry.metrics import NoOpMeter

        return Metrics(NoOpMeter("otel_desk_receiver"))
    failures = MetricFailures()
    exporter = metric_export.build_metric_exporter(on_failure=failures.failed)
    exporters = metrics_exporters()  # OTEL_METRICS_EXPORTER: otlp, prometheus or both
    prometheus = None
    if "prometheus" in exporters:  # imported only then: run loads nothing it does not use
        from otel_desk_receiver.otlp.prometheus_endpoint import PrometheusEndpoint, committed_totals
        prometheus = PrometheusEndpoint(*prometheus_address(),
                                        totals=committed_totals([CounterSource(
                                            app_label(settings), cursors, watched.ids_and_names)])).start()
        log.info("Prometheus metrics on %s", prometheus.url)
    provider = metric_export.build_meter_provider(resource, exporter if "otlp" in exporters else None,
                                                  readers=[prometheus.reader] if prometheus else [])
    return Metrics(provider.get_meter(names.SCOPE_NAME, __version__), provider, exporter, prometheus,
                   otlp="otlp" in exporters, failures=failures)


def build_telemetry(metrics: Metrics) -> SelfTelemetry:
    """The receiver's own instruments; the metric exporter's failed exports are counted in them from now on."""
    telemetry = SelfTelemetry(metrics.meter)
    if metrics.failures is not None:
        metrics.failures.count_in(telemetry)
    return telemetry


def build_counters(settings: Settings, resource: Resource, state: State, watched: WatchedBots, metrics: Metrics,
                   telemetry: AppTelemetry, *, clock_ns: Callable[[], int]) -> CounterExporter | None:
    """The settled-entry counters, exported from the committed totals over OTLP (None when metrics go to
    Prometheus only, where /metrics serves the totals itself, or nowhere)."""
    if not metrics.otlp:
        return None
    return CounterExporter(
        metric_export.build_metric_exporter(), resource,
        [CounterSource(telemetry.app, state.cursors, watched.ids_and_names)], delta=counters_delta(),
        interval_s=metric_export_interval_s(),
        clock_ns=clock_ns,
        on_failure=lambda: telemetry.export_failed("metrics"))


def build_leadership(kube: ha_setup.KubernetesParts | None, health: HealthState, meter: Meter) -> Leadership | None:
    """With leader election (issue 13) the loop polls only while this receiver leads."""
    if kube is None or kube.elector is None:
        return None
    return Leadership(kube.elector, health, meter)


def stop_condition(stop_event: threading.Event, leadership: Leadership | None) -> Callable[[], bool]:
    """Asked between pages: stop on a signal, and at once when leadership ends (issue 13)."""
    if leadership is None:
        return stop_event.is_set
    return lambda: stop_event.is_set() or not leadership.is_leading()


def build_desk_clock(settings: Settings, clock_ns: Callable[[], int]) -> DeskClock:
    """Desk's clock, read from its answers' Date: entry ages are judged by it (issue 25 point 13)."""
    return DeskClock(clock_ns, warn_over_s=settings.settle_grace)


def build_desk_client(settings: Settings, stop_event: threading.Event, desk_clock: DeskClock, health: HealthState,
                      telemetry: AppTelemetry, *, monotonic: Callable[[], float], retry: RetryPolicy | None = None,
                      sleep: Callable[[float], object] | None = None) -> DeskClient:
    """The Desk client; each answer moves Desk's clock, beats liveness (however long a backlog's turn) and
    is timed; each retry beats liveness and is said at WARNING."""

    def answered(info) -> None:
        desk_clock.observe(info.server_date, info.duration_s)
        health.beat()
        telemetry.http_request(info.method, info.url_template, info.server_address, info.server_port,
                               info.status_code, info.duration_s, info.error_type)

    def retrying(info) -> None:
        health.beat()
        bot = f"bot {info.bot_id}: " if info.bot_id is not None else ""
        log.warning("%s%s %s failed (attempt %d of %d), retrying in %s: %s", bot, info.method, info.url_template,
                    info.attempt, info.max_attempts, duration_text(info.delay_s), info.error)

    return DeskClient(settings.base_url, token_source(settings), max_rps=settings.max_rps, retry=retry,
                      stop_event=stop_event, monotonic=monotonic, sleep=sleep, on_request=answered,
                      on_retry=retrying)


def build_entry_exporter(resource: Resource, *, disabled: bool = False, max_age_s: float = 0.0,
                         clock_ns: Callable[[], int] = time.time_ns) -> EntryExporter | NullEntryExporter:
    """The log sink: OTLP logs, held back while the endpoint is down, none older than the backend's age limit
    (DESK_EXPORT_MAX_AGE) sent; nothing with OTEL_SDK_DISABLED."""
    return NullEntryExporter() if disabled else EntryExporter(build_log_exporter(), resource, hold_when_down=True,
                                                              max_age_s=max_age_s, clock_ns=clock_ns)


class CycleTelemetry:
    """The pipeline's Telemetry port (pipeline/ports.py): the receiver's own counters, and the settled-entry
    counters told of a bot seen first (its zeros go out then)."""

    def __init__(self, telemetry: AppTelemetry, counters: CounterExporter | None):
        self._telemetry, self._counters = telemetry, counters

    def bot_discovered(self, bot_id: int) -> None:
        if self._counters is not None:
            self._counters.bot_discovered(self._telemetry.app, bot_id)

    def rejected(self, bot_id: int, reason: str) -> None:
        self._telemetry.rejected(bot_id, reason)

    def export_failed(self, signal: str) -> None:
        self._telemetry.export_failed(signal)


def build_pipeline(settings: Settings, client: DeskClient, exporter, cursors: CursorStore,
                   telemetry: CycleTelemetry, desk_clock: DeskClock, should_stop: Callable[[], bool], *,
                   clock_ns: Callable[[], int]) -> BotPipeline:
    options = PipelineOptions(app=app_label(settings), page_size=settings.page_size, backfill_s=settings.backfill_s,
                              settle_grace_s=settings.settle_grace, extra_fields=tuple(settings.export_extra_fields))
    return BotPipeline(client, exporter, cursors, telemetry, options, clock_ns=clock_ns, should_stop=should_stop,
                       desk_clock_ns=desk_clock.now_ns)


def build_poller(settings: Settings, client: DeskClient, cursors: CursorStore, pipeline: BotPipeline,
                 telemetry: AppTelemetry, health: HealthState, watched: WatchedBots, meter: Meter,
                 desk_clock: DeskClock, should_stop: Callable[[], bool], *, clock_ns: Callable[[], int],
                 monotonic: Callable[[], float]) -> Poller:
    """The poll loop over the watched bots; its per-bot gauges are observed from here on."""
    poller = Poller(client, cursors, pipeline, telemetry, health, bot_ids=settings.bot_ids, clock_ns=clock_ns,
                    monotonic=monotonic, read_health=ReadHealth(meter, telemetry.app, clock_ns), interval_s=settings.poll_interval,
                    bot_list_interval_s=settings.bot_list_interval,
                    budget=SweepBudget(meter, settings.max_rps, settings.poll_interval),
                    should_stop=should_stop, desk_clock_ns=desk_clock.now_ns, watched=watched,
                    concurrency=settings.concurrency, backlog_share=settings.backlog_share)
    telemetry.observe_bot_gauges(poller.gauges)
    return poller


def receiver_instance_key(settings: Settings, backend) -> str:
    """The instance_key of this receiver (otlp/resource.py): its app and where its state lives (the file's
    resolved path, or the Kubernetes object's name, with the pod's name: replicas share that state)."""
    path = getattr(backend, "path", backend)  # a file's path, or the Kubernetes object's name
    location = str(path.resolve()) if isinstance(path, Path) else str(path)
    return instance_key([app_label(settings)], location, shared_state=not isinstance(backend, StateFile))
