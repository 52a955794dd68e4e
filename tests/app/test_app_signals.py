"""Every signal says its app, and one process is one instance (issue #21 point 2): read from a real OTLP endpoint
and a real /metrics, every entry record and every per-app data point carries sendbird.app_id, receiver-wide points
carry none, and a receiver's logs, counters and gauges share one service.instance.id, the same after a restart."""

from datetime import timedelta

import pytest

from otel_desk_receiver import names
from tests.harness.ports import free_port
from tests.harness.receiver import days_ago, make_receiver, scrape

# The per-app metrics, written out here (not read from names.py, which the first test holds to this list).
PER_APP = {names.WEBHOOK_LOGS, names.WEBHOOK_LOGS_PENDING, names.UNREAD_ERROR, names.HTTP_CLIENT_DURATION,
           names.LAG, names.POLL_DURATION, names.ENTRIES_REJECTED, names.READ_FAILURES, names.LAST_READ, names.BOT_STATE,
           names.SWEEP_DURATION}
RECEIVER_WIDE = {names.EXPORT_FAILURES, names.LEADER, names.LEADER_CHANGES}


def busy_bot(emulator, name="shop"):
    """A bot whose one cycle makes every per-app point: settled entries, one pending, one malformed
    (rejected), an unread error; read health and request durations come with any read."""
    bot = emulator.add_bot(name=name, is_unread_error=True, timeout_seconds=30)
    start = days_ago(emulator, 0.5)
    emulator.add_entries(bot["id"], 3, statuses=("RECEIVED", "ERROR", "TIMEOUT"), start=start, spacing_s=1)
    emulator.add_entry(bot["id"], status="RECEIVED", created_at=start + timedelta(seconds=10),
                       extra={"createdAt": "not a date"})
    emulator.add_entry(bot["id"], status="SENT")
    return bot


def one_cycle(emulator, state_path, app_id: str, **overrides) -> None:
    receiver = make_receiver(emulator, state_path, backfill_days=1, app_id=app_id, **overrides)
    try:
        assert receiver.run_once().delivered
    finally:
        receiver.close()  # flushes the counters and the other metrics once


@pytest.fixture
def sink(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return otlp_sink


def test_the_per_app_metrics_of_names_are_these():
    assert {spec for spec in names.METRICS if names.ATTR_APP_ID in spec.attributes} == PER_APP
    assert not {spec for spec in RECEIVER_WIDE if names.ATTR_APP_ID in spec.attributes}
    assert names.ATTR_APP_ID in names.LOG_ATTRIBUTES


def test_every_entry_record_and_every_per_app_point_says_its_app(desk_emulator, sink, state_path):
    busy_bot(desk_emulator)
    one_cycle(desk_emulator, state_path, "app-9")
    records = sink.log_records()
    assert len(records) == 3
    assert [r.attributes.get(names.ATTR_APP_ID) for r in records] == ["app-9"] * 3
    points = sink.metric_points()
    seen = {p.name for p in points}
    for spec in PER_APP:
        assert spec.name in seen, spec.name  # the scenario makes every per-app point
    for point in points:
        if point.name in {spec.name for spec in PER_APP}:
            assert point.attributes.get(names.ATTR_APP_ID) == "app-9", point
        else:
            assert names.ATTR_APP_ID not in point.attributes, point


def test_one_receiver_is_one_instance_on_logs_counters_and_gauges_and_stays_it_after_a_restart(
        desk_emulator, sink, state_path, tmp_path):
    busy_bot(desk_emulator)
    one_cycle(desk_emulator, state_path, "app-9")
    instances = {r.resource["service.instance.id"] for r in sink.log_records()}
    for name in (names.WEBHOOK_LOGS.name, names.WEBHOOK_LOGS_PENDING.name, names.HTTP_CLIENT_DURATION.name):
        instances |= {p.resource["service.instance.id"] for p in sink.metric_points(name)}
    assert len(instances) == 1, instances
    sink.clear()
    one_cycle(desk_emulator, state_path, "app-9")  # a restart: the cumulative counters carry on one series
    again = {p.resource["service.instance.id"] for p in sink.metric_points()}
    assert again == instances
    sink.clear()
    one_cycle(desk_emulator, tmp_path / "other-state.json", "app-9")  # another receiver: another instance
    other = {p.resource["service.instance.id"] for p in sink.metric_points()}
    assert len(other) == 1 and other != instances


def test_two_receivers_with_the_same_bot_ids_but_other_apps_make_distinct_series(make_desk_emulator, sink, tmp_path,
                                                                                 monkeypatch):
    """One backend, two receivers (two Desk apps whose bots have the same ids): no series of one is the other's."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp,prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    desks = {"app-eu": make_desk_emulator(), "app-us": make_desk_emulator()}
    bot_ids = {app: busy_bot(desk)["id"] for app, desk in desks.items()}
    assert bot_ids["app-eu"] == bot_ids["app-us"]
    scraped = {}
    for app, desk in desks.items():
        port = free_port()
        monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
        receiver = make_receiver(desk, tmp_path / f"{app}.json", backfill_days=1, app_id=app)
        try:
            receiver.run_once()
            scraped[app] = scrape(port)
        finally:
            receiver.close()
    # OTLP: every counter series is one app's, and each app has as many as the other.
    totals = sink.counter_totals(names.WEBHOOK_LOGS.name)
    per_app = {app: {key for key in totals if dict(key)[names.ATTR_APP_ID] == app} for app in desks}
    assert per_app["app-eu"] and len(per_app["app-eu"]) == len(per_app["app-us"]) == len(totals) // 2
    # /metrics: the same, and with the instance label left out (as a rule aggregating per app and bot does).
    label = names.prometheus_label(names.ATTR_APP_ID)
    for app, samples in scraped.items():
        for sample in samples:
            if sample.name == "sendbird_desk_bot_webhook_logs_total" or sample.name.startswith("sendbird_desk_bot_"):
                assert sample.labels.get(label) == app, sample
    keys = {app: {(s.name, tuple(sorted(s.labels.items()))) for s in samples if s.name.startswith("sendbird_desk_bot_")}
            for app, samples in scraped.items()}
    assert keys["app-eu"] and not keys["app-eu"] & keys["app-us"]
