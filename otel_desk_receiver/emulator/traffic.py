"""Generated webhook traffic: seeded per-bot event streams, planned status timelines, settled
history and live events produced lazily as the virtual clock advances."""

import heapq
import math
import random
from dataclasses import dataclass, field

from otel_desk_receiver.emulator.config import BotProfile
from otel_desk_receiver.emulator.store import ALWAYS, ERROR, RECEIVED, SENT, TIMEOUT

US = 1_000_000
# Desk waits 1 s for the bot's HTTP answer and retries up to 3 times (desk-api.md, "What Desk
# sends to a bot"), so an ERROR lands a few seconds after the event.
ERROR_DELAY_S = (1.0, 4.0)
SEND_DELAY_S = (0.02, 0.3)
# History stays this far behind "now" so every preloaded entry is settled (max timeout 300 s).
HISTORY_MARGIN_S = 310


@dataclass(frozen=True)
class Plan:
    """One webhook event's timeline: INITIALIZED at created, SENT at sent, ``code`` at final."""

    created_us: int
    sent_us: int
    final_us: int
    code: int


def plan_event(rng: random.Random, profile: BotProfile, timeout_s: int, created_us: int) -> Plan:
    """Draw one event's outcome (desk-api.md "Status values"): ERROR skips SENT; a reply slower
    than the bot's timeoutSeconds, or none at all, is a TIMEOUT at the deadline."""
    draw = rng.random()
    if draw < profile.error_ratio:
        final = created_us + int(rng.uniform(*ERROR_DELAY_S) * US)
        return Plan(created_us, final, final, ERROR)
    sent = created_us + int(rng.uniform(*SEND_DELAY_S) * US)
    delay_s = rng.lognormvariate(math.log(profile.reply_delay_s), profile.reply_delay_sigma)
    if draw < profile.error_ratio + profile.timeout_ratio or delay_s > timeout_s:
        return Plan(created_us, sent, sent + timeout_s * US, TIMEOUT)
    return Plan(created_us, sent, sent + int(delay_s * US), RECEIVED)


def entries_of(plan: Plan, entry_model: str) -> list[tuple[int, int, int, int]]:
    """(created_us, sent_us, final_us, code) rows for a plan under the entry model.

    in_place: one row whose status follows the timeline. per_status: a fixed SENT row then a
    fixed final row; an ERROR is a single row (the bot never got the message).
    """
    if entry_model == "in_place":
        return [(plan.created_us, plan.sent_us, plan.final_us, plan.code)]
    rows = [(plan.final_us, ALWAYS, ALWAYS, plan.code)]
    if plan.code != ERROR:
        rows.insert(0, (plan.sent_us, ALWAYS, ALWAYS, SENT))
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

    def history(self, stream: BotStream, timeout_s: int, now_us: int, days: float, count: int):
        """Sorted rows of ``count`` settled events spread over the ``days`` before now."""
        rng = random.Random(f"history:{self.seed}:{stream.bot_id}")
        hi = now_us - HISTORY_MARGIN_S * US
        lo = max(now_us - int(days * 86_400 * US), now_us - self.retention_us)
        times = sorted(rng.randrange(lo, hi) for _ in range(count)) if hi > lo else []
        rows = []
        for created_us in times:
            plan = plan_event(rng, stream.profile, timeout_s, created_us)
            if plan.code == ERROR:
                heapq.heappush(stream.error_final_us, plan.final_us)
            rows.extend(entries_of(plan, self.entry_model))
        if self.entry_model != "in_place":
            rows.sort()
        return rows

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
            while stream.next_us <= now_us:
                self._queue(stream, plan_event(stream.rng, stream.profile, timeouts[bot_id], stream.next_us))
                stream.next_us += stream.draw_gap_us()
        ready = []
        while self._pending and self._pending[0][0] <= now_us:
            created_us, _, bot_id, sent_us, final_us, code = heapq.heappop(self._pending)
            if bot_id in timeouts:
                ready.append((created_us, bot_id, sent_us, final_us, code))
        return ready

    def _queue(self, stream: BotStream, plan: Plan) -> None:
        if plan.code == ERROR:
            heapq.heappush(stream.error_final_us, plan.final_us)
        for created_us, sent_us, final_us, code in entries_of(plan, self.entry_model):
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
