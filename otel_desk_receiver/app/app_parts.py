"""One Desk app's parts built from its AppSettings, one named step each, every step taking only parts built before it.

The order (build_app): health -> leadership -> Desk's clock and client -> entry exporter -> pipeline -> poller ->
its gauges. Nothing here is shared with another app but the process-wide parts handed in (build.py: the
meter and telemetry, the counters, the stop event): each app has its own Desk client (its own request
budget, DESK_MAX_RPS or the item's max_rps, and its own Retry-After throttle), its own scheduler, its own
exporter's hold on a down OTLP endpoint, its own state section and health. So one app's refused token,
outage or Retry-After costs that app alone.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.metrics import Meter
from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings, token_source
from otel_desk_receiver.config.apps import AppSettings
from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.clock import DeskClock
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.ha.leadership import Leadership
from otel_desk_receiver.otlp.counter_export import CounterExporter
from otel_desk_receiver.otlp.log_export import EntryExporter, NullEntryExporter, build_log_exporter
from otel_desk_receiver.pipeline.cycle import BotPipeline, PipelineOptions
from otel_desk_receiver.runtime.bot_changes import BotInventory
from otel_desk_receiver.runtime.budget import SweepBudget
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.poller import Poller
from otel_desk_receiver.runtime.read_health import ReadHealth
from otel_desk_receiver.runtime.selfmetrics import AppTelemetry
from otel_desk_receiver.runtime.watched import WatchedBots
from otel_desk_receiver.state.store import CursorStore
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)


@dataclass
class AppParts:
    """One app's built parts (app_run.py's AppRun runs them)."""

    app: AppSettings
    health: HealthState
    leadership: Leadership | None
    should_stop: Callable[[], bool]
    stop_event: threading.Event
    desk_clock: DeskClock
    client: DeskClient
    exporter: EntryExporter | NullEntryExporter
    cursors: CursorStore
    poller: Poller
    telemetry: AppTelemetry


def stop_condition(stop_event: threading.Event, leadership: Leadership | None) -> Callable[[], bool]:
    """Asked between pages: stop on a signal, and at once when leadership ends (issue 13)."""
    if leadership is None:
        return stop_event.is_set
    return lambda: stop_event.is_set() or not leadership.is_leading()


def build_desk_clock(settings: Settings, clock_ns: Callable[[], int]) -> DeskClock:
    """Desk's clock, read from its answers' Date: entry ages are judged by it (issue 25 point 13)."""
    return DeskClock(clock_ns, warn_over_s=settings.settle_grace)


def build_desk_client(app: AppSettings, stop_event: threading.Event, desk_clock: DeskClock, health: HealthState,
                      telemetry: AppTelemetry, *, monotonic: Callable[[], float], retry: RetryPolicy | None = None,
                      sleep: Callable[[float], object] | None = None,
                      accepted: Callable[[], None] = lambda: None) -> DeskClient:
    """The app's Desk client, paced by its own ``max_rps``; each answer moves Desk's clock, beats liveness
    (however long a backlog's turn) and is timed, and a success tells ``accepted`` the token is good; each
    retry beats liveness and is said at WARNING."""

    def answered(info) -> None:
        desk_clock.observe(info.server_date, info.duration_s)
        health.beat()
        telemetry.http_request(info.method, info.url_template, info.server_address, info.server_port,
                               info.status_code, info.duration_s, info.error_type)
        if info.status_code is not None and 200 <= info.status_code < 300:
            accepted()

    def retrying(info) -> None:
        health.beat()
        bot = f"bot {info.bot_id}: " if info.bot_id is not None else ""
        log.warning("%s%s %s failed (attempt %d of %d), retrying in %s: %s", bot, info.method, info.url_template,
                    info.attempt, info.max_attempts, duration_text(info.delay_s), info.error)

    return DeskClient(app.base_url, token_source(app), max_rps=app.max_rps, retry=retry, stop_event=stop_event,
                      monotonic=monotonic, sleep=sleep, on_request=answered, on_retry=retrying,
                      url_setting=app.setting("api_url", "DESK_API_URL"))


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


def build_pipeline(settings: Settings, app: AppSettings, client: DeskClient, exporter, cursors: CursorStore,
                   telemetry: CycleTelemetry, desk_clock: DeskClock, should_stop: Callable[[], bool], *,
                   clock_ns: Callable[[], int]) -> BotPipeline:
    options = PipelineOptions(app=app.label, page_size=settings.page_size, backfill_s=app.backfill_s,
                              settle_grace_s=settings.settle_grace, extra_fields=tuple(settings.export_extra_fields))
    return BotPipeline(client, exporter, cursors, telemetry, options, clock_ns=clock_ns, should_stop=should_stop,
                       desk_clock_ns=desk_clock.now_ns)


def build_poller(settings: Settings, app: AppSettings, client: DeskClient, cursors: CursorStore,
                 pipeline: BotPipeline, telemetry: AppTelemetry, health: HealthState, watched: WatchedBots,
                 meter: Meter, desk_clock: DeskClock, should_stop: Callable[[], bool], *,
                 clock_ns: Callable[[], int], monotonic: Callable[[], float]) -> Poller:
    """The app's poll loop over its watched bots, with its own scheduler; its per-bot gauges are observed
    from here on."""
    budget = SweepBudget(app.max_rps, settings.poll_interval, rate_setting(settings, app))
    telemetry.observe(names.SWEEP_DURATION, budget.points)
    poller = Poller(client, cursors, pipeline, telemetry, health, bot_ids=app.bot_ids, clock_ns=clock_ns,
                    monotonic=monotonic, read_health=ReadHealth(meter, telemetry.app, clock_ns),
                    interval_s=settings.poll_interval, bot_list_interval_s=settings.bot_list_interval,
                    budget=budget,
                    should_stop=should_stop, desk_clock_ns=desk_clock.now_ns, watched=watched,
                    concurrency=settings.concurrency, backlog_share=settings.backlog_share,
                    bot_ids_setting=bot_ids_setting(settings, app))
    telemetry.observe_bot_gauges(poller.gauges)
    return poller


def rate_setting(settings: Settings, app: AppSettings) -> str:
    """Where the app's max_rps is set, as `check` names it: DESK_MAX_RPS, or its item of the apps file."""
    if not settings.per_app_names:
        return "DESK_MAX_RPS"
    return f"apps[{[other.label for other in settings.desk_apps].index(app.label)}].max_rps"


def bot_ids_setting(settings: Settings, app: AppSettings) -> str:
    """Where the app's bot ids are set: DESK_BOT_IDS, or its item of the apps file."""
    if not settings.per_app_names:
        return "DESK_BOT_IDS"
    return f"apps[{[other.label for other in settings.desk_apps].index(app.label)}].bot_ids"


def backfill_setting(settings: Settings, app: AppSettings) -> tuple[str, str]:
    """Where the app's backfill is set, and how to write 18h there: DESK_BACKFILL, or its item of the apps file
    (an item's backfill wins over DESK_BACKFILL, so advice naming DESK_BACKFILL would change nothing)."""
    if not settings.per_app_names:
        return "DESK_BACKFILL / DESK_BACKFILL_DAYS", "DESK_BACKFILL=18h"
    key = f"apps[{[other.label for other in settings.desk_apps].index(app.label)}].backfill"
    return key, f"{key}: 18h"


def build_app(settings: Settings, app: AppSettings, *, cursors: CursorStore, watched: WatchedBots, meter: Meter,
              telemetry: AppTelemetry, counters: CounterExporter | None, resource: Resource,
              stop_event: threading.Event, leadership: Callable[[HealthState], Leadership | None],
              accepted: Callable[[], None], disabled: bool, clock_ns: Callable[[], int],
              monotonic: Callable[[], float], retry: RetryPolicy | None = None,
              sleep: Callable[[float], object] | None = None) -> AppParts:
    """Every part of one app, in order, from its settings and the process-wide parts handed in;
    ``leadership(health)``: the app's Leadership with leader election, else None."""
    health = HealthState(settings.poll_interval, clock_ns=clock_ns)
    leading = leadership(health)
    should_stop = stop_condition(stop_event, leading)
    desk_clock = build_desk_clock(settings, clock_ns)
    client = build_desk_client(app, stop_event, desk_clock, health, telemetry, monotonic=monotonic, retry=retry,
                               sleep=sleep, accepted=accepted)
    exporter = build_entry_exporter(resource, disabled=disabled, max_age_s=settings.export_max_age,
                                    clock_ns=clock_ns)
    watched.subscribe(BotInventory(telemetry, exporter, clock_ns=clock_ns).listed)  # bot inventory (issue #24)
    pipeline = build_pipeline(settings, app, client, exporter, cursors, CycleTelemetry(telemetry, counters),
                              desk_clock, should_stop, clock_ns=clock_ns)
    poller = build_poller(settings, app, client, cursors, pipeline, telemetry, health, watched, meter, desk_clock,
                          should_stop, clock_ns=clock_ns, monotonic=monotonic)
    return AppParts(app, health, leading, should_stop, stop_event, desk_clock, client, exporter, cursors, poller,
                    telemetry)
