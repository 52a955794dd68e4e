"""The state document: versioned JSON holding one section per Desk app (its identity, every bot's cursor);
encoded once per changed cursor, decoded with a StateError naming where and which field; versions 1-3 migrate
into their app's section."""

import json

import pytest

from otel_desk_receiver.errors import StateError
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import (DeskIdentity, StateDocument, StateEncoder, decode_state,
                                               encode_state)

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
    assert data["version"] == 4 and list(data["apps"]) == ["app-1"]
    section = data["apps"]["app-1"]
    assert section["desk"] == {"app": "app-1", "url": DESK.url}
    assert list(section["bots"]) == ["3", "12"]
    assert decode_state(document.decode(), "state.json", DESK) == {12: cursor(2), 3: cursor(1)}


def test_the_encoder_reuses_an_unchanged_cursors_bytes_and_says_each_bots_share():
    encoder = StateEncoder(DESK)
    same = cursor()
    first = encoder.encode({1: same, 2: cursor()})
    share = encoder.share(1)
    saved = json.loads(first)["apps"]["app-1"]["bots"]
    assert share == len(b'"1":' + json.dumps(saved["1"], separators=(",", ":")).encode())
    assert encoder.encode({1: same, 2: cursor(9)}) != first  # the replaced cursor is encoded again
    assert json.loads(encoder.encode({1: same}))["apps"]["app-1"]["bots"] == {"1": saved["1"]}
    assert encoder.share(2) == 0  # not in the last document


def test_a_document_of_version_1_loads_for_any_desk():
    v1 = json.dumps({"version": 1, "bots": {"7": {"window_start": "2026-11-20", "offset": 3, "anchor_id": None,
                                                  "last_id": 14, "since_ns": 5}}})
    assert decode_state(v1, "state.json", DESK)[7].offset == 3


def test_a_version_3_document_of_another_desk_is_refused_naming_both_without_user_info():
    other = '{"version": 3, "desk": {"app": "app-2", "url": "https://user:pw@other.example"}, "bots": {}}'
    message = refusal(other)
    assert message.startswith("state.json belongs to Desk app 'app-2' (https://other.example), not to 'app-1'")
    assert "pw" not in message
    assert decode_state(other, "state.json", None) == {}  # no desk given: no check


def test_a_version_4_document_holding_only_other_apps_is_refused_but_one_more_app_starts_afresh():
    other = encode_state({3: cursor()}, DeskIdentity("app-2", "https://other.example")).decode()
    assert refusal(other).startswith("state.json holds the state of Desk app 'app-2' (https://other.example), "
                                     "not of 'app-1'")
    document = StateDocument([DESK, DeskIdentity("app-2", "https://other.example")])
    assert document.load(other, "state.json") == {"app-2": {3: cursor()}}  # app-1 added beside it: fresh


@pytest.mark.parametrize("text, says", [
    pytest.param("{", "state.json is not valid JSON (corrupt?)", id="not-json"),
    pytest.param('{"version": 9}', "state.json has version 9, expected one of (1, 2, 3, 4)", id="version"),
    pytest.param("[]", "state.json has version None", id="not-an-object"),
    pytest.param('{"version": 3, "bots": []}', "state.json: bots: expected an object, got a list", id="bots"),
    pytest.param('{"version": 3, "bots": {"x": {}}}', "state.json: bots: 'x' is not a bot id", id="bot-id"),
    pytest.param('{"version": 3, "bots": {"4": {}}}', "state.json: bots.4.window_start: missing", id="field"),
    pytest.param('{"version": 3, "desk": "app-1"}', "state.json: desk: expected an object", id="desk"),
    pytest.param('{"version": 4, "apps": []}', "state.json: apps: expected an object, got a list", id="apps"),
    pytest.param('{"version": 4, "apps": {"app-1": 3}}', "state.json: apps.app-1: expected an object, got an integer",
                 id="section"),
    pytest.param('{"version": 4, "apps": {"app-1": {"bots": {"4": {}}}}}',
                 "state.json: apps.app-1.bots.4.window_start: missing", id="section-field"),
])
def test_whatever_is_wrong_is_one_state_error_naming_where_with_the_reset_hint(text, says):
    message = refusal(text)
    assert message.startswith(says) and message.endswith("move it aside to start over (README, 'Resetting the state')")


