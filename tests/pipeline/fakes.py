"""In-memory fakes of the pipeline's ports (otel_desk_receiver/pipeline/ports.py): no sockets, no threads.

FakeDesk lists each bot's rows as Desk does (ascending by id, or newest first for ``order="-id"``), page by
page by offset; FakeSink accepts, refuses or fails what it is handed; FakeCursors keeps the cursors in a
dict; FakeTelemetry writes down what the cycle counts. The desk, sink and cursors write into one shared
Journal, so a test can see what happened in which order (a commit after the delivery it covers).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.pipeline.records import EntryRecord
from otel_desk_receiver.units import NS_PER_S

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW_NS = int(NOW.timestamp()) * NS_PER_S


def bot(bot_id: int = 7, name: str = "helper", timeout_s: float = 10.0) -> Bot:
    return Bot(id=bot_id, name=name, key=None, type="CUSTOM", status="ACTIVE", timeout_s=timeout_s,
               is_unread_error=False, webhook_url="https://hooks.example.com/bot", raw={})


def row(entry_id: int | None, status: str = "RECEIVED", age_s: float = 3600.0) -> dict:
    """One webhook log row as Desk lists it, created ``age_s`` before NOW (None: a row without an id)."""
    created = datetime.fromtimestamp(NOW.timestamp() - age_s, tz=UTC)
    raw = {"status": status, "webhookUrl": "https://hooks.example.com/bot",
           "createdAt": created.isoformat().replace("+00:00", "Z")}
    return raw if entry_id is None else {"id": entry_id, **raw}


def ids_of(records) -> list[int]:
    return [record.attributes[names.ATTR_WEBHOOK_LOG_ID] for record in records]


class Journal(list):
    """(what, details) tuples in the order they happened: ("page", bot, offset), ("delivered", ids),
    ("failed", ids), ("commit", bot, cursor), ("before_export", bot)."""

    def of(self, what: str) -> list[tuple]:
        return [event for event in self if event[0] == what]


@dataclass
class FakePage:
    offset: int
    limit: int
    results: list
    count: int | None
    has_next: bool

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.results)

    @property
    def short(self) -> bool:
        return len(self.results) < self.limit


@dataclass
class PageRequest:
    bot_id: int
    offset: int
    limit: int
    order: str
    start_date: date | None


class FakeDesk:
    """``listings``: bot id -> its rows, in id order; a test may change them between requests through
    ``before_page(request)``, called as each page is asked for (Desk's listing moving while it is read)."""

    def __init__(self, listings: dict[int, list] | None = None, journal: Journal | None = None,
                 before_page: Callable[[PageRequest], None] = lambda request: None):
        self.listings = listings if listings is not None else {}
        self.journal = journal if journal is not None else Journal()
        self.before_page = before_page
        self.requests: list[PageRequest] = []

    def get_webhook_logs_page(self, bot_id: int, *, offset: int, limit: int, order: str = "id",
                              start_date: date | None = None, end_date: date | None = None,
                              statuses=()) -> FakePage:
        request = PageRequest(bot_id, offset, limit, order, start_date)
        self.requests.append(request)
        self.before_page(request)
        self.journal.append(("page", bot_id, offset))
        rows = list(self.listings.get(bot_id, []))
        if order == "-id":
            rows.reverse()
        results = rows[offset:offset + limit]
        return FakePage(offset, limit, results, len(rows), has_next=offset + len(results) < len(rows))

    def offsets(self, bot_id: int | None = None) -> list[int]:
        return [r.offset for r in self.requests if bot_id is None or r.bot_id == bot_id]


@dataclass
class Refused:
    record: EntryRecord
    reason: str
    detail: str
    sent: bool = True


@dataclass
class Failed:
    reason: str


@dataclass
class Outcome:
    accepted: list[EntryRecord]
    rejected: list[Refused] = field(default_factory=list)
    failure: Failed | None = None
    requests: int = 1


class FakeSink:
    """Accepts every record, except: the next ``fail_next`` deliveries fail whole (the endpoint down), and
    records whose entry id is in ``refuse`` are refused for themselves (a permanent, per-record refusal)."""

    def __init__(self, journal: Journal | None = None, fail_next: int = 0, refuse: set[int] | None = None):
        self.journal = journal if journal is not None else Journal()
        self.fail_next = fail_next
        self.refuse = refuse or set()
        self.accepted: list[EntryRecord] = []

    def deliver(self, records) -> Outcome:
        records = list(records)
        if self.fail_next:
            self.fail_next -= 1
            self.journal.append(("failed", ids_of(records)))
            return Outcome([], failure=Failed("endpoint down"))
        refused = [r for r in records if r.attributes[names.ATTR_WEBHOOK_LOG_ID] in self.refuse]
        accepted = [r for r in records if r not in refused]
        self.accepted += accepted
        self.journal.append(("delivered", ids_of(accepted)))
        return Outcome(accepted, [Refused(r, "invalid_record", "refused by the fake") for r in refused])

    def accepted_ids(self) -> list[int]:
        return ids_of(self.accepted)


class FakeCursors:
    def __init__(self, journal: Journal | None = None, cursors: dict[int, BotCursor] | None = None):
        self.journal = journal if journal is not None else Journal()
        self.cursors = dict(cursors or {})

    def get(self, bot_id: int) -> BotCursor | None:
        return self.cursors.get(bot_id)

    def commit(self, bot_id: int, cursor: BotCursor) -> None:
        self.cursors[bot_id] = cursor
        self.journal.append(("commit", bot_id, cursor))

    def before_export(self, bot_id: int) -> None:
        self.journal.append(("before_export", bot_id))


class FakeTelemetry:
    def __init__(self):
        self.discovered: list[int] = []
        self.rejections: list[tuple[int, str]] = []
        self.export_failures: list[str] = []

    def bot_discovered(self, bot_id: int) -> None:
        self.discovered.append(bot_id)

    def rejected(self, bot_id: int, reason: str) -> None:
        self.rejections.append((bot_id, reason))

    def export_failed(self, signal: str) -> None:
        self.export_failures.append(signal)
