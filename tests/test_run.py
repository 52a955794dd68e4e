"""`run` as a user starts it: the configuration warnings it logs at start, the token from a file and its rotation."""

import dataclasses
import signal

from tests.harness.receiver_process import ReceiverProcess, receiver_env, run_command
from tests.harness.secret_volume import SecretVolume
from tests.harness.wait import wait_until


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
