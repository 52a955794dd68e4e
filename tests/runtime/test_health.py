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
