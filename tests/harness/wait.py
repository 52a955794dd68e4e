"""The one poll-until-deadline loop of the suite."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

WAIT_S = 60.0  # long enough for a loaded 2-core CI machine; a passing test returns as soon as it can


def wait_until(condition: Callable[[], T], timeout_s: float = WAIT_S, what: str = "the condition",
               poll_s: float = 0.05) -> T:
    """Call ``condition`` until it returns something truthy, and return that; an AssertionError naming
    ``what`` once ``timeout_s`` has passed (the condition is always tried once more at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)
