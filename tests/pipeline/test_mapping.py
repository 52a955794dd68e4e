"""mapping: sample Desk payload -> golden log records; redaction, uid, severity and the extra-field opt-in."""

import json

import pytest

from otel_desk_receiver.desk.models import parse_bot
from otel_desk_receiver.pipeline.mapping import body_line, record_uid, redact_url
from otel_desk_receiver.pipeline.settle import Settlement
from tests.harness.sample_payload import TESTDATA, sample_records



def mapped_records(extra_fields=()) -> list[dict]:
    _bot, records, _now_ns = sample_records(extra_fields)
    return [{**record.__dict__, "attributes": dict(record.attributes)} for record in records]


def test_mixed_payload_matches_golden(update_golden):
    golden = TESTDATA / "golden" / "webhook_logs_mixed.json"
    actual = mapped_records()
    if update_golden:
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert golden.exists(), f"{golden} is missing: run pytest --update-golden once and review it"
    assert actual == json.loads(golden.read_text())


def test_personal_data_never_exported_by_default():
    text = json.dumps(mapped_records())
    assert "4111" not in text and "requestBody" not in text and "s3cret" not in text and "alice" not in text


def test_fresh_sent_entry_is_held_and_old_initialized_settles_by_age():
    by_id = {r["attributes"]["sendbird.desk.webhook_log.id"]: r for r in mapped_records()}
    assert sorted(by_id) == [9001, 9002, 9003, 9005, 9006]  # 9004: SENT 60 s ago < timeout 30 s + grace 60 s
    assert by_id[9005]["attributes"]["sendbird.desk.webhook_log.settled_by"] == "age"
    assert by_id[9005]["severity_text"] == "WARN"
    assert by_id[9006]["severity_text"] == "INFO"  # unknown status: terminal, INFO


EXTRA = [
    ("named scalar", ["responseTime"], {"sendbird.desk.webhook_log.responseTime": 412}),
    ("named text opt-in", ["requestBody"], {"sendbird.desk.webhook_log.requestBody": '{"message": "my card number is 4111"}'}),
    ("named nested becomes json", ["nested"], {"sendbird.desk.webhook_log.nested": '{"a": 1}'}),
    ("star takes scalars only", ["*"], {"sendbird.desk.webhook_log.responseTime": 412,
                                        "sendbird.desk.webhook_log.requestBody": '{"message": "my card number is 4111"}',
                                        "sendbird.desk.webhook_log.botResponseStatus": 502}),
    ("known fields never duplicated", ["webhookUrl", "createdAt"], {}),
]


@pytest.mark.parametrize(("wanted", "expected"), [e[1:] for e in EXTRA], ids=[e[0] for e in EXTRA])
def test_extra_fields_opt_in(wanted, expected):
    extras = {}
    for record in mapped_records(wanted):
        extras.update({k: v for k, v in record["attributes"].items() if k.startswith("sendbird.desk.webhook_log.")
                       and k.split(".")[-1] not in ("id", "status", "settled_by")})
    assert extras == expected


REDACTION = [
    ("plain", "https://bots.example.com/desk", ("https://bots.example.com/desk", "bots.example.com")),
    ("user info", "https://u:p@h.example.com/x", ("https://REDACTED:REDACTED@h.example.com/x", "h.example.com")),
    ("query values", "http://h/x?token=abc&empty=", ("http://h/x?token=REDACTED&empty=REDACTED", "h")),
    ("bare query token", "https://h/hook?BARESECRET", ("https://h/hook?REDACTED", "h")),
    ("bare token beside a pair", "https://h/x?a=1&BARESECRET&b=", ("https://h/x?a=REDACTED&REDACTED&b=REDACTED", "h")),
    ("fragment dropped", "https://h/x#frag", ("https://h/x", "h")),
    ("ipv6 host", "http://[::1]:8080/x", ("http://[::1]:8080/x", "::1")),
    ("none", None, (None, None)),
    ("bad port", "http://h:99999999/x", (None, None)),
]


@pytest.mark.parametrize(("url", "expected"), [r[1:] for r in REDACTION], ids=[r[0] for r in REDACTION])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_uid_is_deterministic():
    assert record_uid("app-1", 4021, 9001) == "app-1:4021:9001"


def test_body_line_names_status_bot_and_host():
    bot = parse_bot({"id": 1, "name": "b", "type": "CUSTOM"})
    assert body_line(Settlement("ERROR", "status"), bot, "h.example.com") == "ERROR: bot 'b' (1) webhook to h.example.com"
    assert "timeout + grace" in body_line(Settlement("SENT", "age"), bot, None)
