"""`run` as a user starts it: the configuration warnings it logs at start, the token from a file and its rotation,
the app identity without URL user info, an unusable DESK_API_URL."""

import dataclasses
import json
import signal
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from otel_desk_receiver.config.settings import URL_WORDS
from tests.harness.receiver import uids
from tests.harness.receiver_process import ReceiverProcess, receiver_env, run_command
from tests.harness.secret_volume import SecretVolume
from tests.harness.wait import wait_until
from tests.harness.yaml_bomb import alias_bomb


def test_run_logs_a_warning_per_misspelt_variable_and_still_runs(desk_emulator, otlp_sink, state_path):
    desk_emulator.add_bot(name="order-helper")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    env.update(DESK_POLL_INTERVALL="10", OTEL_EXPORTER_OTLP_LOG_ENDPOINT=otlp_sink.http_endpoint)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert ("WARNING otel_desk_receiver: DESK_POLL_INTERVALL: not a setting of this receiver, ignored; "
            "did you mean DESK_POLL_INTERVAL?") in done.stderr
    assert "OTEL_EXPORTER_OTLP_LOG_ENDPOINT: not an OpenTelemetry OTLP exporter variable, ignored; " \
           "did you mean OTEL_EXPORTER_OTLP_LOGS_ENDPOINT?" in done.stderr


def test_run_reads_the_token_from_a_file(desk_emulator, otlp_sink, state_path, tmp_path):
    bot = desk_emulator.add_bot(name="order-helper")
    desk_emulator.add_entries(bot["id"], 3, ("RECEIVED",))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=1)
    token_file = tmp_path / "api-token"
    token_file.write_text(env.pop("DESK_API_TOKEN") + "\n")
    env["DESK_API_TOKEN_FILE"] = str(token_file)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert otlp_sink.count() == 3
    assert "DESK_API_TOKEN_FILE" not in done.stderr, done.stderr  # no warning about it, no error


def test_run_with_both_token_variables_exits_2(desk_emulator, otlp_sink, state_path, tmp_path):
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    env["DESK_API_TOKEN_FILE"] = str(tmp_path / "api-token")
    done = run_command(env, "run", "--once")
    assert done.returncode == 2
    assert done.stderr == "configuration error: DESK_API_TOKEN, DESK_API_TOKEN_FILE: both set; set one of them\n"


class RotatingToken(str):
    """The token the emulator accepts, compared as Desk does during a rotation: the old and the new one
    both pass while ``overlap`` holds, only the new one after."""

    def __new__(cls, old: str, new: str):
        token = super().__new__(cls, new)
        token.old, token.overlap = old, True
        return token

    def __ne__(self, other):
        return not (other == str(self) or (self.overlap and other == self.old))

    __hash__ = str.__hash__


def test_a_rotated_secret_is_used_without_a_restart(desk_emulator, otlp_sink, state_path, tmp_path):
    desk_emulator.add_bot(name="order-helper")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, poll_interval="0.2")
    volume = SecretVolume(tmp_path / "secret", env.pop("DESK_API_TOKEN") + "\n")
    env["DESK_API_TOKEN_FILE"] = str(volume.path)
    receiver = ReceiverProcess.start(env, tmp_path)
    try:
        wait_until(lambda: desk_emulator.request_count("/webhook_logs") >= 2, what="the first cycles")
        rotating = RotatingToken(desk_emulator.config.token, "rotated-token-7")
        desk_emulator.config = dataclasses.replace(desk_emulator.config, token=rotating)
        volume.rotate("rotated-token-7\n")
        wait_until(lambda: "changed, using the token it holds now" in receiver.output(), what="the new token")
        rotating.overlap = False  # Desk revokes the old token
        served = len(desk_emulator.requests)
        wait_until(lambda: len(desk_emulator.requests) >= served + 3, what="cycles on the new token")
        assert receiver.process.poll() is None, receiver.output()
        assert all(r.status == 200 for r in desk_emulator.requests), receiver.output()
    finally:
        receiver.signal(signal.SIGTERM)
        assert receiver.wait() == 0, receiver.output()


