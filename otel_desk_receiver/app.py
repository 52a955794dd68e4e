"""Assembles the receiver from Settings (client, cursor store, entry exporter, meter, health, poller) and runs its loop."""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from otel_desk_receiver import __version__, names
from otel_desk_receiver.config import DATADOG_MAX_AGE_H, Settings, token_source
from otel_desk_receiver.otel_env import (
    counters_delta,
    export_endpoint,
    export_timeout_s,
    metric_export_interval_s,
    sdk_disabled,
    timeout_unit_warnings,
)
from otel_desk_receiver.otlp import headers_file, metric_export
from otel_desk_receiver.redaction import without_user_info
from otel_desk_receiver.otlp.endpoint_hints import with_hints
from otel_desk_receiver.otlp.headers_file import HeadersFile
from otel_desk_receiver.otlp.counter_export import CounterExporter
from otel_desk_receiver.otlp.log_export import EntryExporter, NullEntryExporter, build_log_exporter
from otel_desk_receiver.otlp.resource import build_resource, counters_resource
from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import ConfigError, StateError
from otel_desk_receiver.runtime.health import HealthServer, HealthState
from otel_desk_receiver.desk.clock import DeskClock
from otel_desk_receiver.pipeline.cycle import BotPipeline, PipelineOptions
from otel_desk_receiver.runtime.budget import SweepBudget
from otel_desk_receiver.runtime.poller import CycleResult, Poller
from otel_desk_receiver.runtime.selfmetrics import SelfTelemetry
from otel_desk_receiver.runtime.read_health import ReadHealth
from otel_desk_receiver.otel_env import metrics_exporters, prometheus_address
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.pipeline.read_window import MAX_START_AGE_DAYS
from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.state.file_backend import StateFile
# High availability (issue 13): the Kubernetes state backend and leader election.
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.ha import setup as ha_setup
from otel_desk_receiver.ha.leadership import Leadership

log = logging.getLogger(__name__)


def app_label(settings: Settings) -> str:
    """The app part of log.record.uid: DESK_APP_ID, or the API host[:port] when only a URL is given, never
    with the URL's user info (a credential, which would also change the uid when it rotates)."""
    return settings.app_id or without_user_info(urlsplit(settings.base_url).netloc)


def desk_identity(settings: Settings) -> DeskIdentity:
    """Which Desk the state belongs to, as saved in it: the app label and the base URL, without user info."""
    return DeskIdentity(app_label(settings), without_user_info(settings.base_url))


