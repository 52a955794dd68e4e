"""Project time zones, day windows and the varied createdAt renderings Desk clients must accept."""

import re
from time import gmtime
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otel_desk_receiver.devkit.emulator.clock import from_us, to_us

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_zone(name: str) -> tzinfo:
    """'UTC', a fixed offset such as '+09:00' / 'UTC-5', or an IANA name such as 'Asia/Seoul'."""
    if name.upper() in ("UTC", "Z"):
        return timezone.utc
    match = _OFFSET.match(name.strip())
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def day_start_us(day: date, zone: tzinfo) -> int:
    """First microsecond of ``day`` in the project zone: start_date/end_date are whole project
    days (docs/desk-api.md#dates-time-zones-and-retention: probably the project's zone; here configurable)."""
    return to_us(datetime.combine(day, time(), tzinfo=zone))


def window_us(start: date | None, end: date | None, zone: tzinfo) -> tuple[int | None, int | None]:
    """[start, end) in microseconds for inclusive whole days; None where unbounded."""
    lo = day_start_us(start, zone) if start else None
    hi = day_start_us(end + timedelta(days=1), zone) if end else None
    return lo, hi


def format_created_at(us: int, entry_id: int, zone: tzinfo) -> str:
    """ISO 8601 with a zone, varying by id: 0..6 fraction digits and 'Z', '+00:00' or the project
    offset, because Desk's createdAt has any number of fractional digits
    (docs/desk-api.md#dates-time-zones-and-retention).
    Built from time.gmtime rather than datetime: a page of 500 must render in milliseconds."""
    digits, form = entry_id % 7, (entry_id // 7) % 3
    offset_s = _offset_s(us, zone) if form == 2 else 0
    seconds, micros = divmod(us, 1_000_000)
    t = gmtime(seconds + offset_s)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]
    if digits:
        text += "." + ("%06d" % micros)[:digits]
    if form == 0:
        return text + "Z"
    sign, minutes = ("-", -offset_s // 60) if offset_s < 0 else ("+", offset_s // 60)
    return "%s%s%02d:%02d" % (text, sign, minutes // 60, minutes % 60)


def _offset_s(us: int, zone: tzinfo) -> int:
    if zone is timezone.utc:
        return 0
    return int(from_us(us, zone).utcoffset().total_seconds())


def iso_utc(us: int) -> str:
    """Plain ISO 8601 in UTC with microseconds, for bot timestamps and control answers."""
    return from_us(us).isoformat().replace("+00:00", "Z")
