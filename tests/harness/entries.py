"""A settled entry as the exporter takes it (an EntryRecord), numbered, for the OTLP export tests; a request
of them as the senders send it."""

from otel_desk_receiver.otlp.log_encoding import LogEncoder
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.pipeline.records import EntryRecord


def entry(i: int = 0) -> EntryRecord:
    """Entry ``i``: a SENT webhook call of bot 7 with every attribute type (int, str, float, bool)."""
    return EntryRecord(
        timestamp_ns=1_700_000_000_123_456_789 + i, observed_timestamp_ns=1_700_000_060_000_000_000 + i,
        severity_number=13, severity_text="WARN", event_name="sendbird.desk.bot.webhook",
        body=f"SENT bot 7 to hooks.example.com #{i}",
        attributes={"sendbird.desk.bot.id": 7, "sendbird.desk.webhook_log.id": 10_000_000_000 + i,
                    "sendbird.desk.bot.name": "helper", "log.record.uid": f"app:7:{i}", "x.ratio": 0.25,
                    "x.flag": False},
    )


def logs_request(n: int = 1):
    """An encoded OTLP logs request of entries 0 .. n-1, as otlp/sender.py takes it."""
    return LogEncoder(build_resource([], "test"), "test", "0").encode([entry(i) for i in range(n)])
