"""Fixed instants the tests freeze the Desk emulator's clock at, shared by a directory's conftest and its tests."""

from datetime import datetime, timezone

# The emulator tests' (tests/devkit/emulator) frozen instant: deterministic dates, noon UTC so day edges are far away.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)

# The Desk client tests' (tests/desk) frozen instant, so entry dates in tests stay inside the emulator's retention.
FROZEN_AT = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)
