"""The receiver at the OTLP boundary: what the state and the counters do when the endpoint does not simply accept."""

import json
import logging
from collections import Counter
from urllib.parse import urlsplit

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.otlp.answer import REASON_PARTIAL, REASON_REFUSED, REASON_TOO_OLD
from otel_desk_receiver.otlp.counter_export import KNOWN_STATUSES
from tests.harness.receiver import by_bot_and_status, counter_by_bot_and_status, days_ago, make_receiver, run_once, uids
from tests.harness.saved_state import app_section

STATUSES = ("RECEIVED", "ERROR", "TIMEOUT", "RECEIVED", "RECEIVED")


@pytest.fixture(params=["http/protobuf", "grpc"])
def sink(request, otlp_sink, otlp_env):
    otlp_env(otlp_sink, request.param, OTEL_METRIC_EXPORT_INTERVAL="60000")
    return otlp_sink


@pytest.fixture
def http_sink(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf", OTEL_METRIC_EXPORT_INTERVAL="60000")
    return otlp_sink


def backlog(emulator, n: int, name: str = "bot-a") -> tuple[int, Counter]:
    bot = emulator.add_bot(name=name, timeout_seconds=30)
    emulator.add_entries(bot["id"], n, statuses=STATUSES, start=days_ago(emulator, 1), spacing_s=60)
    return bot["id"], Counter((bot["id"], STATUSES[i % len(STATUSES)]) for i in range(n))


def rejected_totals(sink) -> dict[str, float]:
    return {dict(k)[names.ATTR_ERROR_TYPE]: v for k, v in sink.counter_totals(names.ENTRIES_REJECTED.name).items()}


def saved_counts(state_path, bot_id: int) -> dict[str, int]:
    return app_section(json.loads(state_path.read_text()))["bots"][str(bot_id)].get("counted", {})


@pytest.mark.parametrize("kind", ["redirect", "html"])
def test_redirect_or_web_page_delivers_nothing_moves_nothing_counts_nothing(desk_emulator, http_sink, state_path,
                                                                             kind):
    bot_id, want = backlog(desk_emulator, 118)
    http_sink.impersonate_next(1000, kind, signal="logs")
    result = run_once(desk_emulator, state_path, backfill_days=2)
    assert not result.delivered and result.exported == 0
    assert http_sink.log_records() == [] and saved_counts(state_path, bot_id) == {}
    assert sum(counter_by_bot_and_status(http_sink).values()) == 0
    http_sink.impersonate_next(0, kind)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert by_bot_and_status(http_sink) == want == counter_by_bot_and_status(http_sink)


def test_partial_success_counts_only_what_was_accepted_and_skips_the_rest(desk_emulator, sink, state_path):
    bot_id, _ = backlog(desk_emulator, 115)
    accepted_ids = set(range(1, 116, 8))  # 15 of 115 accepted
    sink.reject_records(lambda r: r.attributes[names.ATTR_WEBHOOK_LOG_ID] not in accepted_ids, "too old for this stream")
    result = run_once(desk_emulator, state_path, backfill_days=2)
    assert result.delivered and result.exported == 15
    # Narrowing a partial success down sends the accepted halves again: count each record once.
    unique = {r.attributes[names.ATTR_LOG_RECORD_UID]: r for r in sink.log_records()}.values()
    delivered = Counter((r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_WEBHOOK_LOG_STATUS]) for r in unique)
    assert {r.attributes[names.ATTR_WEBHOOK_LOG_ID] for r in sink.log_records()} == accepted_ids
    assert counter_by_bot_and_status(sink) == delivered and sum(delivered.values()) == 15
    assert rejected_totals(sink) == {REASON_PARTIAL: 100}
    assert sum(saved_counts(state_path, bot_id).values()) == 15
    sink.clear()
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert sink.log_records() == []  # moved past the rejected records: never sent again