class Receiver:
    """The running receiver. ``stop()`` (from a signal handler) ends the loop after the page in flight."""

    def __init__(self, settings: Settings, *, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], object] | None = None):
        self.settings = settings
        self.stop_event = threading.Event()
        self._disabled = sdk_disabled()
        # --- High availability (issue 13): the state in a ConfigMap and/or leader election on a Lease.
        self._kube = (ha_setup.build(settings, desk_identity(settings))
                      if ha_setup.needs_kubernetes(settings) else None)
        self.leadership: Leadership | None = None
        if self._kube is not None and self._kube.state is not None:
            state_file = self._kube.state
        else:
            state_file = StateFile(settings.state_path, desk_identity(settings))
        # --- end of the high-availability block
        state_file.check_writable()
        self._state_lock = state_file if isinstance(state_file, StateFile) else None
        if self._state_lock is not None:
            self._state_lock.lock()  # one writer per state file: a second receiver stops here (exit 2)
        self.cursors_backend = state_file
        # SDK disabled: nothing is exported, so the saved state must not move (commits in memory only).
        self.cursors = CursorStore(state_file, persist=not self._disabled, save_every_s=settings.poll_interval,
                                   monotonic=monotonic)
        resource = build_resource(settings.app_id)
        headers_file.use(HeadersFile(settings.otlp_headers_file) if settings.otlp_headers_file else None)
        self._meter_provider = None
        self._prometheus = None  # the Prometheus endpoint, with OTEL_METRICS_EXPORTER=prometheus
        self.counters: CounterExporter | None = None
        for line in timeout_unit_warnings():
            log.warning("%s", line)
        if self._disabled:
            log.warning("OTEL_SDK_DISABLED=true: nothing is exported and the state file is not advanced")
            self._entry_exporter = NullEntryExporter()
            meter = _noop_meter()
        else:
            self._entry_exporter = EntryExporter(build_log_exporter(), resource, hold_when_down=True)
            self._metric_exporter = metric_export.build_metric_exporter(
                on_failure=lambda: self.telemetry.export_failed("metrics"))
            exporters = metrics_exporters()  # OTEL_METRICS_EXPORTER: otlp, prometheus or both
            if "prometheus" in exporters:  # imported only then: run loads nothing it does not use
                from otel_desk_receiver.otlp.prometheus_endpoint import PrometheusEndpoint, committed_totals
                self._prometheus = PrometheusEndpoint(*prometheus_address(), totals=committed_totals(
                    self.cursors, lambda: [(bot.id, bot.name) for bot in self.poller.bots])).start()
                log.info("Prometheus metrics on %s", self._prometheus.url)
            self._meter_provider = metric_export.build_meter_provider(
                resource, self._metric_exporter if "otlp" in exporters else None,
                readers=[self._prometheus.reader] if self._prometheus else [])
            meter = self._meter_provider.get_meter(names.SCOPE_NAME, __version__)
            self.counters = CounterExporter(
                metric_export.build_metric_exporter(), counters_resource(resource, _state_key(settings, state_file)),
                self.cursors,
                lambda: [(bot.id, bot.name) for bot in self.poller.bots], delta=counters_delta(),
                interval_s=metric_export_interval_s(), timeout_s=export_timeout_s("metrics"), clock_ns=clock_ns,
                on_failure=lambda: self.telemetry.export_failed("metrics"))
        if self._prometheus is not None and "otlp" not in exporters:
            self.counters = None  # scraped only: the endpoint serves the committed totals itself
        self.health = HealthState(settings.poll_interval, clock_ns=clock_ns)
        if self._kube is not None and self._kube.elector is not None:  # issue 13: poll only while leading
            self.leadership = Leadership(self._kube.elector, self.health, meter)
        self.telemetry = SelfTelemetry(meter, gauges=lambda: self.poller.gauges(),
                                       on_bot_discovered=self.counters.bot_discovered if self.counters else None)
        # Desk's clock, read from its answers' Date: entry ages are judged by it (issue 25 point 13).
        self.desk_clock = DeskClock(clock_ns, warn_over_s=settings.settle_grace)
        self.client = DeskClient(
            settings.base_url, token_source(settings), max_rps=settings.max_rps, retry=retry,
            stop_event=self.stop_event, monotonic=monotonic, sleep=sleep,
            on_request=self._record_request, on_retry=self._on_retry,
        )
        pipeline = BotPipeline(
            self.client, self._entry_exporter, self.cursors, self.telemetry,
            PipelineOptions(app=app_label(settings), page_size=settings.page_size,
                            backfill_s=settings.backfill_s, settle_grace_s=settings.settle_grace,
                            extra_fields=tuple(settings.export_extra_fields)),
            clock_ns=clock_ns, should_stop=self._should_stop, desk_clock_ns=self.desk_clock.now_ns,
        )
        self.poller = Poller(self.client, self.cursors, pipeline, self.telemetry, self.health,
                             bot_ids=settings.bot_ids, clock_ns=clock_ns, monotonic=monotonic,
                             read_health=ReadHealth(meter, clock_ns), interval_s=settings.poll_interval,
                             bot_list_interval_s=settings.bot_list_interval,
                             budget=SweepBudget(meter, settings.max_rps, settings.poll_interval),
                             should_stop=self._should_stop, desk_clock_ns=self.desk_clock.now_ns)
        self._health_server: HealthServer | None = None
        _warn_about_backfill(settings)

    def _record_request(self, info) -> None:
        self.desk_clock.observe(info.server_date, info.duration_s)
        self.health.beat()  # liveness beats per Desk request, however long a backlog's turn
        self.telemetry.http_request(info.method, info.url_template, info.server_address, info.server_port,
                                    info.status_code, info.duration_s, info.error_type)

    def _on_retry(self, info) -> None:
        self.health.beat()
        _log_retry(info)

    def start_health(self) -> None:
        address = self.settings.health_host_port
        if address is not None:
            try:
                self._health_server = HealthServer(self.health, *address, gauges=self.poller.gauges).start()
            except OSError as exc:
                raise ConfigError([f"DESK_HEALTH_ADDR: cannot listen on {self.settings.health_addr} "
                                   f"({exc.strerror}); pick a free port, or empty to turn health off"]) from None
            log.info("health endpoints on http://%s:%d/healthz and /readyz, status page at /", address[0],
                     self._health_server.port)

    def run_once(self) -> CycleResult:
        self._entry_exporter.new_cycle()  # an endpoint found down last cycle is tried again
        result = self.poller.run_cycle()
        self._sweep_done()
        log.info("cycle done: exported %d, %d bot(s) ok, %d failed", result.exported, result.bots_ok,
                 result.bots_failed)
        return result

    def _sweep_done(self) -> None:
        """After every bot had a turn: say once if the OTLP endpoint was down, then try it again."""
        down, waiting = self._entry_exporter.down, self._entry_exporter.waiting
        if down is not None:
            # One line per cycle, whatever the number of bots: the first failed export stopped the others.
            log.warning("OTLP logs endpoint %s did not accept the log records (%s): %d bot(s) waiting with %d "
                        "settled entr%s; nothing is lost, retrying next cycle", export_endpoint("logs"),
                        with_hints(down.reason, "logs"),
                        waiting.deliveries, waiting.records, "y" if waiting.records == 1 else "ies")
        self._entry_exporter.new_cycle()

    def flush_counters(self) -> bool:
        """Export the counters now; True if the metrics endpoint accepted them (or nothing is exported)."""
        return self.counters is None or self.counters.export_now().kind.name in ("ACCEPTED", "PARTIAL")

    def run_forever(self) -> None:
        if self.counters is not None:
            self.counters.start()
        if self.leadership is not None:  # issue 13: cycles run only inside a term, standby otherwise
            self.leadership.start(self.stop_event)
            self.leadership.run_terms(self.stop_event, self.cursors.reload, self._poll_until_stopped,
                                      self.settings.poll_interval)
            return
        self._poll_until_stopped()

    def _poll_until_stopped(self) -> None:
        """The scheduler's loop until a stop (a signal, or the end of a leadership term)."""
        self.poll_until(self._should_stop, self.stop_event.wait)

    def poll_until(self, stop: Callable[[], bool], wait: Callable[[float], object]) -> None:
        """The poll loop (Poller.run_until) with the receiver's once-an-interval OTLP retry; tests drive it
        on a virtual clock through ``wait``."""
        self.poller.run_until(stop, wait, on_sweep=self._sweep_done)

    def stop(self) -> None:
        self.stop_event.set()

    @property
    def state_location(self) -> str:
        """Where the state is saved, for messages: the file, or the ConfigMap (issue 13)."""
        return str(self.cursors_backend.path)

    def lead_for_once(self) -> bool:
        """``run --once`` with leader election: campaign for up to one lease duration; True once leading
        (the state of this term loaded), False when another receiver holds the Lease (issue 13)."""
        if self.leadership is None:
            return True
        self.leadership.start(self.stop_event)
        config = self.leadership.elector.config
        if not self.leadership.elector.leading_event.wait(config.lease_duration_s + 2 * config.retry_period_s):
            log.error("run --once: %s holds the lease %s: it polls, so this run does nothing",
                      self.leadership.elector.holder() or "another receiver", self.leadership.elector.name)
            return False
        self.cursors.reload()
        return True

    def _should_stop(self) -> bool:
        """Between pages: stop on a signal, and at once when leadership ends (issue 13)."""
        return self.stop_event.is_set() or (self.leadership is not None and not self.leadership.is_leading())

    def close(self, flush_timeout_s: float | None = None, *, flush_counters: bool = True) -> None:
        """Flush the counters and the other metrics once, close connections, stop serving health. With
        ``flush_timeout_s`` (a shutdown deadline), flushes still retrying towards a dead endpoint are cut
        short so that the whole close ends within it."""
        deadline = None if flush_timeout_s is None else time.monotonic() + flush_timeout_s
        self.health.stop()
        self._save_state()
        if self.counters is not None:
            self.counters.stop()
            if flush_counters:
                _bounded(self.counters.export_now, deadline, self.counters.shutdown, "the final counters")
        if self.leadership is not None:
            self.stop_event.set()  # ends the election loop (run --once never set it)
            self.leadership.stop()  # release the Lease: a standby takes over at its next retry
        if self._meter_provider is not None:
            _bounded(lambda: metric_export.shutdown_meter_provider(self._meter_provider), deadline,
                     self._metric_exporter.shutdown, "the final metrics")
        if self.counters is not None:
            self.counters.shutdown()
        self._entry_exporter.shutdown()
        self.client.close()
        if self._kube is not None:
            self._kube.client.close()
        if self._health_server is not None:
            self._health_server.stop()
        if self._prometheus is not None:
            self._prometheus.stop()
        if self._state_lock is not None:
            self._state_lock.unlock()

    def _save_state(self) -> None:
        """What was delivered and not saved yet (saves are coalesced, state/store.py) is saved before exit;
        if it cannot be (no longer leading, disk full), the next receiver sends that batch again."""
        try:
            self.cursors.save()
        except StateError as error:
            log.warning("the last deliveries could not be saved (%s): at most one batch per bot is sent again",
                        error)

    def abort_export(self) -> None:
        """Cut the in-flight export's retries short (shutdown deadline); its batch is not committed."""
        self._entry_exporter.shutdown()


