"""Resources as the Desk API serves them: bot dicts and webhook log entry dicts (camelCase)."""

import json
from datetime import tzinfo

from otel_desk_receiver.devkit.emulator.store import ERROR, RECEIVED, SENT, BotLog, StatusTable
from otel_desk_receiver.devkit.emulator.timefmt import format_created_at, iso_utc

BOT_TYPES = ("CUSTOM", "FAQ")
BOT_STATUSES = ("ACTIVE", "INACTIVE", "PAUSED", "PENDING")
MAX_TIMEOUT_SECONDS = 300  # docs/desk-api.md#bots: default 60, at most 300
# Customer messages: personal data that only an explicit opt-in may export
# (docs/desk-api.md#what-a-log-entry-stands-for).
MESSAGES = (
    "Hi, where is my order #{n}?",
    "My email is jane.doe{n}@example.com, please call me back",
    "I want a refund for invoice {n}",
    "The app crashes when I open my profile",
    "Can I change my delivery address to 12 Main St?",
)
# The requestBody field pre-encoded once; only {n} is filled per entry.
_REQUEST_BODIES = tuple(json.dumps({"eventType": "MESSAGE.RECEIVED", "message": m}) for m in MESSAGES)


def new_bot(bot_id: int, name: str, bot_type: str, project: int, now_us: int, webhook_url: str | None,
            timeout_seconds: int, status: str, is_unread_error: bool) -> dict:
    """A bot with every known field (docs/desk-api.md#bots); FAQ bots have no webhookUrl."""
    check_bot_fields(type=bot_type, status=status, timeout_seconds=timeout_seconds)
    if bot_type == "CUSTOM" and webhook_url is None:
        webhook_url = f"https://bots.example.com/{name}/webhook"
    return {
        "id": bot_id,
        "name": name,
        "type": bot_type,
        "project": project,
        "key": f"desk_bot_{name}_{bot_id}",
        "status": status,
        "photoUrl": f"https://static.example.com/bots/{bot_id}.png",
        "webhookUrl": webhook_url if bot_type == "CUSTOM" else None,
        "createdAt": iso_utc(now_us),
        "updatedAt": iso_utc(now_us),
        "isUnreadError": is_unread_error,
        "welcomeMessage": f"Hi, I am {name}. How can I help?",
        "timeoutSeconds": timeout_seconds,
    }


def check_bot_fields(**fields) -> None:
    """Reject values the real service could not hold; ValueError names the field."""
    if "type" in fields and fields["type"] not in BOT_TYPES:
        raise ValueError(f"type must be one of {BOT_TYPES} (got {fields['type']!r})")
    if "status" in fields and fields["status"] not in BOT_STATUSES:
        raise ValueError(f"status must be one of {BOT_STATUSES} (got {fields['status']!r})")
    url = fields.get("webhook_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise ValueError(f"webhook_url must be an http(s) URL or null (got {url!r})")
    timeout = fields.get("timeout_seconds", 60)
    if not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"timeout_seconds must be an integer 1..{MAX_TIMEOUT_SECONDS} (got {timeout!r})")


def render_entry(log: BotLog, i: int, now_us: int, statuses: StatusTable, bot: dict, zone: tzinfo) -> dict:
    """One entry as served: the known fields plus unknown extras a client must keep but never
    depend on (docs/desk-api.md#webhook-logs: any other field is unknown), one of which carries message text."""
    entry_id = log.ids[i]
    code = log.status_code(i, now_us)
    entry = {
        "id": entry_id,
        "status": statuses.names[code],
        "webhookUrl": log.webhook_url_at(log.created[i], bot["webhookUrl"]),
        "createdAt": format_created_at(log.created[i], entry_id, zone),
        "botWebhookEventId": f"evt_{entry_id * 2654435761 % 2**32:08x}",
        "responseTimeMs": 50 + entry_id * 7919 % 4000 if code == RECEIVED else None,
        "botResponseStatus": _bot_http_status(code, entry_id),
        "requestBody": _REQUEST_BODIES[entry_id % len(MESSAGES)].replace("{n}", str(entry_id)),
    }
    override = log.overrides.get(entry_id)
    if override:
        entry.update(override)
    return entry


def _bot_http_status(code: int, entry_id: int) -> int | None:
    if code in (SENT, RECEIVED):
        return 200
    if code == ERROR:
        return (500, 502, 404, 403)[entry_id % 4]
    return None  # INITIALIZED or TIMEOUT: the bot never answered
