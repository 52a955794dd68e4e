"""Live traffic under both of Desk's possible entry models: every entry exported once, in its final status."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from otel_desk_receiver import names
from tests.harness.receiver import make_receiver


@pytest.mark.parametrize("entry_model", ["in_place", "per_status"])
def test_every_entry_exported_once_with_the_status_it_ends_in(make_desk_emulator, otlp_sink, otlp_env, state_path,
                                                             entry_model):
    otlp_env(otlp_sink, "http/protobuf")
    emulator = make_desk_emulator(bots=3, rate_per_s=2.0, error_ratio=0.1, timeout_ratio=0.1, seed=7,
                                  entry_model=entry_model, frozen_at=datetime.now(UTC))
    receiver = make_receiver(emulator, state_path, settle_grace=20, page_size=50)
    try:
        receiver.run_once()  # first start: from now
        bot_ids = [bot["id"] for bot in emulator.bots() if bot["type"] == "CUSTOM"]
        before = {e["id"] for bot_id in bot_ids for e in emulator.entries(bot_id)}
        for _ in range(40):
            emulator.clock.advance(3)
            assert receiver.run_once().delivered
        held = sum(g.pending for g in receiver.poller.gauges())
        stopped_at = emulator.clock.now()
        emulator.clock.advance(400)  # past every bot's timeoutSeconds + grace: all of the above settles
        receiver.run_once()
        receiver.run_once()
    finally:
        receiver.close()
    entries = {e["id"]: e for bot_id in bot_ids for e in emulator.entries(bot_id) if e["id"] not in before}
    due = {entry_id for entry_id, e in entries.items() if datetime.fromisoformat(e["createdAt"]) <= stopped_at}
    records = otlp_sink.log_records()
    exported = Counter(r.attributes[names.ATTR_WEBHOOK_LOG_ID] for r in records)
    assert len(due) > 300 and held > 0
    assert set(exported.values()) == {1}  # each entry once
    assert due <= set(exported) <= set(entries)  # nothing due is missing, nothing foreign appears
    for record in records:
        assert record.attributes[names.ATTR_WEBHOOK_LOG_STATUS] == entries[record.attributes[names.ATTR_WEBHOOK_LOG_ID]]["status"]
    assert {"RECEIVED", "ERROR", "TIMEOUT"} <= {entries[i]["status"] for i in due}
    if entry_model == "per_status":  # a SENT entry never changes there: it settles by age, as a WARN
        aged = [r for r in records if r.attributes[names.ATTR_SETTLED_BY] == "age"]
        assert aged and {(r.attributes[names.ATTR_WEBHOOK_LOG_STATUS], r.severity_text) for r in aged} == {("SENT", "WARN")}
