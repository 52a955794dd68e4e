"""The token from a file as Kubernetes mounts a Secret: read at start, read again after a rotation (the
``..data`` symlink swap), the last good token kept while the file cannot be used."""

import dataclasses
import json
import logging
import os
import re

import pytest
from pydantic import SecretStr

from otel_desk_receiver.desk.token import FileToken, FixedToken
from otel_desk_receiver.errors import ConfigError, DeskAuthError, DeskError
from tests.harness.secret_volume import SecretVolume


@pytest.fixture
def volume(tmp_path):
    return SecretVolume(tmp_path, "first-token-1\n")


def test_read_at_start(volume):
    assert FileToken(volume.path)() == "first-token-1"


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["new-mtime", "same-size-and-mtime"])
def test_a_symlink_swap_is_seen(volume, keep_mtime):
    token = FileToken(volume.path)
    assert token() == "first-token-1"
    volume.rotate("second-token\n", keep_mtime=keep_mtime)  # same length as the first
    assert token() == "second-token"


def test_a_file_rewritten_in_place_is_seen(tmp_path):
    path = tmp_path / "token"
    path.write_text("in-place-token-1")
    token = FileToken(path)
    path.write_text("in-place-token-22")
    assert token() == "in-place-token-22"


def test_an_unusable_file_keeps_the_last_good_token_and_warns_once(tmp_path, caplog):
    path = tmp_path / "token"
    path.write_text("good-token-1")
    token = FileToken(path)
    path.write_text("")
    with caplog.at_level(logging.WARNING, logger="otel_desk_receiver.desk.token"):
        assert token() == "good-token-1"
        assert token() == "good-token-1"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"DESK_API_TOKEN_FILE: {path} is empty; expected the Desk API token; "
                        "keeping the previous token"]
    path.write_text("good-token-2")
    assert token() == "good-token-2"


def test_an_unusable_file_at_start_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="DESK_API_TOKEN_FILE: file not found"):
        FileToken(tmp_path / "absent")


def test_the_client_sends_the_rotated_token(desk_emulator, custom_bot, make_desk_client, volume):
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="first-token-1")
    client = make_desk_client(desk_emulator.url, FileToken(volume.path))
    assert client.get_bot(custom_bot).id == custom_bot
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="rotated-token-2")
    with pytest.raises(DeskAuthError) as caught:  # Desk has the new token, the volume not yet
        client.get_bot(custom_bot)
    assert "first-token-1" not in str(caught.value)
    volume.rotate("rotated-token-2")
    assert client.get_bot(custom_bot).id == custom_bot
    assert [r.status for r in desk_emulator.requests] == [200, 401, 200]


def test_a_refused_token_makes_the_file_be_read_again_at_once(desk_emulator, custom_bot, make_desk_client, tmp_path):
    """A token rewritten in place with the same length and mtime hides from the stat; Desk's 401 reveals it."""
    path = tmp_path / "token"
    path.write_text("first-token-1")
    before = os.stat(path)
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="first-token-1")
    client = make_desk_client(desk_emulator.url, FileToken(path))
    client.get_bot(custom_bot)
    path.write_text("other-token-2")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="other-token-2")
    assert client.get_bot(custom_bot).id == custom_bot
    assert [r.status for r in desk_emulator.requests] == [200, 401, 200]


def test_a_token_refused_after_reading_the_file_again_names_the_file_variable(desk_emulator, custom_bot,
                                                                               make_desk_client, volume):
    client = make_desk_client(desk_emulator.url, FileToken(volume.path))
    with pytest.raises(DeskAuthError, match="check DESK_API_TOKEN_FILE") as caught:
        client.get_bot(custom_bot)
    assert "first-token-1" not in str(caught.value)
    assert [r.status for r in desk_emulator.requests] == [401]


def revoke_in_flight(emulator, volume, new_token: str):
    """As a rotation races a request: once the next request is in (the old token accepted at the door), the
    Secret volume gets the new token and Desk revokes the old one, answering this request 401 and quoting the
    token it refused, as it arrived."""
    old_token, fired = emulator.config.token, []

    def rotate(path, params):
        if fired:
            return
        fired.append(path)
        volume.rotate(new_token + "\n")
        emulator.config = dataclasses.replace(emulator.config, token=new_token)
        emulator.faults.fail_next(1, status=401, body=json.dumps({"detail": f"Invalid token: {old_token}."}))

    emulator.before_each_request(rotate)


def test_a_token_revoked_while_its_request_is_in_flight_is_retried_once_with_the_new_one(
        desk_emulator, custom_bot, make_desk_client, volume, caplog):
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="first-token-1")
    client = make_desk_client(desk_emulator.url, FileToken(volume.path))
    revoke_in_flight(desk_emulator, volume, "second-token-2")
    with caplog.at_level(logging.INFO):
        assert client.get_bot(custom_bot).id == custom_bot
    assert [r.status for r in desk_emulator.requests] == [401, 200]
    assert "REDACTED" in caplog.text and "first-token-1" not in caplog.text  # Desk's echo, masked


def test_a_previous_token_echoed_by_desk_stays_masked(desk_emulator, custom_bot, make_desk_client, volume):
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="first-token-1")
    client = make_desk_client(desk_emulator.url, FileToken(volume.path))
    client.get_bot(custom_bot)
    volume.rotate("second-token-2")
    desk_emulator.config = dataclasses.replace(desk_emulator.config, token="second-token-2")
    desk_emulator.faults.fail_next(1, status=400, body=json.dumps({"detail": "first-token-1 was revoked"}))
    with pytest.raises(DeskError) as caught:
        client.get_bot(custom_bot)
    assert "first-token-1" not in str(caught.value) and "REDACTED was revoked" in str(caught.value)


def test_an_apps_token_file_is_named_by_its_key_in_every_line(tmp_path, caplog):
    """With the --config file's apps (issue 21), the key of the app's token file is what to fix, not the variable."""
    key = "apps[1].api_token_file at line 6 of /etc/receiver.yaml (app us)"
    with pytest.raises(ConfigError) as caught:
        FileToken(tmp_path / "absent", key)
    assert caught.value.problems == [f"{key}: file not found: {tmp_path / 'absent'}"]
    path = tmp_path / "token"
    path.write_text("good-token-1")
    token = FileToken(path, key)
    path.write_text("")
    with caplog.at_level(logging.WARNING, logger="otel_desk_receiver.desk.token"):
        assert token() == "good-token-1"
    assert [r.getMessage() for r in caplog.records] == [f"{key}: {path} is empty; expected the Desk API token; "
                                                        "keeping the previous token"]


def test_an_apps_inline_token_refused_by_desk_names_its_key(desk_emulator, custom_bot, make_desk_client):
    key = "apps[0].api_token at line 3 of /etc/receiver.yaml (app eu)"
    token = FixedToken(SecretStr("not-the-token-4c5d"), key)
    assert "not-the-token-4c5d" not in repr(token)
    client = make_desk_client(desk_emulator.url, token)
    with pytest.raises(DeskAuthError, match=re.escape(f"check {key} ")) as caught:
        client.get_bot(custom_bot)
    assert "not-the-token-4c5d" not in str(caught.value)
