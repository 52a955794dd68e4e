"""The ceiling: the same kind of records, already in memory, pushed through the receiver's OTLP log exporter
alone (EntryExporter: log_encoding.py encodes, sender.py sends)."""

import os
import time
from dataclasses import dataclass

from otel_desk_receiver.otlp import log_export
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.desk.models import parse_bot, parse_webhook_log
from otel_desk_receiver.pipeline.mapping import to_log_record
from otel_desk_receiver.pipeline.settle import Settlement

CHUNK = 64 * log_export.DEFAULT_BATCH_SIZE  # records built per round; memory stays bounded at a million
_STATUSES = ("RECEIVED",) * 24 + ("ERROR", "TIMEOUT")


@dataclass(frozen=True)
class CeilingRun:
    records: int
    export_s: float

    @property
    def per_s(self) -> float:
        return self.records / self.export_s if self.export_s else 0.0


def synthetic_bots(count: int) -> list:
    """Bots shaped like the emulator's: every other one has user info and a query in its webhook URL."""
    bots = []
    for index in range(count):
        name = f"support-bot-{index + 1}"
        url = (f"https://hook-user:s3cret@bots.example.com/{name}/hook?token=abc{index}&region=eu"
               if index % 2 else f"https://bots.example.com/{name}/webhook")
        bots.append(parse_bot({"id": index + 1, "name": name, "key": f"desk_bot_{name}_{index + 1}",
                               "type": "CUSTOM", "timeoutSeconds": 60, "webhookUrl": url}))
    return bots


def synthetic_records(bots: list, first_id: int, count: int, observed_ns: int) -> list:
    records = []
    for entry_id in range(first_id, first_id + count):
        bot = bots[entry_id % len(bots)]
        status = _STATUSES[entry_id % len(_STATUSES)]
        entry = parse_webhook_log({"id": entry_id, "status": status, "webhookUrl": bot.webhook_url,
                                   "createdAt": f"2025-01-01T00:{entry_id // 60 % 60:02d}:{entry_id % 60:02d}.123Z"})
        records.append(to_log_record(entry, bot, Settlement(status, "status"), app="bench", observed_ns=observed_ns))
    return records


def measure_ceiling(total: int, bots: int, endpoint: str, protocol: str) -> CeilingRun:
    """Export ``total`` records into the sink at ``endpoint``, timing only the EntryExporter.export calls."""
    saved = {name: os.environ.get(name) for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL")}
    os.environ.update({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    try:
        sink = log_export.EntryExporter(log_export.build_log_exporter(), build_resource(["bench"], "test"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    bot_list = synthetic_bots(bots)
    elapsed = 0.0
    try:
        for first in range(0, total, CHUNK):
            records = synthetic_records(bot_list, first + 1, min(CHUNK, total - first), time.time_ns())
            started = time.perf_counter()
            if not sink.export(records):
                raise RuntimeError("the sink refused the ceiling's records")
            elapsed += time.perf_counter() - started
    finally:
        sink.shutdown()
    return CeilingRun(total, elapsed)