def test_permanent_400_is_isolated_logged_skipped_and_never_floods(desk_emulator, sink, state_path, caplog):
    caplog.set_level(logging.DEBUG, logger="otel_desk_receiver.pipeline.cycle")
    bot_id, _ = backlog(desk_emulator, 115)
    too_old = set(range(1, 101))
    sink.reject_records(lambda r: r.attributes[names.ATTR_WEBHOOK_LOG_ID] in too_old, "entry too far behind",
                        http_status=400)
    receiver = make_receiver(desk_emulator, state_path, backfill_days=2)
    try:
        first = receiver.run_once()
        requests_first = len(sink.requests("logs")) + sink.stats["logs"]["grpc"]["refused"] + \
            sink.stats["logs"]["http"]["refused"]
        for _ in range(3):
            receiver.run_once()
        requests_after = len(sink.requests("logs")) + sink.stats["logs"]["grpc"]["refused"] + \
            sink.stats["logs"]["http"]["refused"]
    finally:
        receiver.close()
    assert first.delivered and first.exported == 15
    assert requests_after == requests_first  # later cycles send nothing again: no loop, no duplicates
    assert sorted(r.attributes[names.ATTR_WEBHOOK_LOG_ID] for r in sink.log_records()) == list(range(101, 116))
    assert sum(counter_by_bot_and_status(sink).values()) == 15
    assert rejected_totals(sink) == {REASON_REFUSED: 100}
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and "refused" in r.getMessage()]
    assert len(errors) == 5 + 1  # the first few with their uid, then one line for the rest of the page
    assert "entry too far behind" in errors[0]
    assert f"the record {urlsplit(desk_emulator.url).netloc}:{bot_id}:1 " in errors[0]
    assert "refused 95 more records of this page" in errors[-1]
    uids_logged = {r.getMessage().split(" the record ")[1].split(" ")[0] for r in caplog.records
                   if "refused the record" in r.getMessage()}
    assert len(uids_logged) == 100  # every uid is in the log, most at DEBUG


def test_a_failed_export_counts_nothing(desk_emulator, sink, state_path):
    bot_id, want = backlog(desk_emulator, 40)
    sink.set_down(True)
    assert not run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert sum(counter_by_bot_and_status(sink).values()) == 0 and saved_counts(state_path, bot_id) == {}
    sink.set_down(False)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    assert counter_by_bot_and_status(sink) == want


def test_every_known_status_series_starts_at_zero_when_the_bot_is_first_seen(desk_emulator, sink, state_path):
    bot_id, want = backlog(desk_emulator, 30)
    assert run_once(desk_emulator, state_path, backfill_days=2).delivered
    first_seen: dict[str, float] = {}
    for point in sink.metric_points(names.WEBHOOK_LOGS.name):
        first_seen.setdefault(point.attributes[names.ATTR_WEBHOOK_LOG_STATUS], point.value)
    assert first_seen == {status: 0 for status in KNOWN_STATUSES}
    assert counter_by_bot_and_status(sink) == want


def test_entries_older_than_the_backends_age_limit_are_counted_rejected_unsent_with_one_line(desk_emulator, http_sink,
                                                                                             state_path, caplog):
    caplog.set_level(logging.INFO)
    bot_id, _ = backlog(desk_emulator, 115)  # one a minute from 24 h ago: about 60 older than 23 h
    result = run_once(desk_emulator, state_path, backfill_days=2, export_max_age="23h")
    assert result.delivered
    ages_h = sorted((desk_emulator.clock.now().timestamp() - r.time_unix_nano / 1e9) / 3600 for r in http_sink.log_records())
    assert ages_h and ages_h[-1] <= 23
    too_old = 115 - len(http_sink.log_records())
    assert too_old > 0 and rejected_totals(http_sink) == {REASON_TOO_OLD: too_old}
    lines = [r.getMessage() for r in caplog.records if "older than" in r.getMessage()]
    assert len(lines) == 1 and f"bot {bot_id}" in lines[0] and "DESK_EXPORT_MAX_AGE" in lines[0], lines
    assert run_once(desk_emulator, state_path, backfill_days=2, export_max_age="23h").delivered
    assert rejected_totals(http_sink) == {REASON_TOO_OLD: too_old}  # moved past them: never again
