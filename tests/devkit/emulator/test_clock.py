"""VirtualClock and the exact microsecond conversions the emulator's store keys on."""

from datetime import datetime, timedelta, timezone

import pytest

from otel_desk_receiver.devkit.emulator.clock import VirtualClock, from_us, to_us
from tests.harness.clock import NOON


def test_a_frozen_clock_stands_still_until_advanced():
    clock = VirtualClock(frozen_at=NOON)
    assert clock.frozen and clock.now() == clock.now() == NOON
    assert clock.advance(90.5) == NOON + timedelta(seconds=90.5)
    assert clock.now_us() == to_us(NOON) + 90_500_000


def test_a_frozen_clock_reads_utc_whatever_zone_it_was_given():
    seoul = NOON.astimezone(timezone(timedelta(hours=9)))
    now = VirtualClock(frozen_at=seoul).now()
    assert now == NOON and now.utcoffset() == timedelta(0)


def test_a_running_clock_follows_real_time_plus_what_was_advanced():
    clock = VirtualClock()
    before = datetime.now(timezone.utc)
    clock.advance(3600)
    assert not clock.frozen and clock.now() >= before + timedelta(hours=1)


@pytest.mark.parametrize("bad", [
    pytest.param(lambda: VirtualClock(frozen_at=datetime(2026, 3, 10, 12)), id="naive-frozen-at"),
    pytest.param(lambda: VirtualClock(frozen_at=NOON).advance(-1), id="backwards"),
    pytest.param(lambda: to_us(datetime(2026, 3, 10, 12)), id="naive-to-us"),
])
def test_what_the_clock_refuses(bad):
    with pytest.raises(ValueError):
        bad()


def test_microseconds_round_trip_exactly_far_from_the_epoch():
    moment = datetime(2026, 3, 10, 12, 0, 0, 123457, tzinfo=timezone.utc)
    us = to_us(moment)
    assert us % 1_000_000 == 123457  # no float rounding
    assert from_us(us) == moment
    assert from_us(us, timezone(timedelta(hours=-5))).hour == 7
