"""DeskClock: Desk's now from the Date of its answers, corrected by the least the header proves."""

import logging
from email.utils import formatdate

import pytest

from otel_desk_receiver.desk.clock import DeskClock, http_date_ns

NS = 10**9
DESK_S = 1_790_000_000  # Desk's clock when it stamped the answer, a whole second


def observed(receiver_minus_desk_s: float, duration_s: float = 0.2, date: str | None = None) -> DeskClock:
    """A DeskClock after one answer stamped at DESK_S + 0.4 s, received ``duration_s`` after it was asked."""
    received_ns = int((DESK_S + 0.4 + receiver_minus_desk_s) * NS)
    clock = DeskClock(lambda: received_ns, warn_over_s=60)
    clock.observe(formatdate(DESK_S, usegmt=True) if date is None else date, duration_s)
    return clock


@pytest.mark.parametrize("receiver_minus_desk_s, offset_s", [
    pytest.param(0, 0, id="in-step"),
    pytest.param(0.5, 0, id="half-a-second-ahead-is-within-what-Date-can-tell"),
    pytest.param(-0.3, 0, id="a-little-behind-within-the-second"),
    pytest.param(600, -(600 - 0.8), id="10-minutes-ahead"),  # Date + 1 s - sent: the least correction
    pytest.param(-600, 600 - 0.4, id="10-minutes-behind"),  # Date - received
])
def test_the_offset_is_the_least_the_date_proves(receiver_minus_desk_s, offset_s):
    assert observed(receiver_minus_desk_s).offset_s == pytest.approx(offset_s, abs=1e-6)


@pytest.mark.parametrize("date", ["", "yesterday", "Sun, 06 Dec 2026 23:48:31 -0000", "Mon, 99 Foo 2026 25:61:61 GMT"])
def test_an_answer_without_a_usable_date_leaves_the_clock_as_it_was(date):
    assert observed(600, date=date).offset_s == 0
    assert http_date_ns(date) is None


def test_the_skew_is_said_once_when_it_passes_the_grace_and_once_when_it_is_back(caplog):
    now = [DESK_S * NS + 120 * NS]
    clock = DeskClock(lambda: now[0], warn_over_s=60)
    with caplog.at_level(logging.INFO, logger="otel_desk_receiver.desk.clock"):
        for _ in range(3):
            clock.observe(formatdate(DESK_S, usegmt=True), 0.1)
        assert clock.now_ns() == pytest.approx(DESK_S * NS + NS, abs=0.2 * NS)
        now[0] = DESK_S * NS
        clock.observe(formatdate(DESK_S, usegmt=True), 0.1)
    assert [(r.levelname, r.getMessage()[:45]) for r in caplog.records] == [
        ("WARNING", "this host's clock is 119 s ahead of Desk's (t"),
        ("INFO", "this host's clock agrees with Desk's again (w"),
    ]
    assert clock.offset_s == 0
