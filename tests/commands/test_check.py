"""`check` as a user runs it, against the emulator and a real OTLP endpoint: the report and the exit code."""

import signal
import socket

import grpc
import pytest

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.state.file_backend import StateFile
from tests.harness.ports import free_port
from tests.harness.receiver_process import ReceiverProcess, http_status, receiver_env, run_command
from tests.harness.wait import wait_until


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


@pytest.mark.parametrize("endpoint, protocol, expected", [
    ("http://127.0.0.1:4317", "http/protobuf",
     ["OTEL_EXPORTER_OTLP_ENDPOINT uses port 4317, the OTLP/gRPC port, while the protocol is http/protobuf: use "
      "the OTLP/HTTP port (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318), or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc"]),
    ("{http}/v1/logs", "http/protobuf",
     ["OTEL_EXPORTER_OTLP_ENDPOINT is the base endpoint and takes no signal path: the exporter appends /v1/logs to "
      "it, so it sent to {http}/v1/logs/v1/logs; set OTEL_EXPORTER_OTLP_ENDPOINT={http}, or the full URL in "
      "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]),
    ("http://127.0.0.1:4318", "grpc",
     ["OTEL_EXPORTER_OTLP_ENDPOINT uses port 4318, the OTLP/HTTP port, while the protocol is grpc: use the OTLP/gRPC "
      "port (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317), or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"]),
], ids=["grpc-port-over-http", "signal-path-on-the-base-endpoint", "http-port-over-grpc"])
def test_a_wrong_endpoint_shape_is_named_with_its_fix(env, otlp_sink, endpoint, protocol, expected):
    endpoint = endpoint.format(http=otlp_sink.http_endpoint)
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_PROTOCOL=protocol)
    done = run_command(env, "check")
    assert done.returncode == 1, done.stdout
    report = done.stdout.split("[FAIL] OTLP logs: ", 1)[1].split("\n[")[0]
    for hint in expected:
        assert f"    likely: {hint.format(http=otlp_sink.http_endpoint)}" in report, report


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


def test_a_misspelt_variable_is_a_warning_in_the_report_and_the_last_line(env):
    env["DESK_POLL_INTERVALL"] = "10"
    env["OTEL_EXPORTER_OTLP_ENDPIONT"] = "http://collector:4318"
    done = run_command(env, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("[warn] DESK_POLL_INTERVALL: not a setting of this receiver, ignored; did you mean DESK_POLL_INTERVAL?"
            in done.stdout)
    assert "did you mean OTEL_EXPORTER_OTLP_ENDPOINT?" in done.stdout
    last = done.stdout.rstrip().splitlines()[-1]
    assert last == ("all checks passed, with 2 warnings (DESK_POLL_INTERVALL, OTEL_EXPORTER_OTLP_ENDPIONT): "
                    "see [warn] above")


def test_warnings_also_follow_the_problems(env, state_path):
    env["DESK_PAGESIZE"] = "100"
    state_path.write_text("{oops")
    done = run_command(env, "check")
    assert done.returncode == 1
    assert done.stdout.rstrip().endswith("problems: State; 1 warning (DESK_PAGESIZE)")


def test_a_health_port_in_use_fails_naming_desk_health_addr(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env["DESK_HEALTH_ADDR"] = address
        done = run_command(env, "check")
    assert done.returncode == 1, done.stdout
    assert f"[FAIL] Health: DESK_HEALTH_ADDR: cannot listen on {address} (Address already in use)" in done.stdout
    assert done.stdout.rstrip().endswith("problems: Health")


def test_a_free_health_port_and_health_off_pass(env):
    env["DESK_HEALTH_ADDR"] = f"127.0.0.1:{free_port()}"
    done = run_command(env, "check")
    assert done.returncode == 0 and (f"[ok] Health: DESK_HEALTH_ADDR {env['DESK_HEALTH_ADDR']}: free, /healthz, "
                                     "/readyz and the status page (/) can listen") in done.stdout
    env["DESK_HEALTH_ADDR"] = ""
    done = run_command(env, "check")
    assert done.returncode == 0 and "[ok] Health: DESK_HEALTH_ADDR is empty: health endpoints off" in done.stdout


def test_token_from_a_file(env, tmp_path):
    token_file = tmp_path / "api-token"
    token_file.write_text(env.pop("DESK_API_TOKEN") + "\n")
    env["DESK_API_TOKEN_FILE"] = str(token_file)
    done = run_command(env, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok] Desk API" in done.stdout and token_file.read_text().strip() not in done.stdout
    token_file.unlink()
    done = run_command(env, "check")
    assert done.returncode == 2
    assert f"configuration error: DESK_API_TOKEN_FILE: file not found: {token_file}" in done.stderr


def test_a_health_port_held_by_a_running_receiver_says_so(env, tmp_path):
    env["DESK_HEALTH_ADDR"] = f"127.0.0.1:{free_port()}"
    running = ReceiverProcess.start(env | {"DESK_STATE_PATH": str(tmp_path / "running.json")}, tmp_path)
    try:
        wait_until(lambda: http_status(f"http://{env['DESK_HEALTH_ADDR']}/healthz") == 200, what="/healthz")
        done = run_command(env, "check")
    finally:
        running.signal(signal.SIGTERM)
        running.wait()
    assert done.returncode == 1
    assert (f"[FAIL] Health: DESK_HEALTH_ADDR: cannot listen on {env['DESK_HEALTH_ADDR']} (Address already in use); "
            "a receiver already answers /healthz there") in done.stdout


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_endpoint_quoting_the_credentials_it_refused_is_reported_masked(env, otlp_sink, tmp_path, protocol):
    headers = tmp_path / "otlp-headers"
    headers.write_text("x-file-key=file-secret-8c1d,authorization=Bearer%20file-bearer-5e2a\n")
    env.update(DESK_OTLP_HEADERS_FILE=str(headers), OTEL_EXPORTER_OTLP_HEADERS="x-env-key=env-secret-77f3",
               OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
               OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.grpc_endpoint if protocol == "grpc" else otlp_sink.http_endpoint)
    otlp_sink.fail_next(100, http_status=401, grpc_code=grpc.StatusCode.UNAUTHENTICATED, message="bad credentials",
                        quote_headers=("authorization", "x-file-key", "x-env-key"))
    done = run_command(env, "check")
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "[FAIL] OTLP logs" in done.stdout, output
    assert "bad credentials" in output and "REDACTED" in output  # the refusal is shown, its quotes masked
    for secret in ("file-secret-8c1d", "file-bearer-5e2a", "env-secret-77f3"):
        assert secret not in output


def test_a_bot_name_with_a_newline_cannot_forge_a_report_line(env, desk_emulator):
    desk_emulator.add_bot(name="evil\n[ok] FORGED")
    done = run_command(env, "check")
    assert done.returncode == 0, done.stdout
    assert "evil\\n[ok] FORGED" in done.stdout and "\n[ok] FORGED" not in done.stdout


def test_a_header_pair_that_is_not_key_value_is_exit_2_without_its_text(env):
    """A header written as HTTP writes it ('Authorization: Bearer ...') was dropped by the SDK's parser, so the
    exports went out unauthenticated, and check printed the whole pair as a header name, credential and all."""
    env["OTEL_EXPORTER_OTLP_HEADERS"] = "x-tenant=acme,Authorization: Bearer hdr-4b1d"
    done = run_command(env, "check")
    assert done.returncode == 2
    assert done.stderr == "configuration error: OTEL_EXPORTER_OTLP_HEADERS: pair 2 is not key=value\n"
    assert "hdr-4b1d" not in done.stdout + done.stderr


@pytest.fixture
def two_apps(make_desk_emulator, otlp_sink, state_path, tmp_path):
    """Two Desks (two emulators, the same bot ids, each its own token in its own Secret file) in one --config."""
    desks = {"eu": make_desk_emulator(token="eu-token-71c2"), "us": make_desk_emulator(token="us-token-93d4")}
    for region, desk in desks.items():
        desk.add_bot(name=f"{region}-orders", timeout_seconds=45)
        desk.add_bot(name=f"{region}-faq", type="FAQ")
        (tmp_path / region).mkdir()
        (tmp_path / region / "token").write_text(desk.config.token + "\n")
    config = tmp_path / "receiver.yaml"
    config.write_text(f"apps:\n  - api_url: {desks['eu'].url}\n    api_token_file: {tmp_path / 'eu' / 'token'}\n"
                      f"    bot_ids: [1]\n  - api_url: {desks['us'].url}\n"
                      f"    api_token_file: {tmp_path / 'us' / 'token'}\n    max_rps: 500\n")
    env = receiver_env(desks["eu"], otlp_sink.http_endpoint, "http/protobuf", state_path)
    del env["DESK_API_URL"], env["DESK_API_TOKEN"]
    labels = {region: desk.url.split("//", 1)[1].split("/", 1)[0] for region, desk in desks.items()}
    return env, config, desks, labels


def blocks(report: str) -> dict[str, str]:
    """The report's findings by their first line's subject: '[ok] Desk API (app x): ...' -> 'Desk API (app x)'."""
    found = {}
    for block in report.split("\n[")[1:]:
        subject = block.split("] ", 1)[1].split(": ", 1)[0]
        found[subject] = "[" + block
    return found


def test_two_apps_each_have_their_own_block_with_their_bots_and_state(two_apps, state_path):
    env, config, desks, labels = two_apps
    done = run_command(env, "check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    found = blocks(done.stdout)
    eu, us = found[f"Desk API (app {labels['eu']})"], found[f"Desk API (app {labels['us']})"]
    assert eu.startswith(f"[ok] Desk API (app {labels['eu']}): {desks['eu'].url}: reachable, token accepted; "
                         "1 CUSTOM bot(s) to watch of 1 listed")
    assert "eu-orders" in eu and "us-orders" not in eu and "faq" not in eu
    assert us.startswith(f"[ok] Desk API (app {labels['us']}): {desks['us'].url}: reachable, token accepted; "
                         "1 CUSTOM bot(s) to watch of 2 listed")
    assert "us-orders" in us and "us-faq" in us and "skip (not CUSTOM)" in us and "eu-" not in us
    assert "1 bot(s) at apps[1].max_rps=500: one sweep takes" in us
    for region in ("eu", "us"):
        assert found[f"State (app {labels[region]})"].startswith(f"[ok] State (app {labels[region]}): ")
        assert "none yet" in found[f"State (app {labels[region]})"]
        assert f"  app {labels[region]}: {desks[region].url}" in done.stdout  # the apps, in the settings printed
    assert "Desk API" not in found and "eu-token-71c2" not in done.stdout and "us-token-93d4" not in done.stdout
    assert done.stdout.rstrip().endswith("all checks passed")


def test_a_token_refused_in_one_app_fails_check_naming_that_app(two_apps, tmp_path):
    env, config, desks, labels = two_apps
    (tmp_path / "us" / "token").write_text("wrong-token-55e6\n")
    done = run_command(env, "check", "--config", str(config))
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    found = blocks(done.stdout)
    assert found[f"Desk API (app {labels['eu']})"].startswith(f"[ok] Desk API (app {labels['eu']})")
    assert "eu-orders" in found[f"Desk API (app {labels['eu']})"]
    refused = found[f"Desk API (app {labels['us']})"]
    assert refused.startswith(f"[FAIL] Desk API (app {labels['us']}): ")
    assert f"Desk rejected the API token; check apps[1].api_token_file at line 6 of {config} (app {labels['us']})" \
        in refused
    assert done.stdout.rstrip().endswith(f"problems: Desk API (app {labels['us']})")
    assert "wrong-token-55e6" not in output


def test_an_unreadable_app_token_file_is_exit_2_naming_the_item(two_apps, tmp_path):
    env, config, _desks, _labels = two_apps
    (tmp_path / "us" / "token").unlink()
    done = run_command(env, "check", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr == (f"configuration error: apps[1].api_token_file at line 6 of {config}: file not found: "
                           f"{tmp_path / 'us' / 'token'}\n")


def test_each_app_is_told_the_state_saved_for_it(two_apps, state_path):
    env, config, desks, labels = two_apps
    identities = [DeskIdentity(labels[region], desks[region].url) for region in ("eu", "us")]
    cursor = BotCursor(window_start="2026-11-20", offset=3, anchor_id=7, last_id=9, since_ns=5, trail_start_ns=5)
    StateFile(state_path, identities).section(labels["us"]).commit({1: cursor, 2: cursor})
    done = run_command(env, "check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    found = blocks(done.stdout)
    assert found[f"State (app {labels['us']})"].startswith(
        f"[ok] State (app {labels['us']}): {state_path}: valid, 2 bot cursor(s), 0 entries pending")
    assert found[f"State (app {labels['eu']})"].startswith(
        f"[ok] State (app {labels['eu']}): {state_path}: valid, nothing saved for app {labels['eu']} yet; "
        "each bot starts from now")
