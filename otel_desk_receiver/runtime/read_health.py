"""Read health per bot: Desk reads that failed, by error.type, and the time of each bot's last successful
read, so alert rules can tell "Desk unreachable", "one bot unreadable" and "rate limited for long" apart
from a bot that is merely quiet."""

import time
from collections.abc import Callable, Iterable

from opentelemetry.metrics import Meter

from otel_desk_receiver import names
from otel_desk_receiver.errors import DeskAuthError, DeskError, DeskRetryableError
from otel_desk_receiver.units import NS_PER_S


def read_error_type(error: DeskError) -> str:
    """The error.type of a failed read (names.READ_ERROR_TYPES), from what desk.transport raised."""
    status = error.status_code
    if isinstance(error, DeskAuthError) or status in (401, 403):
        return names.READ_ERROR_AUTH
    if status == 404:
        return names.READ_ERROR_NOT_FOUND
    if status == 429:
        return names.READ_ERROR_RATE_LIMITED
    if status is not None and status >= 500:
        return names.READ_ERROR_SERVER
    if status is None and isinstance(error, DeskRetryableError):
        return names.READ_ERROR_UNREACHABLE  # timeouts and dropped or refused connections carry no status
    return names.READ_ERROR_BAD_RESPONSE


class ReadHealth:
    """Records each Desk read's outcome for one app (``app``, its label: sendbird.app_id on every point; one
    ReadHealth per app, on the process's one meter).

    Guarantees: every error.type series of a bot exists at 0 from the moment the bot is first seen (and
    those of the bot listing, which has no bot id, from the start), because Prometheus' increase() does
    not count a series whose first sample is already non-zero: the first failure would be invisible.
    """

    def __init__(self, meter: Meter, app: str, clock_ns: Callable[[], int] = time.time_ns):
        self._app = app
        self._clock_ns = clock_ns
        self._failures = meter.create_counter(names.READ_FAILURES.name, unit=names.READ_FAILURES.unit,
                                              description=names.READ_FAILURES.description)
        self._last_success = meter.create_gauge(names.LAST_READ.name, unit=names.LAST_READ.unit,
                                                description=names.LAST_READ.description)
        self._seen: set[int | None] = set()
        self.discovered([None])

    def discovered(self, bot_ids: Iterable[int | None]) -> None:
        """Create the failure series of newly seen bots at 0 (None: the bot listing)."""
        for bot_id in bot_ids:
            if bot_id not in self._seen:
                self._seen.add(bot_id)
                for error_type in names.READ_ERROR_TYPES:
                    self._failures.add(0, _attributes(self._app, bot_id, error_type))

    def failed(self, bot_id: int | None, error: DeskError) -> None:
        self.discovered([bot_id])
        self._failures.add(1, _attributes(self._app, bot_id, read_error_type(error)))

    def succeeded(self, bot_id: int, bot_name: str) -> None:
        self.discovered([bot_id])
        self._last_success.set(self._clock_ns() / NS_PER_S, {names.ATTR_APP_ID: self._app, names.ATTR_BOT_ID: bot_id,
                                                             names.ATTR_BOT_NAME: bot_name})


def _attributes(app: str, bot_id: int | None, error_type: str) -> dict[str, int | str]:
    attributes: dict[str, int | str] = {names.ATTR_APP_ID: app, names.ATTR_ERROR_TYPE: error_type}
    if bot_id is not None:
        attributes[names.ATTR_BOT_ID] = bot_id
    return attributes
