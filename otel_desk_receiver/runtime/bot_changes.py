"""BotInventory: one app's bot listings as telemetry: a gauge per listed bot, a log record per change seen between
two listings (docs/bot-inventory.md)."""

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.pipeline.records import AttributeValue, EntryRecord
from otel_desk_receiver.runtime.inventory import BotChange, BotState, diff, listing, timeout_text
from otel_desk_receiver.runtime.selfmetrics import AppTelemetry

log = logging.getLogger(__name__)

SEVERITY_INFO = (9, "INFO")
SEVERITY_WARN = (13, "WARN")
# A change record the endpoint did not take is kept for the next listing; past this many (days of an endpoint
# down, changing bots) the oldest go, each said at WARNING: memory stays bounded, nothing goes silently.
MAX_KEPT = 1000


def change_record(app: str, change: BotChange, seen_ns: int) -> EntryRecord:
    """The log record of one change, seen by the listing taken at ``seen_ns``: the bot's state as listed (last
    listed, for a removed bot), the change's kind, and its values before and after. Its log.record.uid is the
    same each time it is sent again."""
    bot = change.bot
    attributes: dict[str, AttributeValue] = {
        names.ATTR_APP_ID: app,
        names.ATTR_LOG_RECORD_UID: f"{app}:{bot.bot_id}:change:{change.kind}:{seen_ns}",
        names.ATTR_BOT_ID: bot.bot_id,
        names.ATTR_BOT_NAME: bot.name,
        names.ATTR_BOT_CHANGE: change.kind,
    }
    if change.previous is not None:
        attributes[names.ATTR_BOT_CHANGE_FROM] = change.previous
    if change.current is not None:
        attributes[names.ATTR_BOT_CHANGE_TO] = change.current
    attributes.update(state_attributes(bot))
    severity_number, severity_text = SEVERITY_WARN if change.kind == names.BOT_UNREAD_ERROR_SET else SEVERITY_INFO
    return EntryRecord(timestamp_ns=seen_ns, observed_timestamp_ns=seen_ns, severity_number=severity_number,
                       severity_text=severity_text, event_name=names.BOT_CHANGE_EVENT_NAME,
                       body=change_line(change), attributes=attributes)


def state_attributes(bot: BotState) -> dict[str, AttributeValue]:
    """The bot's state as attributes (of the gauge's point and of each change record); a value Desk left out is
    left out."""
    attributes: dict[str, AttributeValue] = {}
    if bot.status is not None:
        attributes[names.ATTR_BOT_STATUS] = bot.status
    attributes[names.ATTR_BOT_TYPE] = bot.type
    attributes[names.ATTR_BOT_TIMEOUT] = int(bot.timeout_s) if bot.timeout_s.is_integer() else bot.timeout_s
    if bot.webhook_host is not None:
        attributes[names.ATTR_BOT_WEBHOOK_HOST] = bot.webhook_host
    return attributes


def change_line(change: BotChange) -> str:
    """One line saying the change: the record's body, and the receiver's own log line."""
    bot = change.bot
    what = {
        names.BOT_ADDED: f"added (status {bot.status}, webhook host {bot.webhook_host}, timeout "
                         f"{timeout_text(bot.timeout_s)} s)",
        names.BOT_REMOVED: "removed from the bot listing",
        names.BOT_STATUS_CHANGED: f"status {change.previous} -> {change.current}",
        names.BOT_WEBHOOK_HOST_CHANGED: f"webhook host {change.previous} -> {change.current}",
        names.BOT_TIMEOUT_CHANGED: f"timeout {change.previous} s -> {change.current} s",
        names.BOT_UNREAD_ERROR_SET: "unread error flag set: an unchecked error is in its webhook logs",
        names.BOT_UNREAD_ERROR_CLEARED: "unread error flag cleared",
    }[change.kind]
    return f"bot {bot.name!r} ({bot.bot_id}) {what}"


class BotInventory:
    """Observes each bot listing the app's poller publishes (``listed``, WatchedBots.subscribe): the bots of the
    last listing are the points of the gauge names.BOT_STATE, and each change since the listing before is one
    log record (names.BOT_CHANGE_EVENT_NAME) delivered through the app's entry exporter.

    The first listing after the start is the baseline: it makes no record. A record the endpoint does not accept
    (down, or failing) is kept, in order, and sent again with the next listing under the same log.record.uid;
    one it refuses for itself is said at WARNING and not sent again (it would be refused again). Kept records
    live in memory: a stop loses them, and the next start's first listing is a new baseline.
    """

    def __init__(self, telemetry: AppTelemetry, exporter, *, clock_ns: Callable[[], int] = time.time_ns,
                 max_kept: int = MAX_KEPT):
        self.app = telemetry.app
        self._exporter = exporter
        self._clock_ns = clock_ns
        self._max_kept = max_kept
        self._current: dict[int, BotState] | None = None
        self._kept: list[EntryRecord] = []
        self._lock = threading.Lock()
        telemetry.observe(names.BOT_STATE, self.points)

    def listed(self, bots: Sequence[Bot]) -> None:
        """A new listing: its changes since the last one recorded and sent with any kept before."""
        seen_ns = self._clock_ns()
        now = listing(bots)
        with self._lock:
            before, self._current = self._current, now
            changes = [] if before is None else diff(before, now)
            for change in changes:
                log.info("%s", change_line(change))
            self._kept.extend(change_record(self.app, change, seen_ns) for change in changes)
            self._drop_oldest()
            if self._kept:
                try:
                    self._send()
                except Exception:  # noqa: BLE001 - telemetry about the listing must never stop the polling
                    log.exception("sending %d bot change record(s) failed: kept, sent again with the next bot "
                                  "listing", len(self._kept))

    def points(self) -> Iterable[tuple[int, dict]]:
        """The gauge's points: 1 for each bot of the last listing, with its id, name and state."""
        for bot in (self._current or {}).values():
            yield 1, {names.ATTR_BOT_ID: bot.bot_id, names.ATTR_BOT_NAME: bot.name, **state_attributes(bot)}

    @property
    def kept(self) -> int:
        """Change records waiting for the next listing."""
        return len(self._kept)

    def _send(self) -> None:
        delivery = self._exporter.deliver(self._kept)
        done = {id(record) for record in delivery.accepted}
        for rejection in delivery.rejected:
            done.add(id(rejection.record))
            log.warning("a bot change record was refused by the OTLP endpoint (%s: %s), not sent again: %s",
                        rejection.reason, rejection.detail, rejection.record.body)
        self._kept = [record for record in self._kept if id(record) not in done]
        if self._kept:
            reason = delivery.failure.reason if delivery.failure is not None else "not accepted"
            log.warning("%d bot change record(s) not delivered (%s): kept, sent again with the next bot listing",
                        len(self._kept), reason)

    def _drop_oldest(self) -> None:
        excess = len(self._kept) - self._max_kept
        if excess > 0:
            for record in self._kept[:excess]:
                log.warning("bot change record dropped unsent: more than %d waiting for the OTLP endpoint: %s",
                            self._max_kept, record.body)
            del self._kept[:excess]
