"""The receiver against the Desk emulator and a real OTLP endpoint on loopback: delivery once, counted right."""

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import parse_webhook_log
from tests.harness.receiver import (
    by_bot_and_status,
    counter_by_bot_and_status,
    days_ago,
    make_receiver,
    run_once,
    uids,
)
from tests.harness.wait import wait_until

STATUSES = ("RECEIVED", "RECEIVED", "ERROR", "TIMEOUT", "RECEIVED")


@pytest.fixture(params=["http/protobuf", "grpc"])
def sink(request, otlp_sink, otlp_env):
    otlp_env(otlp_sink, request.param)
    return otlp_sink


def preload(emulator, count_per_bot: int, bots: int = 3, days: float = 2.0) -> dict[int, Counter]:
    """Bots with settled history; returns the expected (status -> count) per bot."""
    expected = {}
    for index in range(bots):
        bot = emulator.add_bot(name=f"bot-{index}", timeout_seconds=30)
        spacing = days * 86400 / count_per_bot
        emulator.add_entries(bot["id"], count_per_bot, statuses=STATUSES, start=days_ago(emulator, days),
                             spacing_s=spacing)
        expected[bot["id"]] = Counter(STATUSES[i % len(STATUSES)] for i in range(count_per_bot))
    return expected


def test_backfill_exports_every_entry_once_with_matching_counters(desk_emulator, sink, state_path):
    expected = preload(desk_emulator, 2000)
    result = run_once(desk_emulator, state_path, backfill_days=3)
    assert result.delivered and result.exported == 6000
    assert len(uids(sink)) == len(set(uids(sink))) == 6000
    want = Counter({(bot, status): n for bot, statuses in expected.items() for status, n in statuses.items()})
    assert by_bot_and_status(sink) == want
    assert counter_by_bot_and_status(sink) == want


def test_record_fields_follow_the_contract(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="shop", timeout_seconds=30)
    entry = desk_emulator.add_entry(bot["id"], status="ERROR", webhook_url="https://u:pw@hooks.example.com/b?k=v",
                                    created_at=days_ago(desk_emulator, 0.5))
    assert run_once(desk_emulator, state_path, backfill_days=1, app_id="app-9").delivered
    [record] = sink.log_records()
    assert record.event_name == names.EVENT_NAME
    assert (record.severity_number, record.severity_text) == (17, "ERROR")
    assert record.time_unix_nano == parse_webhook_log(entry).created_at_ns
    assert record.observed_time_unix_nano >= record.time_unix_nano
    assert record.body == "ERROR: bot 'shop' (%d) webhook to hooks.example.com" % bot["id"]
    assert record.attributes == {
        names.ATTR_APP_ID: "app-9",
        names.ATTR_LOG_RECORD_UID: f"app-9:{bot['id']}:{entry['id']}",
        names.ATTR_BOT_ID: bot["id"],
        names.ATTR_BOT_NAME: "shop",
        names.ATTR_BOT_KEY: bot["key"],
        names.ATTR_WEBHOOK_LOG_ID: entry["id"],
        names.ATTR_WEBHOOK_LOG_STATUS: "ERROR",
        names.ATTR_SETTLED_BY: "status",
        names.ATTR_URL_FULL: "https://REDACTED:REDACTED@hooks.example.com/b?k=REDACTED",
        names.ATTR_SERVER_ADDRESS: "hooks.example.com",
    }
    assert record.resource["service.name"] == names.DEFAULT_SERVICE_NAME
    assert record.resource["sendbird.app_id"] == "app-9"
    assert record.scope_name == names.SCOPE_NAME


def test_incremental_cycles_export_only_what_is_new_and_quiet_cycles_cost_one_request(
        desk_emulator, sink, state_path):
    preload(desk_emulator, 1200)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3)
    try:
        assert receiver.run_once().exported == 3600
        bot_ids = [bot.id for bot in receiver.poller.bots]
        desk_emulator.reset_requests()
        assert receiver.run_once().exported == 0
        assert desk_emulator.request_count("/webhook_logs") == 3
        assert desk_emulator.request_count() == 3  # the bot list is not read again within 10 minutes
        desk_emulator.add_entries(bot_ids[0], 700, statuses=("RECEIVED",), start=days_ago(desk_emulator, 0.01),
                                  spacing_s=0.5)
        desk_emulator.reset_requests()
        assert receiver.run_once().exported == 700
        assert desk_emulator.request_count("/webhook_logs") == 3 + 1  # ceil(701 / 500) for the busy bot
    finally:
        receiver.close()
    assert len(uids(sink)) == len(set(uids(sink))) == 4300