def test_user_info_in_the_desk_url_is_never_part_of_the_app_identity(desk_emulator, otlp_sink, state_path):
    """The app part of log.record.uid (and the state's identity) is the API host without user:password@; a
    state an older release wrote with the user info in it is the same app: it loads, nothing is sent again."""
    bot = desk_emulator.add_bot(name="order-helper")["id"]
    desk_emulator.add_entries(bot, 3, ("RECEIVED",), start=desk_emulator.clock.now() - timedelta(hours=1))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=1)
    host = urlsplit(desk_emulator.url).netloc
    env["DESK_API_URL"] = desk_emulator.url.replace("http://", "http://desk-user:url-pa55word@")
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert sorted(uids(otlp_sink)) == sorted(f"{host}:{bot}:{entry['id']}" for entry in desk_emulator.entries(bot))
    saved = json.loads(state_path.read_text())["apps"][host]
    assert saved["desk"] == {"app": host, "url": desk_emulator.url}
    # The state as 0.x wrote it (version 3, one app): the user info in the app and the URL.
    state_path.write_text(json.dumps({"version": 3, "bots": saved["bots"], "desk": {
        "app": f"desk-user:url-pa55word@{host}", "url": env["DESK_API_URL"]}}))
    otlp_sink.clear()
    again = run_command(env, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert otlp_sink.count() == 0  # the same app: its cursors hold, nothing is sent again
    assert "pa55word" not in state_path.read_text() and "desk-user" not in state_path.read_text()
    # Such a state met by another app is refused with a line that does not quote its user info either.
    state_path.write_text(json.dumps({"version": 3, "bots": saved["bots"], "desk": {
        "app": f"desk-user:url-pa55word@{host}", "url": env["DESK_API_URL"]}}))
    other = run_command(env | {"DESK_APP_ID": "other-app"}, "run", "--once")
    assert other.returncode == 2 and f"belongs to Desk app '{host}'" in other.stderr, other.stderr
    for output in (done.stderr, again.stderr, other.stderr):
        assert "pa55word" not in output and "desk-user" not in output


@pytest.mark.parametrize("url", ["http://", "http://127.0.0.1:99999/platform/v1", "http://[::1/x", "http://h:1:2/x",
                                 "http://127.0.0.1:8080/platform/v1?x=1"])
@pytest.mark.parametrize("command", ["run", "check"])
def test_an_unusable_desk_url_is_one_line_exit_2(otlp_sink, state_path, url, command):
    env = receiver_env(SimpleNamespace(url=url, config=SimpleNamespace(token="t0ken-1")), otlp_sink.http_endpoint,
                       "http/protobuf", state_path)
    done = run_command(env, command, *(["--once"] if command == "run" else []))
    assert done.returncode == 2
    assert done.stderr == f"configuration error: DESK_API_URL: expected {URL_WORDS} (got {url!r})\n"


def test_a_bot_name_with_a_newline_cannot_forge_a_log_line(desk_emulator, otlp_sink, state_path):
    forged = "2026-12-07 00:00:00,000 ERROR otel_desk_receiver: FORGED"
    desk_emulator.add_bot(name=f"helper\n{forged}\r\x1b[2J")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert not any(line.startswith(forged) for line in done.stderr.splitlines())
    assert f"helper\\n{forged}\\r\\x1b[2J" in done.stderr  # shown, escaped, on the line that logs it


def test_the_exit_3_line_names_the_token_file_when_the_token_came_from_one(desk_emulator, otlp_sink, state_path,
                                                                           tmp_path):
    desk_emulator.add_bot(name="order-helper")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    token_file = tmp_path / "api-token"
    token_file.write_text(env.pop("DESK_API_TOKEN") + "\n")
    env["DESK_API_TOKEN_FILE"] = str(token_file)
    desk_emulator.faults.fail_next(100, status=403, path_contains="/webhook_logs")  # may list bots, not read logs
    done = run_command(env, "run", "--once")
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Desk rejected the API token for every bot's webhook logs") and \
        "check DESK_API_TOKEN_FILE" in last and "check DESK_API_TOKEN " not in last and \
        "check DESK_API_TOKEN;" not in last, last


def test_a_token_revoked_while_its_request_is_in_flight_does_not_stop_the_run(desk_emulator, otlp_sink, state_path,
                                                                              tmp_path):
    bot = desk_emulator.add_bot(name="order-helper")["id"]
    desk_emulator.add_entries(bot, 3, ("RECEIVED",), start=desk_emulator.clock.now() - timedelta(hours=1))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=1)
    old_token = env.pop("DESK_API_TOKEN")
    volume = SecretVolume(tmp_path / "secret", old_token + "\n")
    env["DESK_API_TOKEN_FILE"] = str(volume.path)
    fired = []

    def rotate_and_revoke(path, params):  # Desk revokes the old token as this request, carrying it, arrives
        if path.endswith("/webhook_logs") and not fired:
            fired.append(path)
            volume.rotate("rotated-token-7\n")
            desk_emulator.config = dataclasses.replace(desk_emulator.config, token="rotated-token-7")
            desk_emulator.faults.fail_next(1, status=401, body=json.dumps({"detail": f"Invalid token: {old_token}"}))

    desk_emulator.before_each_request(rotate_and_revoke)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert otlp_sink.count() == 3 and fired
    assert old_token not in done.stderr and "rotated-token-7" not in done.stderr


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_yaml_alias_bomb_is_one_short_line_exit_2(desk_emulator, otlp_sink, state_path, tmp_path, command):
    config = tmp_path / "config.yaml"
    config.write_text(alias_bomb(9))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    done = run_command(env, command, "--config", str(config))
    assert done.returncode == 2
    assert done.stderr == (f"configuration error: --config: {config} expands YAML aliases beyond 10000 values; "
                           "write the settings out without anchors and aliases\n")


