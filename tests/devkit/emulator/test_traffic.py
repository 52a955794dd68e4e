"""Generated traffic over real HTTP: in-place transitions as the clock advances, the per-status
model, sticky isUnreadError, settled history, determinism, the default bot set, a large preload."""

from collections import Counter
from datetime import datetime

import pytest

from otel_desk_receiver.devkit.emulator import BotProfile, DeskEmulator, EmulatorConfig
from tests.harness.clock import NOON

TERMINAL = {"RECEIVED", "ERROR", "TIMEOUT"}


def all_entries(emulator, session, bot_id, **params):
    """Every visible entry, oldest first, paging by offset as a client should."""
    entries, offset = [], 0
    while True:
        page = session.get(f"{emulator.url}/bots/{bot_id}/webhook_logs",
                           params={"order": "created_at", "limit": 500, "offset": offset, **params}, timeout=5).json()
        entries += page["results"]
        offset += 500
        if page["next"] is None:
            return entries


def created(entry) -> datetime:
    return datetime.fromisoformat(entry["createdAt"].replace("Z", "+00:00"))


def test_no_bots_and_no_traffic_by_default(frozen_emulator, desk_session):
    frozen_emulator.clock.advance(3600)
    assert desk_session.get(frozen_emulator.url + "/bots", timeout=5).json()["count"] == 0


def test_in_place_entries_move_from_sent_to_timeout_as_the_clock_advances(make_desk_emulator, desk_session):
    never_answers = BotProfile(rate_per_s=1.0, error_ratio=0.0, timeout_ratio=1.0, timeout_seconds=5)
    emulator = make_desk_emulator(frozen_at=NOON, bots=1, profiles=(never_answers,))
    emulator.clock.advance(20)
    before = all_entries(emulator, desk_session, 1)
    assert len(before) > 5
    for entry in before:
        age_s = (emulator.clock.now() - created(entry)).total_seconds()
        if age_s > 5.4:
            assert entry["status"] == "TIMEOUT"
        elif age_s > 0.4:
            assert entry["status"] == "SENT"
    assert {"SENT", "TIMEOUT"} <= {entry["status"] for entry in before}
    emulator.clock.advance(6)
    after = {entry["id"]: entry["status"] for entry in all_entries(emulator, desk_session, 1)}
    assert all(after[entry["id"]] == "TIMEOUT" for entry in before)  # same ids, new status


def test_in_place_events_settle_with_the_profile_outcomes(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, bots=1, rate_per_s=2.0, error_ratio=0.2, timeout_ratio=0.2)
    emulator.clock.advance(600)
    entries = all_entries(emulator, desk_session, 1)
    settled = [entry for entry in entries if (emulator.clock.now() - created(entry)).total_seconds() > 70]
    counts = Counter(entry["status"] for entry in settled)
    assert set(counts) == TERMINAL
    assert 0.1 < counts["ERROR"] / len(settled) < 0.3
    assert [entry["id"] for entry in entries] == sorted(entry["id"] for entry in entries)


def test_per_status_model_gives_each_status_its_own_entry(make_desk_emulator, desk_session):
    answers = BotProfile(rate_per_s=1.0, error_ratio=0.0, timeout_ratio=0.0, reply_delay_s=1.0, timeout_seconds=60)
    emulator = make_desk_emulator(frozen_at=NOON, bots=1, profiles=(answers,), entry_model="per_status")
    emulator.clock.advance(120)
    first = {entry["id"]: entry["status"] for entry in all_entries(emulator, desk_session, 1)}
    counts = Counter(first.values())
    assert set(counts) == {"SENT", "RECEIVED"} and abs(counts["SENT"] - counts["RECEIVED"]) <= 3
    emulator.clock.advance(120)
    later = {entry["id"]: entry["status"] for entry in all_entries(emulator, desk_session, 1)}
    assert all(later[entry_id] == status for entry_id, status in first.items())  # nothing changes in place


def test_generated_errors_raise_the_sticky_unread_flag(make_desk_emulator, desk_session):
    always_errors = BotProfile(rate_per_s=1.0, error_ratio=1.0)
    emulator = make_desk_emulator(frozen_at=NOON, bots=1, profiles=(always_errors,))
    bot_url = emulator.url + "/bots/1"
    assert desk_session.get(bot_url, timeout=5).json()["isUnreadError"] is False
    emulator.clock.advance(30)
    assert desk_session.get(bot_url, timeout=5).json()["isUnreadError"] is True
    emulator.set_bot(1, is_unread_error=False)  # someone checked the logs
    assert desk_session.get(bot_url, timeout=5).json()["isUnreadError"] is False
    emulator.clock.advance(30)
    assert desk_session.get(bot_url, timeout=5).json()["isUnreadError"] is True


