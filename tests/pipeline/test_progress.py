"""Backfill progress lines: position of total, rate and time left, at most every 10 s."""

import logging

from otel_desk_receiver.pipeline.progress import BackfillProgress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reports_position_rate_and_time_left_at_most_every_10_s(caplog):
    clock = Clock()
    progress = BackfillProgress(7, start_offset=0, monotonic=clock)
    with caplog.at_level(logging.INFO, logger="otel_desk_receiver.pipeline.progress"):
        clock.now += 5
        progress.page_done(5_000, 100_000)  # too soon: nothing
        clock.now += 5
        progress.page_done(10_000, 100_000)
        clock.now += 1
        progress.page_done(11_000, 100_000)  # too soon again
    assert [r.getMessage() for r in caplog.records] == [
        "bot 7: backfill read 10000 of 100000 (10%), 1000 entries/s, about 1m30s left"]


def test_without_a_count_only_position_and_rate():
    progress = BackfillProgress(3, start_offset=500, monotonic=lambda: 0.0)
    assert progress.describe(2_500, None, now=4.0) == "bot 3: backfill read 2500 entries, 500 entries/s"


def test_long_durations_in_hours():
    progress = BackfillProgress(1, start_offset=0, monotonic=lambda: 0.0)
    assert progress.describe(1_000, 10_000_000, now=10.0).endswith("about 27h46m left")