def test_restart_continues_where_the_state_says(desk_emulator, sink, state_path):
    preload(desk_emulator, 900, bots=2)
    assert run_once(desk_emulator, state_path, backfill_days=3, page_size=200).exported == 1800
    assert run_once(desk_emulator, state_path, backfill_days=3, page_size=200).exported == 0
    assert len(set(uids(sink))) == len(uids(sink)) == 1800


def test_first_start_without_backfill_reads_from_now(desk_emulator, sink, state_path):
    preload(desk_emulator, 300, bots=1)
    receiver = make_receiver(desk_emulator, state_path)
    try:
        assert receiver.run_once().exported == 0
        bot = receiver.poller.bots[0]
        desk_emulator.add_entry(bot.id, status="RECEIVED")
        assert receiver.run_once().exported == 1
    finally:
        receiver.close()
    assert len(sink.log_records()) == 1


def test_status_changing_in_place_is_held_then_exported_once(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="inplace", timeout_seconds=30)
    receiver = make_receiver(desk_emulator, state_path, settle_grace=60)
    try:
        receiver.run_once()
        fresh = desk_emulator.add_entry(bot["id"], status="SENT")
        stale = desk_emulator.add_entry(bot["id"], status="SENT")
        assert receiver.run_once().exported == 0
        assert [g.pending for g in receiver.poller.gauges()] == [2]
        desk_emulator.set_status(bot["id"], fresh["id"], "RECEIVED")
        assert receiver.run_once().exported == 1
        desk_emulator.clock.advance(91)  # past timeoutSeconds 30 + grace 60
        assert receiver.run_once().exported == 1
        assert receiver.run_once().exported == 0
        assert [g.pending for g in receiver.poller.gauges()] == [0]
    finally:
        receiver.close()
    got = {r.attributes[names.ATTR_WEBHOOK_LOG_ID]: r for r in sink.log_records()}
    assert set(got) == {fresh["id"], stale["id"]}
    assert got[fresh["id"]].attributes[names.ATTR_WEBHOOK_LOG_STATUS] == "RECEIVED"
    assert got[stale["id"]].attributes[names.ATTR_SETTLED_BY] == "age"
    assert got[stale["id"]].severity_text == "WARN"


def test_entries_arriving_during_pagination_are_neither_missed_nor_duplicated(desk_emulator, sink, state_path):
    preload(desk_emulator, 1500, bots=1)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3, page_size=100)
    record_request = receiver.telemetry.http_request
    arrivals = []
    adding = {"bot": None}

    def add_while_paginating(*args):  # seam: runs after each Desk request, between two pages
        record_request(*args)
        if adding["bot"] is not None:
            arrivals.extend(desk_emulator.add_entry(adding["bot"], status=s) for s in ("TIMEOUT", "RECEIVED"))

    receiver.telemetry.http_request = add_while_paginating
    try:
        receiver.poller.refresh_bots(force=True)
        adding["bot"] = receiver.poller.bots[0].id
        receiver.run_once()
        adding["bot"] = None
        receiver.run_once()
    finally:
        receiver.close()
    assert len(arrivals) >= 30  # two per page read: 15 pages at least
    assert len(uids(sink)) == len(set(uids(sink))) == 1500 + len(arrivals)


def test_otlp_endpoint_down_loses_nothing_and_reads_no_further(desk_emulator, sink, state_path):
    preload(desk_emulator, 1000, bots=2)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3, page_size=250)
    try:
        sink.set_down(True)
        desk_emulator.reset_requests()
        result = receiver.run_once()
        assert not result.delivered and result.export_failed
        assert desk_emulator.request_count("/webhook_logs") == 2  # one page per bot, then it stops
        assert not receiver.health.ready()
        sink.set_down(False)
        result = receiver.run_once()
        assert result.delivered and result.exported == 2000
        assert receiver.health.ready()
    finally:
        receiver.close()
    assert len(uids(sink)) == len(set(uids(sink))) == 2000


