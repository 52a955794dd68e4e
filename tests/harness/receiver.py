"""Shared pieces for receiver tests: settings aimed at the emulator, a receiver on the emulator's clock,
and what the sink received or a scrape of /metrics read, grouped the way assertions need it."""

import time
from collections import Counter
from datetime import timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.app import Receiver

TOKEN = "tok-3b1f-very-secret"
FAST_RETRY = RetryPolicy(max_attempts=8, base_s=0.001, cap_s=0.01, max_hint_s=0.05)


def settings_for(emulator, state_path, **overrides) -> Settings:
    values = dict(api_token=emulator.config.token if hasattr(emulator, "config") else TOKEN, api_url=emulator.url,
                  page_size=500, backfill_days=0, poll_interval=30, state_path=state_path, health_addr="",
                  max_rps=1000, settle_grace=60)
    return Settings(**{**values, **overrides})


def emulator_clock_ns(emulator):
    return lambda: int(emulator.clock.now().timestamp() * 1_000_000_000)


def make_receiver(emulator, state_path, retry: RetryPolicy = FAST_RETRY, monotonic=time.monotonic, sleep=None,
                  **overrides) -> Receiver:
    return Receiver(settings_for(emulator, state_path, **overrides), clock_ns=emulator_clock_ns(emulator),
                    monotonic=monotonic, retry=retry, sleep=sleep)


def virtual_receiver(emulator, state_path, **overrides) -> Receiver:
    """A receiver living on the emulator's clock: request pacing, retry waits and the loop's own waits all
    advance it, so a test counts requests and turns, never wall seconds."""
    return make_receiver(emulator, state_path, monotonic=lambda: emulator.clock.now().timestamp(),
                         sleep=lambda s: emulator.clock.advance(s), **overrides)


def drive(receiver, emulator, virtual_s: float, until=lambda: False, each_wait=lambda: None) -> None:
    """The receiver's own loop until ``until()`` or ``virtual_s`` of emulator time passed; each of the
    loop's waits advances the emulator's clock (by 10 ms at least, so the loop always moves on), then
    calls ``each_wait``."""
    deadline = emulator.clock.now() + timedelta(seconds=virtual_s)

    def wait(seconds: float) -> None:
        emulator.clock.advance(max(seconds, 0.01))
        each_wait()
    receiver.poll_until(lambda: until() or emulator.clock.now() >= deadline, wait)


def run_once(emulator, state_path, **overrides):
    """One catch-up cycle with a fresh receiver (as `run --once` does), closed afterwards."""
    receiver = make_receiver(emulator, state_path, **overrides)
    try:
        return receiver.run_once()
    finally:
        receiver.close()


def entry_records(sink) -> list:
    """The webhook log entries' records the sink received: not the bot change records (docs/bot-inventory.md) a
    test that changes its bots between two listings also gets."""
    return [r for r in sink.log_records() if r.event_name == names.EVENT_NAME]


def entry_ids(sink) -> list[int]:
    return [r.attributes[names.ATTR_WEBHOOK_LOG_ID] for r in entry_records(sink)]


def uids(sink) -> list[str]:
    return [r.attributes[names.ATTR_LOG_RECORD_UID] for r in entry_records(sink)]


def by_bot_and_status(sink) -> Counter:
    return Counter((r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_WEBHOOK_LOG_STATUS])
                   for r in entry_records(sink))


def counter_by_bot_and_status(sink) -> Counter:
    totals = Counter()
    for attributes, value in sink.counter_totals(names.WEBHOOK_LOGS.name).items():
        attrs = dict(attributes)
        totals[(attrs[names.ATTR_BOT_ID], attrs[names.ATTR_WEBHOOK_LOG_STATUS])] += int(value)
    return totals


def days_ago(emulator, days: float):
    return emulator.clock.now() - timedelta(days=days)


def scrape(port: int) -> list[Sample]:
    """The samples of the receiver's /metrics on loopback, as a Prometheus scrape reads them."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]
