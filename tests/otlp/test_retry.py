"""retry.py: the SDK's retry policy, decided without waiting (every case here answers at once)."""

import threading

import pytest

from otel_desk_receiver.otlp import retry
from otel_desk_receiver.otlp.retry import MAX_ATTEMPTS, Attempts


def test_the_backoff_doubles_with_20_percent_jitter():
    for attempt in range(MAX_ATTEMPTS):
        assert 0.8 * 2 ** attempt <= retry.backoff_s(attempt) <= 1.2 * 2 ** attempt


# (label, timeout_s, attempt, retryable, hint_s, closed, another attempt is due)
CASES = [
    ("a final answer", 60, 0, False, None, False, False),
    ("a hint of 0 s within the timeout", 60, 0, True, 0.0, False, True),
    ("the sixth attempt was the last", 60, MAX_ATTEMPTS - 1, True, 0.0, False, False),
    ("a backoff past the timeout", 0.5, 0, True, None, False, False),
    ("a hint past the timeout", 5, 0, True, 30.0, False, False),
    ("closed", 60, 0, True, 0.0, True, False),
]


@pytest.mark.parametrize(("timeout_s", "attempt", "retryable", "hint_s", "closed", "due"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_wait_decides(timeout_s, attempt, retryable, hint_s, closed, due):
    event = threading.Event()
    if closed:
        event.set()
    assert Attempts(timeout_s, event).wait(attempt, retryable, hint_s) is due


def test_close_during_a_wait_ends_it_with_no_attempt_due():
    closed = threading.Event()
    attempts = Attempts(60, closed)
    threading.Timer(0.05, closed.set).start()
    assert attempts.wait(0, True, 30.0) is False


def test_there_are_six_attempts_and_the_time_left_counts_down():
    attempts = Attempts(60, threading.Event())
    assert list(attempts) == list(range(6)) and 0 < attempts.remaining_s() <= 60
