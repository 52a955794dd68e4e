"""The receiver's process-wide parts built from Settings, one named step each, every step taking only parts built
before it; each Desk app's own parts are app_parts.py's.

The order (receiver.py): Kubernetes (ha/setup.py) -> state (one section per app) -> resource -> metrics ->
telemetry -> counters -> each app's parts (app_parts.py). Two parts reach across it and are built first for
that: each app's WatchedBots (its poller publishes its bots there; the counters and /metrics read them) and
the stop event. The one link that cannot follow the order: the metric exporter's failures are counted in the
meter that exporter feeds (MetricFailures).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from opentelemetry.metrics import Meter
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import __version__, names
from otel_desk_receiver.config import Settings
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
from otel_desk_receiver.otlp.resource import instance_key
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.selfmetrics import SelfTelemetry
from otel_desk_receiver.runtime.watched import WatchedBots
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.state.store import CursorStore

log = logging.getLogger(__name__)


def build_kubernetes(settings: Settings) -> ha_setup.KubernetesParts | None:
    """The Kubernetes client, and per app its elector and ConfigMap state (issues 13 and 21), when the settings
    ask for either."""
    if not ha_setup.needs_kubernetes(settings):
        return None
    return ha_setup.build(settings, {app.label: DeskIdentity.of(app) for app in settings.desk_apps})


@dataclass
class State:
    """Where the cursors are kept: per app its backend (its section of the state file, or the ConfigMap) and
    its store; the file's lock."""

    backends: dict[str, object]  # label -> StateFile (section) or ha_setup's RetriedState; ``path`` says where
    stores: dict[str, CursorStore]  # label -> the app's cursors
    lock: StateFile | None  # held while running: one writer per state file

    @property
    def backend(self):
        """The first app's backend (the only one's, without an apps file)."""
        return next(iter(self.backends.values()))

    @property
    def cursors(self) -> CursorStore:
        """The first app's store (the only one's, without an apps file)."""
        return next(iter(self.stores.values()))

    def close(self) -> None:
        if self.lock is not None:
            self.lock.unlock()


def build_state(settings: Settings, kube: ha_setup.KubernetesParts | None, *, persist: bool,
                monotonic: Callable[[], float]) -> State:
    """Each app's cursor store on the ConfigMap (kubernetes backend) or on its section of the one state file,
    locked: a second receiver on the same file stops here (exit 2). ``persist`` False (OTEL_SDK_DISABLED):
    commits stay in memory."""
    apps = settings.desk_apps
    if kube is not None and kube.state is not None:  # each app's ConfigMap (ha/setup.py)
        backends, lock = {app.label: kube.apps[app.label].state for app in apps}, None
        for backend in backends.values():
            backend.check_writable()
    else:
        if settings.per_app_names:  # the apps file: one section per app in the file (version 4)
            lock = StateFile(settings.state_path, [DeskIdentity.of(app) for app in apps])
            backends = {app.label: lock.section(app.label) for app in apps}
        else:  # the DESK_* app: the file is its backend, as before issue 21
            lock = StateFile(settings.state_path, DeskIdentity.of(apps[0]))
            backends = {apps[0].label: lock}
        lock.check_writable()
        lock.lock()
    stores = {label: CursorStore(backend, persist=persist, save_every_s=settings.poll_interval, monotonic=monotonic)
              for label, backend in backends.items()}
    return State(backends, stores, lock)


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


def counter_sources(state: State, watched: dict[str, WatchedBots]) -> list[CounterSource]:
    """Each app's settled-entry totals: its committed cursors and the bots its poller publishes."""
    return [CounterSource(label, state.stores[label], watched[label].ids_and_names) for label in state.stores]


def build_metrics(settings: Settings, resource: Resource, sources: list[CounterSource], *,
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
        prometheus = PrometheusEndpoint(*prometheus_address(), totals=committed_totals(sources)).start()
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


def build_counters(resource: Resource, sources: list[CounterSource], metrics: Metrics, telemetry: SelfTelemetry, *,
                   clock_ns: Callable[[], int]) -> CounterExporter | None:
    """Every app's settled-entry counters, exported from the committed totals over OTLP (None when metrics go
    to Prometheus only, where /metrics serves the totals itself, or nowhere)."""
    if not metrics.otlp:
        return None
    return CounterExporter(metric_export.build_metric_exporter(), resource, sources, delta=counters_delta(),
                           interval_s=metric_export_interval_s(), clock_ns=clock_ns,
                           on_failure=lambda: telemetry.export_failed("metrics"))


def leadership_step(kube: ha_setup.KubernetesParts | None, label: str,
                    meter: Meter) -> Callable[[HealthState], Leadership | None]:
    """With leader election (issues 13 and 21) an app's loop polls only while this receiver leads it: its
    Leadership, made on the app's health (app_parts.build_app), else None."""
    if kube is None:
        return _no_leadership
    return partial(_leadership, kube, label, meter=meter)


def _no_leadership(_health: HealthState) -> None:
    return None


def _leadership(kube: ha_setup.KubernetesParts, label: str, health: HealthState, *, meter: Meter) -> Leadership | None:
    return kube.leadership(label, health, meter)


def receiver_instance_key(settings: Settings, state: State) -> str:
    """The instance_key of this receiver (otlp/resource.py): its apps and where its state lives (the file's
    resolved path, or the Kubernetes object's name, with the pod's name: replicas share that state)."""
    path = state.lock.path if state.lock is not None else getattr(state.backend, "path", state.backend)
    location = str(path.resolve()) if isinstance(path, Path) else str(path)
    return instance_key([app.label for app in settings.desk_apps], location, shared_state=state.lock is None)
