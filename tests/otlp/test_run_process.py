"""`run` as a real process at the OTLP boundary: --once and the counters, SIGTERM against a dripping endpoint,
the timeout unit, and secrets that the SDK or an endpoint would print."""

import signal
import threading
from collections import Counter
from datetime import timedelta

import grpc
import pytest

from otel_desk_receiver import names
from tests.harness.receiver import by_bot_and_status, counter_by_bot_and_status
from tests.harness.receiver_process import ReceiverProcess, receiver_env
from tests.harness.wait import WAIT_S, wait_until

SECRET = 'k3y;with"quotes'


def preload(emulator, per_bot: int, bots: int = 2) -> int:
    start = emulator.clock.now() - timedelta(days=1)
    for index in range(bots):
        bot = emulator.add_bot(name=f"bot-{index}", timeout_seconds=30)
        emulator.add_entries(bot["id"], per_bot, statuses=("RECEIVED", "ERROR", "TIMEOUT"), start=start,
                             spacing_s=30)
    return bots * per_bot


def env_for(emulator, sink, state_path, protocol="http/protobuf", **extra):
    endpoint = sink.grpc_endpoint if protocol == "grpc" else sink.http_endpoint
    env = receiver_env(emulator, endpoint, protocol, state_path, backfill_days=2, page_size=100, poll_interval=1)
    env.update(extra)
    return env


def test_run_once_fails_when_the_counters_are_not_accepted_and_loses_none(desk_emulator, otlp_sink, state_path,
                                                                          tmp_path):
    total = preload(desk_emulator, 150)
    env = env_for(desk_emulator, otlp_sink, state_path)
    otlp_sink.fail_next(1000, http_status=500, signal="metrics")
    first = ReceiverProcess.start(env, tmp_path, "--once")
    assert first.wait() == 1, first.output()[-3000:]
    assert "did not accept the counters" in first.output()
    assert len(otlp_sink.log_records()) == total  # the logs went through
    otlp_sink.fail_next(0)
    second = ReceiverProcess.start(env, tmp_path, "--once")
    assert second.wait() == 0, second.output()[-3000:]
    assert counter_by_bot_and_status(otlp_sink) == by_bot_and_status(otlp_sink)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_sigterm_exits_within_10_s_while_the_endpoint_drips_its_answers(desk_emulator, otlp_sink, state_path,
                                                                        tmp_path, protocol):
    preload(desk_emulator, 300)
    otlp_sink.drip_s = 1.0  # every answer takes minutes, each byte well within any read timeout
    env = env_for(desk_emulator, otlp_sink, state_path, protocol, OTEL_EXPORTER_OTLP_TIMEOUT="60000")
    process = ReceiverProcess.start(env, tmp_path)
    try:
        wait_until(lambda: sum(p["requests"] for p in otlp_sink.stats["logs"].values()) > 0, what="the first export")
        process.signal(signal.SIGTERM)
        assert process.wait(timeout_s=10) == 0, process.output()[-3000:]
    finally:
        otlp_sink.drip_s = 0
        process.kill()


def test_a_timeout_that_looks_like_seconds_is_warned_about(desk_emulator, otlp_sink, state_path, tmp_path):
    preload(desk_emulator, 5, bots=1)
    env = env_for(desk_emulator, otlp_sink, state_path, OTEL_EXPORTER_OTLP_TIMEOUT="10")
    process = ReceiverProcess.start(env, tmp_path, "--once")
    process.wait()
    warning = [line for line in process.output().splitlines() if "OTEL_EXPORTER_OTLP_TIMEOUT=10" in line]
    assert warning and "milliseconds" in warning[0] and "OTEL_EXPORTER_OTLP_TIMEOUT=10000" in warning[0]


