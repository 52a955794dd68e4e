"""Receiver -> rotel (a real OpenTelemetry collector) -> OTLP sink, over gRPC and over HTTP."""

from collections import Counter
from datetime import timedelta

import pytest

from otel_desk_receiver import names
from tests.harness.receiver_process import receiver_env, run_command
from tests.harness.wait import wait_until


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_logs_and_counters_arrive_through_a_collector(desk_emulator, otlp_sink, rotel, state_path, protocol):
    bot = desk_emulator.add_bot(name="through-collector", timeout_seconds=30)
    desk_emulator.add_entries(bot["id"], 1200, statuses=("RECEIVED", "ERROR", "TIMEOUT"),
                              start=desk_emulator.clock.now() - timedelta(hours=5), spacing_s=10)
    collector = rotel(otlp_sink, "grpc" if protocol == "grpc" else "http")
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    env = receiver_env(desk_emulator, endpoint, protocol, state_path, backfill_days=1, page_size=250)
    done = run_command(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: otlp_sink.count() >= 1200, timeout_s=30, what="records through rotel")
    records = otlp_sink.log_records()
    assert len({r.attributes[names.ATTR_LOG_RECORD_UID] for r in records}) == len(records) == 1200
    assert Counter(r.attributes[names.ATTR_WEBHOOK_LOG_STATUS] for r in records) == {
        "RECEIVED": 400, "ERROR": 400, "TIMEOUT": 400}
    assert {r.event_name for r in records} == {names.EVENT_NAME}
    assert {r.resource["service.name"] for r in records} == {names.DEFAULT_SERVICE_NAME}
    wait_until(lambda: sum(otlp_sink.counter_totals(names.WEBHOOK_LOGS.name).values()) == 1200, timeout_s=30,
               what="counter through rotel")
