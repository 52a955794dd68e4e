"""Splitting a refused batch until each refused record stands alone, as the Collector's exporterhelper
splits a batch refused as too large; what a delivery did with each record.

Permanent vs transient follows exporterhelper (answer.py): a transient failure (endpoint down) or an
endpoint-wide one (redirect, 401, 404 ...) stops the delivery with nothing skipped; a refusal of what
a batch carries (HTTP 400, 413, gRPC INVALID_ARGUMENT, or a partial success) is narrowed down by
sending each half again, so the records the endpoint accepts go through and each record it refuses
for itself is reported, with its log.record.uid, as rejected. The cost of narrowing down a partial
success: the records the endpoint had accepted in that batch are sent again (same log.record.uid).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otel_desk_receiver.pipeline.records import EntryRecord
from otel_desk_receiver.otlp.answer import (
    REASON_PARTIAL,
    REASON_REFUSED,
    REASON_TOO_LARGE,
    Answer,
    Kind,
)

_SPLIT = {Kind.REFUSED: REASON_REFUSED, Kind.TOO_LARGE: REASON_TOO_LARGE, Kind.PARTIAL: REASON_PARTIAL}


@dataclass(frozen=True)
class Rejection:
    """A record the endpoint refused for itself: ``reason`` is low-cardinality (error.type), ``detail``
    the endpoint's words."""

    record: EntryRecord
    reason: str
    detail: str


@dataclass
class Delivery:
    """What happened to the records handed to ``deliver``; ``failure`` set means the rest were not sent."""

    accepted: list[EntryRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    failure: Answer | None = None
    requests: int = 0


@dataclass
class Waiting:
    """Deliveries refused this cycle because the endpoint was down: how many calls and records."""

    deliveries: int = 0
    records: int = 0

    def add(self, records: int) -> None:
        self.deliveries += 1
        self.records += records


def split_and_send(records: Sequence[EntryRecord], send: Callable[[Sequence[EntryRecord]], Answer],
                   delivery: Delivery) -> None:
    """Send ``records`` through ``send``; on a refusal of what they carry, send each half again.

    Depth-first and in order, so records reach the endpoint oldest first (Loki needs that); stops at
    the first failure, recording it in ``delivery``.
    """
    if not records or delivery.failure is not None:
        return
    answer = send(records)
    delivery.requests += 1
    if answer.kind is Kind.ACCEPTED:
        delivery.accepted.extend(records)
        return
    reason = _SPLIT.get(answer.kind)
    if reason is None:
        delivery.failure = answer
        return
    every_one = answer.kind is Kind.PARTIAL and answer.rejected >= len(records)
    if len(records) == 1 or every_one:
        # Alone, or all refused (a partial success naming every record): nothing to narrow down.
        delivery.rejected.extend(Rejection(record, reason, answer.reason) for record in records)
        return
    middle = len(records) // 2
    split_and_send(records[:middle], send, delivery)
    split_and_send(records[middle:], send, delivery)
