"""app/build.py: each step builds its part from settings and the parts built before it, and can be called alone.

The receiver used to be built in one constructor whose hooks were lambdas over attributes set further
down (the counters read ``self.poller.bots`` before any poller existed); these tests call the steps one
by one, with nothing after them built, and use what each returns at once.
"""

import ast
import threading
import time
from pathlib import Path

import pytest

from otel_desk_receiver.app import app_parts, build
from otel_desk_receiver.config import Settings
from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.errors import StateError
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.watched import WatchedBots
from tests.harness.ports import free_port
from tests.harness.receiver import scrape, settings_for

APP = Path(build.__file__).parent
CUSTOM = Bot(id=7, name="helper", key=None, type="CUSTOM", status="ACTIVE", timeout_s=10.0, is_unread_error=False,
             webhook_url=None, raw={})


def settings(state_path, **overrides) -> Settings:
    values = dict(api_token="tok", api_url="http://127.0.0.1:9", state_path=state_path, health_addr="")
    return Settings(**{**values, **overrides})


def test_no_hook_in_the_composition_root_reads_an_attribute_of_the_receiver():
    """The defect the steps replace: a lambda over ``self.<part>`` reads a part that may not be built yet."""
    late = []
    for path in sorted(APP.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Lambda):
                late += [f"{path.name}:{node.lineno}" for inner in ast.walk(node.body)
                         if isinstance(inner, ast.Name) and inner.id == "self"]
    assert late == []


def test_the_state_step_builds_the_cursor_store_from_settings_alone(state_path):
    state = build.build_state(settings(state_path), kube=None, persist=True, monotonic=time.monotonic)
    try:
        assert state.backend.path == state_path and state.cursors.get(7) is None
        state.cursors.commit(7, BotCursor("2026-01-01", 0, None, 0, 0))
        state.cursors.save()
        with pytest.raises(StateError, match="is in use by"):  # one writer per state file
            build.build_state(settings(state_path), kube=None, persist=True, monotonic=time.monotonic)
    finally:
        state.close()
    again = build.build_state(settings(state_path), kube=None, persist=True, monotonic=time.monotonic)
    try:
        assert again.cursors.get(7) is not None
    finally:
        again.close()


def test_the_metrics_read_the_watched_bots_before_any_poller_exists(monkeypatch, state_path):
    """/metrics serves the committed totals of the bots the poller publishes: nothing but the WatchedBots
    (built first) links the two, so the endpoint works with no poller built at all."""
    port = free_port()
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
    state = build.build_state(settings(state_path), kube=None, persist=True, monotonic=time.monotonic)
    watched = WatchedBots()
    (label,) = state.stores
    metrics = build.build_metrics(settings(state_path), build_resource([label], "key"),
                                  build.counter_sources(state, {label: watched}))
    try:
        state.cursors.commit(7, BotCursor("2026-01-01", 0, None, 0, 0, counted={"SENT": 3}, counted_since_ns=1))
        state.cursors.save()
        before = counted(scrape(port))
        watched.publish([CUSTOM])
        after = counted(scrape(port))
    finally:
        metrics.close()
        state.close()
    assert before == {} and after["SENT"] == 3


def counted(samples) -> dict[str, float]:
    return {s.labels["sendbird_desk_webhook_log_status"]: s.value for s in samples
            if s.name == "sendbird_desk_bot_webhook_logs_total" and s.labels["sendbird_desk_bot_name"] == "helper"}


def test_the_desk_client_reports_each_request_to_parts_built_before_it(desk_emulator):
    """Each answer moves Desk's clock, beats liveness and is timed, through parts the step is handed."""
    emulator_settings = settings_for(desk_emulator, Path("unused.json"))
    now = [time.time_ns()]
    health = HealthState(30.0, clock_ns=lambda: now[0])
    desk_clock = app_parts.build_desk_clock(emulator_settings, time.time_ns)
    timed = []

    class Timing:
        def http_request(self, method, route, *rest):
            timed.append((method, route))

    client = app_parts.build_desk_client(emulator_settings.desk_apps[0], threading.Event(), desk_clock, health,
                                         Timing(), monotonic=time.monotonic)
    now[0] += 3600 * 1_000_000_000  # an hour without a beat: not alive
    assert not health.alive()
    try:
        client.list_bots()
    finally:
        client.close()
    assert health.alive() and timed == [("GET", "/bots")]


@pytest.mark.parametrize(("stopped", "leading", "stops"), [
    (False, None, False),
    (True, None, True),
    (False, True, False),
    (False, False, True),
], ids=["running alone", "a signal", "leading", "leadership lost"])
def test_the_pipeline_stops_on_a_signal_or_when_leadership_ends(stopped, leading, stops):
    class Leadership:
        def is_leading(self):
            return leading

    stop_event = threading.Event()
    if stopped:
        stop_event.set()
    assert app_parts.stop_condition(stop_event, None if leading is None else Leadership())() is stops
