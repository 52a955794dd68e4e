"""units: durations said in the unit that shows them."""

import pytest

from otel_desk_receiver.units import duration_text

DURATIONS = [
    ("10 ms timeout", 0.01, "10 ms"),
    ("sub-millisecond", 0.0004, "0.4 ms"),
    ("just below a second", 0.9994, "999.4 ms"),
    ("one second", 1.0, "1 s"),
    ("tenths", 2.25, "2.2 s"),
    ("minutes stay seconds", 90.0, "90 s"),
    ("zero", 0.0, "0 ms"),
]


@pytest.mark.parametrize(("seconds", "text"), [case[1:] for case in DURATIONS], ids=[case[0] for case in DURATIONS])
def test_a_duration_is_said_in_milliseconds_below_a_second(seconds, text):
    assert duration_text(seconds) == text
