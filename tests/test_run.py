"""`run` as a user starts it: the configuration warnings it logs at start, the token from a file."""

from tests.e2e.receiver_process import receiver_env, run_command


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
