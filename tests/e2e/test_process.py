"""The receiver as users run it, a child process: crashes, signals, exit codes, secrets, readiness."""

import json
import signal
import time
from collections import Counter
from datetime import timedelta

import psutil
import pytest
import requests

from otel_desk_receiver import names
from otel_desk_receiver.state.document import STATE_VERSION
from tests.deploy.chart import RELEASE, documents, find, render
from tests.harness.ports import free_port
from tests.harness.receiver import by_bot_and_status, counter_by_bot_and_status, scrape, uids
from tests.harness.receiver_process import (
    ReceiverProcess,
    delivered_counter_total,
    http_status,
    receiver_env,
    run_command,
)
from tests.harness.wait import wait_until

PAGE = 200


def preload(emulator, bots: int, per_bot: int) -> int:
    start = emulator.clock.now() - timedelta(days=2)
    for index in range(bots):
        bot = emulator.add_bot(name=f"bot-{index}", timeout_seconds=30)
        emulator.add_entries(bot["id"], per_bot, statuses=("RECEIVED", "ERROR", "TIMEOUT"), start=start,
                             spacing_s=86400 / per_bot)
    return bots * per_bot


def test_kill_9_mid_backfill_loses_nothing_and_repeats_at_most_one_batch(desk_emulator, otlp_sink, state_path,
                                                                          tmp_path):
    bots = 3
    total = preload(desk_emulator, bots=bots, per_bot=6000)
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path,
                       backfill_days=3, page_size=PAGE, poll_interval=1)
    killed_after = []
    for threshold in (2000, 9000):  # two crashes at different depths of the backfill
        process = ReceiverProcess.start(env, tmp_path)
        wait_until(lambda: otlp_sink.count() >= threshold or process.process.poll() is not None, what="progress")
        process.kill()
        killed_after.append(otlp_sink.count())
    finishing = ReceiverProcess.start(env, tmp_path, "--once")
    assert finishing.wait() == 0, finishing.output()[-3000:]
    received = uids(otlp_sink)
    assert len(set(received)) == total
    duplicates = len(received) - total
    # Per crash, at most one batch per bot: the last each delivered, if its commit was not saved yet
    # (commits are saved together, once a sweep, and always before that bot's next batch goes out).
    assert 0 <= duplicates <= 2 * bots * PAGE
    assert killed_after[0] < total
    # Counters: exact across the crashes, whatever was repeated: the totals move with the cursor and
    # each process carries them on (issue 11).
    unique = {r.attributes[names.ATTR_LOG_RECORD_UID]: r for r in otlp_sink.log_records()}.values()
    assert counter_by_bot_and_status(otlp_sink) == Counter(
        (r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_WEBHOOK_LOG_STATUS]) for r in unique)
    assert delivered_counter_total(otlp_sink) == total


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_finishes_saves_and_exits_0_within_10_s(desk_emulator, otlp_sink, state_path, tmp_path, signum):
    total = preload(desk_emulator, bots=2, per_bot=8000)
    env = receiver_env(desk_emulator, otlp_sink.grpc_endpoint, "grpc", state_path, backfill_days=3,
                       page_size=100, poll_interval=1)
    process = ReceiverProcess.start(env, tmp_path)
    wait_until(lambda: otlp_sink.count() >= 1000, what="progress")
    process.signal(signum)
    sent_at = time.monotonic()
    assert process.wait(timeout_s=15) == 0, process.output()[-3000:]
    assert time.monotonic() - sent_at < 10
    assert json.loads(state_path.read_text())["version"] == STATE_VERSION
    finishing = ReceiverProcess.start(env, tmp_path, "--once")
    assert finishing.wait() == 0, finishing.output()[-3000:]
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == total  # graceful: no duplicate at all


