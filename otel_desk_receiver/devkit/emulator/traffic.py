"""Generated webhook traffic: seeded per-bot event streams, planned status timelines, settled
history and live events produced lazily as the virtual clock advances."""

import functools
import heapq
import math
import random
import statistics
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from otel_desk_receiver.devkit.emulator.config import BotProfile
from otel_desk_receiver.devkit.emulator.store import ALWAYS, ERROR, RECEIVED, SENT, TIMEOUT

US = 1_000_000
# Desk waits 1 s for the bot's HTTP answer and retries up to 3 times (docs/desk-api.md#what-a-log-entry-stands-for),
# so an ERROR lands a few seconds after the event.
ERROR_DELAY_S = (1.0, 4.0)
SEND_DELAY_S = (0.02, 0.3)
# History stays this far behind "now" so every preloaded entry is settled (max timeout 300 s).
HISTORY_MARGIN_S = 310


Row = tuple[int, int, int, int]  # (created_us, sent_us, final_us, status code)


def make_planner(rng: random.Random, profile: BotProfile, timeout_s: int) -> Callable[[int], tuple[int, int, int]]:
    """plan(created_us) -> (sent_us, final_us, code): one event's drawn timeline, INITIALIZED
    until sent_us, SENT until final_us, then code (docs/desk-api.md#statuses). An ERROR skips
    SENT; a reply slower than the bot's timeoutSeconds, or none at all, is a TIMEOUT at the
    deadline. A closure over locals because history preloads call it a million times."""
    draw = rng.random
    error_below, timeout_below = profile.error_ratio, profile.error_ratio + profile.timeout_ratio
    delays_us = _reply_delays_us(profile.reply_delay_s, profile.reply_delay_sigma)
    buckets = len(delays_us)
    timeout_us = timeout_s * US
    error_lo, error_span = ERROR_DELAY_S[0] * US, (ERROR_DELAY_S[1] - ERROR_DELAY_S[0]) * US
    send_lo, send_span = SEND_DELAY_S[0] * US, (SEND_DELAY_S[1] - SEND_DELAY_S[0]) * US

    def plan(created_us: int) -> tuple[int, int, int]:
        outcome = draw()
        if outcome < error_below:
            final_us = created_us + int(error_lo + draw() * error_span)
            return final_us, final_us, ERROR
        sent_us = created_us + int(send_lo + draw() * send_span)
        delay_us = delays_us[int(draw() * buckets)]
        if outcome < timeout_below or delay_us > timeout_us:
            return sent_us, sent_us + timeout_us, TIMEOUT
        return sent_us, sent_us + delay_us, RECEIVED

    return plan


@functools.lru_cache(maxsize=64)
def _reply_delays_us(median_s: float, sigma: float, buckets: int = 4096) -> tuple[int, ...]:
    """Log-normal reply delays as equiprobable quantiles: one uniform draw picks one, which is
    several times cheaper than random.gauss in the million-event preload."""
    normal = statistics.NormalDist(math.log(median_s), sigma)
    return tuple(int(math.exp(normal.inv_cdf((k + 0.5) / buckets)) * US) for k in range(buckets))


def rows_of(created_us: int, sent_us: int, final_us: int, code: int, entry_model: str) -> list[Row]:
    """Entries for one event under the entry model.

    in_place: one row whose status follows the timeline. per_status: a fixed SENT row then a
    fixed final row; an ERROR is a single row (the bot never got the message).
    """
    if entry_model == "in_place":
        return [(created_us, sent_us, final_us, code)]
    rows = [(final_us, ALWAYS, ALWAYS, code)]
    if code != ERROR:
        rows.insert(0, (sent_us, ALWAYS, ALWAYS, SENT))
    return rows


@dataclass
class BotStream:
    """One generated bot's seeded event stream; events arrive as a Poisson process."""

    bot_id: int
    profile: BotProfile
    rng: random.Random
    next_us: int = 0
    error_final_us: list[int] = field(default_factory=list)  # heap: when generated ERRORs land

    def draw_gap_us(self) -> int:
        return max(1, int(self.rng.expovariate(self.profile.rate_per_s) * US))


