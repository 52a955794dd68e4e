"""Receiver: the running receiver, assembled from Settings by build.py's steps in order, and its loop."""

import logging
import threading
import time
from collections.abc import Callable

from otel_desk_receiver.app import build
from otel_desk_receiver.config import DATADOG_MAX_AGE_H, Settings
from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import ConfigError, StateError
from otel_desk_receiver.otel_env import export_endpoint, sdk_disabled, timeout_unit_warnings
from otel_desk_receiver.otlp import headers_file, metric_export
from otel_desk_receiver.otlp.endpoint_hints import with_hints
from otel_desk_receiver.otlp.headers_file import HeadersFile
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.read_window import MAX_START_AGE_DAYS
from otel_desk_receiver.runtime.health import HealthServer, HealthState
from otel_desk_receiver.runtime.poller import CycleResult
from otel_desk_receiver.runtime.watched import WatchedBots

log = logging.getLogger(__name__)


class Receiver:
    """The running receiver. ``stop()`` (from any thread: run's signal watcher) ends the loop after the page
    in flight."""

    def __init__(self, settings: Settings, *, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], object] | None = None):
        """Each part from the settings and the parts above it (build.py), none from a part built later."""
        self.settings = settings
        self.stop_event = threading.Event()
        disabled = sdk_disabled()
        self._kube = build.build_kubernetes(settings)
        self._state = build.build_state(settings, self._kube, persist=not disabled, monotonic=monotonic)
        self.cursors, self.cursors_backend = self._state.cursors, self._state.backend
        headers_file.use(HeadersFile(settings.otlp_headers_file) if settings.otlp_headers_file else None)
        for line in timeout_unit_warnings():
            log.warning("%s", line)
        if disabled:  # nothing is exported, so the saved state must not move (commits in memory only)
            log.warning("OTEL_SDK_DISABLED=true: nothing is exported and the state file is not advanced")
        label = build.app_label(settings)
        resource = build_resource([label], build.receiver_instance_key(settings, self._state.backend))
        watched = WatchedBots()
        self._metrics = build.build_metrics(settings, resource, self.cursors, watched, disabled=disabled)
        self.telemetry = build.build_telemetry(self._metrics).for_app(label)  # the app's parts report through it
        self.counters = build.build_counters(settings, resource, self._state, watched, self._metrics, self.telemetry,
                                             clock_ns=clock_ns)
        self.health = HealthState(settings.poll_interval, clock_ns=clock_ns)
        self.leadership = build.build_leadership(self._kube, self.health, self._metrics.meter)
        self._should_stop = build.stop_condition(self.stop_event, self.leadership)
        self.desk_clock = build.build_desk_clock(settings, clock_ns)
        self.client = build.build_desk_client(settings, self.stop_event, self.desk_clock, self.health, self.telemetry,
                                              monotonic=monotonic, retry=retry, sleep=sleep)
        self._entry_exporter = build.build_entry_exporter(resource, disabled=disabled,
                                                          max_age_s=settings.export_max_age, clock_ns=clock_ns)
        pipeline = build.build_pipeline(settings, self.client, self._entry_exporter, self.cursors,
                                        build.CycleTelemetry(self.telemetry, self.counters), self.desk_clock,
                                        self._should_stop, clock_ns=clock_ns)
        self.poller = build.build_poller(settings, self.client, self.cursors, pipeline, self.telemetry, self.health,
                                         watched, self._metrics.meter, self.desk_clock, self._should_stop,
                                         clock_ns=clock_ns, monotonic=monotonic)
        self._health_server: HealthServer | None = None
        _warn_about_backfill(settings)

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
        metrics = self._metrics
        if metrics.provider is not None:
            _bounded(lambda: metric_export.shutdown_meter_provider(metrics.provider), deadline,
                     metrics.exporter.shutdown, "the final metrics")
        if self.counters is not None:
            self.counters.shutdown()
        self._entry_exporter.shutdown()
        self.client.close()
        if self._kube is not None:
            self._kube.client.close()
        if self._health_server is not None:
            self._health_server.stop()
        metrics.close()
        self._state.close()

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


def _bounded(flush: Callable[[], object], deadline: float | None, interrupt: Callable[[], None], what: str) -> None:
    """Run ``flush`` on a thread until ``deadline`` (monotonic; None: until it ends); past it, interrupt it."""
    worker = threading.Thread(target=flush, name="metrics-flush", daemon=True)
    worker.start()
    worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        log.warning("%s were not accepted before the shutdown deadline; %s", what,
                    "sent again by the next run" if what == "the final counters" else "dropped")
        interrupt()  # cuts the exporter's retries; the thread is a daemon and cannot outlive the process


def _warn_about_backfill(settings: Settings) -> None:
    hours = settings.backfill_s / 3600
    if settings.export_max_age and settings.backfill_s > settings.export_max_age:
        log.info("the backfill (DESK_BACKFILL / DESK_BACKFILL_DAYS) reaches %g hours back, past DESK_EXPORT_MAX_AGE "
                 "(%s): older entries are counted as rejected (otlp_too_old) without being sent", hours,
                 settings.as_given("export_max_age"))
    elif not settings.export_max_age and hours > DATADOG_MAX_AGE_H:
        log.warning("the backfill (DESK_BACKFILL / DESK_BACKFILL_DAYS) reaches %g hours back, past %d: Datadog drops "
                    "log records older than that (DESK_BACKFILL=18h stays inside, or DESK_EXPORT_MAX_AGE=18h counts "
                    "them as rejected unsent); other backends (Loki) accept them oldest first", hours,
                    DATADOG_MAX_AGE_H)
    if hours > MAX_START_AGE_DAYS * 24:
        log.warning("the backfill (DESK_BACKFILL / DESK_BACKFILL_DAYS) reaches %g days back: reading the last %d "
                    "days; older entries are at the edge of Desk's %d-day retention and leave it while they are "
                    "read", hours / 24, MAX_START_AGE_DAYS, RETENTION_DAYS)
