"""What a bot's cycle needs from the rooms around it, declared here so that the pipeline imports none of them.

app.py plugs in the real ones: desk.client.DeskClient reads Desk, otlp.log_export.EntryExporter is the log
sink, state.store.CursorStore keeps the cursors, runtime.selfmetrics.SelfTelemetry counts. Tests plug in
fakes (tests/pipeline/fakes.py).
"""

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.pipeline.records import EntryRecord


class DeskPage(Protocol):
    """One page of a bot's webhook log listing: raw rows, unparsed (desk.client.Page)."""

    offset: int
    limit: int  # the rows asked for
    results: list[Any]
    count: int | None
    has_next: bool

    @property
    def next_offset(self) -> int: ...

    @property
    def short(self) -> bool:
        """Fewer rows than asked for; with ``has_next``, a Desk that caps the page size."""
        ...


class Desk(Protocol):
    def get_webhook_logs_page(self, bot_id: int, *, offset: int, limit: int, order: str = "id",
                              start_date: date | None = None, end_date: date | None = None,
                              statuses: Sequence[str] = ()) -> DeskPage: ...


class Refusal(Protocol):
    """A record the endpoint refused for itself; ``reason`` is low-cardinality (error.type)."""

    record: EntryRecord
    reason: str
    detail: str
    sent: bool  # False: rejected by the sink itself, never sent (older than the backend's age limit)


class Failure(Protocol):
    """Why a delivery stopped with records not sent."""

    reason: str


class DeliveryOutcome(Protocol):
    """What the sink did with the records it was handed (otlp.delivery.Delivery)."""

    accepted: list[EntryRecord]
    rejected: Sequence[Refusal]
    failure: Failure | None
    requests: int


class LogSink(Protocol):
    def deliver(self, records: Sequence[EntryRecord]) -> DeliveryOutcome: ...


class Cursors(Protocol):
    """The one owner of the cursors (state.store.CursorStore): a commit comes only after delivery."""

    def get(self, bot_id: int) -> BotCursor | None: ...

    def commit(self, bot_id: int, cursor: BotCursor) -> None: ...

    def before_export(self, bot_id: int) -> None: ...


class Telemetry(Protocol):
    """The receiver's own counters that a cycle moves (runtime.selfmetrics.SelfTelemetry)."""

    def bot_discovered(self, bot_id: int) -> None: ...

    def rejected(self, bot_id: int, reason: str) -> None: ...

    def export_failed(self, signal: str) -> None: ...
