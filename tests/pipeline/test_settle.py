"""settle(): terminal and unknown statuses settle at once; INITIALIZED/SENT only past timeout + grace."""

import pytest

from otel_desk_receiver.pipeline.settle import Settlement, settle
from otel_desk_receiver.units import NS_PER_S

NOW = 1_800_000_000 * NS_PER_S

CASES = [
    ("received", "RECEIVED", 5, Settlement("RECEIVED", "status")),
    ("error", "ERROR", 5, Settlement("ERROR", "status")),
    ("timeout", "TIMEOUT", 5, Settlement("TIMEOUT", "status")),
    ("unknown status is terminal", "RETRYING", 5, Settlement("RETRYING", "status")),
    ("fresh sent waits", "SENT", 10, None),
    ("sent at exactly timeout+grace waits", "SENT", 60 + 30, None),
    ("sent past timeout+grace settles by age", "SENT", 60 + 31, Settlement("SENT", "age")),
    ("initialized past timeout+grace", "INITIALIZED", 1000, Settlement("INITIALIZED", "age")),
    ("fresh initialized waits", "INITIALIZED", 1, None),
]


@pytest.mark.parametrize(("status", "age_s", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_settle(status, age_s, expected):
    assert settle(status, NOW - age_s * NS_PER_S, timeout_s=60, grace_s=30, now_ns=NOW) == expected