def test_default_bot_set_has_flaky_and_slow_bots_and_redaction_targets(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, bots=4, faq_bots=1)
    bots = desk_session.get(emulator.url + "/bots", timeout=5).json()["results"]
    assert [bot["type"] for bot in bots] == ["CUSTOM"] * 4 + ["FAQ"]
    assert [bot["name"] for bot in bots[2:4]] == ["flaky", "slow"]
    assert bots[3]["timeoutSeconds"] < 60
    assert any("@" in bot["webhookUrl"] and "?" in bot["webhookUrl"] for bot in bots[:4])


def test_history_is_settled_and_ids_ascend_with_created_at_across_bots(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, bots=3, rate_per_s=0, history_days=3, history_per_bot=200)
    entries = [entry for bot_id in (1, 2, 3) for entry in all_entries(emulator, desk_session, bot_id)]
    assert len(entries) == 600
    assert {entry["status"] for entry in entries} <= TERMINAL
    assert all((NOON - created(entry)).days < 3 for entry in entries)
    by_time = sorted(entries, key=lambda entry: (created(entry), entry["id"]))
    assert [entry["id"] for entry in by_time] == sorted(entry["id"] for entry in entries)


@pytest.mark.parametrize("entry_model", ["in_place", "per_status"])
def test_same_seed_and_clock_serve_the_same_pages(make_desk_emulator, desk_session, entry_model):
    def snapshot(seed):
        emulator = make_desk_emulator(frozen_at=NOON, seed=seed, bots=3, history_per_bot=50, history_days=1,
                                      entry_model=entry_model)
        emulator.clock.advance(30)
        desk_session.get(emulator.url + "/bots", timeout=5)  # a read in between must not change the outcome
        emulator.clock.advance(90)
        return [all_entries(emulator, desk_session, bot_id) for bot_id in (1, 2, 3)]

    assert snapshot(5) == snapshot(5)
    assert snapshot(5) != snapshot(6)


def test_large_preload_serves_correct_deep_pages(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, bots=2, rate_per_s=0, history_days=20, history_per_bot=100_000)
    bulk = emulator.add_bot("bulk")
    ids = emulator.add_entries(bulk["id"], 100_000, statuses=("RECEIVED", "ERROR", "TIMEOUT"))
    url = f"{emulator.url}/bots/{bulk['id']}/webhook_logs"
    page = desk_session.get(url, params={"order": "id", "limit": 500, "offset": 98_000}, timeout=5).json()
    assert page["count"] == 100_000
    assert [entry["id"] for entry in page["results"]] == list(ids[98_000:98_500])
    newest = desk_session.get(url, params={"order": "-created_at", "limit": 500, "offset": 99_900}, timeout=5).json()
    assert [entry["id"] for entry in newest["results"]] == list(ids[:100])[::-1]
    errors = desk_session.get(url, params={"status": "ERROR", "order": "id", "limit": 500, "offset": 33_000},
                              timeout=5).json()
    assert errors["count"] == 33_333 and [e["id"] for e in errors["results"]] == list(ids[99_001::3])
    generated = f"{emulator.url}/bots/1/webhook_logs"
    before, deep = (desk_session.get(generated, params={"order": "created_at", "limit": 500, "offset": offset},
                                     timeout=5).json() for offset in (79_500, 80_000))
    assert deep["count"] == 100_000 and len(deep["results"]) == 500
    deep_ids = [entry["id"] for entry in before["results"] + deep["results"]]
    assert deep_ids == sorted(deep_ids) and len(set(deep_ids)) == 1000


def test_entries_helper_and_context_manager():
    emulator = DeskEmulator(EmulatorConfig(frozen_at=NOON))
    with pytest.raises(RuntimeError):
        emulator.url
    with emulator:
        bot = emulator.add_bot("alpha")
        emulator.add_entries(bot["id"], 3, statuses=("SENT",))
        assert [entry["status"] for entry in emulator.entries(bot["id"])] == ["SENT"] * 3
        assert emulator.url.startswith("http://127.0.0.1:")
