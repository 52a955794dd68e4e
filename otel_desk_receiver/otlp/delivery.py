"""Splitting a refused batch until each refused record stands alone, as the Collector's exporterhelper
splits a batch refused as too large; what a delivery did with each record.

Permanent vs transient follows exporterhelper (answer.py): a transient failure (endpoint down) or an
endpoint-wide one (redirect, 401, 404 ...) stops the delivery with nothing skipped; a refusal of what
a batch carries (HTTP 400, 413, gRPC INVALID_ARGUMENT, or a partial success) is narrowed down by
sending each half again, so the records the endpoint accepts go through and each record it refuses
for itself is reported, with its log.record.uid, as rejected. The cost of narrowing down a partial
success: the records the endpoint had accepted in that batch are sent again (same log.record.uid).

Halving costs two requests per record when every record is refused (a Loki refusing a page of records
older than its limit: about 1,000 requests for 500 records). So when both halves of a refused batch are
refused (400 / INVALID_ARGUMENT) in the same words (numbers aside), the oldest then the newest record of the
second half are sent alone: both refused in those words too, the whole half is refused without further
requests. That is the shape of an age limit (records go oldest first: refusing the newest for its age
refuses every older one); it finds k refused records in O(k log n) requests, an all-refused batch in
O(log n). Its cost: a half whose oldest and newest records are refused in the same words as the half
before it, for a reason that is not their age, takes the records between them along.
"""

from __future__ import annotations

import re
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
    sent: bool = True  # False: rejected before sending (older than the backend's age limit)


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
    """Send ``records`` through ``send``; on a refusal of what they carry, narrow the refused ones down.

    Depth-first and in order, so records reach the endpoint oldest first (Loki needs that; only a half's
    newest record, sent alone to see if the half is refused whole, goes ahead of the records before it);
    stops at the first failure, recording it in ``delivery``.
    """
    if records and delivery.failure is None:
        _settle(records, _sent(records, send, delivery), send, delivery)


def _sent(records: Sequence[EntryRecord], send: Callable[[Sequence[EntryRecord]], Answer],
          delivery: Delivery) -> Answer:
    answer = send(records)
    delivery.requests += 1
    return answer


def _settle(records: Sequence[EntryRecord], answer: Answer, send: Callable[[Sequence[EntryRecord]], Answer],
            delivery: Delivery) -> None:
    """What ``answer`` (to ``records``) means for them: accepted, a failure, or refused and narrowed down."""
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
    first, second = records[:middle], records[middle:]
    first_answer = _sent(first, send, delivery)
    _settle(first, first_answer, send, delivery)
    if delivery.failure is not None:
        return
    second_answer = _sent(second, send, delivery)
    if len(second) > 2 and _alike(first_answer, second_answer):
        _narrow_alike(second, second_answer, reason, send, delivery)
    else:
        _settle(second, second_answer, send, delivery)


def _narrow_alike(records: Sequence[EntryRecord], answer: Answer, reason: str,
                  send: Callable[[Sequence[EntryRecord]], Answer], delivery: Delivery) -> None:
    """``records``, refused in the words their older neighbours were: their oldest record alone, then their
    newest; both refused in those words too, every record between is (an age limit's shape), unsent."""
    oldest = _sent(records[:1], send, delivery)
    if not _alike(answer, oldest):
        _settle(records[:1], oldest, send, delivery)
        split_and_send(records[1:], send, delivery)
        return
    newest = _sent(records[-1:], send, delivery)
    if _alike(answer, newest):
        delivery.rejected.extend(Rejection(record, reason, answer.reason) for record in records)
        return
    delivery.rejected.append(Rejection(records[0], reason, oldest.reason))
    _settle(records[-1:], newest, send, delivery)  # a failure there stops the delivery before the rest
    split_and_send(records[1:-1], send, delivery)


_NUMBERS = re.compile(r"\d+")


def _alike(one: Answer, other: Answer) -> bool:
    """Both refused for what they carry (400 / INVALID_ARGUMENT), in the same words, numbers aside (an
    endpoint quoting each refused record's timestamp says the same thing of each)."""
    return (one.kind is Kind.REFUSED and other.kind is Kind.REFUSED
            and _NUMBERS.sub("#", one.reason) == _NUMBERS.sub("#", other.reason))
