"""The state document: versioned JSON naming its Desk, every bot's cursor; encoded once per changed cursor,
decoded with a StateError naming where and which field."""

import json

import pytest

from otel_desk_receiver.errors import StateError
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity, StateEncoder, decode_state, encode_state

DESK = DeskIdentity("app-1", "https://desk.example/platform/v1")


def cursor(offset: int = 0) -> BotCursor:
    return BotCursor(window_start="2026-11-20", offset=offset, anchor_id=None, last_id=0, since_ns=5, trail_start_ns=5)


def refusal(text: str, desk: DeskIdentity | None = DESK) -> str:
    with pytest.raises(StateError) as raised:
        decode_state(text, "state.json", desk)
    return str(raised.value)


def test_the_document_names_its_desk_and_round_trips_every_bot_sorted():
    document = encode_state({12: cursor(2), 3: cursor(1)}, DESK)
    data = json.loads(document)
    assert data["version"] == 3 and data["desk"] == {"app": "app-1", "url": DESK.url}
    assert list(data["bots"]) == ["3", "12"]
    assert decode_state(document.decode(), "state.json", DESK) == {12: cursor(2), 3: cursor(1)}


def test_the_encoder_reuses_an_unchanged_cursors_bytes_and_says_each_bots_share():
    encoder = StateEncoder(DESK)
    same = cursor()
    first = encoder.encode({1: same, 2: cursor()})
    share = encoder.share(1)
    assert share == len(b'"1":' + json.dumps(json.loads(first)["bots"]["1"], separators=(",", ":")).encode())
    assert encoder.encode({1: same, 2: cursor(9)}) != first  # the replaced cursor is encoded again
    assert json.loads(encoder.encode({1: same}))["bots"] == {"1": json.loads(first)["bots"]["1"]}
    assert encoder.share(2) == 0  # not in the last document


def test_a_document_of_version_1_loads_for_any_desk():
    v1 = json.dumps({"version": 1, "bots": {"7": {"window_start": "2026-11-20", "offset": 3, "anchor_id": None,
                                                  "last_id": 14, "since_ns": 5}}})
    assert decode_state(v1, "state.json", DESK)[7].offset == 3


def test_a_document_of_another_desk_is_refused_naming_both_without_user_info():
    other = encode_state({}, DeskIdentity("app-2", "https://user:pw@other.example")).decode()
    message = refusal(other)
    assert message.startswith("state.json belongs to Desk app 'app-2' (https://other.example), not to 'app-1'")
    assert "pw" not in message
    assert decode_state(other, "state.json", None) == {}  # no desk given: no check


@pytest.mark.parametrize("text, says", [
    pytest.param("{", "state.json is not valid JSON (corrupt?)", id="not-json"),
    pytest.param('{"version": 9}', "state.json has version 9, expected one of (1, 2, 3)", id="version"),
    pytest.param("[]", "state.json has version None", id="not-an-object"),
    pytest.param('{"version": 3, "bots": []}', "state.json: bots: expected an object, got a list", id="bots"),
    pytest.param('{"version": 3, "bots": {"x": {}}}', "state.json: bots: 'x' is not a bot id", id="bot-id"),
    pytest.param('{"version": 3, "bots": {"4": {}}}', "state.json: bots.4.window_start: missing", id="field"),
    pytest.param('{"version": 3, "desk": "app-1"}', "state.json: desk: expected an object", id="desk"),
])
def test_whatever_is_wrong_is_one_state_error_naming_where_with_the_reset_hint(text, says):
    message = refusal(text)
    assert message.startswith(says) and message.endswith("move it aside to start over (README, 'Resetting the state')")
