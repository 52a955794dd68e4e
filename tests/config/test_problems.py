"""A refused value as the line a user reads: where it was given, what its field accepts, with the field's own
bounds (no second table), and the value as given."""

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from otel_desk_receiver.config.kinds import Accepts, Duration
from otel_desk_receiver.config.problems import field_lines, shown_value


class Narrow(BaseModel):
    """Bounds other than the receiver's, stated once each, in the fields."""

    page_size: Annotated[int, Accepts("an integer")] = Field(10, ge=2, le=10)
    rate: Annotated[float, Accepts("a number of requests per second", joiner=", ")] = Field(1.0, gt=0.5, le=7)
    interval: Annotated[float, Duration("30s", "5m")] = Field(60.0, ge=30, le=7200)
    name: Annotated[str, Accepts("a name of {range}")] = Field("ab", min_length=2, max_length=5)


BOUNDS_FOLLOW = [
    ("page_size", 11, "page_size: expected an integer from 2 to 10 (got 11)"),
    ("rate", 0.5, "rate: expected a number of requests per second, more than 0.5 and at most 7 (got 0.5)"),
    ("interval", "10s", "interval: expected a duration such as 30s or 5m, from 30s to 2h (got '10s')"),
    ("name", "abcdefg", "name: expected a name of 2 to 5 characters (got 'abcdefg')"),
]


@pytest.mark.parametrize(("field", "value", "line"), BOUNDS_FOLLOW, ids=[b[0] for b in BOUNDS_FOLLOW])
def test_the_line_states_the_bounds_the_field_itself_has(field, value, line):
    """No second table: build a model with other bounds and the error line follows them."""
    with pytest.raises(ValidationError) as caught:
        Narrow(**{field: value})
    assert field_lines(caught.value, Narrow, lambda name: name, lambda name: value) == [line]


def test_a_value_is_quoted_cut_short_and_without_url_user_info():
    assert shown_value("http://user:pa55@host/x") == "'http://REDACTED@host/x'"
    assert len(shown_value("x" * 1000)) == 120