@pytest.mark.parametrize("command", [("run", "--once"), ("check",)])
def test_an_otel_variable_the_config_file_overrides_is_a_warning(desk_emulator, otlp_sink, state_path, tmp_path,
                                                                   command):
    """README (Configuration): for OTEL_* names the file wins, and run and check warn about each variable it
    overrides (a platform injecting OTEL_EXPORTER_OTLP_ENDPOINT into every pod is then seen, not silent)."""
    desk_emulator.add_bot(name="order-helper")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    config = tmp_path / "receiver.yaml"
    config.write_text(f"page_size: 100\nOTEL_EXPORTER_OTLP_ENDPOINT: {otlp_sink.http_endpoint}\n")
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector.example:4318"
    done = run_command(env, *command, "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"OTEL_EXPORTER_OTLP_ENDPOINT: set in the environment and at line 2 of {config}; the file's value is "
            "used") in done.stdout + done.stderr


@pytest.mark.parametrize("once", [False, True], ids=["run", "run --once"])
def test_every_app_refusing_its_token_exits_3_with_a_line_per_app(make_desk_emulator, otlp_sink, state_path,
                                                                  tmp_path, once):
    desks = {label: make_desk_emulator() for label in ("eu", "us", "ap")}
    for desk in desks.values():
        desk.add_bot(name="order-helper")
    env = receiver_env(desks["eu"], otlp_sink.http_endpoint, "http/protobuf", state_path)
    del env["DESK_API_URL"], env["DESK_API_TOKEN"]
    config = tmp_path / "receiver.yaml"
    config.write_text(json.dumps({"apps": [{"app_id": label, "api_url": desk.url, "api_token": f"wrong-{label}"}
                                           for label, desk in desks.items()]}))
    done = run_command(env, "run", "--config", str(config), *(["--once"] if once else []))
    assert done.returncode == 3, done.stderr
    tail = done.stderr.strip().splitlines()[-4:]
    assert tail[0] == "error: Desk rejected the API token of every app:"
    assert [line.split(":", 1)[0] for line in tail[1:]] == ["app eu", "app us", "app ap"]
    assert not [line for line in tail if "wrong-" in line]  # no token quoted


def test_sigterm_stops_every_app_and_saves_each_apps_state(make_desk_emulator, otlp_sink, state_path, tmp_path):
    desks = {label: make_desk_emulator() for label in ("eu", "us")}
    for desk in desks.values():
        bot = desk.add_bot(name="order-helper")["id"]
        desk.add_entries(bot, 3, ("RECEIVED",), start=desk.clock.now() - timedelta(minutes=30))
    env = receiver_env(desks["eu"], otlp_sink.http_endpoint, "http/protobuf", state_path)
    del env["DESK_API_URL"], env["DESK_API_TOKEN"]
    config = tmp_path / "receiver.yaml"
    config.write_text(json.dumps({"backfill": "1h", "apps": [
        {"app_id": label, "api_url": desk.url, "api_token": desk.config.token} for label, desk in desks.items()]}))
    receiver = ReceiverProcess.start(env, tmp_path, "--config", str(config))
    try:
        receiver.wait_for(lambda: otlp_sink.count() == 6, what="both apps' entries")
    finally:
        receiver.signal(signal.SIGTERM)
        assert receiver.wait() == 0, receiver.output()
    saved = json.loads(state_path.read_text())
    assert sorted(saved["apps"]) == ["eu", "us"] and all(app["bots"] for app in saved["apps"].values()), saved
    assert "app eu: polling every" in receiver.output() and "app us: polling every" in receiver.output()
