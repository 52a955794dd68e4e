"""Assembles the receiver from Settings (client, cursor store, entry exporter, meter, health, poller) and runs its loop."""

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from otel_desk_receiver import __version__, names
from otel_desk_receiver.config import DATADOG_MAX_AGE_H, Settings, token_source
from otel_desk_receiver.otel_env import sdk_disabled
from otel_desk_receiver.otlp import metric_export
from otel_desk_receiver.otlp.log_export import EntryExporter, NullEntryExporter, build_log_exporter
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.service.health import HealthServer, HealthState
from otel_desk_receiver.core.pipeline import BotPipeline, PipelineOptions
from otel_desk_receiver.service.poller import CycleResult, Poller
from otel_desk_receiver.service.selfmetrics import SelfTelemetry
from otel_desk_receiver.core.cursors import CursorStore
from otel_desk_receiver.core.state_file import StateFile

log = logging.getLogger(__name__)


def app_label(settings: Settings) -> str:
    """The app part of log.record.uid: DESK_APP_ID, or the API host when only a URL is given."""
    return settings.app_id or urlsplit(settings.base_url).netloc


class Receiver:
    """The running receiver. ``stop()`` (from a signal handler) ends the loop after the page in flight."""

    def __init__(self, settings: Settings, *, clock_ns: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic, retry: RetryPolicy | None = None):
        self.settings = settings
        self.stop_event = threading.Event()
        self._disabled = sdk_disabled()
        state_file = StateFile(settings.state_path)
        state_file.check_writable()
        # SDK disabled: nothing is exported, so the saved state must not move (commits in memory only).
        self.cursors = CursorStore(state_file, persist=not self._disabled)
        resource = build_resource(settings.app_id)
        self._meter_provider = None
        if self._disabled:
            log.warning("OTEL_SDK_DISABLED=true: nothing is exported and the state file is not advanced")
            self._entry_exporter = NullEntryExporter()
            meter = _noop_meter()
        else:
            self._entry_exporter = EntryExporter(build_log_exporter(), resource)
            self._metric_exporter = metric_export.build_metric_exporter(
                on_failure=lambda: self.telemetry.export_failed("metrics"))
            self._meter_provider = metric_export.build_meter_provider(resource, self._metric_exporter)
            meter = self._meter_provider.get_meter(names.SCOPE_NAME, __version__)
        self.health = HealthState(settings.poll_interval, clock_ns=clock_ns)
        self.telemetry = SelfTelemetry(meter, gauges=lambda: self.poller.gauges())
        self.client = DeskClient(
            settings.base_url, token_source(settings), max_rps=settings.max_rps, retry=retry,
            stop_event=self.stop_event,
            on_request=self._record_request, on_retry=_log_retry,
        )
        pipeline = BotPipeline(
            self.client, self._entry_exporter, self.cursors, self.telemetry,
            PipelineOptions(app=app_label(settings), page_size=settings.page_size,
                            backfill_days=settings.backfill_days, settle_grace_s=settings.settle_grace,
                            extra_fields=tuple(settings.export_extra_fields)),
            clock_ns=clock_ns, should_stop=self.stop_event.is_set,
        )
        self.poller = Poller(self.client, self.cursors, pipeline, self.telemetry, self.health,
                             bot_ids=settings.bot_ids, clock_ns=clock_ns, monotonic=monotonic)
        self._health_server: HealthServer | None = None
        _warn_about_backfill(settings)

    def _record_request(self, info) -> None:
        self.telemetry.http_request(info.method, info.url_template, info.server_address, info.server_port,
                                    info.status_code, info.duration_s, info.error_type)

    def start_health(self) -> None:
        address = self.settings.health_host_port
        if address is not None:
            try:
                self._health_server = HealthServer(self.health, *address).start()
            except OSError as exc:
                raise ConfigError([f"DESK_HEALTH_ADDR: cannot listen on {self.settings.health_addr} "
                                   f"({exc.strerror}); pick a free port, or empty to turn health off"]) from None
            log.info("health endpoints on http://%s:%d/healthz and /readyz", address[0], self._health_server.port)

    def run_once(self) -> CycleResult:
        result = self.poller.run_cycle()
        log.info("cycle done: exported %d, %d bot(s) ok, %d failed", result.exported, result.bots_ok,
                 result.bots_failed)
        return result

    def run_forever(self) -> None:
        while not self.stop_event.is_set():
            self.run_once()
            self.stop_event.wait(self.settings.poll_interval)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self, flush_timeout_s: float | None = None) -> None:
        """Flush metrics once, close connections, stop serving health. With ``flush_timeout_s`` (a
        shutdown deadline), a flush still retrying towards a dead endpoint is cut short at that time."""
        self.health.stop()
        if self._meter_provider is not None:
            flush = threading.Thread(target=metric_export.shutdown_meter_provider, args=(self._meter_provider,),
                                     name="metrics-flush", daemon=True)
            flush.start()
            flush.join(flush_timeout_s)
            if flush.is_alive():
                log.warning("the final metrics were not accepted before the shutdown deadline; dropped")
                self._metric_exporter.shutdown()  # interrupts the exporter's retries
                flush.join(1.0)
        self._entry_exporter.shutdown()
        self.client.close()
        if self._health_server is not None:
            self._health_server.stop()

    def abort_export(self) -> None:
        """Cut the in-flight export's retries short (shutdown deadline); its batch is not committed."""
        self._entry_exporter.shutdown()


def _log_retry(info) -> None:
    bot = f"bot {info.bot_id}: " if info.bot_id is not None else ""
    log.warning("%s%s %s failed (attempt %d of %d), retrying in %.1fs: %s", bot, info.method, info.url_template,
                info.attempt, info.max_attempts, info.delay_s, info.error)


def _warn_about_backfill(settings: Settings) -> None:
    if settings.backfill_days * 24 > DATADOG_MAX_AGE_H:
        log.warning("DESK_BACKFILL_DAYS=%d reaches past %d hours: Datadog drops log records older than that; "
                    "other backends (Loki) accept them oldest first", settings.backfill_days, DATADOG_MAX_AGE_H)


def _noop_meter():
    from opentelemetry.metrics import NoOpMeter

    return NoOpMeter("otel_desk_receiver")