def test_otlp_down_then_back_readyz_503_then_200_and_memory_flat(desk_emulator, otlp_sink, state_path, tmp_path):
    total = preload(desk_emulator, bots=2, per_bot=5000)
    health_port = free_port()
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=3,
                       page_size=PAGE, poll_interval=0.3, health_addr=f"127.0.0.1:{health_port}")
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "500"
    otlp_sink.set_down(True)
    process = ReceiverProcess.start(env, tmp_path)
    try:
        readyz = f"http://127.0.0.1:{health_port}/readyz"
        wait_until(lambda: http_status(readyz) == 503, what="/readyz 503")
        desk_emulator.reset_requests()
        rss = []
        for _ in range(5):
            rss.append(psutil.Process(process.process.pid).memory_info().rss)
            time.sleep(0.4)
        assert desk_emulator.request_count("/webhook_logs") <= 2 * 8  # re-reads one page per bot, no further
        assert max(rss) - min(rss) < 20 * 2**20
        assert otlp_sink.count() == 0
        otlp_sink.set_down(False)
        wait_until(lambda: otlp_sink.count() >= total, what="everything delivered")
        wait_until(lambda: http_status(readyz) == 200, what="/readyz 200")
        assert http_status(f"http://127.0.0.1:{health_port}/healthz") == 200
    finally:
        process.signal(signal.SIGTERM)
        assert process.wait() == 0
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == total


@pytest.mark.parametrize(("change", "code", "needle"), [
    ({"DESK_API_TOKEN": "wrong-token"}, 3, "DESK_API_TOKEN"),
    ({"DESK_PAGE_SIZE": "9000"}, 2, "DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '9000')"),
    ({"DESK_API_TOKEN": None}, 2, "DESK_API_TOKEN: required"),
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, 2, "expected grpc or http/protobuf"),
], ids=["token rejected", "bad page size", "no token", "bad protocol"])
def test_exit_codes_and_messages_without_traceback(desk_emulator, otlp_sink, state_path, change, code, needle):
    desk_emulator.add_bot(name="any")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    done = run_command(env, "run", "--once")
    assert done.returncode == code, done.stderr
    assert needle in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "wrong-token" not in done.stderr + done.stdout


def test_corrupt_state_stops_with_exit_2_naming_the_file(desk_emulator, otlp_sink, state_path):
    desk_emulator.add_bot(name="any")
    state_path.write_text('{"version": 1, "bots": {"1": ')
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    done = run_command(env, "run", "--once")
    assert done.returncode == 2
    assert str(state_path) in done.stderr and "Traceback" not in done.stderr
    assert state_path.read_text() == '{"version": 1, "bots": {"1": '


def test_secrets_appear_nowhere(make_desk_emulator, otlp_sink, state_path):
    token = "desk-token-5f2a9c-never-print"
    header_secret = "Basic b3RscC1zZWNyZXQtdmFsdWU="
    emulator = make_desk_emulator(token=token)
    preload(emulator, bots=1, per_bot=50)
    emulator.faults.fail_next(2, status=503, path_contains="/webhook_logs")  # retries log warnings too
    env = receiver_env(emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=3,
                       log_level="DEBUG")
    env["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization={header_secret.replace(' ', '%20')}"
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert len(otlp_sink.log_records()) == 50
    assert any(r.headers.get("authorization") == header_secret for r in otlp_sink.requests("logs"))
    exported = repr(otlp_sink.log_records()) + repr(otlp_sink.metric_points())
    for secret in (token, header_secret, "b3RscC1zZWNyZXQtdmFsdWU"):
        for where, text in (("stdout", done.stdout), ("stderr", done.stderr), ("exported", exported),
                            ("state", state_path.read_text())):
            assert secret not in text, f"secret found in {where}"
    assert "retrying" in done.stderr  # the retry warnings were there to be checked


def test_status_counts_by_bot_match_logs_through_a_process(desk_emulator, otlp_sink, state_path):
    total = preload(desk_emulator, bots=2, per_bot=300)
    env = receiver_env(desk_emulator, otlp_sink.grpc_endpoint, "grpc", state_path, backfill_days=3)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    logs = by_bot_and_status(otlp_sink)
    assert sum(logs.values()) == total and logs == counter_by_bot_and_status(otlp_sink)
    assert "bot " in done.stderr and "exported" in done.stderr  # one INFO line per bot per cycle


def test_health_port_taken_is_a_clear_configuration_error(desk_emulator, otlp_sink, state_path):
    import socket

    desk_emulator.add_bot(name="any")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path,
                           health_addr=f"127.0.0.1:{port}")
        done = run_command(env, "run", "--once")
    assert done.returncode == 2
    assert f"DESK_HEALTH_ADDR: cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_while_the_otlp_endpoint_is_down_still_exits_within_10_s(desk_emulator, otlp_sink, state_path,
                                                                         tmp_path):
    preload(desk_emulator, bots=1, per_bot=500)
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=3,
                       poll_interval=1)
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "30000"  # an export would go on retrying for 30 s
    otlp_sink.set_down(True)
    process = ReceiverProcess.start(env, tmp_path)
    wait_until(lambda: otlp_sink.stats["logs"]["http"]["refused"] >= 1, what="a refused export")
    process.signal(signal.SIGTERM)
    sent_at = time.monotonic()
    assert process.wait(timeout_s=20) == 0, process.output()[-3000:]
    assert time.monotonic() - sent_at < 10
    assert otlp_sink.count() == 0


