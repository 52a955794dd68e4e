"""AppsHealth: several apps' health as one: ready and alive only while every app is, and /readyz's body names
each app, and each failing app and bot."""

from otel_desk_receiver.runtime.apps_health import AppsHealth
from otel_desk_receiver.runtime.health import BotHealth, HealthState
from otel_desk_receiver.runtime.selfmetrics import BotGauges
from otel_desk_receiver.runtime.status_page import render_html
from otel_desk_receiver.units import NS_PER_S

INTERVAL_S = 30.0


def parts(now: list[int]) -> dict[str, HealthState]:
    return {label: HealthState(INTERVAL_S, clock_ns=lambda: now[0]) for label in ("eu", "us")}


def test_ready_only_while_every_app_is_and_the_body_names_the_failing_one():
    now = [1_000 * NS_PER_S]
    health = parts(now)
    apps = AppsHealth(health, {"eu": tuple, "us": lambda: [BotGauges(4, "sales", 2, False, 1.0)]})
    health["eu"].set_bots([3])
    health["eu"].turn_done(ok=True, export_ok=True, exported=1)
    assert apps.alive() and not apps.ready()  # us has read nothing yet
    assert apps.snapshot()["unready"] == [{"app": "us", "reason": "no successful read yet"}]
    health["us"].listing_done("GET /bots: HTTP 401: Desk rejected the API token")
    health["us"].set_bots([4])
    health["us"].record(4, BotHealth(last_error="HTTP 500"))
    snapshot = apps.snapshot()
    assert snapshot["failing"] == [
        {"app": "us", "bot": None, "error": "GET /bots: HTTP 401: Desk rejected the API token"},
        {"app": "us", "bot": 4, "error": "HTTP 500"}]
    assert snapshot["apps"]["eu"]["status"] == "ok" and snapshot["apps"]["us"]["status"] == "unavailable"
    health["us"].listing_done(None)
    health["us"].turn_done(ok=True, export_ok=True)
    assert apps.ready()


def test_a_stuck_app_loop_is_not_alive_even_when_the_others_are():
    now = [1_000 * NS_PER_S]
    health = parts(now)
    apps = AppsHealth(health, {"eu": tuple, "us": tuple})
    now[0] += int(3 * INTERVAL_S + 121) * NS_PER_S
    health["eu"].beat()
    assert health["eu"].alive() and not apps.alive()


def test_the_status_page_names_each_bots_app():
    now = [1_000 * NS_PER_S]
    health = parts(now)
    for label, bot in (("eu", 3), ("us", 3)):  # the same bot id in two apps: two rows
        health[label].set_bots([bot])
    apps = AppsHealth(health, {"eu": lambda: [BotGauges(3, "support", 1, False, None)], "us": tuple})
    document = apps.status()
    assert [(bot["app"], bot["id"], bot["name"]) for bot in document["bots"]] == [("eu", 3, "support"),
                                                                                 ("us", 3, None)]
    assert [app["app"] for app in document["apps"]] == ["eu", "us"]


def test_the_status_page_says_why_an_apps_bot_list_failed():
    now = [1_000 * NS_PER_S]
    health = parts(now)
    health["us"].listing_done("GET /bots: HTTP 401: Desk rejected the API token")
    document = AppsHealth(health, {"eu": tuple, "us": tuple}).status()
    assert [(app["app"], app["listing_error"]) for app in document["apps"]] == [
        ("eu", None), ("us", "GET /bots: HTTP 401: Desk rejected the API token")]
    assert "App us</th><td>not ready, single; bot list: GET /bots: HTTP 401" in render_html(document)


def test_an_app_with_no_bot_to_watch_is_ready_and_says_so_and_an_unready_one_says_why():
    now = [1_000 * NS_PER_S]
    health = parts(now)
    apps = AppsHealth(health, {"eu": tuple, "us": tuple})
    health["eu"].set_bots([])
    health["eu"].listing_done(None)  # read, nothing CUSTOM in it
    health["us"].listing_done("GET /bots: HTTP 401: Desk rejected the API token")
    now[0] += int(10 * INTERVAL_S) * NS_PER_S  # long after the listing: the loop going round still counts
    health["eu"].beat()
    snapshot = apps.snapshot()
    assert health["eu"].ready() and snapshot["apps"]["eu"]["note"] == "no bot to watch"
    assert snapshot["unready"] == [
        {"app": "us", "reason": "bot list: GET /bots: HTTP 401: Desk rejected the API token"}]
    assert "App eu</th><td>ready, single; no bot to watch" in render_html(apps.status())
