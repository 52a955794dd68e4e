"""`check` as a user runs it, against the emulator and a real OTLP endpoint: the report and the exit code."""

import pytest

from tests.e2e.receiver_process import receiver_env, run_command


@pytest.fixture
def env(desk_emulator, otlp_sink, state_path):
    desk_emulator.add_bot(name="order-helper", timeout_seconds=45, is_unread_error=True)
    desk_emulator.add_bot(name="faq-bot", type="FAQ")
    values = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    values["OTEL_EXPORTER_OTLP_TIMEOUT"] = "700"
    values["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Basic%20c2VjcmV0LWhlYWRlcg==,x-tenant=acme"
    return values


def test_all_good_reports_bots_endpoints_and_state(env):
    done = run_command(env, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "[ok] Desk API" in out and "1 CUSTOM bot(s) to watch of 2 listed" in out
    assert "order-helper" in out and "timeout    45s" in out and "unread error: yes" in out and "watch" in out
    assert "faq-bot" in out and "skip (not CUSTOM)" in out
    assert "[ok] OTLP logs: " + env["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/v1/logs (http/protobuf)" in out
    assert "[ok] OTLP metrics" in out and "[ok] State" in out and "none yet" in out
    assert "all checks passed" in out
    assert env["DESK_API_TOKEN"] not in out + done.stderr and "c2VjcmV0LWhlYWRlcg" not in out + done.stderr
    assert "DESK_API_TOKEN               ****" in out and "authorization=****, x-tenant=****" in out


def test_bad_token_exits_3(env):
    env["DESK_API_TOKEN"] = "not-the-token"
    done = run_command(env, "check")
    assert done.returncode == 3 and "DESK_API_TOKEN" in done.stderr and "not-the-token" not in done.stderr + done.stdout


def test_otlp_down_fails_with_the_endpoint_named(env, otlp_sink):
    otlp_sink.set_down(True)
    done = run_command(env, "check")
    assert done.returncode == 1
    assert "[FAIL] OTLP logs" in done.stdout and "[FAIL] OTLP metrics" in done.stdout
    assert "problems: OTLP logs, OTLP metrics" in done.stdout


def test_grpc_endpoint_reported(env, otlp_sink):
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.grpc_endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    done = run_command(env, "check")
    assert done.returncode == 0, done.stdout
    assert f"[ok] OTLP logs: {otlp_sink.grpc_endpoint} (grpc)" in done.stdout


def test_corrupt_state_and_desk_down_are_reported(env, state_path, desk_emulator):
    state_path.write_text("{oops")
    desk_emulator.faults.fail_next(10, status=500)
    done = run_command(env, "check")
    assert done.returncode == 1
    assert f"[FAIL] State: state file {state_path} is not valid JSON" in done.stdout
    assert "[FAIL] Desk API" in done.stdout


def test_bad_settings_exit_2(env):
    env["DESK_BACKFILL_DAYS"] = "45"
    done = run_command(env, "check")
    assert done.returncode == 2 and "DESK_BACKFILL_DAYS: expected an integer from 0 to 30 (got '45')" in done.stderr