def _state_key(settings: Settings, state) -> str:
    """What identifies the state the counters' totals live in: the app and the file (or object)."""
    path = getattr(state, "path", state)  # a file's path, or the Kubernetes object's name
    return f"{app_label(settings)}|{path.resolve() if isinstance(path, Path) else path}"


def _bounded(flush: Callable[[], object], deadline: float | None, interrupt: Callable[[], None], what: str) -> None:
    """Run ``flush`` on a thread until ``deadline`` (monotonic; None: until it ends); past it, interrupt it."""
    worker = threading.Thread(target=flush, name="metrics-flush", daemon=True)
    worker.start()
    worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        log.warning("%s were not accepted before the shutdown deadline; %s", what,
                    "sent again by the next run" if what == "the final counters" else "dropped")
        interrupt()  # cuts the exporter's retries; the thread is a daemon and cannot outlive the process


def _log_retry(info) -> None:
    """A Desk request is retried: said at WARNING (the retries themselves are paced by the transport)."""
    bot = f"bot {info.bot_id}: " if info.bot_id is not None else ""
    log.warning("%s%s %s failed (attempt %d of %d), retrying in %.1fs: %s", bot, info.method, info.url_template,
                info.attempt, info.max_attempts, info.delay_s, info.error)


def _warn_about_backfill(settings: Settings) -> None:
    hours = settings.backfill_s / 3600
    if hours > DATADOG_MAX_AGE_H:
        log.warning("the backfill (DESK_BACKFILL / DESK_BACKFILL_DAYS) reaches %g hours back, past %d: Datadog drops "
                    "log records older than that (DESK_BACKFILL=18h stays inside); other backends (Loki) accept "
                    "them oldest first", hours, DATADOG_MAX_AGE_H)
    if hours > MAX_START_AGE_DAYS * 24:
        log.warning("the backfill (DESK_BACKFILL / DESK_BACKFILL_DAYS) reaches %g days back: reading the last %d "
                    "days; older entries are at the edge of Desk's %d-day retention and leave it while they are "
                    "read", hours / 24, MAX_START_AGE_DAYS, RETENTION_DAYS)


def _noop_meter():
    from opentelemetry.metrics import NoOpMeter

    return NoOpMeter("otel_desk_receiver")
