"""The bot inventory, pure: a bot listing as each bot's state, and what changed between two listings."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import Bot


@dataclass(frozen=True)
class BotState:
    """What the inventory follows of one bot: its state as attributes of the gauge, its changes as records.

    ``webhook_host`` is the webhook URL's hostname[:port] only: its path, query and user info may hold a
    token (the emulator's bots carry one in each), so they never leave this module."""

    bot_id: int
    name: str
    type: str
    status: str | None  # as Desk gives it, unknown values too (docs/desk-api.md#bots); None when absent
    timeout_s: float
    webhook_host: str | None
    unread_error: bool


@dataclass(frozen=True)
class BotChange:
    """One change seen between two listings: ``kind`` one of names.BOT_CHANGES; ``bot`` as listed now (as last
    listed, for a removed bot); ``previous`` and ``current`` the values of a status, webhook host or timeout
    change, as text."""

    kind: str
    bot: BotState
    previous: str | None = None
    current: str | None = None


def webhook_host(url: str | None) -> str | None:
    """hostname[:port] of a webhook URL (the port only when the URL gives one), lowercased; None when it has no
    usable host. Never the user info, path or query."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port out of range or not a number, a bracket left open
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return host if port is None else f"{host}:{port}"


def bot_state(bot: Bot) -> BotState:
    return BotState(bot.id, bot.name, bot.type, bot.status, bot.timeout_s, webhook_host(bot.webhook_url),
                    bot.is_unread_error)


def listing(bots: Iterable[Bot]) -> dict[int, BotState]:
    """One bot listing as each bot's state, by bot id."""
    return {bot.id: bot_state(bot) for bot in bots}


def timeout_text(timeout_s: float) -> str:
    """A timeout as Desk's timeoutSeconds reads: 60, 7.5."""
    return f"{timeout_s:g}"


def diff(before: Mapping[int, BotState], after: Mapping[int, BotState]) -> list[BotChange]:
    """Every change from the listing ``before`` to ``after``, bot by bot in id order: a bot removed or added is
    one change; a listed bot has one change per value that moved (status, webhook host, timeout, the unread
    error flag). Anything else (a name, updatedAt, the webhook URL's path or query) is no change."""
    changes: list[BotChange] = []
    for bot_id in sorted(before.keys() | after.keys()):
        old, new = before.get(bot_id), after.get(bot_id)
        if new is None:
            changes.append(BotChange(names.BOT_REMOVED, old))
        elif old is None:
            changes.append(BotChange(names.BOT_ADDED, new))
        else:
            changes.extend(_changed(old, new))
    return changes


def _changed(old: BotState, new: BotState) -> Iterable[BotChange]:
    if old.status != new.status:
        yield BotChange(names.BOT_STATUS_CHANGED, new, old.status, new.status)
    if old.webhook_host != new.webhook_host:
        yield BotChange(names.BOT_WEBHOOK_HOST_CHANGED, new, old.webhook_host, new.webhook_host)
    if old.timeout_s != new.timeout_s:
        yield BotChange(names.BOT_TIMEOUT_CHANGED, new, timeout_text(old.timeout_s), timeout_text(new.timeout_s))
    if old.unread_error != new.unread_error:
        yield BotChange(names.BOT_UNREAD_ERROR_SET if new.unread_error else names.BOT_UNREAD_ERROR_CLEARED, new)