def test_the_charts_prometheus_settings_serve_the_counters_for_a_scrape(desk_emulator, otlp_sink, state_path,
                                                                       tmp_path):
    """The chart's metrics.* values, as its ConfigMap renders them, make a real receiver serve /metrics."""
    port = free_port()
    (configmap,) = find(documents(render({"token": {"value": "t"}, "settings": {"appId": "a"},
                                          "metrics": {"exporter": "otlp,prometheus", "prometheusPort": port}})),
                        "ConfigMap", RELEASE)
    bot = desk_emulator.add_bot(name="scraped")
    desk_emulator.add_entries(bot["id"], 3, statuses=("RECEIVED",),
                              start=desk_emulator.clock.now() - timedelta(hours=1))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, poll_interval=1,
                       backfill_days=1)
    env.update({k: v for k, v in configmap["data"].items()
                if k.startswith(("OTEL_METRICS_", "OTEL_EXPORTER_PROMETHEUS_"))})
    receiver = ReceiverProcess.start(env, tmp_path)
    try:
        counted: list[float] = []

        def scraped() -> bool:
            try:
                samples = scrape(port)
            except requests.ConnectionError:
                return False
            counted[:] = [sample.value for sample in samples
                          if sample.name == "sendbird_desk_bot_webhook_logs_total"
                          and sample.labels["sendbird_desk_bot_id"] == str(bot["id"])
                          and sample.labels["sendbird_desk_webhook_log_status"] == "RECEIVED"]
            return counted == [3.0]

        try:
            wait_until(scraped, what="the bot's 3 RECEIVED entries counted at /metrics")
        except AssertionError as error:
            raise AssertionError(f"{error}; counted: {counted}; receiver log:\n{receiver.output()[-3000:]}") from None
        assert f"Prometheus metrics on http://0.0.0.0:{port}/metrics" in receiver.output()
    finally:
        receiver.signal(signal.SIGTERM)
        receiver.wait()


def test_kill_9_with_two_apps_on_one_state_file_repeats_at_most_one_batch_per_bot_of_each_app(
        make_desk_emulator, otlp_sink, state_path, tmp_path):
    # Each app's commit writes the whole file, the other app's section as that app last committed it: a crash
    # between two apps' saves costs each bot at most its last batch, per app, and the counters stay exact.
    desks = {label: make_desk_emulator() for label in ("eu", "us")}
    total = sum(preload(desk, bots=2, per_bot=3000) for desk in desks.values())
    env = receiver_env(desks["eu"], otlp_sink.http_endpoint, "http/protobuf", state_path, page_size=PAGE,
                       poll_interval=1)
    del env["DESK_API_URL"], env["DESK_API_TOKEN"]
    config = tmp_path / "receiver.yaml"
    config.write_text(json.dumps({"backfill": "3d", "apps": [
        {"app_id": label, "api_url": desk.url, "api_token": desk.config.token} for label, desk in desks.items()]}))
    process = ReceiverProcess.start(env, tmp_path, "--config", str(config))
    wait_until(lambda: otlp_sink.count() >= 2000 or process.process.poll() is not None, what="progress")
    process.kill()
    assert otlp_sink.count() < total
    finishing = ReceiverProcess.start(env, tmp_path, "--config", str(config), "--once")
    assert finishing.wait() == 0, finishing.output()[-3000:]
    records = otlp_sink.log_records()
    sent = Counter(r.attributes[names.ATTR_LOG_RECORD_UID] for r in records)
    assert len(sent) == total
    repeated = Counter((r.attributes[names.ATTR_APP_ID], r.attributes[names.ATTR_BOT_ID]) for r in records
                       if sent[r.attributes[names.ATTR_LOG_RECORD_UID]] > 1)
    assert all(count <= 2 * PAGE for count in repeated.values()), repeated  # each copy counted: at most a batch
    assert delivered_counter_total(otlp_sink) == total
    saved = json.loads(state_path.read_text())
    assert saved["version"] == STATE_VERSION and sorted(saved["apps"]) == ["eu", "us"]
