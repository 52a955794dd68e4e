"""Project time zones, day windows and the varied createdAt renderings Desk clients must accept."""

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otel_desk_receiver.emulator.clock import from_us, to_us

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
    days (desk-api.md, "Dates": probably the project's zone; here configurable)."""
    return to_us(datetime.combine(day, time(), tzinfo=zone))


def window_us(start: date | None, end: date | None, zone: tzinfo) -> tuple[int | None, int | None]:
    """[start, end) in microseconds for inclusive whole days; None where unbounded."""
    lo = day_start_us(start, zone) if start else None
    hi = day_start_us(end + timedelta(days=1), zone) if end else None
    return lo, hi


def format_created_at(us: int, entry_id: int, zone: tzinfo) -> str:
    """ISO 8601 with a zone, varying by id: 0..6 fraction digits and 'Z', '+00:00' or the project
    offset, because Desk's createdAt has "fractional seconds of any length" (desk-api.md)."""
    digits = entry_id % 7
    form = (entry_id // 7) % 3
    moment = from_us(us, zone if form == 2 else timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    offset = moment.strftime("%z")
    if form == 0:
        return text + "Z"
    return text + offset[:3] + ":" + offset[3:]


def iso_utc(us: int) -> str:
    """Plain ISO 8601 in UTC with microseconds, for bot timestamps and control answers."""
    return from_us(us).isoformat().replace("+00:00", "Z")
