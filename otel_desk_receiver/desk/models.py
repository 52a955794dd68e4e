"""Bot and WebhookLog: tolerant parsing of Desk's JSON, no I/O."""

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from otel_desk_receiver.units import NS_PER_S

# Webhook log statuses (docs/desk-api.md#statuses). Any other value
# is kept exactly as Desk gave it and treated as terminal.
INITIALIZED = "INITIALIZED"
SENT = "SENT"
RECEIVED = "RECEIVED"
ERROR = "ERROR"
TIMEOUT = "TIMEOUT"
KNOWN_STATUSES = frozenset({INITIALIZED, SENT, RECEIVED, ERROR, TIMEOUT})
# docs/desk-api.md#statuses: INITIALIZED and SENT are followed by RECEIVED, TIMEOUT or ERROR.
NON_TERMINAL_STATUSES = frozenset({INITIALIZED, SENT})
TERMINAL_STATUSES = frozenset({RECEIVED, ERROR, TIMEOUT})

CUSTOM = "CUSTOM"
DEFAULT_TIMEOUT_S = 60.0  # docs/desk-api.md#bots: timeoutSeconds defaults to 60

# Rejection reasons: low-cardinality values for otel_desk_receiver.entries.rejected.
NOT_AN_OBJECT = "not_an_object"
MISSING_ID = "missing_id"
BAD_ID = "bad_id"
MISSING_STATUS = "missing_status"
BAD_CREATED_AT = "bad_created_at"

# OTLP carries ids as int64 attributes and timestamps as nanoseconds in a fixed64: an entry outside these
# bounds parses but cannot be encoded, so it is malformed (an id >= 2**63 would also poison the cursor).
MAX_ID = 2**63 - 1
MAX_TIMESTAMP_NS = 2**63 - 1  # 2262-04-11, the SDK's own int64 limit


