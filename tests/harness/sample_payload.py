"""The sample Desk payload (tests/testdata/desk/webhook_logs_mixed.json) settled and mapped, as both golden
tests (the record, and the OTLP request) start from it."""

import json
from datetime import datetime

from otel_desk_receiver.pipeline.mapping import to_log_record
from otel_desk_receiver.pipeline.settle import settle
from otel_desk_receiver.desk.models import parse_bot, parse_webhook_log
from otel_desk_receiver.units import NS_PER_S
from tests.harness.paths import TESTDATA

GRACE_S = 60


def sample_records(extra_fields=()):
    """(bot, the EntryRecords of the sample's settled entries, the sample's "now" in ns)."""
    sample = json.loads((TESTDATA / "desk" / "webhook_logs_mixed.json").read_text())
    bot = parse_bot(sample["bot"])
    now_ns = int(datetime.fromisoformat(sample["now"]).timestamp()) * NS_PER_S
    records = []
    for raw in sample["results"]:
        entry = parse_webhook_log(raw)
        settlement = settle(entry.status, entry.created_at_ns, timeout_s=bot.timeout_s, grace_s=GRACE_S, now_ns=now_ns)
        if settlement is not None:
            records.append(to_log_record(entry, bot, settlement, app="app-1", observed_ns=now_ns,
                                         extra_fields=extra_fields))
    return bot, records, now_ns