def test_secrets_never_reach_the_output(desk_emulator, otlp_sink, state_path, tmp_path):
    preload(desk_emulator, 20, bots=1)
    # A header value the SDK calls malformed (and prints), a gRPC refusal quoting the request's headers, and
    # user info in the Desk URL.
    url = desk_emulator.url.replace("http://", "http://desk-user:url-pa55word@")
    env = env_for(desk_emulator, otlp_sink, state_path, "grpc", OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={SECRET}",
                  DESK_API_URL=url)
    otlp_sink.fail_next(3, grpc_code=grpc.StatusCode.UNAUTHENTICATED,
                        message=f"bad credentials in headers: x-api-key: {SECRET}")
    process = ReceiverProcess.start(env, tmp_path, "--once")
    process.wait()
    output = process.output()
    assert "UNAUTHENTICATED" in output  # the refusal is reported...
    for secret in (SECRET, "k3y", "url-pa55word", desk_emulator.config.token):
        assert secret not in output  # ...without what it quoted


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_endpoint_quoting_the_headers_it_refused_never_gets_them_printed(desk_emulator, otlp_sink, state_path,
                                                                          tmp_path, protocol):
    preload(desk_emulator, 20, bots=1)
    headers = tmp_path / "otlp-headers"
    headers.write_text("authorization=Bearer%20file-bearer-5e2a,x-file-key=file-secret-8c1d\n")
    env = env_for(desk_emulator, otlp_sink, state_path, protocol, DESK_OTLP_HEADERS_FILE=str(headers),
                  OTEL_EXPORTER_OTLP_HEADERS="x-env-key=env-secret-77f3")
    otlp_sink.fail_next(1000, http_status=401, grpc_code=grpc.StatusCode.UNAUTHENTICATED, message="bad credentials",
                        quote_headers=("authorization", "x-file-key", "x-env-key"))
    process = ReceiverProcess.start(env, tmp_path, "--once")
    assert process.wait() == 1
    output = process.output()
    assert "bad credentials" in output and "REDACTED" in output, output[-3000:]
    for secret in ("file-bearer-5e2a", "file-secret-8c1d", "env-secret-77f3"):
        assert secret not in output


def test_check_shows_no_user_info(desk_emulator, otlp_sink, state_path):
    from tests.harness.receiver_process import run_command

    url = desk_emulator.url.replace("http://", "http://desk-user:url-pa55word@")
    endpoint = otlp_sink.http_endpoint.replace("http://", "http://otlp-user:otlp-pa55word@")
    env = env_for(desk_emulator, otlp_sink, state_path, DESK_API_URL=url, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                  OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Basic%20{SECRET}")
    result = run_command(env, "check")
    output = result.stdout + result.stderr
    assert "REDACTED@" in output
    for secret in ("url-pa55word", "otlp-pa55word", "k3y"):
        assert secret not in output


def test_one_line_per_cycle_while_the_endpoint_is_down(desk_emulator, otlp_sink, state_path, tmp_path):
    preload(desk_emulator, 30, bots=4)
    otlp_sink.set_down(True)
    env = env_for(desk_emulator, otlp_sink, state_path, OTEL_EXPORTER_OTLP_TIMEOUT="1500")
    process = ReceiverProcess.start(env, tmp_path, "--once")
    assert process.wait() == 1
    lines = process.output().splitlines()
    problems = [line for line in lines if " WARNING " in line or " ERROR " in line]
    about_logs = [line for line in problems if "did not accept the log records" in line]
    assert len(about_logs) == 1, problems
    assert "4 bot(s) waiting with 120 settled entries" in about_logs[0]
    refused = otlp_sink.stats["logs"]["http"]["refused"]
    assert refused <= 6  # one export and the SDK's retries within its timeout; the other bots wait
    assert Counter(by_bot_and_status(otlp_sink)) == Counter()


def test_check_warns_about_a_timeout_that_looks_like_seconds(desk_emulator, otlp_sink, state_path):
    from tests.harness.receiver_process import run_command

    env = env_for(desk_emulator, otlp_sink, state_path, OTEL_EXPORTER_OTLP_LOGS_TIMEOUT="5")
    output = run_command(env, "check").stdout
    assert "[warn] OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=5 is read as 5 milliseconds" in output


def test_sigterm_exits_within_10_s_while_desk_holds_its_answer(desk_emulator, otlp_sink, state_path, tmp_path):
    preload(desk_emulator, 20, bots=1)
    env = env_for(desk_emulator, otlp_sink, state_path)
    process = ReceiverProcess.start(env, tmp_path)
    release = threading.Event()
    try:
        wait_until(lambda: "watching 1 bot" in process.output(), what="the bot listing")
        in_flight = threading.Event()
        # From now on Desk holds every answer until the test ends (a minute at most).
        desk_emulator.before_each_request(lambda _path, _params: (in_flight.set(), release.wait(60)))
        assert in_flight.wait(WAIT_S)  # a read is held by Desk
        process.signal(signal.SIGTERM)
        assert process.wait(timeout_s=10) == 0, process.output()[-3000:]
    finally:
        release.set()
        process.kill()