A = DeskIdentity("app-a", "https://desk.example/a")
B = DeskIdentity("app-b", "https://desk.example/b")
V3_OF_A = '{"version":3,"desk":{"app":"app-a","url":"https://desk.example/a"},"bots":{"7":' \
          '{"window_start":"2026-11-20","offset":3,"anchor_id":null,"last_id":0,"since_ns":5,"trail_start_ns":5}}}'


@pytest.mark.parametrize("version", [2, 3])
def test_a_version_2_or_3_document_migrates_into_its_app_s_section_among_several(version):
    text = V3_OF_A.replace('"version":3', f'"version":{version}')
    document = StateDocument([A, B])
    assert document.load(text, "state.json") == {"app-a": {7: cursor(3)}}
    data = json.loads(document.encode("app-b", {}).payload)
    assert data == {"version": 4, "apps": {
        "app-a": {"desk": {"app": "app-a", "url": A.url}, "bots": {"7": json.loads(V3_OF_A)["bots"]["7"]}},
        "app-b": {"desk": {"app": "app-b", "url": B.url}, "bots": {}}}}


def test_a_version_3_document_of_an_app_not_configured_is_refused_naming_every_app():
    with pytest.raises(StateError) as raised:
        StateDocument([B, DeskIdentity("app-c", "https://c.example")]).load(V3_OF_A, "state.json")
    message = str(raised.value)
    assert message.startswith("state.json belongs to Desk app 'app-a' (https://desk.example/a), not to 'app-b' "
                              "(https://desk.example/b) nor 'app-c' (https://c.example)")


def test_a_version_1_document_names_no_app_it_is_adopted_only_when_one_app_is_configured():
    v1 = json.dumps({"version": 1, "bots": {"7": {"window_start": "2026-11-20", "offset": 3, "anchor_id": None,
                                                  "last_id": 14, "since_ns": 5}}})
    assert StateDocument([A]).load(v1, "state.json")["app-a"][7].offset == 3
    with pytest.raises(StateError) as raised:
        StateDocument([A, B]).load(v1, "state.json")
    assert str(raised.value).startswith(
        "state.json is a version 1 state, which names no Desk app: with 2 apps configured ('app-a', 'app-b') "
        "its cursors cannot be given to one; run once with only its app configured to migrate it, or move it aside")


def test_sections_of_apps_not_configured_and_unknown_fields_are_carried_unchanged():
    text = json.dumps({"version": 4, "future": {"x": [1, 2]}, "apps": {
        "app-a": {"desk": {"app": "app-a", "url": A.url}, "note": "kept", "bots": json.loads(V3_OF_A)["bots"]},
        "app-gone": {"desk": {"app": "app-gone", "url": "https://gone.example"}, "bots": {"9": {"anything": 1}}}}})
    document = StateDocument([A])
    assert document.load(text, "state.json") == {"app-a": {7: cursor(3)}}
    data = json.loads(document.encode("app-a", {7: cursor(4)}).payload)
    assert data["future"] == {"x": [1, 2]} and data["apps"]["app-a"]["note"] == "kept"
    assert data["apps"]["app-gone"] == json.loads(text)["apps"]["app-gone"]
    assert data["apps"]["app-a"]["bots"]["7"]["offset"] == 4


def test_a_commit_of_one_app_keeps_the_other_s_last_kept_section():
    document = StateDocument([A, B])
    document.load(None, "state.json")
    document.keep(document.encode("app-b", {1: cursor(1)}))
    document.encode("app-b", {1: cursor(2)})  # not kept: its write failed, say
    data = json.loads(document.encode("app-a", {7: cursor(3)}).payload)
    assert data["apps"]["app-b"]["bots"]["1"]["offset"] == 1
