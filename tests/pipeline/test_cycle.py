"""pipeline/cycle.py on fakes of its ports: one bot's turn, what it commits, when, and what it counts."""

from collections import Counter
from types import SimpleNamespace

import pytest

from otel_desk_receiver.desk.models import MISSING_STATUS
from otel_desk_receiver.pipeline import cycle
from otel_desk_receiver.pipeline.cycle import MAX_REBASES_PER_CYCLE, BotPipeline, PipelineOptions
from otel_desk_receiver.pipeline.ports import Cursors, Desk, DeskPage, LogSink, Telemetry
from tests.pipeline.fakes import (
    NOW_NS,
    FakeCursors,
    FakeDesk,
    FakeSink,
    FakeTelemetry,
    Journal,
    bot,
    ids_of,
    row,
)

BOT = bot(7)
DAY_S = 86_400


class Rig:
    """A BotPipeline on fakes sharing one journal; Desk lists ``rows`` for BOT, read ``page_size`` at a time."""

    def __init__(self, rows: list, page_size: int = 2, **sink):
        self.journal = Journal()
        self.desk = FakeDesk({BOT.id: list(rows)}, self.journal)
        self.sink = FakeSink(self.journal, **sink)
        self.cursors = FakeCursors(self.journal)
        self.telemetry = FakeTelemetry()
        options = PipelineOptions(app="app", page_size=page_size, backfill_s=DAY_S, settle_grace_s=60)
        self.pipeline = BotPipeline(self.desk, self.sink, self.cursors, self.telemetry, options,
                                    clock_ns=lambda: NOW_NS)

    def turn(self, **kwargs) -> cycle.BotCycleResult:
        return self.pipeline.run_cycle(BOT, **kwargs)


def test_the_fakes_are_what_the_ports_declare():
    rig = Rig([])
    ports = {Desk: rig.desk, LogSink: rig.sink, Cursors: rig.cursors, Telemetry: rig.telemetry}
    for port, fake in ports.items():
        missing = [name for name in dir(port) if not name.startswith("_") and not hasattr(fake, name)]
        assert missing == [], f"{type(fake).__name__} lacks {missing} of {port.__name__}"


class PortOnlyDesk:
    """Pages carrying exactly what ports.DeskPage declares, nothing more: the cycle may use nothing else."""

    def __init__(self, desk: FakeDesk):
        self._desk = desk

    def get_webhook_logs_page(self, bot_id, **query):
        page = self._desk.get_webhook_logs_page(bot_id, **query)
        declared = {name for name in dir(DeskPage) if not name.startswith("_")} | set(DeskPage.__annotations__)
        return SimpleNamespace(**{name: getattr(page, name) for name in declared})


def test_the_cycle_needs_nothing_of_a_page_that_the_port_does_not_declare():
    rig = Rig([row(i) for i in range(1, 6)], page_size=2)
    rig.pipeline = BotPipeline(PortOnlyDesk(rig.desk), rig.sink, rig.cursors, rig.telemetry,
                               PipelineOptions(app="app", page_size=2, backfill_s=DAY_S, settle_grace_s=60),
                               clock_ns=lambda: NOW_NS)
    assert rig.turn().exported == 5


def test_a_cursor_is_committed_only_after_the_sink_accepted_what_it_covers():
    rig = Rig([row(i) for i in range(1, 8)], page_size=3)
    result = rig.turn()
    assert result.delivered and result.exported == 7 and rig.sink.accepted_ids() == list(range(1, 8))
    accepted: set[int] = set()
    for event in rig.journal:
        if event[0] == "delivered":
            accepted |= set(event[1])
        elif event[0] == "commit":
            cursor = event[2]
            covered = set(range(1, cursor.last_id + 1))  # every id at or below last_id is done with
            assert covered <= accepted, f"committed last_id {cursor.last_id} before {covered - accepted} were accepted"
    assert rig.cursors.get(BOT.id).last_id == 7 and rig.cursors.get(BOT.id).counted == {"RECEIVED": 7}


def test_a_failed_delivery_leaves_the_cursor_where_it_was_and_nothing_is_skipped():
    rig = Rig([row(i) for i in range(1, 8)], page_size=3)
    rig.sink.fail_next = 0
    first = rig.turn(should_yield=lambda pages: False)
    assert first.delivered
    rig.desk.listings[BOT.id] += [row(i) for i in range(8, 14)]
    before = rig.cursors.get(BOT.id)
    rig.sink.fail_next = 1
    failed = rig.turn()
    assert not failed.delivered and failed.waiting_for_otlp and "endpoint down" in failed.error
    assert rig.cursors.get(BOT.id) == before  # not moved, counts included
    assert rig.telemetry.export_failures == ["logs"]
    again = rig.turn()
    assert again.delivered
    assert Counter(rig.sink.accepted_ids()) == Counter(range(1, 14))  # each once: none skipped, none twice
    assert rig.cursors.get(BOT.id).counted == {"RECEIVED": 13}


