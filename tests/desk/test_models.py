"""Tolerant parsing of bots and webhook log entries."""

from datetime import datetime, timezone

import pytest

from otel_desk_receiver.desk import models
from otel_desk_receiver.desk.models import MalformedEntryError, parse_bot, parse_webhook_log, parse_timestamp_ns

BASE_NS = int(datetime(2024, 3, 1, 12, 30, 15, tzinfo=timezone.utc).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(("text", "expected_ns"), [
    pytest.param("2024-03-01T12:30:15Z", BASE_NS, id="no-fraction-Z"),
    pytest.param("2024-03-01T12:30:15.5Z", BASE_NS + 500_000_000, id="1-digit"),
    pytest.param("2024-03-01T12:30:15.123Z", BASE_NS + 123_000_000, id="millis"),
    pytest.param("2024-03-01T12:30:15.123456Z", BASE_NS + 123_456_000, id="micros"),
    pytest.param("2024-03-01T12:30:15.123456789Z", BASE_NS + 123_456_789, id="nanos"),
    pytest.param("2024-03-01T12:30:15.1234567891234Z", BASE_NS + 123_456_789, id="beyond-nanos-truncated"),
    pytest.param("2024-03-01T12:30:15z", BASE_NS, id="lower-z"),
    pytest.param("2024-03-01T12:30:15+00:00", BASE_NS, id="plus-zero-colon"),
    pytest.param("2024-03-01T21:30:15.000+09:00", BASE_NS, id="seoul-colon"),
    pytest.param("2024-03-01T21:30:15+0900", BASE_NS, id="seoul-no-colon"),
    pytest.param("2024-03-01T21:30:15+09", BASE_NS, id="hours-only-offset"),
    pytest.param("2024-03-01T07:30:15.25-05:00", BASE_NS + 250_000_000, id="new-york"),
    pytest.param("2024-03-01T17:00:15+04:30", BASE_NS, id="half-hour-zone"),
    pytest.param("2024-03-01T12:30:15", BASE_NS, id="naive-read-as-utc"),
    pytest.param("2024-03-01 12:30:15.5", BASE_NS + 500_000_000, id="space-separator"),
    pytest.param("2024-03-01T12:30:15,5Z", BASE_NS + 500_000_000, id="comma-fraction"),
    pytest.param("2024-03-01T12:30Z", BASE_NS - 15_000_000_000, id="no-seconds"),
    pytest.param("  2024-03-01T12:30:15Z ", BASE_NS, id="surrounding-space"),
    pytest.param("1970-01-01T00:00:00Z", 0, id="epoch"),
    pytest.param("1969-12-31T23:59:59.5Z", -500_000_000, id="before-epoch"),
])
def test_created_at_forms(text, expected_ns):
    assert parse_timestamp_ns(text) == expected_ns


@pytest.mark.parametrize("value", [
    pytest.param("yesterday", id="words"),
    pytest.param("2024-03-01", id="date-only"),
    pytest.param("2024-02-30T00:00:00Z", id="impossible-day"),
    pytest.param("2024-03-01T25:00:00Z", id="impossible-hour"),
    pytest.param("2024-03-01T12:30:15+24:00", id="impossible-offset"),
    pytest.param("2024-03-01T12:30:15Zjunk", id="trailing-junk"),
    pytest.param("２０２４-03-01T12:30:15Z", id="non-ascii-digits"),
    pytest.param("", id="empty"),
    pytest.param(1709296215, id="number"),
    pytest.param(None, id="null"),
])
def test_bad_created_at_rejected(value):
    with pytest.raises(MalformedEntryError) as caught:
        parse_webhook_log({"id": 7, "status": "SENT", "createdAt": value})
    assert caught.value.reason == "bad_created_at"
    assert caught.value.entry_id == 7


def test_entry_fields_and_unknown_fields_kept():
    raw = {"id": 42, "status": "RECEIVED", "webhookUrl": "https://bot.example/hook",
           "createdAt": "2024-03-01T12:30:15Z", "latencyMs": 120, "nested": {"a": 1}}
    entry = parse_webhook_log(raw)
    assert (entry.id, entry.status, entry.webhook_url, entry.created_at_ns) == (
        42, "RECEIVED", "https://bot.example/hook", BASE_NS)
    assert entry.raw == raw


@pytest.mark.parametrize("status", ["RETRYING", "received", "FAILED_PERMANENTLY"])
def test_unknown_statuses_kept_as_given_and_terminal(status):
    entry = parse_webhook_log({"id": 1, "status": status, "createdAt": "2024-03-01T12:30:15Z"})
    assert entry.status == status
    assert status not in models.NON_TERMINAL_STATUSES


@pytest.mark.parametrize(("status", "terminal"), [
    ("INITIALIZED", False), ("SENT", False), ("RECEIVED", True), ("ERROR", True), ("TIMEOUT", True),
])
def test_known_statuses(status, terminal):
    assert status in models.KNOWN_STATUSES
    assert (status not in models.NON_TERMINAL_STATUSES) is terminal


@pytest.mark.parametrize(("raw", "reason"), [
    pytest.param([1, 2], "not_an_object", id="list"),
    pytest.param("entry", "not_an_object", id="string"),
    pytest.param(None, "not_an_object", id="null"),
    pytest.param({"status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "missing_id", id="no-id"),
    pytest.param({"id": None, "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "missing_id", id="null-id"),
    pytest.param({"id": "abc", "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "bad_id", id="text-id"),
    pytest.param({"id": 1.5, "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "bad_id", id="float-id"),
    pytest.param({"id": True, "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "bad_id", id="bool-id"),
    pytest.param({"id": -3, "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}, "bad_id", id="negative-id"),
    pytest.param({"id": 1, "createdAt": "2024-03-01T12:30:15Z"}, "missing_status", id="no-status"),
    pytest.param({"id": 1, "status": 3, "createdAt": "2024-03-01T12:30:15Z"}, "missing_status", id="number-status"),
    pytest.param({"id": 1, "status": ""}, "missing_status", id="empty-status"),
    pytest.param({"id": 1, "status": "SENT"}, "bad_created_at", id="no-created-at"),
])
def test_malformed_reasons(raw, reason):
    with pytest.raises(MalformedEntryError) as caught:
        parse_webhook_log(raw)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_decimal_string_id_tolerated():
    assert parse_webhook_log({"id": "17", "status": "SENT", "createdAt": "2024-03-01T12:30:15Z"}).id == 17


def test_malformed_message_quotes_no_field_values():
    raw = {"id": 5, "status": "SENT", "createdAt": "customer wrote: my card is 4111"}
    with pytest.raises(MalformedEntryError) as caught:
        parse_webhook_log(raw)
    assert "4111" not in str(caught.value)
    assert caught.value.raw == raw


FULL_BOT = {
    "id": 9, "name": "Helper", "key": "helper-key", "type": "CUSTOM", "status": "ACTIVE",
    "timeoutSeconds": 120, "isUnreadError": True, "webhookUrl": "https://bot.example/hook",
    "project": 3, "photoUrl": None, "welcomeMessage": "hi",
}


def test_bot_fields():
    bot = parse_bot(FULL_BOT)
    assert (bot.id, bot.name, bot.key, bot.type, bot.status, bot.timeout_s, bot.is_unread_error, bot.webhook_url) == (
        9, "Helper", "helper-key", "CUSTOM", "ACTIVE", 120.0, True, "https://bot.example/hook")
    assert bot.is_custom
    assert bot.raw == FULL_BOT


def test_faq_bot_is_not_custom():
    bot = parse_bot({"id": 2, "name": "FAQ", "type": "FAQ", "webhookUrl": None})
    assert not bot.is_custom
    assert bot.webhook_url is None


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, 60.0, id="null"),
    pytest.param("90", 60.0, id="string"),
    pytest.param(0, 60.0, id="zero"),
    pytest.param(-5, 60.0, id="negative"),
    pytest.param(True, 60.0, id="bool"),
    pytest.param(float("nan"), 60.0, id="nan"),
    pytest.param(30, 30.0, id="int"),
    pytest.param(2.5, 2.5, id="float"),
])
def test_bot_timeout_defaults_to_60(value, expected):
    raw = {"id": 1, "type": "CUSTOM"} if value is None else {"id": 1, "type": "CUSTOM", "timeoutSeconds": value}
    assert parse_bot(raw).timeout_s == expected


def test_bot_minimal_fields_tolerated():
    bot = parse_bot({"id": 4, "isUnreadError": "yes"})
    assert (bot.name, bot.key, bot.type, bot.status, bot.is_unread_error) == ("", None, "", None, False)


@pytest.mark.parametrize(("raw", "reason"), [
    pytest.param({"name": "x"}, "missing_id", id="no-id"),
    pytest.param({"id": "x1"}, "bad_id", id="text-id"),
    pytest.param(["x"], "not_an_object", id="list"),
])
def test_bot_without_usable_id_rejected(raw, reason):
    with pytest.raises(MalformedEntryError) as caught:
        parse_bot(raw)
    assert caught.value.reason == reason
