"""Desk client fixtures: a fake clock whose sleeps return at once, clients aimed at a frozen-clock emulator."""

import random
import threading

import pytest

from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.throttle import RetryPolicy
from tests.harness.clock import FROZEN_AT
from tests.harness.fixtures.emulator import EMULATOR_TOKEN
from tests.harness.ports import free_port


class FakeClock:
    """Monotonic time that moves only when slept on; every sleep is recorded."""

    def __init__(self):
        self.now_s = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now_s

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now_s += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_desk_client(fake_clock):
    """DeskClient(url, **overrides) on the fake clock with a seeded retry policy; closed afterwards."""
    clients: list[DeskClient] = []

    def make(url: str, token=EMULATOR_TOKEN, **overrides) -> DeskClient:
        options = {
            "retry": RetryPolicy(rng=random.Random(1)),
            "sleep": fake_clock.sleep,
            "monotonic": fake_clock.monotonic,
            "timeout_s": 5.0,
        }
        options.update(overrides)
        client = DeskClient(url, token, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def emulator_frozen_at():
    """Here ``desk_emulator``'s clock is frozen at FROZEN_AT, so entry dates in tests stay inside its retention."""
    return FROZEN_AT


@pytest.fixture
def custom_bot(desk_emulator) -> int:
    return desk_emulator.add_bot(name="Helper", type="CUSTOM")["id"]


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on a port nothing listens on (bound, then closed)."""
    return f"http://127.0.0.1:{free_port()}/platform/v1"