class TrafficGenerator:
    """Produces generated entries in createdAt order across bots, so ids assigned in that order
    ascend with createdAt globally, as a database sequence would."""

    def __init__(self, seed: int, entry_model: str, retention_us: int):
        self.seed, self.entry_model, self.retention_us = seed, entry_model, retention_us
        self.streams: dict[int, BotStream] = {}
        self._pending: list[tuple[int, int, int, int, int, int]] = []  # heap of future rows
        self._seq = 0
        self._generated_until = None

    def add_stream(self, bot_id: int, profile: BotProfile, start_us: int) -> BotStream:
        stream = BotStream(bot_id, profile, random.Random(f"traffic:{self.seed}:{bot_id}"))
        if profile.rate_per_s > 0:
            stream.next_us = start_us + stream.draw_gap_us()
        self.streams[bot_id] = stream
        return stream

    def history(self, stream: BotStream, timeout_s: int, now_us: int, days: float, count: int) -> list[array]:
        """Columns (created, sent, final, codes) of ``count`` settled events spread over the
        ``days`` before now, in created order; built straight into arrays to stay compact."""
        rng = random.Random(f"history:{self.seed}:{stream.bot_id}")
        hi = now_us - HISTORY_MARGIN_S * US
        lo = max(now_us - int(days * 86_400 * US), now_us - self.retention_us)
        draw, span = rng.random, max(0, hi - lo)
        times = sorted(lo + int(draw() * span) for _ in range(count)) if span else []
        plan = make_planner(rng, stream.profile, timeout_s)
        if self.entry_model == "in_place":
            rows = [(created_us, *plan(created_us)) for created_us in times]
        else:
            rows = sorted(row for created_us in times for row in rows_of(created_us, *plan(created_us), "per_status"))
        created, sent, final, codes = zip(*rows) if rows else ((), (), (), ())
        del rows  # the tuples are the bulk of the transient memory
        created, sent, final, codes = array("q", created), array("q", sent), array("q", final), array("b", codes)
        # Every preloaded event is settled, so any ERROR among them is already unread.
        if ERROR in codes:
            heapq.heappush(stream.error_final_us, 0)
        return [created, sent, final, codes]

    def catch_up(self, now_us: int, timeouts: dict[int, int]) -> list[tuple[int, int, int, int, int]]:
        """Rows (created_us, bot_id, sent_us, final_us, code) created up to now, in order."""
        floor_us = now_us - self.retention_us
        for bot_id, stream in self.streams.items():
            if stream.profile.rate_per_s <= 0 or bot_id not in timeouts:
                continue
            # Skip what retention would hide anyway, so a 40-day clock jump stays cheap; the
            # Poisson process is memoryless, so restarting it changes no statistic.
            if stream.next_us < floor_us:
                stream.next_us = floor_us + stream.draw_gap_us()
            plan = make_planner(stream.rng, stream.profile, timeouts[bot_id])
            while stream.next_us <= now_us:
                self._queue(stream, stream.next_us, *plan(stream.next_us))
                stream.next_us += stream.draw_gap_us()
        ready = []
        while self._pending and self._pending[0][0] <= now_us:
            created_us, _, bot_id, sent_us, final_us, code = heapq.heappop(self._pending)
            if bot_id in timeouts:
                ready.append((created_us, bot_id, sent_us, final_us, code))
        return ready

    def _queue(self, stream: BotStream, created_us: int, sent_us: int, final_us: int, code: int) -> None:
        if code == ERROR:
            heapq.heappush(stream.error_final_us, final_us)
        for created_us, sent_us, final_us, code in rows_of(created_us, sent_us, final_us, code, self.entry_model):
            self._seq += 1
            heapq.heappush(self._pending, (created_us, self._seq, stream.bot_id, sent_us, final_us, code))

    def errors_landed(self, bot_id: int, now_us: int) -> bool:
        """True when a generated ERROR landed since the last call: Desk's isUnreadError is sticky."""
        stream = self.streams.get(bot_id)
        landed = False
        while stream and stream.error_final_us and stream.error_final_us[0] <= now_us:
            heapq.heappop(stream.error_final_us)
            landed = True
        return landed
