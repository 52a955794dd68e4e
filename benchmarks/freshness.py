"""Freshness under Desk's request budget: many bots with live traffic, one of them with a large backlog.

    python -m benchmarks.freshness [--bots 41] [--backlog 100000] [--max-rps 2] [--interval 5]
                                   [--rate 0.05] [--max-s 150] [--receiver-path DIR]

The emulator (its own process) serves the bots with live traffic and preloads the backlog on one of them;
the receiver (`run`, its own process) reads with DESK_MAX_RPS and DESK_POLL_INTERVAL; an OTLP sink in
this process stamps every record's arrival. Printed per group, the backlogged bot and the others: the lag
from createdAt to arrival of live entries (p50, p99, max), the backlog's drain time and rate, the Desk
requests per second used against the budget, and the best lag the budget allows (one sweep, bots /
max_rps, plus one interval), and the two figures the defaults are judged by (issue 22: 40 live bots and one
with a backlog of 100,000 at 2 requests/s and a 5 s interval, for 150 s): the live bots' p99 lag against 1.5 x
that best, and the entries of the backlog delivered against a quarter of the budget's page capacity (max_rps x
seconds x 500 entries a page). ``--receiver-path`` runs the receiver from another checkout (an older version,
for before/after figures); the emulator and the sink always come from this one.
"""

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from benchmarks.processes import TOKEN
from otel_desk_receiver import names
from otel_desk_receiver.devkit.sink.server import OtlpSink

BACKLOG_HOURS = 5.0  # the backlog was written over the five hours before the run
PAGE_SIZE = 500  # DESK_PAGE_SIZE's default: the entries one request can carry
LIVE_P99_BOUND = 1.5  # the live bots' p99 lag may be at most this many times the best the budget allows
BACKLOG_SHARE_FLOOR = 0.25  # the backlog gets at least this share of the budget's page capacity


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.freshness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=41, help="bots in all, the backlogged one included")
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--max-rps", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.05, help="live entries per second per bot")
    parser.add_argument("--extra-s", type=float, default=90.0, help="run this long after the backlog drained")
    parser.add_argument("--max-s", type=float, default=150.0, help="stop after this long if the backlog is not drained")
    parser.add_argument("--receiver-path", type=Path, default=None)
    return parser.parse_args(argv)


class Arrivals:
    """(bot id, createdAt ns, arrival ns) of every record the sink received."""

    def __init__(self):
        self.rows: list[tuple[int, int, int]] = []
        self._lock = threading.Lock()

    def take(self, records) -> None:
        now = time.time_ns()
        with self._lock:
            self.rows.extend((r.attributes[names.ATTR_BOT_ID], r.time_unix_nano, now) for r in records)

    def of(self, bot_id: int | None, created_after_ns: int, backlog_bot: int) -> list[float]:
        with self._lock:
            rows = list(self.rows)
        return [(arrived - created) / 1e9 for bot, created, arrived in rows if created >= created_after_ns
                and (bot == backlog_bot if bot_id is not None else bot != backlog_bot)]

    def count(self, bot_id: int, arrived_before_ns: int | None = None) -> int:
        with self._lock:
            return sum(1 for row in self.rows if row[0] == bot_id
                       and (arrived_before_ns is None or row[2] < arrived_before_ns))


