"""Pure rules: has a webhook log entry settled, in which status, and by status or by age."""

import functools
from dataclasses import dataclass

from otel_desk_receiver.desk.models import NON_TERMINAL_STATUSES
from otel_desk_receiver.names import SETTLED_BY_AGE, SETTLED_BY_STATUS
from otel_desk_receiver.units import NS_PER_S


@dataclass(frozen=True)
class Settlement:
    status: str  # exactly as Desk gave it
    settled_by: str  # "status" or "age"


def settle(status: str, created_at_ns: int, *, timeout_s: float, grace_s: float, now_ns: int) -> Settlement | None:
    """The entry's settlement, or None while it may still change.

    Terminal, and unknown, statuses settle at once (docs/delivery.md#settling: an unknown status counts as
    terminal). INITIALIZED/SENT settle by age once older than the bot's timeout plus the grace.
    """
    if status not in NON_TERMINAL_STATUSES:
        return _settled_by_status(status)
    if now_ns - created_at_ns > (timeout_s + grace_s) * NS_PER_S:
        return Settlement(status, SETTLED_BY_AGE)
    return None


@functools.lru_cache(maxsize=64)
def _settled_by_status(status: str) -> Settlement:
    # One shared instance per status (Settlement is frozen): a backfill settles every entry by status.
    return Settlement(status, SETTLED_BY_STATUS)
