"""make bench: the receiver end to end (emulator -> `run --once` backfill -> OTLP sink, three processes)
against the ceiling (the same number of records from memory, encoded and sent by the receiver's OTLP log
exporter alone, into the same sink).

    python -m benchmarks.run [--entries N] [--bots B] [--page-size P] [--million]
                             [--protocol grpc|http/protobuf] [--profile [--profile-out FILE]]

Prints one `label: value` line per figure; exits 1 if the receiver failed or delivered a different number.
"""

import argparse
import math
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ceiling import measure_ceiling
from benchmarks.processes import EmulatorProcess, SinkProcess, receiver_env, run_receiver

MAX_RPS = "1000"  # high enough that the request-rate cap never paces the backfill
HISTORY_DAYS = 1.0  # the emulator spreads the entries over the last day ...
BACKFILL_DAYS = "2"  # ... and the receiver reads two days back, so it reads all of them
PROFILE_LINES = 25


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000, help="entries preloaded in total (default: %(default)s)")
    parser.add_argument("--million", action="store_true", help="1,000,000 entries (overrides --entries)")
    parser.add_argument("--bots", type=int, default=50, help="CUSTOM bots sharing them (default: %(default)s)")
    parser.add_argument("--page-size", type=int, default=500, help="DESK_PAGE_SIZE (default: %(default)s)")
    parser.add_argument("--protocol", choices=("grpc", "http/protobuf"), default="http/protobuf")
    parser.add_argument("--profile", action="store_true",
                        help="also run the backfill once more under cProfile and print where the receiver's time goes")
    parser.add_argument("--profile-out", type=Path, default=None, metavar="FILE",
                        help="with --profile, keep the cProfile data in FILE (default: discarded)")
    args = parser.parse_args(argv)
    if args.million:
        args.entries = 1_000_000
    if args.bots < 1 or args.entries < args.bots or not 1 <= args.page_size <= 500:
        parser.error("need 1 <= bots <= entries and 1 <= page size <= 500")
    return args


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}, {platform.system()}"


def desk_requests(stats: dict) -> tuple[int, int]:
    """(all API requests, bot-list requests) from the emulator's /_emulator/stats."""
    by_path = stats["by_path"]
    return sum(by_path.values()), sum(n for path, n in by_path.items() if path.rstrip("/").endswith("/bots"))


def delta(after: dict, before: dict) -> dict:
    return {key: after["logs"][key] - before["logs"][key] for key in after["logs"]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    per_bot = args.entries // args.bots
    entries = per_bot * args.bots
    floor_pages = args.bots * math.ceil(per_bot / args.page_size)
    out = Report()
    out.line("machine", machine())
    out.line("setup", f"{entries} entries over {args.bots} bots ({per_bot} each), page size {args.page_size}, "
                      f"protocol {args.protocol}, DESK_MAX_RPS={MAX_RPS}, DESK_BACKFILL_DAYS={BACKFILL_DAYS}")
    with tempfile.TemporaryDirectory(prefix="otel-desk-bench-") as tmp:
        work = Path(tmp)
        sink = SinkProcess()
        started = time.monotonic()
        emulator = EmulatorProcess(args.bots, per_bot, HISTORY_DAYS)
        preload_s = time.monotonic() - started
        try:
            env = receiver_env(emulator, sink.endpoints[args.protocol], args.protocol, work / "state.json",
                               max_rps=MAX_RPS, backfill_days=BACKFILL_DAYS, page_size=str(args.page_size))
            # The backfill.
            emulator.reset_requests()
            sink_before, emulator_cpu_before = sink.reading(), emulator.cpu_s()
            run = run_receiver(env, work / "backfill.log")
            sink_after, emulator_cpu = sink.reading(), emulator.cpu_s() - emulator_cpu_before
            requests, bot_lists = desk_requests(emulator.stats())
            otlp = delta(sink_after, sink_before)
            # A quiet cycle: same state, nothing new.
            emulator.reset_requests()
            quiet = run_receiver(env, work / "quiet.log")
            quiet_requests, quiet_lists = desk_requests(emulator.stats())
            quiet_otlp = delta(sink.reading(), sink_after)
            # The ceiling, into the same sink.
            ceiling = measure_ceiling(entries, args.bots, sink.endpoints[args.protocol], args.protocol)
            if args.profile:
                profile_path = (args.profile_out or work / "receiver.prof").resolve()
                profile_env = dict(env, DESK_STATE_PATH=str(work / "profiled-state.json"))
                profiled = run_receiver(profile_env, work / "profiled.log", profile_path)
        finally:
            emulator.stop()
            sink.stop()

        per_s = entries / run.wall_s
        out.line("entries delivered", f"{otlp['items']} of {entries}")
        out.line("end to end", f"{per_s:.0f} entries/s ({run.wall_s:.1f} s wall, receiver exit {run.exit_code})")
        out.line("receiver cpu", f"{run.cpu_s / entries * 10_000:.3f} s per 10,000 entries "
                                 f"({run.user_s:.1f} s user + {run.system_s:.1f} s system)")
        out.line("receiver peak rss", f"{run.peak_rss_mb:.1f} MB")
        out.line("desk requests", f"{requests} (floor {floor_pages + args.bots}: {floor_pages} pages + {args.bots} bots; "
                                  f"{bot_lists} bot list)")
        out.line("otlp requests", f"{otlp['requests']} logs requests, {otlp['bytes']} bytes")
        out.line("ceiling", f"{ceiling.per_s:.0f} entries/s (OTLP log exporter alone, "
                            f"{ceiling.records} records from memory, {ceiling.export_s:.1f} s)")
        out.line("ratio", f"{per_s / ceiling.per_s:.2f} (end to end / ceiling)")
        out.line("quiet cycle", f"{quiet_requests} desk requests over {args.bots} bots ({quiet_lists} bot list), "
                                f"{quiet_otlp['items']} entries exported, receiver exit {quiet.exit_code}")
        out.line("emulator cpu", f"{emulator_cpu:.1f} s during the backfill "
                                 f"({emulator_cpu / entries * 10_000:.3f} s per 10,000 entries); preload {preload_s:.1f} s")
        out.line("sink cpu", f"{sink_after['cpu_s'] - sink_before['cpu_s']:.1f} s during the backfill")
        ok = run.exit_code == 0 and otlp["items"] == entries and quiet.exit_code == 0
        if not ok:
            print(run.output_tail(), file=sys.stderr)
        if args.profile:
            out.line("profiled run", f"{entries / profiled.wall_s:.0f} entries/s under cProfile "
                                     f"(exit {profiled.exit_code})")
            print_profile(profile_path)
    return 0 if ok else 1


def print_profile(path: Path) -> None:
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)


class Report:
    def line(self, label: str, value: str) -> None:
        print(f"{label}: {value}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