class LiveEmulator:
    """`otel-desk-receiver emulator` with live traffic on every bot and the control surface on."""

    def __init__(self, args):
        command = [sys.executable, "-m", "otel_desk_receiver", "emulator", "--port", "0", "--token", TOKEN,
                   "--control", "--bots", str(args.bots), "--faq-bots", "0", "--rate", str(args.rate),
                   "--history-days", "0", "--history-per-bot", "0", "--timeout-ratio", "0", "--reply-delay", "1"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if "serving " not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = line.split("serving ", 1)[1].split(" ", 1)[0]
        self.control_url = self.url.rsplit("/platform/v1", 1)[0] + "/_emulator"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def describe(label: str, lags: list[float]) -> str:
    if not lags:
        return f"{label}: no live entries arrived"
    return (f"{label}: {len(lags)} live entries, lag p50 {statistics.median(lags):.1f} s, "
            f"p99 {percentile(lags, 0.99):.1f} s, max {max(lags):.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    arrivals = Arrivals()
    sink = OtlpSink().start()
    sink.on_logs(arrivals.take)
    emulator = LiveEmulator(args)
    try:
        control = emulator.control_url
        bots = requests.get(control + "/bots", timeout=30).json()["bots"]
        backlog_bot = bots[0]["id"]
        start = (datetime.now(UTC) - timedelta(hours=BACKLOG_HOURS)).isoformat()
        requests.post(f"{control}/bots/{backlog_bot}/entries", json={
            "count": args.backlog, "statuses": ["RECEIVED"], "start": start,
            "spacing_s": BACKLOG_HOURS * 3600 / args.backlog}, timeout=120).raise_for_status()
        return run(args, emulator, sink, arrivals, backlog_bot)
    finally:
        emulator.stop()
        sink.stop()


def run(args, emulator, sink, arrivals: Arrivals, backlog_bot: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_"))}
        env.update(DESK_API_URL=emulator.url, DESK_API_TOKEN=TOKEN, DESK_STATE_PATH=f"{tmp}/state.json",
                   DESK_HEALTH_ADDR="", DESK_BACKFILL_DAYS="1", DESK_MAX_RPS=f"{args.max_rps:g}",
                   DESK_POLL_INTERVAL=f"{args.interval:g}", DESK_LOG_LEVEL="WARNING",
                   OTEL_EXPORTER_OTLP_ENDPOINT=sink.http_endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                   OTEL_METRIC_EXPORT_INTERVAL="60000")
        if args.receiver_path is not None:
            env["PYTHONPATH"] = str(args.receiver_path)
        requests.post(emulator.control_url + "/requests/reset", timeout=30).raise_for_status()
        started_ns, started = time.time_ns(), time.monotonic()
        receiver = subprocess.Popen([sys.executable, "-m", "otel_desk_receiver", "run"], env=env,
                                    cwd=args.receiver_path or None, stdout=subprocess.DEVNULL,
                                    stderr=open(f"{tmp}/receiver.log", "wb"))
        drained_s = None
        while time.monotonic() - started < args.max_s:
            time.sleep(1.0)  # a benchmark samples; tests never sleep
            if drained_s is None and arrivals.count(backlog_bot) >= args.backlog:
                drained_s = time.monotonic() - started
            if drained_s is not None and time.monotonic() - started >= drained_s + args.extra_s:
                break
        elapsed = time.monotonic() - started
        backlog_in_window = arrivals.count(backlog_bot, started_ns + int(min(elapsed, args.max_s) * 1e9))
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)
        stats = requests.get(emulator.control_url + "/stats", timeout=30).json()
    best = args.bots / args.max_rps + args.interval
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; receiver from {args.receiver_path or 'this checkout'}")
    print(f"load: {args.bots} bots at {args.rate:g} entries/s each, one with a backlog of {args.backlog}; "
          f"DESK_MAX_RPS={args.max_rps:g}, DESK_POLL_INTERVAL={args.interval:g}")
    print(f"best achievable lag for this budget (one sweep + one interval): {best:.1f} s")
    live = arrivals.of(None, started_ns, backlog_bot)
    print(describe("other bots", live))
    print(describe("backlogged bot (its live entries)", arrivals.of(backlog_bot, started_ns, backlog_bot)))
    if drained_s is not None:
        print(f"backlog drained in {drained_s:.0f} s ({args.backlog / drained_s:.0f} entries/s)")
    else:
        print(f"backlog not drained within {elapsed:.0f} s ({arrivals.count(backlog_bot)} of {args.backlog})")
    print(f"Desk requests: {stats['requests']} in {elapsed:.0f} s, {stats['requests'] / elapsed:.2f}/s "
          f"against a budget of {args.max_rps:g}/s")
    window_s = min(elapsed, args.max_s)
    bound_s, capacity = LIVE_P99_BOUND * best, args.max_rps * window_s * PAGE_SIZE
    p99 = percentile(live, 0.99)
    print(f"live p99 against {LIVE_P99_BOUND:g} x the best achievable: {p99:.1f} s of at most {bound_s:.1f} s "
          f"({'met' if p99 <= bound_s else 'NOT met'})")
    print(f"backlog against {BACKLOG_SHARE_FLOOR:g} of the budget's page capacity: {backlog_in_window} entries in "
          f"{window_s:.0f} s, {backlog_in_window / capacity:.1%} of {capacity:.0f} "
          f"({'met' if backlog_in_window >= BACKLOG_SHARE_FLOOR * capacity or drained_s is not None else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
