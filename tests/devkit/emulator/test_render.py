"""Bots and entries as Desk serves them: every known field, camelCase, values Desk could not hold refused."""

import json
from datetime import timezone

import pytest

from otel_desk_receiver.devkit.emulator.render import check_bot_fields, new_bot, render_entry
from otel_desk_receiver.devkit.emulator.store import ALWAYS, ERROR, RECEIVED, SENT, BotLog, StatusTable


def test_a_custom_bot_has_every_known_field_and_a_webhook_url():
    bot = new_bot(7, "alpha", "CUSTOM", 1001, 0, None, 60, "ACTIVE", False)
    assert bot["webhookUrl"] == "https://bots.example.com/alpha/webhook"
    assert bot["createdAt"] == bot["updatedAt"] == "1970-01-01T00:00:00Z"
    assert {"id", "name", "type", "project", "key", "status", "photoUrl", "isUnreadError", "welcomeMessage",
            "timeoutSeconds"} <= bot.keys()


def test_a_faq_bot_has_no_webhook_url():
    assert new_bot(8, "faq", "FAQ", 1001, 0, "https://ignored.example.com", 60, "ACTIVE", False)["webhookUrl"] is None


@pytest.mark.parametrize("fields, named", [
    pytest.param({"type": "SMART"}, "type", id="type"),
    pytest.param({"status": "GONE"}, "status", id="status"),
    pytest.param({"timeout_seconds": 301}, "timeout_seconds", id="timeout-above-300"),
    pytest.param({"timeout_seconds": 0}, "timeout_seconds", id="timeout-zero"),
    pytest.param({"timeout_seconds": 1.5}, "timeout_seconds", id="timeout-not-integer"),
])
def test_values_desk_cannot_hold_are_refused_by_name(fields, named):
    with pytest.raises(ValueError, match=named):
        check_bot_fields(**fields)


def render(code: int, entry_id: int = 4, override: dict | None = None) -> dict:
    log = BotLog()
    log.append(entry_id, 0, ALWAYS, ALWAYS, code)
    if override:
        log.overrides[entry_id] = override
    bot = new_bot(1, "alpha", "CUSTOM", 1001, 0, None, 60, "ACTIVE", False)
    return render_entry(log, 0, 0, StatusTable(), bot, timezone.utc)


def test_an_answered_entry_carries_the_bots_answer_and_a_message():
    entry = render(RECEIVED, entry_id=5)
    assert entry["id"] == 5 and entry["status"] == "RECEIVED" and entry["botResponseStatus"] == 200
    assert isinstance(entry["responseTimeMs"], int)
    assert entry["webhookUrl"] == "https://bots.example.com/alpha/webhook"
    assert json.loads(entry["requestBody"])["message"] == "Hi, where is my order #5?"  # customer text, per entry


@pytest.mark.parametrize("code, http_status", [(SENT, 200), (ERROR, 500)])
def test_only_a_received_entry_has_a_response_time(code, http_status):
    entry = render(code, entry_id=4)
    assert entry["responseTimeMs"] is None and entry["botResponseStatus"] == http_status


def test_a_tests_override_replaces_the_served_fields():
    entry = render(SENT, override={"webhookUrl": "https://other.example.com", "extra": 1})
    assert entry["webhookUrl"] == "https://other.example.com" and entry["extra"] == 1
