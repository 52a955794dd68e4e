"""The compact form of a bot's remembered ids: base-36 gaps with runs, grouped by the second of createdAt."""

import pytest

from otel_desk_receiver.state.id_codec import decode_ids, decode_recent, encode_ids, encode_recent
from otel_desk_receiver.units import NS_PER_S


@pytest.mark.parametrize("ids, text", [
    pytest.param([], "", id="none"),
    pytest.param([5], "5", id="one"),
    pytest.param([100, 101, 102, 103], "2s.1*3", id="a-burst-is-a-run"),
    pytest.param([36, 40, 44, 50], "10.4*2.6", id="gaps-in-base-36"),
    pytest.param([0, 1], "0.1", id="zero-first"),
])
def test_ids_are_written_as_gaps_and_read_back(ids, text):
    assert encode_ids(ids) == text
    assert decode_ids(text) == ids


def test_a_burst_of_ten_thousand_consecutive_ids_takes_a_few_bytes():
    ids = list(range(1_000_000, 1_010_000))
    assert len(encode_ids(ids)) < 12 and decode_ids(encode_ids(ids)) == ids


@pytest.mark.parametrize("text", ["x!", "1.0", "1*0", "-1"])
def test_anything_else_is_a_value_error(text):
    with pytest.raises(ValueError):
        decode_ids(text)


def test_recent_ids_group_by_second_and_load_with_the_newest_created_at_of_their_group():
    second = 1_795_000_000 * NS_PER_S
    recent = {7: second + 100, 3: second + 900, 12: second + NS_PER_S + 5}
    groups = encode_recent(recent)
    assert groups == [[second + 900, "3.4"], [second + NS_PER_S + 5, "c"]]
    loaded = decode_recent(groups)
    assert loaded == {3: second + 900, 7: second + 900, 12: second + NS_PER_S + 5}
    assert all(0 <= loaded[i] - recent[i] < NS_PER_S for i in recent)  # an upper bound within the second


@pytest.mark.parametrize("groups", [[[1, 2]], [["1", "a"]], [[True, "a"]], [[1]], ["1:a"]])
def test_a_malformed_group_is_a_value_error(groups):
    with pytest.raises(ValueError):
        decode_recent(groups)