def test_one_failing_bot_does_not_stop_the_others(desk_emulator, sink, state_path):
    expected = preload(desk_emulator, 400, bots=3)
    broken, *healthy = list(expected)
    desk_emulator.faults.fail_next(50, status=400, path_contains=f"/bots/{broken}/webhook_logs")
    result = run_once(desk_emulator, state_path, backfill_days=3, bot_ids=[*expected, 987654])
    assert not result.delivered and result.bots_failed == 2  # the 400 one, and the unknown id 987654
    assert {bot for bot, _ in by_bot_and_status(sink)} == set(healthy)


def test_desk_storms_are_ridden_out(make_desk_emulator, sink, state_path):
    emulator = make_desk_emulator(fault_error_ratio=0.3, drop_ratio=0.05, malformed_ratio=0.05)
    expected = preload(emulator, 1000, bots=2)
    emulator.faults.fail_next(3, status=429, retry_after=0.01, path_contains="/webhook_logs")
    emulator.faults.fail_next(2, status=429, retry_after=0.01, header="X-RateLimit-RetryAfter")
    result = run_once(emulator, state_path, backfill_days=3, page_size=100)
    assert result.delivered
    assert len(uids(sink)) == len(set(uids(sink))) == sum(sum(c.values()) for c in expected.values())


def test_malformed_entries_are_skipped_counted_and_do_not_stall(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="messy")
    start = days_ago(desk_emulator, 0.5)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start + timedelta(seconds=1),
                            extra={"createdAt": "not a date"})
    desk_emulator.add_entry(bot["id"], status="ERROR", created_at=start + timedelta(seconds=2))
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1)
    try:
        first = receiver.run_once()
        second = receiver.run_once()
    finally:
        receiver.close()
    assert first.delivered and first.exported == 2 and second.exported == 0
    assert len(sink.log_records()) == 2
    rejected = sink.counter_totals(names.ENTRIES_REJECTED.name)
    assert sum(rejected.values()) == 1
    assert dict(next(iter(rejected))) == {names.ATTR_APP_ID: urlsplit(desk_emulator.url).netloc,
                                          names.ATTR_BOT_ID: bot["id"], names.ATTR_ERROR_TYPE: "bad_created_at"}


@pytest.mark.parametrize("overrides, interval_s", [
    pytest.param({}, 600, id="every-10-minutes-by-default"),
    pytest.param({"bot_list_interval": "90s"}, 90, id="DESK_BOT_LIST_INTERVAL"),
])
def test_bot_list_refreshed_on_its_interval_new_bots_picked_up_removed_dropped(desk_emulator, sink, state_path,
                                                                              overrides, interval_s):
    first = desk_emulator.add_bot(name="first")
    desk_emulator.add_bot(name="faq", type="FAQ")
    now = [1000.0]
    receiver = make_receiver(desk_emulator, state_path, monotonic=lambda: now[0], **overrides)
    try:
        receiver.run_once()
        assert [b.name for b in receiver.poller.bots] == ["first"]
        second = desk_emulator.add_bot(name="second", is_unread_error=True)
        desk_emulator.remove_bot(first["id"])
        now[0] += interval_s - 1
        receiver.run_once()
        assert [b.name for b in receiver.poller.bots] == ["first"]  # not re-listed before its interval
        now[0] += 1
        desk_emulator.reset_requests()
        receiver.run_once()
        assert [b.name for b in receiver.poller.bots] == ["second"]
        # a bot found later is read from the listing before, when it was not there yet: one read, no end to find
        assert desk_emulator.request_count("/webhook_logs") == 1
        assert [(g.bot_id, g.unread_error) for g in receiver.poller.gauges()] == [(second["id"], True)]
    finally:
        receiver.close()


