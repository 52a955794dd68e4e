"""Poller: the receiver's own loop (run_until) against the emulator on its virtual clock: turns of different
bots run at once, at most DESK_CONCURRENCY of them, one bot never in two; a backlog gets its share of the
request budget. Counted in requests and turns; a hanging read is a held answer (Faults.hold_next), no clock."""

import json
import threading
from datetime import timedelta

import pytest

from otel_desk_receiver import names
from tests.harness.receiver import drive, virtual_receiver
from tests.harness.saved_state import app_section
from tests.harness.wait import wait_until


@pytest.fixture
def emulator(desk_emulator, otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    return desk_emulator


def delivered(sink, bot_id) -> int:
    return sum(1 for r in sink.log_records() if r.attributes[names.ATTR_BOT_ID] == bot_id)


def bot_of(path: str) -> int:
    return int(path.split("/bots/")[1].split("/")[0])


def test_a_hanging_read_costs_that_bot_alone_and_a_stop_still_saves_the_others(emulator, otlp_sink, state_path):
    slow, live = emulator.add_bot(name="slow"), emulator.add_bot(name="live")
    slow_logs = f"/bots/{slow['id']}/webhook_logs"
    receiver = virtual_receiver(emulator, state_path, poll_interval=1)
    seen = {}

    def hang_slow(path, _params):  # the slow bot's next read hangs; three entries arrive on the other meanwhile
        if slow_logs in path and not seen:
            seen["answered"] = emulator.request_count(slow_logs)
            emulator.faults.hold_next(1, path_contains=slow_logs)
            for _ in range(3):
                emulator.add_entry(live["id"], status="RECEIVED", created_at=emulator.clock.now())

    def live_delivered() -> bool:
        if delivered(otlp_sink, live["id"]) < 3:
            return False
        seen["answered at delivery"] = emulator.request_count(slow_logs)
        receiver.stop()  # SIGTERM's path: the hanging read is abandoned, the loop ends, the state is saved
        return True
    try:
        drive(receiver, emulator, virtual_s=1)  # both bots start from now
        emulator.before_each_request(hang_slow)
        drive(receiver, emulator, virtual_s=600, until=live_delivered)
    finally:
        receiver.close()
    assert delivered(otlp_sink, live["id"]) == 3
    assert seen["answered at delivery"] == seen["answered"]  # the slow bot's read was still hanging
    saved = app_section(json.loads(state_path.read_text()))["bots"][str(live["id"])]
    assert sum(saved["counted"].values()) == 3


def test_at_most_desk_concurrency_reads_are_in_flight_and_never_two_for_one_bot(emulator, otlp_sink, state_path):
    bots = [emulator.add_bot(name=f"bot-{n}") for n in range(6)]
    releases = {bot["id"]: emulator.faults.hold_next(1, path_contains=f"/bots/{bot['id']}/webhook_logs")
                for bot in bots}
    arrived, in_flight, same_bot = [], [], []

    def arrive(path, _params):  # a first turn reads twice: where the listing ends, then from there
        if "webhook_logs" in path:
            arrived.append(bot_of(path))
            in_flight.append(len(arrived) - emulator.request_count("webhook_logs"))
            same_bot.append(arrived.count(bot_of(path)) - emulator.request_count(f"/bots/{bot_of(path)}/"))
    emulator.before_each_request(arrive)
    receiver = virtual_receiver(emulator, state_path, poll_interval=30, concurrency=2)
    loop = threading.Thread(target=drive, args=(receiver, emulator, 5),
                            kwargs={"until": lambda: emulator.request_count("webhook_logs") >= 12})
    loop.start()
    try:
        for n in range(6):  # answer the held reads one by one, in the order their bots came
            first_reads = wait_until(lambda: len(dict.fromkeys(arrived)) > n and list(dict.fromkeys(arrived)),
                                     what=f"bot {n + 1} of 6")
            releases[first_reads[n]].set()
        loop.join(30)
    finally:
        emulator.faults.clear()
        loop.join(30)
        receiver.close()
    assert sorted(set(arrived)) == sorted(bot["id"] for bot in bots) and len(arrived) == 12
    assert max(same_bot) == 1  # never two reads of one bot at once
    assert max(in_flight) == 2  # two at once (one after another before), never more


def test_a_backlog_gets_its_share_of_a_budget_the_live_bots_could_use_whole(emulator, otlp_sink, state_path):
    # 30 live bots with entries, polled every 5 s at 2 requests/s: one sweep takes 15 s, so they always wait.
    backlog = emulator.add_bot(name="backlog")
    live = [emulator.add_bot(name=f"live-{n}") for n in range(30)]
    emulator.add_entries(backlog["id"], 20_000, statuses=("RECEIVED",), spacing_s=0.5,
                         start=emulator.clock.now() - timedelta(hours=3))
    live_ids = {bot["id"] for bot in live}

    def keep_live_busy(path, _params):  # every live bot finds an entry at each read: due every interval
        if "webhook_logs" in path and bot_of(path) in live_ids:
            emulator.add_entry(bot_of(path), status="RECEIVED", created_at=emulator.clock.now())
    emulator.before_each_request(keep_live_busy)
    receiver = virtual_receiver(emulator, state_path, poll_interval=5, max_rps=2, page_size=100, backfill_days=1,
                                backlog_share=0.25)
    try:
        drive(receiver, emulator, virtual_s=10_000, until=lambda: emulator.request_count("webhook_logs") >= 600)
    finally:
        receiver.close()
    reads = [bot_of(r.path) for r in emulator.requests if "webhook_logs" in r.path]
    share = reads.count(backlog["id"]) / len(reads)
    assert share >= 0.24, share  # 0.045 before: about a page per sweep
    assert min(reads.count(bot["id"]) for bot in live) >= 0.6 * (1 - share) * len(reads) / len(live)


def test_a_turn_running_at_a_stop_is_not_lost_for_the_next_run(emulator, otlp_sink, state_path):
    bot = emulator.add_bot(name="bot")
    receiver = virtual_receiver(emulator, state_path, poll_interval=30)
    release = emulator.faults.hold_next(1, path_contains="webhook_logs")
    try:  # the loop stops while the bot's turn runs; that turn ends after the stop
        drive(receiver, emulator, virtual_s=5, until=lambda: emulator.faults.settings()["pending_one_shot"] == 0
              and (release.set() or True))
        emulator.add_entry(bot["id"], status="RECEIVED", created_at=emulator.clock.now())
        drive(receiver, emulator, virtual_s=120, until=lambda: delivered(otlp_sink, bot["id"]) == 1)
    finally:
        receiver.close()
    assert delivered(otlp_sink, bot["id"]) == 1  # the next loop serves the bot again
