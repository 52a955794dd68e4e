"""Receiver: the running receiver, assembled from Settings by build.py's and app_parts.py's steps in order, and
its apps' loops."""

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from otel_desk_receiver.app import build
from otel_desk_receiver.app.app_parts import backfill_setting, build_app
from otel_desk_receiver.app.app_run import AppRun
from otel_desk_receiver.app.refusals import TokenRefusals
from otel_desk_receiver.config import DATADOG_MAX_AGE_H, Settings
from otel_desk_receiver.desk.limits import RETENTION_DAYS
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import ConfigError, DeskAuthError
from otel_desk_receiver.otel_env import sdk_disabled, timeout_unit_warnings
from otel_desk_receiver.otlp import headers_file, metric_export
from otel_desk_receiver.otlp.headers_file import HeadersFile
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.read_window import MAX_START_AGE_DAYS
from otel_desk_receiver.runtime import app_log
from otel_desk_receiver.runtime.apps_health import AppsHealth
from otel_desk_receiver.runtime.health import HealthServer
from otel_desk_receiver.runtime.poller import CycleResult
from otel_desk_receiver.runtime.watched import WatchedBots

log = logging.getLogger(__name__)


class Receiver:
    """The running receiver: the process-wide parts and one AppRun per Desk app (app_run.py), each app's loop
    on its own thread when there are several. ``stop()`` (from any thread: run's signal watcher) ends every
    loop after the page in flight. The attributes ``poller``, ``client``, ``cursors``, ``telemetry`` are the
    first app's parts (the only app's, without an apps file)."""

    def __init__(self, settings: Settings, *, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], object] | None = None):
        """Each part from the settings and the parts above it (build.py, app_parts.py), none from a part built
        later."""
        self.settings = settings
        self.stop_event = threading.Event()
        disabled = sdk_disabled()
        apps = settings.desk_apps
        self._kube = build.build_kubernetes(settings)
        self._state = build.build_state(settings, self._kube, persist=not disabled, monotonic=monotonic)
        headers_file.use(HeadersFile(settings.otlp_headers_file) if settings.otlp_headers_file else None)
        for line in timeout_unit_warnings():
            log.warning("%s", line)
        if disabled:  # nothing is exported, so the saved state must not move (commits in memory only)
            log.warning("OTEL_SDK_DISABLED=true: nothing is exported and the state file is not advanced")
        resource = build_resource([app.label for app in apps], build.receiver_instance_key(settings, self._state))
        watched = {app.label: WatchedBots() for app in apps}
        sources = build.counter_sources(self._state, watched)
        self._metrics = build.build_metrics(settings, resource, sources, disabled=disabled)
        telemetry = build.build_telemetry(self._metrics)
        self.counters = build.build_counters(resource, sources, self._metrics, telemetry, clock_ns=clock_ns)
        self.refusals = TokenRefusals(app.label for app in apps)
        if settings.per_app_names:
            app_log.install()  # every line about an app names it
        self.apps: list[AppRun] = []
        for app in apps:  # each app's own parts (app_parts.py), on the process-wide ones above
            parts = build_app(settings, app, cursors=self._state.stores[app.label], watched=watched[app.label],
                              meter=self._metrics.meter, telemetry=telemetry.for_app(app.label),
                              counters=self.counters, resource=resource, stop_event=self.stop_event,
                              leadership=build.leadership_step(self._kube, app.label, self._metrics.meter),
                              accepted=partial(self.refusals.accepted, app.label), disabled=disabled,
                              clock_ns=clock_ns, monotonic=monotonic, retry=retry, sleep=sleep)
            self.apps.append(AppRun(parts, self.refusals, interval_s=settings.poll_interval,
                                    named=settings.per_app_names, monotonic=monotonic))
        # Without an apps file, the one app's health is the receiver's, as before issue 21.
        self.health = AppsHealth({run.label: run.health for run in self.apps},
                                 {run.label: run.poller.gauges for run in self.apps}) \
            if settings.per_app_names else self.apps[0].health
        self._health_server: HealthServer | None = None
        for run in self.apps:
            with app_log.about(run.where):
                _warn_about_backfill(settings, run.parts.app.backfill_s, *backfill_setting(settings, run.parts.app))

    # The first app's parts (the only app's without an apps file): for single-app callers and tests.
    @property
    def poller(self):
        return self.apps[0].parts.poller

    @property
    def client(self):
        return self.apps[0].parts.client

    @property
    def cursors(self):
        return self.apps[0].parts.cursors

    @property
    def telemetry(self):
        return self.apps[0].parts.telemetry

    @property
    def desk_clock(self):
        return self.apps[0].parts.desk_clock

    @property
    def leadership(self):
        return self.apps[0].parts.leadership

    @property
    def cursors_backend(self):
        return self._state.backend

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
        """One catch-up cycle of every app (each on its own thread when there are several). An app whose token
        Desk refuses has delivered nothing (the result says so); DeskAuthError when every app's is refused."""
        results: dict[str, CycleResult] = {}

        def once(run: AppRun, _stop: Callable[[], bool]) -> None:
            try:
                results[run.label] = run.run_once()
            except DeskAuthError as error:
                if len(self.apps) == 1:
                    raise
                run.refused(error)
                with app_log.about(run.where):
                    log.error("%s", error)
                results[run.label] = CycleResult(delivered=False, bots_failed=len(run.poller.bots) or 1)
        self._each_app(once, self.stop_event.is_set)
        if len(self.apps) > 1 and self.refusals.all_refused():
            raise self.refusals.error()
        return _added(results.values())

    def flush_counters(self) -> bool:
        """Export the counters now; True if the metrics endpoint accepted them (or nothing is exported)."""
        return self.counters is None or self.counters.export_now().kind.name in ("ACCEPTED", "PARTIAL")

    def run_forever(self) -> None:
        if self.counters is not None:
            self.counters.start()
        self._each_app(AppRun.run_forever, self.stop_event.is_set)

    def poll_until(self, stop: Callable[[], bool], wait: Callable[[float], object]) -> None:
        """Every app's poll loop (AppRun.poll_until) until ``stop``; tests drive it on a virtual clock through
        ``wait``, which several apps call from their own threads."""
        self._each_app(partial(_poll_until, wait=wait), stop)

    def _each_app(self, loop: Callable[[AppRun, Callable[[], bool]], None], stop: Callable[[], bool]) -> None:
        """``loop(app, stop)`` for every app: on the caller's thread with one app; with several, each on its own
        thread, so that one app's waits, retries and hanging reads never hold another's. What a loop raises
        (every app's token refused, a state that cannot be saved) stops every loop (after its page in flight)
        and is raised here."""
        if len(self.apps) == 1:
            loop(self.apps[0], stop)
            return
        failed: list[BaseException] = []
        halted = threading.Event()

        def run(app: AppRun) -> None:
            try:
                loop(app, lambda: halted.is_set() or stop())
            except BaseException as error:  # noqa: BLE001 - raised on the caller's thread below
                failed.append(error)
                halted.set()
                self.stop_event.set()  # wakes the loops waiting between sweeps
        threads = [threading.Thread(target=run, args=(app,), name=f"app-{app.label}", daemon=True)
                   for app in self.apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            raise failed[0]

    def stop(self) -> None:
        self.stop_event.set()

    @property
    def state_location(self) -> str:
        """Where the state is saved, for messages: the file, or the ConfigMap (issue 13)."""
        return str(self._state.lock.path if self._state.lock is not None else self._state.backend.path)

    def lead_for_once(self) -> bool:
        """``run --once`` with leader election: campaign for each app's Lease for up to one lease duration; True
        once leading every app (the state of this term loaded), False when another receiver holds one of them
        (issue 13): it polls, so this run does nothing."""
        elected = [run for run in self.apps if run.parts.leadership is not None]
        for run in elected:
            run.parts.leadership.start(self.stop_event)
        for run in elected:
            elector = run.parts.leadership.elector
            config = elector.config
            if not elector.leading_event.wait(config.lease_duration_s + 2 * config.retry_period_s):
                log.error("run --once: %s holds the lease %s: it polls, so this run does nothing",
                          elector.holder() or "another receiver", elector.name)
                return False
            run.parts.cursors.reload()
        return True

    def close(self, flush_timeout_s: float | None = None, *, flush_counters: bool = True) -> None:
        """Save every app's state, flush the counters and the other metrics once, close connections, stop
        serving health. With ``flush_timeout_s`` (a shutdown deadline), flushes still retrying towards a dead
        endpoint are cut short so that the whole close ends within it."""
        deadline = None if flush_timeout_s is None else time.monotonic() + flush_timeout_s
        self.health.stop()
        # At once: each app's save may wait on a slow API (its ConfigMap, retried up to the renew deadline), so
        # saved in turn N apps could pass the exit promised at SIGTERM (README: Delivery guarantees).
        _all_at_once([run.save_state for run in self.apps], "state-save")
        if self.counters is not None:
            self.counters.stop()
            if flush_counters:
                _bounded(self.counters.export_now, deadline, self.counters.shutdown, "the final counters")
        for run in self.apps:
            if run.parts.leadership is not None:
                self.stop_event.set()  # ends the election loop (run --once never set it)
                run.parts.leadership.stop()  # release the Lease: a standby takes over at its next retry
        metrics = self._metrics
        if metrics.provider is not None:
            _bounded(lambda: metric_export.shutdown_meter_provider(metrics.provider), deadline,
                     metrics.exporter.shutdown, "the final metrics")
        if self.counters is not None:
            self.counters.shutdown()
        for run in self.apps:
            run.close()
        if self._kube is not None:
            self._kube.client.close()
        if self._health_server is not None:
            self._health_server.stop()
        metrics.close()
        self._state.close()

    def abort_export(self) -> None:
        """Cut every in-flight export's retries short (shutdown deadline); their batches are not committed."""
        for run in self.apps:
            run.abort_export()


def _poll_until(run: AppRun, stop: Callable[[], bool], *, wait: Callable[[float], object]) -> None:
    run.poll_until(stop, wait)


def _added(results) -> CycleResult:
    """The apps' cycles as one: delivered only if every app's was."""
    total = CycleResult()
    for result in results:
        total.delivered &= result.delivered
        total.bots_ok += result.bots_ok
        total.bots_failed += result.bots_failed
        total.exported += result.exported
        total.export_failed |= result.export_failed
    return total


def _all_at_once(calls: list[Callable[[], None]], name: str) -> None:
    """Every call on its own thread, all joined: as long as the slowest, not the sum. What one raises is
    raised here once every call ended (the first, as calling them in turn would have)."""
    if len(calls) == 1:
        calls[0]()
        return
    failed: list[BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            calls[i]()
        except BaseException as error:  # noqa: BLE001 - raised on the caller's thread below
            failed[i] = error
    threads = [threading.Thread(target=run, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    error = next((error for error in failed if error is not None), None)
    if error is not None:
        raise error


def _bounded(flush: Callable[[], object], deadline: float | None, interrupt: Callable[[], None], what: str) -> None:
    """Run ``flush`` on a thread until ``deadline`` (monotonic; None: until it ends); past it, interrupt it."""
    worker = threading.Thread(target=flush, name="metrics-flush", daemon=True)
    worker.start()
    worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        log.warning("%s were not accepted before the shutdown deadline; %s", what,
                    "sent again by the next run" if what == "the final counters" else "dropped")
        interrupt()  # cuts the exporter's retries; the thread is a daemon and cannot outlive the process


def _warn_about_backfill(settings: Settings, backfill_s: float, setting: str, within: str) -> None:
    """``setting``: where the app's backfill is set; ``within``: how to set 18h there (app_parts.backfill_setting)."""
    hours = backfill_s / 3600
    if settings.export_max_age and backfill_s > settings.export_max_age:
        log.info("the backfill (%s) reaches %g hours back, past DESK_EXPORT_MAX_AGE (%s): older entries are "
                 "counted as rejected (otlp_too_old) without being sent", setting, hours,
                 settings.as_given("export_max_age"))
    elif not settings.export_max_age and hours > DATADOG_MAX_AGE_H:
        log.warning("the backfill (%s) reaches %g hours back, past %d: Datadog drops log records older than that "
                    "(%s stays inside, or DESK_EXPORT_MAX_AGE=18h counts them as rejected unsent); other backends "
                    "(Loki) accept them oldest first", setting, hours, DATADOG_MAX_AGE_H, within)
    if hours > MAX_START_AGE_DAYS * 24:
        log.warning("the backfill (%s) reaches %g days back: reading the last %d days; older entries are at the "
                    "edge of Desk's %d-day retention and leave it while they are read", setting, hours / 24,
                    MAX_START_AGE_DAYS, RETENTION_DAYS)
