"""Faults: deterministic one-shot failures and seeded random ones (rate limit, 5xx, latency,
malformed JSON, dropped connections), decided per API request after the token check."""

import math
import random
import threading
import time
from dataclasses import dataclass, replace

HOLD_MAX_S = 60.0  # a held answer goes out after this long whatever the test does (a failing test ends)


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering: ``kind`` is status, malformed, drop, repeat
    (serve the page from ``rows`` rows earlier, as an offset race repeats rows across pages) or hold (answer
    normally once ``release`` is set: a slow or hanging read without waiting for the clock). A malformed
    answer is a 200 with ``body``, or with a cut-off envelope when ``body`` is None; a status one carries
    ``body`` instead of a DRF-style detail when it is given."""

    kind: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    rows: int = 0
    body: bytes | None = None
    release: threading.Event | None = None  # hold: the answer waits until this is set (or HOLD_MAX_S)


@dataclass
class _Rule:
    remaining: int
    fault: Fault
    path_contains: str | None

    def matches(self, path: str) -> bool:
        """``path_contains`` is a substring of the path, or with a trailing ``$`` its end ("/bots$": the
        bot list only, not /bots/{id}/webhook_logs)."""
        if self.remaining <= 0 or self.path_contains is None:
            return self.remaining > 0
        if self.path_contains.endswith("$"):
            return path.endswith(self.path_contains[:-1])
        return self.path_contains in path


class Faults:
    """Fault plan shared by the server threads.

    One-shot rules (``fail_next``, ``malformed_next``, ``drop_next``) apply first, in the order
    they were added, to the next matching requests. Otherwise the random faults apply, each request's
    drawn from the emulator seed, its path (without the query) and how many times that path was asked
    before: the n-th request for one bot meets the same fault in every run, however the receiver's
    concurrent turns interleave (one RNG drawn in arrival order made a seeded storm a lottery under
    DESK_CONCURRENCY). The faults: a token-bucket rate limit answering 429 with a retry hint
    (docs/desk-api.md#errors-rate-limits-and-retry-after: `Retry-After` or `X-RateLimit-RetryAfter`), then
    5xx, malformed and dropped ratios. ``latency_s`` delays every answer.
    """

    def __init__(self, seed: int = 1, monotonic=time.monotonic):
        self._lock = threading.Lock()
        self._seed = seed
        self._asked: dict[str, int] = {}  # path (no query) -> requests drawn for so far
        self._monotonic = monotonic
        self._rules: list[_Rule] = []
        self._holds: list[threading.Event] = []
        self.configure()

    def fail_next(self, n: int = 1, status: int = 503, retry_after: float | None = None,
                  header: str = "Retry-After", path_contains: str | None = None,
                  body: str | bytes | None = None) -> None:
        """The next ``n`` matching requests answer ``status`` with a DRF-style detail, or ``body`` as given."""
        headers = ((header, _hint_text(retry_after)),) if retry_after is not None else ()
        self._add(n, Fault("status", status, headers, body=_raw(body)), path_contains)

    def malformed_next(self, n: int = 1, path_contains: str | None = None, body: str | bytes | None = None) -> None:
        """The next ``n`` matching requests answer 200 with a body that is not the JSON expected: a cut-off
        envelope, or ``body`` exactly as given (JSON nested too deep to decode, an HTML error page...)."""
        self._add(n, Fault("malformed", body=_raw(body)), path_contains)

    def drop_next(self, n: int = 1, path_contains: str | None = None) -> None:
        self._add(n, Fault("drop"), path_contains)

    def hold_next(self, n: int = 1, path_contains: str | None = None) -> threading.Event:
        """The next ``n`` matching requests are answered only once the returned event is set (or after
        HOLD_MAX_S, or at ``clear``): a read that hangs for as long as a test wants, on no clock."""
        release = threading.Event()
        self._add(n, Fault("hold", release=release), path_contains)
        with self._lock:
            self._holds.append(release)
        return release

    def repeat_next(self, n: int = 1, rows: int = 1, path_contains: str | None = "webhook_logs") -> None:
        """The next ``n`` matching pages start ``rows`` rows early: their first rows repeat the end of
        the page before (the envelope still describes the offset asked for)."""
        self._add(n, Fault("repeat", rows=rows), path_contains)

    def _add(self, n: int, fault: Fault, path_contains: str | None) -> None:
        with self._lock:
            self._rules.append(_Rule(n, fault, path_contains))

    def configure(self, rate_limit_rps: float | None = None, rate_limit_header: str = "Retry-After",
                  error_ratio: float = 0.0, latency_s: float = 0.0, malformed_ratio: float = 0.0,
                  drop_ratio: float = 0.0) -> None:
        """Replace the random faults; one-shot rules stay."""
        with self._lock:
            self.rate_limit_rps = rate_limit_rps or None
            self.rate_limit_header = rate_limit_header
            self.error_ratio, self.latency_s = error_ratio, latency_s
            self.malformed_ratio, self.drop_ratio = malformed_ratio, drop_ratio
            self._tokens = max(1.0, rate_limit_rps or 0.0)  # a one-second burst
            self._refilled_at = self._monotonic()

    def clear(self) -> None:
        """Remove every one-shot rule and random fault."""
        with self._lock:
            self._rules.clear()
            holds, self._holds = self._holds, []
        for release in holds:  # a held answer goes out now
            release.set()
        self.configure()

    def settings(self) -> dict:
        with self._lock:
            return {"rate_limit_rps": self.rate_limit_rps, "rate_limit_header": self.rate_limit_header,
                    "error_ratio": self.error_ratio, "latency_s": self.latency_s,
                    "malformed_ratio": self.malformed_ratio, "drop_ratio": self.drop_ratio,
                    "pending_one_shot": sum(rule.remaining for rule in self._rules)}

    def decide(self, path: str) -> Fault | None:
        """The fault for this request, or None to answer normally (a latency-only Fault has kind 'delay')."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(path):
                    rule.remaining -= 1
                    self._rules = [r for r in self._rules if r.remaining > 0]
                    return rule.fault
            fault = self._random_fault(path)
        if fault is None and self.latency_s > 0:
            return Fault("delay", delay_s=self.latency_s)
        if fault is not None and self.latency_s > 0:
            return replace(fault, delay_s=self.latency_s)
        return fault

    def _random_fault(self, path: str) -> Fault | None:
        wait_s = self._take_token()
        if wait_s:
            return Fault("status", 429, ((self.rate_limit_header, _seconds_text(wait_s)),))
        key = path.partition("?")[0]
        asked = self._asked[key] = self._asked.get(key, 0) + 1
        rng = random.Random(f"faults:{self._seed}:{key}:{asked}")
        draw = rng.random()
        if draw < self.error_ratio:
            return Fault("status", rng.choice((500, 502, 503)))
        draw -= self.error_ratio
        if draw < self.malformed_ratio:
            return Fault("malformed")
        if draw - self.malformed_ratio < self.drop_ratio:
            return Fault("drop")
        return None

    def _take_token(self) -> float:
        """Seconds until a token is free when the bucket is empty, else 0 (token taken)."""
        if not self.rate_limit_rps:
            return 0.0
        now = self._monotonic()
        capacity = max(1.0, self.rate_limit_rps)
        self._tokens = min(capacity, self._tokens + (now - self._refilled_at) * self.rate_limit_rps)
        self._refilled_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate_limit_rps


def _raw(body: str | bytes | None) -> bytes | None:
    return body.encode() if isinstance(body, str) else body


def _seconds_text(seconds: float) -> str:
    """Whole seconds, rounded up and at least 1, as HTTP's Retry-After wants."""
    return str(max(1, math.ceil(seconds)))


def _hint_text(seconds: float) -> str:
    """A test's hint exactly as given: '2' for 2 or 2.0, '0.5' for 0.5."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)