def test_rejections_are_counted_once_and_only_once_delivered():
    malformed = {"id": 3, "createdAt": "2026-06-01T11:00:00Z"}  # no status
    rig = Rig([row(1), row(2), malformed, row(4)], page_size=10, fail_next=1, refuse={4})
    assert not rig.turn().delivered
    assert rig.telemetry.rejections == []  # read, not delivered: not counted yet
    result = rig.turn()
    assert result.delivered and result.rejected == 2
    rig.turn()
    assert sorted(rig.telemetry.rejections) == [(BOT.id, "invalid_record"), (BOT.id, MISSING_STATUS)]
    assert rig.sink.accepted_ids() == [1, 2]


def test_a_listing_that_shifts_under_the_cursor_is_read_again_from_a_fresh_window():
    rows = [row(i) for i in range(1, 11)]
    rig = Rig(rows, page_size=3)

    def drop_the_first_row_once(request):
        if request.offset > 0 and rig.desk.listings[BOT.id][0]["id"] == 1:
            del rig.desk.listings[BOT.id][0]  # retention takes the oldest row while the listing is read

    rig.desk.before_page = drop_the_first_row_once
    result = rig.turn()
    assert result.delivered and result.error is None
    assert Counter(rig.sink.accepted_ids()) == Counter(range(1, 11))
    assert rig.desk.offsets().count(0) == 2  # the first read, and one re-read after the shift


def test_a_listing_that_keeps_shifting_is_read_again_at_most_max_rebases_times_then_next_cycle():
    rig = Rig([row(i) for i in range(1, 200)], page_size=3)

    def drop_a_row_before_every_later_page(request):
        if request.offset > 0:
            del rig.desk.listings[BOT.id][0]

    rig.desk.before_page = drop_a_row_before_every_later_page
    result = rig.turn()
    assert not result.delivered and "kept shifting" in result.error
    assert rig.desk.offsets().count(0) == 1 + MAX_REBASES_PER_CYCLE
    assert Counter(rig.sink.accepted_ids()).most_common(1)[0][1] == 1  # what was read again was not sent again


def test_should_yield_ends_a_turn_and_the_next_goes_on_where_it_stopped():
    # Rows inside the trailing window (30 s old; the bot's 10 s timeout plus 60 s grace): the committed cursor
    # holds at the first of them, so only the turn's own resume point keeps the next turn from reading them again.
    rig = Rig([row(i, age_s=30) for i in range(1, 11)], page_size=2)
    first = rig.turn(should_yield=lambda pages: pages >= 2)
    # Two pages: rows 1-2, then 2-3 (each page after the first starts on the row read last).
    assert first.more and rig.sink.accepted_ids() == [1, 2, 3]
    asked = len(rig.desk.requests)
    second = rig.turn()
    assert not second.more and rig.sink.accepted_ids() == list(range(1, 11))
    # It starts on the row the first turn read last (row 3, at offset 2), not again from the cursor's hold.
    assert rig.cursors.get(BOT.id).offset == 0 and rig.desk.requests[asked].offset == 2
    assert rig.desk.offsets().count(0) == 1


def test_a_turn_asked_to_yield_at_once_still_delivers_one_page():
    rig = Rig([row(i) for i in range(1, 11)], page_size=2)
    result = rig.turn(should_yield=lambda pages: True)
    assert result.more and rig.sink.accepted_ids() == [1, 2]


def test_a_bot_seen_first_commits_a_cursor_and_reports_bot_discovered():
    rig = Rig([])
    rig.turn()
    assert rig.telemetry.discovered == [BOT.id]
    (_, bot_id, cursor) = rig.journal.of("commit")[0]
    assert rig.journal.index(rig.journal.of("commit")[0]) < rig.journal.index(rig.journal.of("page")[0])
    assert bot_id == BOT.id and cursor.counted_since_ns == NOW_NS and cursor.counted == {}
    rig.turn()
    assert rig.telemetry.discovered == [BOT.id]  # once


def test_a_bot_seen_first_without_a_backfill_starts_at_the_end_of_its_listing():
    rig = Rig([row(i) for i in range(1, 6)])
    rig.pipeline = BotPipeline(rig.desk, rig.sink, rig.cursors, rig.telemetry,
                               PipelineOptions(app="app", page_size=2, backfill_s=0, settle_grace_s=60),
                               clock_ns=lambda: NOW_NS)
    rig.turn()
    assert rig.desk.requests[0].order == "-id" and rig.sink.accepted_ids() == []
    rig.desk.listings[BOT.id].append(row(6, age_s=1))
    rig.turn()
    assert rig.sink.accepted_ids() == [6]


@pytest.mark.parametrize("pending", [True, False], ids=["SENT, young: pending", "RECEIVED: settled"])
def test_each_record_is_delivered_once_over_turns_and_pending_ones_once_settled(pending):
    rig = Rig([row(1), row(2, status="SENT" if pending else "RECEIVED", age_s=5), row(3)], page_size=10)
    rig.turn()
    assert rig.sink.accepted_ids() == ([1, 3] if pending else [1, 2, 3])
    assert rig.cursors.get(BOT.id).pending.keys() == ({2} if pending else set())
    rig.desk.listings[BOT.id][1]["status"] = "RECEIVED"
    rig.turn()
    assert sorted(rig.sink.accepted_ids()) == [1, 2, 3]
    assert ids_of(rig.sink.accepted).count(2) == 1
