"""Shared pieces of the emulator tests: an authenticated session and a fixed instant."""

from datetime import datetime, timezone

import pytest
import requests

# A fixed instant for frozen clocks: deterministic dates, noon UTC so day edges are far away.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def desk_session():
    """A requests.Session sending the emulator token, closed afterwards."""
    with requests.Session() as session:
        session.headers["SENDBIRDDESKAPITOKEN"] = "emulator-token"
        yield session


@pytest.fixture
def frozen_emulator(make_desk_emulator):
    """An empty emulator whose clock is frozen at NOON."""
    return make_desk_emulator(frozen_at=NOON)