def test_gauges_and_request_durations_are_exported(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="gauged", is_unread_error=True, timeout_seconds=30)
    desk_emulator.add_entries(bot["id"], 10, statuses=("RECEIVED",), start=days_ago(desk_emulator, 0.1), spacing_s=1)
    desk_emulator.add_entry(bot["id"], status="SENT")
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1)
    try:
        receiver.run_once()
    finally:
        receiver.close()  # flushes the metrics once
    bot_attrs = {names.ATTR_APP_ID: urlsplit(desk_emulator.url).netloc, names.ATTR_BOT_ID: bot["id"],
                 names.ATTR_BOT_NAME: "gauged"}
    latest = {p.name: p for p in sink.metric_points() if p.attributes == bot_attrs}
    assert latest[names.WEBHOOK_LOGS_PENDING.name].value == 1
    assert latest[names.UNREAD_ERROR.name].value == 1
    assert 0 <= latest[names.LAG.name].value < 60
    durations = sink.metric_points(names.HTTP_CLIENT_DURATION.name)
    routes = {(p.attributes[names.ATTR_HTTP_ROUTE], p.attributes.get(names.ATTR_HTTP_STATUS)) for p in durations}
    assert ("/bots", 200) in routes and ("/bots/{bot_id}/webhook_logs", 200) in routes
    assert sum(p.count for p in sink.metric_points(names.POLL_DURATION.name)) == 1


def test_sdk_disabled_exports_nothing_and_leaves_the_state_alone(desk_emulator, sink, state_path, monkeypatch):
    preload(desk_emulator, 50, bots=1)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3)
    try:
        assert receiver.run_once().delivered
        desk_emulator.reset_requests()
        assert receiver.run_once().delivered
        assert desk_emulator.request_count("/webhook_logs") == 1  # it still knows where it is, in memory
    finally:
        receiver.close()
    assert sink.log_records() == [] and sink.metric_points() == []
    assert not state_path.exists()  # nothing went out, so nothing may be marked delivered


def test_export_failing_mid_backfill_reads_at_most_one_page_ahead_and_loses_nothing(desk_emulator, sink,
                                                                                      state_path):
    preload(desk_emulator, 2000, bots=1)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3, page_size=100)
    record_request = receiver.telemetry.http_request
    desk_reads = []

    def endpoint_fails_after_five_pages(*args):  # seam: runs after each Desk request
        record_request(*args)
        desk_reads.append(args)
        if len(desk_reads) == 6:  # the bot list, then five pages
            sink.set_down(True)

    receiver.telemetry.http_request = endpoint_fails_after_five_pages
    try:
        first = receiver.run_once()
        delivered_before = len(sink.log_records())
        assert not first.delivered and delivered_before < 2000
        # what was delivered (99 new rows a page: each starts with the row read last), the failed page, one ahead
        assert len(desk_reads) <= 1 + delivered_before // 99 + 2
        sink.set_down(False)
        second = receiver.run_once()
    finally:
        receiver.close()
    assert second.delivered
    assert len(uids(sink)) == len(set(uids(sink))) == 2000


def test_desk_unreachable_at_start_is_survived_and_retried_next_cycle(desk_emulator, sink, state_path):
    expected = preload(desk_emulator, 100, bots=2)
    desk_emulator.faults.fail_next(8, status=503)  # every attempt of the first listing
    receiver = make_receiver(desk_emulator, state_path, backfill_days=3)
    try:
        first = receiver.run_once()
        assert not first.delivered and receiver.poller.bots == [] and not receiver.health.ready()
        second = receiver.run_once()
        assert second.delivered and second.exported == 200 and receiver.health.ready()
    finally:
        receiver.close()
    assert {bot for bot, _ in by_bot_and_status(sink)} == set(expected)


def test_an_apps_backfill_warning_names_the_setting_it_came_from(make_desk_emulator, otlp_sink, otlp_env,
                                                                   state_path, caplog):
    # With an apps file an item's own backfill wins over DESK_BACKFILL: the warning must name the item's key,
    # or the advice (set DESK_BACKFILL=18h) changes nothing for that app.
    from otel_desk_receiver.app import Receiver
    from tests.harness.apps import app_of, apps_settings
    otlp_env(otlp_sink, "http/protobuf")
    eu, us = make_desk_emulator(), make_desk_emulator()
    settings = apps_settings([app_of(eu, app_id="eu"), app_of(us, app_id="us", backfill="2d")], state_path)
    with caplog.at_level("WARNING"):
        Receiver(settings).close()
    [line] = [record.getMessage() for record in caplog.records if "Datadog drops" in record.getMessage()]
    assert line.startswith("app us: the backfill (apps[1].backfill) reaches 48 hours back"), line
    assert "apps[1].backfill: 18h stays inside" in line and "DESK_BACKFILL" not in line, line




