"""Project time zones, whole-day windows and the varied createdAt renderings the emulator serves."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from otel_desk_receiver.devkit.emulator.clock import to_us
from otel_desk_receiver.devkit.emulator.timefmt import day_start_us, format_created_at, iso_utc, parse_zone, window_us

MOMENT = datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.mark.parametrize("name, offset", [
    pytest.param("UTC", timedelta(0), id="utc"),
    pytest.param("z", timedelta(0), id="z"),
    pytest.param("+09:00", timedelta(hours=9), id="offset"),
    pytest.param("UTC-5", timedelta(hours=-5), id="utc-hours"),
    pytest.param("+0530", timedelta(hours=5, minutes=30), id="compact"),
    pytest.param("Asia/Seoul", timedelta(hours=9), id="iana"),
])
def test_zones_by_name_or_offset(name, offset):
    assert MOMENT.astimezone(parse_zone(name)).utcoffset() == offset


def test_an_unknown_zone_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_zone("Mars/Olympus")


def test_windows_are_whole_project_days_end_inclusive():
    zone = timezone(timedelta(hours=9))
    lo, hi = window_us(date(2026, 3, 10), date(2026, 3, 10), zone)
    assert lo == day_start_us(date(2026, 3, 10), zone) == to_us(datetime(2026, 3, 9, 15, tzinfo=timezone.utc))
    assert hi - lo == 86_400 * 1_000_000
    assert window_us(None, None, zone) == (None, None)


@pytest.mark.parametrize("entry_id, text", [
    pytest.param(0, "2026-03-10T12:00:00Z", id="no-fraction-z"),
    pytest.param(3, "2026-03-10T12:00:00.123Z", id="three-digits"),
    pytest.param(6 + 7, "2026-03-10T12:00:00.123456+00:00", id="six-digits-plus-zero"),
    pytest.param(1 + 14, "2026-03-10T21:00:00.1+09:00", id="project-offset"),
])
def test_created_at_renderings_vary_by_id_and_mean_the_same_instant(entry_id, text):
    rendered = format_created_at(to_us(MOMENT), entry_id, ZoneInfo("Asia/Seoul"))
    assert rendered == text
    parsed = datetime.fromisoformat(rendered.replace("Z", "+00:00"))
    assert abs(parsed - MOMENT) < timedelta(seconds=1)


def test_a_negative_offset_is_rendered_with_its_sign():
    assert format_created_at(to_us(MOMENT), 14, timezone(timedelta(hours=-3, minutes=-30))) == \
        "2026-03-10T08:30:00-03:30"


def test_iso_utc_is_plain_utc_with_microseconds():
    assert iso_utc(to_us(MOMENT)) == "2026-03-10T12:00:00.123456Z"
