"""VirtualClock: the emulator's notion of now, real time plus an offset, or frozen."""

import threading
from datetime import datetime, timedelta, timezone


class VirtualClock:
    """Aware-UTC clock that tests can advance; never goes backwards through ``advance``.

    Generated traffic and in-place status changes are computed from this clock, so advancing
    it is all a test needs to see entries settle (docs/desk-api.md#statuses).
    """

    def __init__(self, frozen_at: datetime | None = None):
        if frozen_at is not None and frozen_at.tzinfo is None:
            raise ValueError("frozen_at must be an aware datetime")
        self._frozen_at = frozen_at.astimezone(timezone.utc) if frozen_at else None
        self._offset = timedelta()
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(timezone.utc)
            return base + self._offset

    def now_us(self) -> int:
        return to_us(self.now())

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exact (no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("expected an aware datetime")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int, zone=timezone.utc) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)
