"""Rate cap, retry classification, retry hints and backoff, on a fake clock."""

import random
import threading

import pytest

from otel_desk_receiver.desk.throttle import (
    MAX_HINT_S,
    Outcome,
    RateLimiter,
    RetryPolicy,
    classify_status,
    parse_hint_value,
    parse_retry_hint,
)

NOW_S = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def test_rate_cap_spaces_request_starts(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(2.0, clock.monotonic)
    starts = []
    for _ in range(10):
        clock.sleep(limiter.reserve())
        starts.append(clock.now_s)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert starts[0] == 1000.0  # the first request goes at once
    assert all(gap == pytest.approx(0.5) for gap in gaps)


def test_rate_cap_does_not_save_up_idle_time(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(4.0, clock.monotonic)
    assert limiter.reserve() == 0.0
    clock.sleep(60.0)
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.25)


def test_rate_cap_is_shared_by_threads(fake_clock):
    clock = fake_clock
    limiter = RateLimiter(10.0, clock.monotonic)
    delays: list[float] = []
    lock = threading.Lock()

    def reserve_many():
        for _ in range(50):
            delay = limiter.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=reserve_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # The clock never moved, so 200 slots booked 0.1 s apart: each delay exactly once.
    assert sorted(round(delay, 6) for delay in delays) == [round(n * 0.1, 6) for n in range(200)]


@pytest.mark.parametrize("max_rps", [0, -1, float("inf"), float("nan")])
def test_rate_cap_refuses_nonsense(max_rps):
    with pytest.raises(ValueError):
        RateLimiter(max_rps)


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.OK), (204, Outcome.OK),
    (401, Outcome.AUTH), (403, Outcome.AUTH),
    (408, Outcome.RETRY), (429, Outcome.RETRY), (500, Outcome.RETRY), (502, Outcome.RETRY),
    (503, Outcome.RETRY), (504, Outcome.RETRY), (599, Outcome.RETRY),
    (301, Outcome.FAIL), (400, Outcome.FAIL), (404, Outcome.FAIL), (405, Outcome.FAIL), (422, Outcome.FAIL),
], ids=lambda value: str(value.value if isinstance(value, Outcome) else value))
def test_status_classification(status, outcome):
    assert classify_status(status) is outcome


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("3", 3.0, id="seconds"),
    pytest.param(" 7 ", 7.0, id="seconds-padded"),
    pytest.param("1.5", 1.5, id="fractional-seconds"),
    pytest.param("0", 0.0, id="zero"),
    pytest.param(str(NOW_S + 12), 12.0, id="epoch-seconds-future"),
    pytest.param(str(int((NOW_S + 8.5) * 1000)), 8.5, id="epoch-millis-future"),
    pytest.param(str(NOW_S - 50), 0.0, id="epoch-seconds-past"),
    pytest.param(str(int((NOW_S - 5) * 1000)), 0.0, id="epoch-millis-past"),
    pytest.param("Tue, 14 Nov 2023 22:13:50 GMT", 30.0, id="http-date"),
    pytest.param("Tue, 14 Nov 2023 22:00:00 GMT", 0.0, id="http-date-past"),
    pytest.param("-4", None, id="negative"),
    pytest.param("soon", None, id="words"),
    pytest.param("nan", None, id="nan"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="absent"),
])
def test_hint_value_forms(value, expected):
    hint = parse_hint_value(value, NOW_S)
    assert hint == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(("headers", "expected"), [
    pytest.param({"Retry-After": "4"}, 4.0, id="retry-after"),
    pytest.param({"retry-after": "4"}, 4.0, id="retry-after-lowercase"),
    pytest.param({"X-RateLimit-RetryAfter": "6"}, 6.0, id="x-ratelimit"),
    pytest.param({"x-ratelimit-retryafter": "6"}, 6.0, id="x-ratelimit-lowercase"),
    pytest.param({"Retry-After": "2", "X-RateLimit-RetryAfter": "9"}, 9.0, id="both-longer-wins"),
    pytest.param({"Retry-After": "junk", "X-RateLimit-RetryAfter": "9"}, 9.0, id="one-invalid"),
    pytest.param({"Retry-After": "86400"}, MAX_HINT_S, id="capped"),
    pytest.param({"Content-Type": "application/json"}, None, id="none"),
])
def test_retry_hint_headers(headers, expected):
    assert parse_retry_hint(headers, NOW_S) == expected


def test_retry_hint_cap_is_configurable():
    assert parse_retry_hint({"Retry-After": "50"}, NOW_S, max_hint_s=20.0) == 20.0


def test_backoff_ceiling_grows_exponentially_to_the_cap():
    policy = RetryPolicy(base_s=0.5, cap_s=30.0)
    assert [policy.backoff_ceiling_s(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.backoff_ceiling_s(10_000) == 30.0


def test_full_jitter_stays_within_bounds_and_varies():
    policy = RetryPolicy(base_s=0.5, cap_s=30.0, rng=random.Random(7))
    for attempt in range(1, 10):
        delays = [policy.delay_s(attempt) for _ in range(200)]
        ceiling = policy.backoff_ceiling_s(attempt)
        assert all(0.0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the whole range
        assert len(set(delays)) > 150


def test_seeded_jitter_is_reproducible():
    first = RetryPolicy(rng=random.Random(3))
    second = RetryPolicy(rng=random.Random(3))
    assert [first.delay_s(n) for n in range(1, 7)] == [second.delay_s(n) for n in range(1, 7)]


@pytest.mark.parametrize(("hint", "expected"), [
    pytest.param(4.0, 4.0, id="honoured-as-given"),
    pytest.param(0.0, 0.0, id="zero"),
    pytest.param(1000.0, MAX_HINT_S, id="capped"),
])
def test_hint_replaces_backoff(hint, expected):
    assert RetryPolicy(rng=random.Random(1)).delay_s(1, hint) == expected


def test_attempt_budget():
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(n) for n in (1, 2, 3)] == [True, True, False]
    assert RetryPolicy().max_attempts == 6
    assert (RetryPolicy().base_s, RetryPolicy().cap_s) == (0.5, 30.0)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"max_attempts": 0}, id="no-attempts"),
    pytest.param({"base_s": -1.0}, id="negative-base"),
    pytest.param({"cap_s": -1.0}, id="negative-cap"),
])
def test_retry_policy_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_a_hold_delays_every_request_booked_after_it(fake_clock):
    limiter = RateLimiter(10.0, fake_clock.monotonic)
    assert limiter.reserve() == 0.0
    limiter.hold(2.0)
    assert limiter.reserve() == pytest.approx(2.0)
    assert limiter.reserve() == pytest.approx(2.1)  # then spaced as before
    limiter.hold(1.0)  # a shorter hold moves nothing booked later
    assert limiter.reserve() == pytest.approx(2.2)
