"""Health endpoints over real HTTP: /healthz alive, /readyz ready after a successful cycle, JSON per bot."""

import pytest
import requests

from otel_desk_receiver.runtime.health import BotHealth, HealthServer, HealthState
from otel_desk_receiver.units import NS_PER_S


class FakeClock:
    def __init__(self):
        self.ns = 1_800_000_000 * NS_PER_S

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def health(clock):
    return HealthState(interval_s=30, clock_ns=clock)


@pytest.fixture
def health_url(health):
    server = HealthServer(health, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_not_ready_before_first_cycle(health_url):
    assert requests.get(f"{health_url}/healthz", timeout=5).status_code == 200
    response = requests.get(f"{health_url}/readyz", timeout=5)
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert response.json()["reason"] == "no successful read yet"


def test_a_bot_list_with_no_bot_to_watch_is_ready_while_the_loop_goes_round(health, health_url, clock):
    health.set_bots([])
    health.listing_done(None)
    response = requests.get(f"{health_url}/readyz", timeout=5)
    assert response.status_code == 200 and response.json()["note"] == "no bot to watch"
    clock.ns += 300 * NS_PER_S
    health.beat()  # the loop's wait: still nothing to read, still ready
    assert requests.get(f"{health_url}/readyz", timeout=5).status_code == 200
    clock.ns += 91 * NS_PER_S  # a loop that no longer goes round is not ready
    assert requests.get(f"{health_url}/readyz", timeout=5).json()["reason"].startswith("no successful read in")
    health.listing_done("GET /bots: HTTP 503")  # the listing fails: a failure, said as such
    health.beat()
    assert requests.get(f"{health_url}/readyz", timeout=5).json()["reason"] == "bot list: GET /bots: HTTP 503"


def test_bots_asked_for_but_unreadable_are_no_empty_list(health, health_url):
    health.record(990001, BotHealth(last_error="GET /bots/990001: HTTP 404"))
    health.set_bots([990001])
    health.listing_done(None)
    body = requests.get(f"{health_url}/readyz", timeout=5).json()
    assert body["status"] == "unavailable" and "note" not in body and body["bots"]["990001"]["last_error"]
    assert health.failing() == [(990001, "GET /bots/990001: HTTP 404")]


def test_ready_after_success_until_three_intervals_old(health, health_url, clock):
    health.set_bots([7])
    health.record(7, BotHealth(last_poll_ns=clock.ns, last_error=None, lag_s=1.5))
    health.cycle_done(succeeded=True)
    response = requests.get(f"{health_url}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["bots"]["7"] == {"last_poll": "2027-01-15T08:00:00+00:00", "last_error": None, "lag_s": 1.5}
    clock.ns += 90 * NS_PER_S
    assert requests.get(f"{health_url}/readyz", timeout=5).status_code == 200
    clock.ns += 1 * NS_PER_S
    assert requests.get(f"{health_url}/readyz", timeout=5).status_code == 503


def test_failed_cycle_does_not_refresh_readiness(health, health_url, clock):
    health.cycle_done(succeeded=True)
    clock.ns += 100 * NS_PER_S
    health.cycle_done(succeeded=False)
    assert requests.get(f"{health_url}/readyz", timeout=5).status_code == 503
    assert requests.get(f"{health_url}/healthz", timeout=5).status_code == 200


def test_healthz_fails_when_loop_stalls_or_stops(health, health_url, clock):
    clock.ns += 3600 * NS_PER_S
    assert requests.get(f"{health_url}/healthz", timeout=5).status_code == 503
    health.cycle_done(succeeded=True)
    assert requests.get(f"{health_url}/healthz", timeout=5).status_code == 200
    health.stop()
    assert requests.get(f"{health_url}/healthz", timeout=5).status_code == 503


def test_unknown_path_is_404(health_url):
    assert requests.get(f"{health_url}/metrics", timeout=5).status_code == 404
