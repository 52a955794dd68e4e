"""Counters exact in both temporalities: across restarts, refused metrics exports, failed state writes, run --once."""

import json

import grpc
from collections import Counter

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.errors import StateError
from otel_desk_receiver.otlp.counter_export import KNOWN_STATUSES, CounterExporter, CounterSource
from otel_desk_receiver.otlp.metric_export import build_metric_exporter
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.state.store import CursorStore
from tests.harness.receiver import by_bot_and_status, counter_by_bot_and_status, days_ago, make_receiver, run_once
from tests.harness.saved_state import app_section

STATUSES = ("RECEIVED", "ERROR", "TIMEOUT", "RECEIVED")
TEMPORALITIES = ["cumulative", "delta"]


@pytest.fixture(params=[("http/protobuf", t) for t in TEMPORALITIES] + [("grpc", t) for t in TEMPORALITIES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def sink(request, otlp_sink, otlp_env):
    protocol, temporality = request.param
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=temporality,
             OTEL_METRIC_EXPORT_INTERVAL="60000")
    return otlp_sink


def add_batch(emulator, bot_id: int, n: int, start_days: float) -> None:
    emulator.add_entries(bot_id, n, statuses=STATUSES, start=days_ago(emulator, start_days), spacing_s=30)


def unique_by_bot_and_status(sink) -> Counter:
    unique = {r.attributes[names.ATTR_LOG_RECORD_UID]: r for r in sink.log_records()}.values()
    return Counter((r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_WEBHOOK_LOG_STATUS]) for r in unique)


