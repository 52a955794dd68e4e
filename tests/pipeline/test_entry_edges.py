"""Entries and settings at the edges of what Desk may send, against the emulator and a real OTLP sink:
values that parse but cannot be encoded, ids as decimal strings, malformed entries counted once whatever
happens after, a stop request between pages, a token that may not read one bot's logs."""

from datetime import timedelta

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.config import load_settings
from otel_desk_receiver.errors import ConfigError
from tests.harness.receiver import days_ago, make_receiver
from tests.harness.receiver_process import receiver_env, run_command


@pytest.fixture
def sink(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return otlp_sink


def rejected_total(sink) -> int:
    return int(sum(sink.counter_totals(names.ENTRIES_REJECTED.name).values()))


@pytest.mark.parametrize("extra", [
    pytest.param({"createdAt": "2600-01-01T00:00:00Z"}, id="createdAt-after-2262"),
    pytest.param({"createdAt": "1969-12-31T23:59:59Z"}, id="createdAt-before-1970"),
    pytest.param({"id": 2**63}, id="id-2**63"),
    pytest.param({"id": 2**64 + 5}, id="id-past-uint64"),
])
def test_values_that_parse_but_cannot_be_encoded_are_malformed_not_blocking(desk_emulator, sink, state_path, extra):
    bot = desk_emulator.add_bot(name="odd")
    start = days_ago(desk_emulator, 0.5)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start + timedelta(seconds=1), extra=extra)
    desk_emulator.add_entries(bot["id"], 3, statuses=("ERROR",), start=start + timedelta(seconds=2))
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1)
    try:
        first = receiver.run_once()
        desk_emulator.add_entries(bot["id"], 2, statuses=("RECEIVED",), start=desk_emulator.clock.now(), spacing_s=0.1)
        desk_emulator.clock.advance(1)
        second = receiver.run_once()
    finally:
        receiver.close()
    assert first.delivered and first.exported == 4 and second.exported == 2  # later entries are not skipped
    assert rejected_total(sink) == 1


def test_ids_as_decimal_strings_do_not_send_quiet_cycles_down_the_shifted_path(desk_emulator, sink, state_path,
                                                                               caplog):
    bot = desk_emulator.add_bot(name="stringly")
    for n in range(5):
        entry = desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=days_ago(desk_emulator, 0.1 - n / 1000))
        desk_emulator.state.logs[bot["id"]].overrides[entry["id"]] = {"id": str(entry["id"])}
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1)
    try:
        assert receiver.run_once().exported == 5
        desk_emulator.reset_requests()
        for _ in range(3):
            assert receiver.run_once().exported == 0
    finally:
        receiver.close()
    assert desk_emulator.request_count("/webhook_logs") == 3  # one request a quiet cycle
    assert "shifted" not in caplog.text


def test_a_malformed_entry_is_counted_once_across_failed_exports_and_rereads(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="messy")
    start = days_ago(desk_emulator, 0.5)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start)
    desk_emulator.add_entry(bot["id"], status="RECEIVED", created_at=start + timedelta(seconds=1), extra={"id": None})
    desk_emulator.add_entry(bot["id"], status="ERROR", created_at=start + timedelta(seconds=2),
                            extra={"createdAt": "garbage"})
    desk_emulator.add_entry(bot["id"], status="ERROR", created_at=start + timedelta(seconds=3))
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1)
    try:
        sink.set_down(True)
        assert not receiver.run_once().delivered
        assert not receiver.run_once().delivered
        sink.set_down(False)
        assert receiver.run_once().exported == 2
        assert receiver.run_once().exported == 0
    finally:
        receiver.close()
    assert rejected_total(sink) == 2  # the id-less one and the bad createdAt, once each


def test_a_stop_request_ends_the_read_after_the_page_in_flight(desk_emulator, sink, state_path):
    bot = desk_emulator.add_bot(name="long")
    desk_emulator.add_entries(bot["id"], 2000, statuses=("RECEIVED",), start=days_ago(desk_emulator, 0.9),
                              spacing_s=30)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1, page_size=100)
    pages = []

    def stop_at_the_third_page(path, _params):
        if "webhook_logs" in path:
            pages.append(path)
            if len(pages) == 3:
                receiver.stop()
    desk_emulator.before_each_request(stop_at_the_third_page)
    try:
        result = receiver.run_once()
    finally:
        receiver.close()
    assert len(pages) <= 4  # the page in flight, and at most the one read ahead before the stop
    assert 0 < result.exported < 2000
    assert result.exported == len(sink.log_records())


def test_check_reads_each_bots_webhook_logs_and_names_the_one_it_may_not_read(desk_emulator, otlp_sink, state_path):
    readable = desk_emulator.add_bot(name="readable")
    forbidden = desk_emulator.add_bot(name="forbidden")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    desk_emulator.faults.fail_next(10, status=403, path_contains=f"/bots/{forbidden['id']}/webhook_logs")
    done = run_command(env, "check")
    assert done.returncode == 1
    assert f"bot {forbidden['id']}: webhook_logs" in done.stdout
    assert f"bot {readable['id']}: webhook_logs" not in done.stdout


@pytest.mark.parametrize("value", ["-5", "0", "12,-3"])
def test_bot_ids_must_be_positive(monkeypatch, value):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_API_URL", "http://127.0.0.1:9/platform/v1")
    monkeypatch.setenv("DESK_BOT_IDS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [f"DESK_BOT_IDS: expected comma-separated positive integer bot IDs (got {value!r})"]


def test_check_says_when_the_budget_cannot_meet_the_interval(desk_emulator, otlp_sink, state_path):
    # check reads every bot at the budget it judges: 60 bots at 100 requests/s take it 0.6 s, not the 6 s of
    # 12 bots at 2 requests/s.
    for n in range(60):
        desk_emulator.add_bot(name=f"bot-{n}")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, max_rps=100,
                       poll_interval=0.5)
    done = run_command(env, "check", timeout_s=120)
    assert "60 bot(s) at DESK_MAX_RPS=100: one sweep takes at least 0.6 s against DESK_POLL_INTERVAL=0.5 s" in done.stdout
    assert "[warn] DESK_MAX_RPS" in done.stdout
