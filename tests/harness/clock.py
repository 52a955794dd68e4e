"""Fixed instants the tests freeze the Desk emulator's clock at, shared by a directory's conftest and its tests,
and SteppedClock, the monotonic and wall clocks the election tests move by hand."""

from datetime import datetime, timezone

# The emulator tests' (tests/devkit/emulator) frozen instant: deterministic dates, noon UTC so day edges are far away.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)

# The Desk client tests' (tests/desk) frozen instant, so entry dates in tests stay inside the emulator's retention.
FROZEN_AT = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)


# The election tests' (tests/ha) wall-clock origin: 2025-12-02T00:00:00.123456789Z.
ELECTION_T0_NS = 1_764_633_600_123_456_789


class SteppedClock:
    """Monotonic seconds and wall-clock ns that move only when the test says so."""

    def __init__(self):
        self.s = 100.0

    def monotonic(self) -> float:
        return self.s

    def wall_ns(self) -> int:
        return ELECTION_T0_NS + int((self.s - 100.0) * 1e9)

    def advance(self, seconds: float) -> None:
        self.s += seconds