def test_counters_carry_on_across_restarts_never_reset_never_doubled(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    add_batch(desk_emulator, bot["id"], 40, 1.0)
    for _ in range(3):  # three processes, one after the other
        assert run_once(desk_emulator, state_path, backfill_days=2).delivered
        add_batch(desk_emulator, bot["id"], 25, 0.5)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert sum(by_bot_and_status(sink).values()) == 40 + 3 * 25
    assert counter_by_bot_and_status(sink) == by_bot_and_status(sink)
    starts = {p.start_time_unix_nano for p in sink.metric_points(names.WEBHOOK_LOGS.name)
              if p.temporality == "cumulative"}
    assert len(starts) <= 1  # one series: the start time is saved with the totals


def test_a_refused_metrics_export_loses_nothing(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=2)
    try:
        for cycle in range(4):
            add_batch(desk_emulator, bot["id"], 29, 1.0 - cycle * 0.1)
            sink.fail_next(1 if cycle % 2 else 0, http_status=500, grpc_code=grpc.StatusCode.INTERNAL,
                           signal="metrics")
            assert receiver.run_once().delivered
            answer_ok = receiver.flush_counters()
            assert answer_ok is (cycle % 2 == 0)
    finally:
        receiver.close()  # the final flush is accepted
    assert counter_by_bot_and_status(sink) == by_bot_and_status(sink)
    assert sum(by_bot_and_status(sink).values()) == 4 * 29


def test_a_failed_state_write_counts_the_batch_sent_again_once(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    add_batch(desk_emulator, bot["id"], 60, 1.0)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=2, page_size=20)
    state_file = receiver.cursors_backend  # the seam: a disk that fills up after a few saves
    real_commit, commits = state_file.commit, []

    def disk_full_after_two_pages(cursors):
        commits.append(1)
        if len(commits) > 3:  # three saves (each before the next page goes out), then no more
            raise StateError(f"state file {state_file.path} cannot be written: No space left on device")
        real_commit(cursors)

    state_file.commit = disk_full_after_two_pages
    try:
        with pytest.raises(StateError):
            receiver.run_once()
    finally:
        receiver.close()
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert unique_by_bot_and_status(sink) == counter_by_bot_and_status(sink)
    assert sum(by_bot_and_status(sink).values()) > 60  # the batch whose commit failed went out twice
    assert sum(counter_by_bot_and_status(sink).values()) == 60  # and was counted once


def test_totals_live_in_the_state_next_to_the_cursor(desk_emulator, otlp_sink, otlp_env, state_path):
    otlp_env(otlp_sink, "http/protobuf")
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    add_batch(desk_emulator, bot["id"], 8, 1.0)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    saved = app_section(json.loads(state_path.read_text()))["bots"][str(bot["id"])]
    assert saved["counted"] == {"RECEIVED": 4, "ERROR": 2, "TIMEOUT": 2}
    assert saved["counted_since_ns"] > 0


def test_a_state_of_version_1_loads_with_zero_totals(desk_emulator, otlp_sink, otlp_env, state_path):
    otlp_env(otlp_sink, "http/protobuf")
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    add_batch(desk_emulator, bot["id"], 8, 1.0)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    document = json.loads(state_path.read_text())
    cursor = app_section(document)["bots"][str(bot["id"])]
    for field in ("counted", "counted_since_ns", "acked", "acked_ns"):
        cursor.pop(field, None)  # version 3 leaves fields out while they hold their defaults
    state_path.write_text(json.dumps({"version": 1, "bots": app_section(document)["bots"]}))
    otlp_sink.clear()
    add_batch(desk_emulator, bot["id"], 4, 0.5)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert sum(counter_by_bot_and_status(otlp_sink).values()) == 4  # counted from the migration on


def test_the_counters_keep_one_instance_id_across_restarts(desk_emulator, otlp_sink, otlp_env, state_path):
    otlp_env(otlp_sink, "http/protobuf")
    bot = desk_emulator.add_bot(name="a", timeout_seconds=30)
    for _ in range(2):
        add_batch(desk_emulator, bot["id"], 5, 1.0)
        assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    counter_instances = {p.resource["service.instance.id"] for p in otlp_sink.metric_points(names.WEBHOOK_LOGS.name)}
    process_instances = {r.resource["service.instance.id"] for r in otlp_sink.log_records()}
    assert len(counter_instances) == 1  # one series: the id is derived from the state, not drawn per process
    assert process_instances == counter_instances  # and the logs (and gauges) of the process carry the same one


def two_apps(tmp_path, bot_id: int) -> list[CounterSource]:
    """Two apps' states, each with the same bot id and its own totals."""
    sources = []
    for app, counted in (("app-eu", {"RECEIVED": 3}), ("app-us", {"ERROR": 2})):
        state = StateFile(tmp_path / f"{app}.json")
        state.commit({bot_id: BotCursor("2026-11-24", 0, None, 0, 0, counted=counted, counted_since_ns=1)})
        sources.append(CounterSource(app, CursorStore(state), lambda: [(bot_id, "same-name")]))
    return sources


@pytest.mark.parametrize("delta", [False, True], ids=["cumulative", "delta"])
def test_one_exporter_serves_every_app_each_series_labelled_with_its_app(otlp_sink, otlp_env, tmp_path, delta):
    otlp_env(otlp_sink, "http/protobuf")
    sources = two_apps(tmp_path, 7)
    counters = CounterExporter(build_metric_exporter(), build_resource(["app-eu", "app-us"], "k"), sources,
                               delta=delta, interval_s=60)
    try:
        counters.bot_discovered("app-us", 7)
        assert counters.export_now().accepted
    finally:
        counters.shutdown()
    points = otlp_sink.metric_points(names.WEBHOOK_LOGS.name)
    nonzero = {(p.attributes[names.ATTR_APP_ID], p.attributes[names.ATTR_WEBHOOK_LOG_STATUS]): p.value
               for p in points if p.value}
    assert nonzero == {("app-eu", "RECEIVED"): 3, ("app-us", "ERROR"): 2}
    zeros = [p for p in points if p.attributes[names.ATTR_APP_ID] == "app-us" and p.value == 0]
    assert len(zeros) >= len(KNOWN_STATUSES)  # the discovered bot's zeros went out first, for its app only
    assert {p.resource.get(names.ATTR_APP_ID) for p in points} == {None}  # two apps: on the points only
    if delta:  # each app's state remembers what the endpoint acknowledged of it
        assert [source.cursors.get(7).acked for source in sources] == [{"RECEIVED": 3}, {"ERROR": 2}]


def test_two_sources_of_one_app_are_refused(tmp_path):
    sources = two_apps(tmp_path, 7)
    with pytest.raises(ValueError, match="app 'app-eu' has a counter source already"):
        CounterExporter(build_metric_exporter(), build_resource([], "k"), [sources[0], sources[0]], delta=False,
                        interval_s=60)
