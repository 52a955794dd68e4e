"""Several Desk apps in one receiver (issue 21), isolated like bots: three apps on three emulators, one of them
failing (its token refused, its Desk down, or answering 429 with an hour's Retry-After); the other two deliver
every entry exactly once to the real OTLP sink within one poll interval of its creation, as an app alone does,
and /readyz names the failing app. Every loop lives on one virtual clock shared by the emulators, which moves
only when every app's loop waits (tests/harness/apps.py): counted in intervals, never timed."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests

from otel_desk_receiver import names
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import DeskAuthError
from tests.harness.apps import SharedClock, app_of, drive_apps, virtual_apps_receiver
from tests.harness.ports import free_port

FROZEN_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INTERVAL_S = 30
INTERVALS = 6
HEALTHY = ("eu", "us")
# Desk's retry hints honoured as given (up to the policy's cap), not shortened as in other tests.
HONOURED_HINTS = RetryPolicy(max_attempts=8, base_s=0.001, cap_s=0.01)


@pytest.fixture
def desks(make_desk_emulator, otlp_sink, otlp_env):
    """Three emulators on one frozen instant, two bots each, with a settled entry per bot from before the
    start (inside the backfill); the OTLP variables aimed at the sink."""
    otlp_env(otlp_sink, "http/protobuf")
    desks = {}
    for label in (*HEALTHY, "ap"):
        desk = make_desk_emulator(frozen_at=FROZEN_AT)
        for name in ("support", "sales"):
            bot = desk.add_bot(name=f"{label}-{name}")
            desk.add_entry(bot["id"], status="RECEIVED", created_at=FROZEN_AT - timedelta(minutes=10))
        desks[label] = desk
    return desks


def fail(desk, how: str) -> str | None:
    """Make ``desk`` fail ``how``; the token its app is given."""
    if how == "down":
        desk.stop()  # connections refused
    elif how == "rate_limited":
        desk.faults.fail_next(1_000_000, status=429, retry_after=3600)
    return "revoked-token" if how == "refused" else None


def delivered(sink, app: str) -> Counter:
    """(bot id, entry id) of every record of ``app`` received, with how often."""
    return Counter((r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_WEBHOOK_LOG_ID])
                   for r in sink.log_records() if r.attributes[names.ATTR_APP_ID] == app)


def entries(desk) -> set[tuple[int, int]]:
    return {(bot["id"], entry["id"]) for bot in desk.bots() for entry in desk.entries(bot["id"])}


@pytest.mark.parametrize("how", ["refused", "down", "rate_limited"])
def test_one_failing_app_among_three_costs_that_app_alone(desks, otlp_sink, state_path, how):
    token = fail(desks["ap"], how)
    clock = SharedClock(desks.values())
    apps = [app_of(desks[label], app_id=label) for label in HEALTHY] + [app_of(desks["ap"], token, app_id="ap")]
    receiver = virtual_apps_receiver(clock, apps, state_path, retry=HONOURED_HINTS, backfill="1h",
                                     poll_interval=INTERVAL_S, health_addr=f"127.0.0.1:{free_port()}")
    receiver.start_health()
    try:
        for _ in range(INTERVALS):  # an entry on every healthy bot each interval, read within that interval
            for label in HEALTHY:
                for bot in desks[label].bots():
                    desks[label].add_entry(bot["id"], status="RECEIVED", created_at=clock.now())
            drive_apps(receiver, clock, virtual_s=INTERVAL_S)
            for label in HEALTHY:
                assert set(delivered(otlp_sink, label)) == entries(desks[label]), label
        readyz = requests.get(f"http://127.0.0.1:{receiver.settings.health_host_port[1]}/readyz", timeout=10)
    finally:
        receiver.close()
    for label in HEALTHY:  # every entry exactly once
        assert max(delivered(otlp_sink, label).values()) == 1
    assert not delivered(otlp_sink, "ap")
    assert readyz.status_code == 503
    body = readyz.json()
    assert [unready["app"] for unready in body["unready"]] == ["ap"] and body["unready"][0]["reason"]
    assert [app["status"] for app in body["apps"].values()] == ["ok", "ok", "unavailable"]
    assert {failing["app"] for failing in body["failing"]} == {"ap"}


def test_an_app_with_no_bot_to_read_yet_leaves_the_receiver_ready(make_desk_emulator, desks, otlp_sink, state_path):
    empty = make_desk_emulator(frozen_at=FROZEN_AT)
    empty.add_bot(name="faq", type="FAQ")
    clock = SharedClock([*desks.values(), empty])
    apps = [app_of(desks[label], app_id=label) for label in HEALTHY] + [app_of(empty, app_id="new")]
    receiver = virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S)
    try:  # five intervals: longer than a success stays fresh (three), shorter than the bot list's (600 s)
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 5)
        ready, snapshot, page = receiver.health.ready(), receiver.health.snapshot(), receiver.health.status()
    finally:
        receiver.close()
    assert ready and snapshot["unready"] == [] and snapshot["failing"] == [], snapshot
    assert snapshot["apps"]["new"]["note"] == "no bot to watch"
    assert [app["note"] for app in page["apps"]] == [None, None, "no bot to watch"]


def test_an_app_whose_bot_ids_are_all_unreadable_is_unready_and_named_failing(desks, otlp_sink, state_path):
    clock = SharedClock(desks.values())
    apps = [app_of(desks[label], app_id=label) for label in HEALTHY] + [
        app_of(desks["ap"], app_id="ap", bot_ids=[990001])]
    receiver = virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S)
    try:
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 2)
        ready, snapshot = receiver.health.ready(), receiver.health.snapshot()
    finally:
        receiver.close()
    assert not ready and [(unready["app"], unready["reason"]) for unready in snapshot["unready"]] == [
        ("ap", "no successful read yet")], snapshot
    assert [(failing["app"], failing["bot"]) for failing in snapshot["failing"]] == [("ap", 990001)], snapshot
    assert "note" not in snapshot["apps"]["ap"]


def test_readyz_names_the_app_and_the_bot_that_fail(desks, otlp_sink, state_path):
    failing_bot = desks["ap"].bots()[0]["id"]
    desks["ap"].faults.fail_next(1_000_000, status=500, path_contains=f"/bots/{failing_bot}/webhook_logs")
    clock = SharedClock(desks.values())
    apps = [app_of(desks[label], app_id=label) for label in (*HEALTHY, "ap")]
    receiver = virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S,
                                     health_addr=f"127.0.0.1:{free_port()}")
    receiver.start_health()
    try:
        drive_apps(receiver, clock, virtual_s=INTERVAL_S)
        readyz = requests.get(f"http://127.0.0.1:{receiver.settings.health_host_port[1]}/readyz", timeout=10)
        page = requests.get(f"http://127.0.0.1:{receiver.settings.health_host_port[1]}/?format=json", timeout=10)
    finally:
        receiver.close()
    assert readyz.status_code == 200  # the app's other bot reads: the app, like the receiver, is ready
    [failing] = readyz.json()["failing"]
    assert (failing["app"], failing["bot"]) == ("ap", failing_bot) and "500" in failing["error"]
    rows = {(bot["app"], bot["id"]): bot for bot in page.json()["bots"]}
    assert len(rows) == 6 and rows[("ap", failing_bot)]["last_error"]
    assert [app["app"] for app in page.json()["apps"]] == [*HEALTHY, "ap"]


def test_every_app_refusing_its_token_ends_the_run_naming_each(desks, state_path):
    clock = SharedClock(desks.values())
    apps = [app_of(desks[label], f"wrong-{label}", app_id=label) for label in (*HEALTHY, "ap")]
    receiver = virtual_apps_receiver(clock, apps, state_path, poll_interval=INTERVAL_S)
    try:
        with pytest.raises(DeskAuthError) as raised:
            drive_apps(receiver, clock, virtual_s=20 * INTERVAL_S)
    finally:
        receiver.close()
    lines = str(raised.value).splitlines()
    assert lines[0] == "Desk rejected the API token of every app:"
    assert [line.split(":", 1)[0] for line in lines[1:]] == ["app eu", "app us", "app ap"]
