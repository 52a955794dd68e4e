"""The read cursor when the listing moves under it: entries leaving retention shift offsets, and the
date window moves forward as days pass. Nothing is lost or sent twice either way."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.receiver_harness import make_receiver, uids

FROZEN_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator(make_desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return make_desk_emulator(frozen_at=FROZEN_AT)


def add(emulator, bot_id, count, days_ago: float, spacing_s=60):
    emulator.add_entries(bot_id, count, statuses=("RECEIVED", "ERROR"),
                         start=emulator.clock.now() - timedelta(days=days_ago), spacing_s=spacing_s)


def test_entries_leaving_retention_shift_offsets_and_the_cursor_recovers(emulator, otlp_sink, state_path, caplog):
    bot = emulator.add_bot(name="old-history")
    add(emulator, bot["id"], 300, days_ago=29.95, spacing_s=1)  # leaves the 30-day retention in 0.1 day
    add(emulator, bot["id"], 200, days_ago=29.8, spacing_s=1)
    receiver = make_receiver(emulator, state_path, backfill_days=30, page_size=100)
    try:
        assert receiver.run_once().exported == 500
        emulator.clock.advance(8_640)  # the 300 oldest entries vanish: every offset moves down by 300
        add(emulator, bot["id"], 50, days_ago=0.01, spacing_s=1)
        result = receiver.run_once()
        assert result.delivered and result.exported == 50
        assert "shifted under the cursor" in caplog.text
        assert receiver.run_once().exported == 0
    finally:
        receiver.close()
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == 550


def test_window_moves_forward_as_days_pass_without_resending(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="steady")
    add(emulator, bot["id"], 100, days_ago=2)
    receiver = make_receiver(emulator, state_path, backfill_days=3, page_size=100)
    try:
        assert receiver.run_once().exported == 100
        first_window = receiver.cursors.get(bot["id"]).window_start
        for day in range(10):
            emulator.clock.advance(86_400)
            add(emulator, bot["id"], 20, days_ago=0.5)
            assert receiver.run_once().exported == 20, f"day {day}"
        last_window = receiver.cursors.get(bot["id"]).window_start
    finally:
        receiver.close()
    assert last_window > first_window  # rebased at least once: offsets restart in a fresh window
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == 300