class MalformedEntryError(ValueError):
    """An item Desk returned cannot be used; ``reason`` is one short machine word.

    The message never quotes field values other than the id: entries may hold personal data.
    """

    def __init__(self, reason: str, detail: str, entry_id: int | None = None, raw: Any = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.entry_id = entry_id
        self.raw = raw


@dataclass(frozen=True)
class Bot:
    """One Desk bot; ``raw`` keeps every field as received."""

    id: int
    name: str
    key: str | None
    type: str
    status: str | None
    timeout_s: float
    is_unread_error: bool
    webhook_url: str | None
    raw: Mapping[str, Any]
    created_at_ns: int | None = None  # when the bot was made, if Desk says (a bot found later starts there)

    @property
    def is_custom(self) -> bool:
        """Only CUSTOM bots have webhooks and webhook logs (docs/desk-api.md#bots)."""
        return self.type == CUSTOM


@dataclass(frozen=True)
class WebhookLog:
    """One webhook log entry; ``raw`` keeps every field as received, unknown ones included."""

    id: int
    status: str
    webhook_url: str | None
    created_at_ns: int
    raw: Mapping[str, Any]


def parse_bot(raw: Mapping[str, Any]) -> Bot:
    """A Bot from Desk's JSON; only a missing or non-integer id is fatal."""
    if not isinstance(raw, Mapping):
        raise MalformedEntryError(NOT_AN_OBJECT, f"expected a JSON object, got {type(raw).__name__}")
    return Bot(
        id=_parse_id(raw),
        name=_str_or_none(raw.get("name")) or "",
        key=_str_or_none(raw.get("key")),
        type=_str_or_none(raw.get("type")) or "",
        status=_str_or_none(raw.get("status")),
        timeout_s=_timeout_s(raw.get("timeoutSeconds")),
        is_unread_error=raw.get("isUnreadError") is True,
        webhook_url=_str_or_none(raw.get("webhookUrl")),
        raw=dict(raw),
        created_at_ns=_timestamp_or_none(raw.get("createdAt")),
    )


def parse_webhook_log(raw: Any) -> WebhookLog:
    """A WebhookLog from Desk's JSON; raises MalformedEntryError naming the reason."""
    if not isinstance(raw, Mapping):
        raise MalformedEntryError(NOT_AN_OBJECT, f"expected a JSON object, got {type(raw).__name__}", raw=raw)
    entry_id = _parse_id(raw)
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise MalformedEntryError(MISSING_STATUS, "no status string", entry_id, raw)
    try:
        created_at_ns = parse_timestamp_ns(raw.get("createdAt"))
    except ValueError as error:
        raise MalformedEntryError(BAD_CREATED_AT, str(error), entry_id, raw) from None
    if not 0 <= created_at_ns <= MAX_TIMESTAMP_NS:
        raise MalformedEntryError(BAD_CREATED_AT, "createdAt is outside 1970..2262, which OTLP cannot carry",
                                  entry_id, raw)
    return WebhookLog(entry_id, status, _str_or_none(raw.get("webhookUrl")), created_at_ns, dict(raw))


# ISO 8601 as Desk writes it: any number of fractional digits, any zone form
# (docs/desk-api.md#dates-time-zones-and-retention).
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?",
    re.ASCII,
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_S = 86_400


@functools.lru_cache(maxsize=4096)
def _epoch_day(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a calendar date; ValueError if the date cannot exist. Cached: a page of
    entries spans few days, and building a datetime per entry was the costliest part of parsing (profile)."""
    return date(year, month, day).toordinal() - _EPOCH_ORDINAL


def parse_timestamp_ns(value: Any) -> int:
    """Nanoseconds since the epoch from an ISO 8601 string.

    Digits beyond nanoseconds are truncated. A timestamp without a zone is read as UTC:
    Desk is documented to send a zone, and its servers and API examples use UTC, so UTC
    is the likeliest meaning and keeps parsing independent of the receiver host's zone.
    """
    if not isinstance(value, str):
        raise ValueError(f"createdAt is {type(value).__name__}, not an ISO 8601 string")
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        raise ValueError("createdAt is not an ISO 8601 timestamp")
    year, month, day, hour, minute, second, fraction = match.groups()[:7]
    offset_s = 0
    if match["sign"]:
        offset_s = int(match["oh"]) * 3600 + int(match["om"] or 0) * 60
        offset_s = -offset_s if match["sign"] == "-" else offset_s
    hour, minute, second = int(hour), int(minute), int(second or 0)
    # The bounds datetime and timezone enforce: no leap second, offsets strictly within a day.
    if hour > 23 or minute > 59 or second > 59 or abs(offset_s) >= _DAY_S:
        raise ValueError("createdAt holds an impossible date or time")
    try:
        days = _epoch_day(int(year), int(month), int(day))
    except ValueError:
        raise ValueError("createdAt holds an impossible date or time") from None
    seconds = days * _DAY_S + hour * 3600 + minute * 60 + second - offset_s
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return seconds * NS_PER_S + nanos


def _parse_id(raw: Mapping[str, Any]) -> int:
    if "id" not in raw or raw["id"] is None:
        raise MalformedEntryError(MISSING_ID, "no id", raw=raw)
    value = entry_id_of(raw)
    if value is None:
        raise MalformedEntryError(BAD_ID, f"id is not an integer from 0 to 2**63-1 ({type(raw['id']).__name__})",
                                  raw=raw)
    return value


def entry_id_of(raw: Any) -> int | None:
    """The usable id of a raw item, or None: the same rule parsing applies, for items that may not parse.

    A decimal string is tolerated as the same id: the id being a JSON number is assumed (docs/desk-api.md#ids).
    """
    value = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(value, str) and value.isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return None
    return value


def _timestamp_or_none(value: Any) -> int | None:
    try:
        return parse_timestamp_ns(value)
    except ValueError:
        return None


def _timeout_s(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_TIMEOUT_S
    if not math.isfinite(value) or value <= 0:
        return DEFAULT_TIMEOUT_S
    return float(value)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
