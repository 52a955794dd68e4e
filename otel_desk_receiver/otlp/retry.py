"""When an OTLP export is tried again: the policy the SDK's OTLP exporters follow, kept as it was.

Up to six attempts within the export timeout; before attempt n+1 a wait of 2**n seconds with 20 % jitter,
or the endpoint's own hint (HTTP Retry-After, gRPC RetryInfo); no wait that would end past the timeout.
Which answers are retried is the protocol's (http_sender.py, grpc_sender.py).
"""

import random
import threading
import time

MAX_ATTEMPTS = 6
JITTER = 0.2


def backoff_s(attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (0-based)."""
    return 2 ** attempt * random.uniform(1 - JITTER, 1 + JITTER)


class Attempts:
    """One export's attempts: the deadline, and the waits between them, cut short by ``closed``."""

    def __init__(self, timeout_s: float, closed: threading.Event):
        self.deadline = time.monotonic() + timeout_s
        self._closed = closed

    def remaining_s(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def __iter__(self):
        return iter(range(MAX_ATTEMPTS))

    def wait(self, attempt: int, retryable: bool, hint_s: float | None = None) -> bool:
        """After a failed ``attempt``: wait and return True if another one is due; False (at once) if the
        answer is final, the attempts are used up, the wait would pass the deadline, or the sender closed."""
        wait_s = backoff_s(attempt) if hint_s is None else hint_s
        if not retryable or attempt + 1 >= MAX_ATTEMPTS or wait_s > self.remaining_s() or self._closed.is_set():
            return False
        return not self._closed.wait(wait_s)
