"""Fixtures starting the Desk API emulator on a loopback port: ``desk_emulator`` and the factory
``make_desk_emulator``.

The clock is real (virtual offset 0) unless a test passes ``frozen_at``, or a conftest overrides the
``emulator_frozen_at`` fixture for its directory (tests/desk does): the receiver under test reads the
wall clock, so entries created "now" in the emulator are "now" for it too. Tests may still
``advance`` the emulator clock to make planned statuses settle.
"""

import pytest

from otel_desk_receiver.devkit.emulator import DeskEmulator, EmulatorConfig

EMULATOR_TOKEN = "emulator-token"


@pytest.fixture
def make_desk_emulator():
    """make_desk_emulator(**EmulatorConfig fields) -> a started DeskEmulator; all stop at teardown."""
    started: list[DeskEmulator] = []

    def make(**config) -> DeskEmulator:
        config.setdefault("token", EMULATOR_TOKEN)
        emulator = DeskEmulator(EmulatorConfig(**config)).start(host="127.0.0.1", port=0)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator_frozen_at():
    """The instant ``desk_emulator``'s clock is frozen at; None (the default) keeps it real."""
    return None


@pytest.fixture
def desk_emulator(make_desk_emulator, emulator_frozen_at) -> DeskEmulator:
    """A started emulator with no bots, no traffic, token ``emulator-token``; its clock per ``emulator_frozen_at``."""
    return make_desk_emulator(frozen_at=emulator_frozen_at)
