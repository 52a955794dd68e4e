"""Pure: a settled webhook log entry and its bot become one EntryRecord; redaction and uid live here."""

import functools
import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from otel_desk_receiver import names
from otel_desk_receiver.pipeline.records import AttributeValue, EntryRecord
from otel_desk_receiver.pipeline.settle import Settlement
from otel_desk_receiver.desk.models import NON_TERMINAL_STATUSES
from otel_desk_receiver.names import REDACTED

# docs/desk-api.md#webhook-logs: the fields whose meaning is known. Anything else
# is exported only when the user opts in (DESK_EXPORT_EXTRA_FIELDS): it may carry personal data.
KNOWN_ENTRY_FIELDS = frozenset({"id", "status", "webhookUrl", "createdAt"})
ALL_SCALAR_FIELDS = "*"

SEVERITY_INFO = (9, "INFO")
SEVERITY_WARN = (13, "WARN")
SEVERITY_ERROR = (17, "ERROR")
STATUS_SEVERITY = {"RECEIVED": SEVERITY_INFO, "ERROR": SEVERITY_ERROR, "TIMEOUT": SEVERITY_ERROR}


def record_uid(app: str, bot_id: int, entry_id: int) -> str:
    """The same entry always gets the same uid, so a redelivered record can be recognised downstream."""
    return f"{app}:{bot_id}:{entry_id}"


def severity_for(settlement: Settlement) -> tuple[int, str]:
    if settlement.status in NON_TERMINAL_STATUSES:
        return SEVERITY_WARN  # settled by age while still INITIALIZED/SENT: no answer ever seen
    return STATUS_SEVERITY.get(settlement.status, SEVERITY_INFO)


# Cached: entries carry their bot's webhook URL, so a backfill redacts the same few URLs again and
# again; parsing each one was a third of the mapping's time in the profile (benchmarks/RESULTS.md).
@functools.lru_cache(maxsize=1024)
def redact_url(url: str | None) -> tuple[str | None, str | None]:
    """(url.full, server.address): user info, every query value and every bare query item replaced by REDACTED."""
    if not url:
        return None, None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None, None
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@" + netloc.rsplit("@", 1)[1]
    # Every value goes, and a bare item (``?abc123``, no ``=``) whole: it is a value, a token most likely.
    query = "&".join(f"{unquote_plus(key)}={REDACTED}" if sep else REDACTED
                     for key, sep, _ in (item.partition("=") for item in parts.query.split("&") if item))
    del port  # parsed only to reject malformed ports above
    return urlunsplit((parts.scheme, netloc, parts.path, query, "")), host


def extra_attributes(raw: Mapping[str, Any], wanted: Collection[str]) -> dict[str, AttributeValue]:
    """Opted-in entry fields as sendbird.desk.webhook_log.<field>: named fields (non-scalars as JSON),
    or with "*" every scalar field beyond the known ones."""
    every_scalar = ALL_SCALAR_FIELDS in wanted
    attributes: dict[str, AttributeValue] = {}
    for key, value in raw.items():
        if key in KNOWN_ENTRY_FIELDS or value is None:
            continue
        if key in wanted:
            scalar = isinstance(value, str | int | float | bool)
            attributes[names.ATTR_EXTRA_FIELD_PREFIX + key] = value if scalar else json.dumps(value, sort_keys=True)
        elif every_scalar and isinstance(value, str | int | float | bool):
            attributes[names.ATTR_EXTRA_FIELD_PREFIX + key] = value
    return attributes


def to_log_record(entry, bot, settlement: Settlement, *, app: str, observed_ns: int,
                  extra_fields: Collection[str] = ()) -> EntryRecord:
    """The README's log record for one settled entry (entry: desk.models.WebhookLog, bot: desk.models.Bot) of the
    app labelled ``app`` (sendbird.app_id, and the first part of log.record.uid)."""
    url_full, host = redact_url(entry.webhook_url)
    attributes: dict[str, AttributeValue] = {
        names.ATTR_APP_ID: app,  # which app the record is of, whatever else shares the process or the backend
        names.ATTR_LOG_RECORD_UID: record_uid(app, bot.id, entry.id),
        names.ATTR_BOT_ID: bot.id,
        names.ATTR_BOT_NAME: bot.name,
        names.ATTR_WEBHOOK_LOG_ID: entry.id,
        names.ATTR_WEBHOOK_LOG_STATUS: settlement.status,
        names.ATTR_SETTLED_BY: settlement.settled_by,
    }
    if bot.key:
        attributes[names.ATTR_BOT_KEY] = bot.key
    if url_full:
        attributes[names.ATTR_URL_FULL] = url_full
        attributes[names.ATTR_SERVER_ADDRESS] = host
    if extra_fields:
        attributes.update(extra_attributes(entry.raw, extra_fields))
    severity_number, severity_text = severity_for(settlement)
    return EntryRecord(
        timestamp_ns=entry.created_at_ns,
        observed_timestamp_ns=observed_ns,
        severity_number=severity_number,
        severity_text=severity_text,
        event_name=names.EVENT_NAME,
        body=body_line(settlement, bot, host),
        attributes=attributes,
    )


def body_line(settlement: Settlement, bot, host: str | None) -> str:
    """One line naming the status, the bot and the endpoint host (never the message text)."""
    age = " (no final status before timeout + grace)" if settlement.settled_by == names.SETTLED_BY_AGE else ""
    return f"{settlement.status}{age}: bot {bot.name!r} ({bot.id}) webhook to {host or 'unknown host'}"
