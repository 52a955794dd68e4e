"""Shared pieces of the emulator tests: an authenticated session and an emulator frozen at NOON."""

import pytest
import requests

from tests.harness.clock import NOON
from tests.harness.fixtures.emulator import EMULATOR_TOKEN


@pytest.fixture
def desk_session():
    """A requests.Session sending the emulator token, closed afterwards."""
    with requests.Session() as session:
        session.headers["SENDBIRDDESKAPITOKEN"] = EMULATOR_TOKEN
        yield session


@pytest.fixture
def frozen_emulator(make_desk_emulator):
    """An empty emulator whose clock is frozen at NOON."""
    return make_desk_emulator(frozen_at=NOON)
