"""Request-rate cap, retry classification, retry hints and jittered backoff; pure, clock injected."""

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from enum import Enum

MAX_HINT_S = 300.0  # a retry hint longer than five minutes is treated as five minutes
RETRY_AFTER_HEADERS = ("Retry-After", "X-RateLimit-RetryAfter")  # docs/desk-api.md#errors-rate-limits-and-retry-after
# Numeric hints above these are absolute epoch times, not delays: no sane delay is 30+ years.
_EPOCH_MS_FLOOR = 1e12
_EPOCH_S_FLOOR = 1e9


class RateLimiter:
    """Keeps request starts at least ``1 / max_rps`` apart; thread-safe.

    Minimum spacing rather than a bucket allowing bursts: Desk publishes no limit, so the
    client stays gentle (docs/desk-api.md#errors-rate-limits-and-retry-after). ``reserve`` books the next slot
    and returns how long the caller must wait for it, so no lock is held while waiting.
    """

    def __init__(self, max_rps: float, monotonic: Callable[[], float] = time.monotonic):
        if not max_rps > 0 or not math.isfinite(max_rps):
            raise ValueError("max_rps must be a positive number")
        self.interval_s = 1.0 / max_rps
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_s: float | None = None

    def reserve(self) -> float:
        """Book the next request slot; return the seconds to wait before sending."""
        with self._lock:
            now = self._monotonic()
            start = now if self._next_s is None else max(now, self._next_s)
            self._next_s = start + self.interval_s
            return start - now

    def hold(self, seconds: float) -> None:
        """No request slot before ``seconds`` from now (Desk's 429 hint: its rate limit is the app's, so every
        caller waits, not only the one it answered)."""
        with self._lock:
            until = self._monotonic() + seconds
            self._next_s = until if self._next_s is None else max(self._next_s, until)


class Outcome(Enum):
    """What to do with an HTTP status."""

    OK = "ok"
    RETRY = "retry"
    AUTH = "auth"
    FAIL = "fail"


def classify_status(status_code: int) -> Outcome:
    """2xx OK; 401/403 AUTH (fatal misconfiguration); 408, 429, 5xx RETRY; anything else FAIL."""
    if 200 <= status_code < 300:
        return Outcome.OK
    if status_code in (401, 403):
        return Outcome.AUTH
    if status_code in (408, 429) or 500 <= status_code < 600:
        return Outcome.RETRY
    return Outcome.FAIL


def parse_retry_hint(headers: Mapping[str, str], now_s: float, max_hint_s: float = MAX_HINT_S) -> float | None:
    """Seconds to wait from ``Retry-After`` or ``X-RateLimit-RetryAfter``, capped; None if absent.

    When both are present and valid the longer wait wins: honouring the stricter one is
    the gentle choice. ``now_s`` is wall-clock epoch seconds, for absolute forms.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    hints = [parse_hint_value(lowered.get(name.lower()), now_s) for name in RETRY_AFTER_HEADERS]
    valid = [hint for hint in hints if hint is not None]
    return min(max(valid), max_hint_s) if valid else None


def parse_hint_value(value: str | None, now_s: float) -> float | None:
    """One header value: delay seconds, epoch seconds or milliseconds, or an HTTP-date.

    Retry-After is delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). Sendbird
    documents X-RateLimit-RetryAfter as seconds, but some of its APIs have sent epoch
    times; a number too large to be a delay (above 1e9) is read as epoch seconds, above
    1e12 as epoch milliseconds, and becomes the time left until then (0 if past).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        return _http_date_delay(text, now_s)
    if not math.isfinite(number) or number < 0:
        return None
    if number >= _EPOCH_MS_FLOOR:
        return max(0.0, number / 1000.0 - now_s)
    if number >= _EPOCH_S_FLOOR:
        return max(0.0, number - now_s)
    return number


def _http_date_delay(text: str, now_s: float) -> float | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now_s)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with full jitter, hints honoured.

    Attempt n (1-based) that failed waits uniformly in [0, min(cap_s, base_s * 2**(n-1))],
    unless Desk gave a hint, which is honoured as given (capped at ``max_hint_s``).
    """

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    max_hint_s: float = MAX_HINT_S
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.cap_s < 0 or self.max_hint_s < 0:
            raise ValueError("backoff durations must not be negative")

    def backoff_ceiling_s(self, attempt: int) -> float:
        """The longest jittered wait after failed attempt ``attempt``."""
        # Bound the exponent so a huge attempt number cannot overflow a float.
        return min(self.cap_s, self.base_s * 2.0 ** min(attempt - 1, 64))

    def delay_s(self, attempt: int, hint_s: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one."""
        if hint_s is not None:
            return min(max(hint_s, 0.0), self.max_hint_s)
        return self.rng.uniform(0.0, self.backoff_ceiling_s(attempt))

    def should_retry(self, attempt: int) -> bool:
        """Whether another attempt follows failed attempt ``attempt``."""
        return attempt < self.max_attempts