def three_apps_on_configmaps(make_desk_emulator, otlp_sink, otlp_env, kubeconfig, state_path, monkeypatch):
    """A receiver of three apps (eu, us, ap) with the kubernetes backend, after a cycle that delivered, each app
    holding a delivery committed after its last save (as a loop whose save at the stop failed leaves it)."""
    from otel_desk_receiver.app import Receiver
    from tests.harness.apps import app_of, apps_settings
    otlp_env(otlp_sink, "http/protobuf")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    desks = {label: make_desk_emulator() for label in ("eu", "us", "ap")}
    for desk in desks.values():
        bot = desk.add_bot(name="support")["id"]
        desk.add_entries(bot, 3, statuses=("RECEIVED",), start=desk.clock.now() - timedelta(hours=1))
    receiver = Receiver(apps_settings([app_of(desk, app_id=label) for label, desk in desks.items()], state_path,
                                      backfill_days=1, state_backend="kubernetes", leader_election=False))
    try:
        assert receiver.run_once().delivered
        for run in receiver.apps:
            cursors = run.parts.cursors
            (bot, cursor), = cursors.current().items()
            cursors.commit(bot, replace(cursor, counted={**cursor.counted, "RECEIVED": 4}))
    except BaseException:
        receiver.close()
        raise
    return receiver


def saved(run) -> bool:
    return run.parts.cursors.snapshot() == run.parts.cursors.current()


def test_close_saves_every_apps_state_at_once(make_desk_emulator, otlp_sink, otlp_env, kube_api, kubeconfig,
                                              state_path, monkeypatch):
    # With the kubernetes backend each app's state is its own ConfigMap, and a save waits on a slow API (and
    # retries it up to the renew deadline): saved one app after the other, N apps' saves passed SIGTERM's 10 s
    # (README: Delivery guarantees) and the last apps' deliveries were sent again. Every app's save is in
    # flight at once: with the ConfigMap PUTs held, all three wait together (before, only the first arrived).
    receiver = three_apps_on_configmaps(make_desk_emulator, otlp_sink, otlp_env, kubeconfig, state_path, monkeypatch)
    held = kube_api.hold(method="PUT", resource="configmaps")
    closing = threading.Thread(target=receiver.close)
    closing.start()
    try:
        wait_until(lambda: held.held == len(receiver.apps), what="every app's ConfigMap PUT waiting at once",
                   poll_s=0.01)
    finally:
        held.release.set()
        closing.join()
    assert all(saved(run) for run in receiver.apps)


def test_an_apps_state_that_cannot_be_saved_at_close_is_that_apps_warning_alone(
        make_desk_emulator, otlp_sink, otlp_env, kube_api, kubeconfig, state_path, monkeypatch, caplog):
    from otel_desk_receiver.devkit.kube_api import Grant
    from otel_desk_receiver.kube.object_names import per_app_name
    from tests.harness.fixtures.kube_api import KUBE_TOKEN, NAMESPACE
    receiver = three_apps_on_configmaps(make_desk_emulator, otlp_sink, otlp_env, kubeconfig, state_path, monkeypatch)
    writable = frozenset(per_app_name("otel-desk-receiver-state", label) for label in ("eu", "us"))
    kube_api.add_service_account(KUBE_TOKEN, NAMESPACE, "otel-desk-receiver", [  # the Role edited: ap's not
        Grant("configmaps", frozenset({"get", "create"})), Grant("configmaps", frozenset({"update"}), writable),
        Grant("leases", frozenset({"get", "create", "update"}))])
    with caplog.at_level("WARNING"):
        receiver.close()
    [line] = [r.getMessage() for r in caplog.records if "could not be saved" in r.getMessage()]
    assert line.startswith("app ap: the last deliveries could not be saved (") and "forbidden" in line, line
    assert [saved(run) for run in receiver.apps] == [True, True, False]
