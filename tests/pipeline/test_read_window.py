"""How the pipeline walks a bot's listing, against the emulator: the date window widened by a day for
Desk's unknown time zone, offsets advanced by the receiver rather than by following `next`, and the
end of the listing where Desk says it is."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from otel_desk_receiver.pipeline.read_window import cursor_at_end

from tests.harness.receiver import make_receiver, uids

# 05:00 UTC: for a Desk whose day starts at UTC-11 (11:00 UTC), "today" began 6 hours after this instant.
FROZEN_AT = datetime(2024, 3, 10, 5, 0, tzinfo=UTC)
ZONES = ["UTC", "+09:00", "-05:00", "+14:00", "-11:00"]


@pytest.fixture
def zoned_emulator(make_desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")

    def make(time_zone: str, **config):
        return make_desk_emulator(frozen_at=FROZEN_AT, time_zone=time_zone, **config)
    return make


def run_cycles(receiver, cycles: int = 1) -> list:
    try:
        return [receiver.run_once() for _ in range(cycles)]
    finally:
        receiver.close()


# A backfill of one day starts at 2024-03-09 05:00Z. Entries either side of it, and around UTC midnight:
# -11:00 loses 05:00-10:59Z of the 9th without the day before; +14:00 puts the 9th's first hours on the 8th.
AROUND_THE_START = [
    (datetime(2024, 3, 9, 4, 59, 59, tzinfo=UTC), False),
    (datetime(2024, 3, 9, 5, 0, 1, tzinfo=UTC), True),
    (datetime(2024, 3, 9, 10, 59, 59, tzinfo=UTC), True),
    (datetime(2024, 3, 9, 23, 59, 59, 999999, tzinfo=UTC), True),
    (datetime(2024, 3, 10, 0, 0, tzinfo=UTC), True),
    (datetime(2024, 3, 10, 4, 59, tzinfo=UTC), True),
]


@pytest.mark.parametrize("time_zone", ZONES)
def test_backfill_reads_exactly_its_window_whatever_zone_desk_counts_days_in(zoned_emulator, otlp_sink,
                                                                              state_path, time_zone):
    emulator = zoned_emulator(time_zone)
    bot = emulator.add_bot(name="zoned")
    wanted = [emulator.add_entry(bot["id"], status="RECEIVED", created_at=moment)["id"]
              for moment, inside in AROUND_THE_START if inside]
    for moment, inside in AROUND_THE_START:
        if not inside:
            emulator.add_entry(bot["id"], status="RECEIVED", created_at=moment)
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=1))
    assert result.delivered
    app = urlsplit(emulator.url).netloc
    assert sorted(uids(otlp_sink)) == sorted(f"{app}:{bot['id']}:{entry_id}" for entry_id in wanted)


@pytest.mark.parametrize("time_zone", ZONES)
def test_starting_from_now_misses_nothing_new_whatever_zone_desk_counts_days_in(zoned_emulator, otlp_sink,
                                                                                  state_path, time_zone):
    emulator = zoned_emulator(time_zone)
    bot = emulator.add_bot(name="zoned")
    emulator.add_entries(bot["id"], 3, statuses=("RECEIVED",), start=FROZEN_AT - timedelta(hours=2))  # before "now"
    receiver = make_receiver(emulator, state_path)
    try:
        assert receiver.run_once().exported == 0
        emulator.add_entries(bot["id"], 5, statuses=("RECEIVED",), start=emulator.clock.now(), spacing_s=1)
        emulator.clock.advance(60)
        result = receiver.run_once()
    finally:
        receiver.close()
    assert result.delivered and result.exported == 5
    assert len(set(uids(otlp_sink))) == 5


def test_pages_advance_by_offset_not_by_next(zoned_emulator, otlp_sink, state_path):
    # Behind a proxy `next` may name the wrong host (docs/desk-api.md#lists-and-pagination): followed blindly,
    # every page after the first would fail.
    emulator = zoned_emulator("UTC", public_url="http://wrong-host.invalid:9")
    bot = emulator.add_bot(name="busy")
    emulator.add_entries(bot["id"], 25, statuses=("RECEIVED",), start=FROZEN_AT - timedelta(hours=1))
    next_links = []
    hook = requests.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs?limit=10",
                        headers={"SENDBIRDDESKAPITOKEN": emulator.config.token}, timeout=5)
    next_links.append(hook.json()["next"])
    emulator.reset_requests()
    [result] = run_cycles(make_receiver(emulator, state_path, backfill_days=1, page_size=10))
    assert next_links[0].startswith("http://wrong-host.invalid:9/")
    assert result.delivered and result.exported == 25
    offsets = [int(r.query["offset"][0]) for r in emulator.requests if "webhook_logs" in r.path]
    assert offsets == [0, 9, 18]  # each page starts one row early, with the row read last


def test_starting_from_now_beside_an_entry_dated_ahead_takes_the_clock_as_the_newest_time():
    now_ns = int(FROZEN_AT.timestamp()) * 10**9
    cursor = cursor_at_end(40, 99, now_ns + 10 * 365 * 86_400 * 10**9, now_ns)
    assert (cursor.offset, cursor.last_id, cursor.newest_created_ns) == (40, 99, now_ns)
