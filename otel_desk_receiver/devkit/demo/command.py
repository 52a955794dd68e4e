"""Try the receiver with no account and no outside service: a Desk API emulator with live traffic
(healthy bots, one 'flaky' bot that errors, one 'slow' bot that times out), the receiver polling it
every 2 s, and an embedded OTLP endpoint whose arrivals are shown live: per-bot entries by status,
pending, lag and the latest ERROR and TIMEOUT records. Ctrl-C stops it all. With --otlp-endpoint the
receiver sends to a real OTLP endpoint (a local collector, say) instead, and the view shows what the
receiver reports of itself."""

import argparse
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from otel_desk_receiver.devkit.demo import view as demo_view
from otel_desk_receiver.devkit.demo.setup import (
    METRIC_EXPORT_INTERVAL_MS,
    POLL_INTERVAL_S,
    TRAFFIC_DEFAULTS,
    demo_environment,
    demo_settings,
    emulator_options,
    become_environment,
    hand_env,
)

from otel_desk_receiver.commands.run import configure_logging
from otel_desk_receiver.otel_env import OTLP_PROTOCOLS, otlp_problems
from otel_desk_receiver.runtime.signals import StopRequest
from otel_desk_receiver.devkit.emulator.command import DEFAULT_TOKEN, add_traffic_arguments, build_emulator
from otel_desk_receiver.errors import ConfigError

SHUTDOWN_DEADLINE_S = 5.0  # loopback pages take well under a second; past this, cut retries short
CLOSE_BY_S = 9.0  # as `run` (commands/run.py): the receiver is closed this long after the stop, whatever the exporters do
# Traffic brisker than the emulator command's defaults, and a short history so the first screen is busy.
STUCK_STATUSES = ("SENT", "INITIALIZED", "SENT")  # entries Desk never resolved: they settle by age
HAND_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    demo = parser.add_argument_group("demo")
    demo.add_argument("--duration", type=_positive, metavar="SECONDS",
                      help="run this long, then stop and exit 0 (default: until Ctrl-C)")
    demo.add_argument("--refresh", type=_positive, metavar="SECONDS",
                      help="seconds between screens (default: 1 on a terminal, 5 otherwise)")
    demo.add_argument("--no-tty", action="store_true",
                      help="print a snapshot table every --refresh seconds instead of redrawing the screen "
                           "(automatic when stdout is not a terminal)")
    demo.add_argument("--otlp-endpoint", metavar="URL",
                      help="send to this OTLP endpoint instead of the embedded one, e.g. http://localhost:4318 "
                           "(OTEL_EXPORTER_OTLP_HEADERS and the like still apply)")
    demo.add_argument("--otlp-protocol", choices=OTLP_PROTOCOLS, default="http/protobuf",
                      help="OTLP protocol of the export (default: %(default)s)")
    demo.add_argument("--port", type=int, default=0,
                      help="port of the Desk API emulator on 127.0.0.1 (default: a free one)")
    demo.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="WARNING",
                      help="the receiver's own log level, on stderr (default: %(default)s)")
    add_traffic_arguments(parser)
    parser.set_defaults(**TRAFFIC_DEFAULTS)


def _positive(text: str) -> float:
    value = float(text) if re.fullmatch(r"\d+(\.\d*)?|\.\d+", text.strip()) else 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds (got {text!r})")
    return value


class PollLoop:
    """The receiver's own loop, as `run` runs it (Receiver.run_forever: the scheduler's turns, and the
    counters exported every metric interval on their own thread), on a thread; sets ``stopping`` if it dies."""

    def __init__(self, receiver, stopping: StopRequest):
        self.receiver = receiver
        self.error: BaseException | None = None
        self._stopping = stopping
        self._thread = threading.Thread(target=self._run, name="demo-receiver", daemon=True)

    def start(self) -> "PollLoop":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.receiver.run_forever()
        except Exception as error:  # noqa: BLE001 - reported by main after a clean shutdown
            self.error = error
            self._stopping.set()

    def stop(self) -> None:
        """Finish the page in flight; past the deadline, cut the export's retries short."""
        self.receiver.stop()
        if self._thread.ident is None:
            return  # never started
        self._thread.join(SHUTDOWN_DEADLINE_S)
        if self._thread.is_alive():
            self.receiver.abort_export()
            self._thread.join(2.0)

    def summary(self, errors: list[str] = ()) -> str:
        """What the receiver's health state says (the status page's facts): turns, records, bots ok or failing."""
        facts = self.receiver.health.facts()
        polled = [health for health in facts.bots.values() if health.last_poll_ns is not None]
        failing = sum(health.last_error is not None for health in polled)
        return demo_view.receiver_line(facts.turns, facts.exported, len(polled) - failing if polled else None,
                                       failing, errors)


class Demo:
    """The parts of one demo run, and how they are shown."""

    def __init__(self, args, emulator, sink, receiver, stopping: StopRequest, endpoint: str):
        self.args, self.emulator, self.sink, self.receiver, self.endpoint = args, emulator, sink, receiver, endpoint
        self.loop = PollLoop(receiver, stopping)
        self.started = time.monotonic()
        self.tally = demo_view.SinkTally()
        self._closed = False
        self._by_hand: dict[int | None, list[str]] = {}
        if sink is not None:
            sink.on_logs(self.tally.add_records)

    def shutdown(self) -> None:
        """Stop polling, then close the receiver, which exports the last metrics; once, and within CLOSE_BY_S
        (flushes still retrying then are cut short, as `run` does)."""
        if not self._closed:
            self._closed = True
            started = time.monotonic()
            self.loop.stop()
            self.receiver.close(max(0.5, CLOSE_BY_S - (time.monotonic() - started)))

    def intro(self) -> list[str]:
        return demo_view.intro_lines(
            bots=len(self.receiver.poller.bots) or self.args.bots, interval_s=POLL_INTERVAL_S,
            emulator_url=self.emulator.url, token=self.emulator.config.token, endpoint=self.endpoint,
            protocol=self.args.otlp_protocol, embedded=self.sink is not None)

    def by_hand(self, columns: int | None = None) -> list[str]:
        """The commands, on one line each, or within ``columns``."""
        if columns not in self._by_hand:  # cached: it builds a parser
            hand_endpoint = self.args.otlp_endpoint or HAND_ENDPOINTS[self.args.otlp_protocol]
            self._by_hand[columns] = demo_view.by_hand_lines(
                ["otel-desk-receiver", "emulator", *emulator_options(self.args, self.emulator.address[1])],
                hand_env(self.receiver.settings, hand_endpoint, self.args.otlp_protocol), columns)
        return self._by_hand[columns]

    def frame(self) -> demo_view.ViewData:
        if self.sink is not None:
            self.tally.add_metric_points(self.sink.metric_points())
            self.sink.clear()  # what arrived is tallied: keep memory bounded however long the demo runs
            counter = demo_view.counter_line(self.tally.counter_total, self.tally.record_count,
                                             self.tally.counter_seen, float(METRIC_EXPORT_INTERVAL_MS) / 1000)
            status = f"the OTLP endpoint received {self.tally.record_count} log records"
            return demo_view.ViewData([status, counter, self.loop.summary()], self.tally.rows(), self.tally.recent())
        rows = [demo_view.BotRow(g.bot_id, g.bot_name, None, g.pending, g.lag_s) for g in self.receiver.poller.gauges()]
        errors = [f"bot {bot_id}: {h['last_error']}" for bot_id, h in self.receiver.health.snapshot()["bots"].items()
                  if h["last_error"]]
        lines = [self.loop.summary(errors), f"Counts by status and the records are at {self.endpoint}; "
                 "here: the receiver's own gauges."]
        return demo_view.ViewData(lines, rows, None)

    def show(self, title: str, tty: bool, final: bool = False) -> None:
        data = self.frame()
        if tty:  # the commands follow the final screen, within the width; until then, a line says so
            data.header = self.intro() + ["", f"{title}: {data.header[0]}"] + data.header[1:]
            data.footer = [] if final else [demo_view.BY_HAND_LATER]
            size = shutil.get_terminal_size()
            text = demo_view.render(data, size.columns, size.lines)
            sys.stdout.write(CLEAR_SCREEN + demo_view.fit(text, size.columns, size.lines))
        else:
            sys.stdout.write(f"--- {title} ---\n" + demo_view.render(data))
        sys.stdout.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _add_stuck_entries(emulator) -> None:
    """A few entries Desk never resolved, on the 'slow' bot (else the first): they show settling by age.
    Created after the preloaded history and before live traffic, so ids still ascend with createdAt."""
    custom = [bot for bot in emulator.bots() if bot["type"] == "CUSTOM"]
    if not custom:
        return
    bot = next((b for b in custom if b["name"] == "slow"), custom[0])
    start = emulator.clock.now() - timedelta(seconds=240)
    emulator.add_entries(bot["id"], len(STUCK_STATUSES), STUCK_STATUSES, start=start, spacing_s=30)


def _start_emulator(args, stack: ExitStack):
    emulator = build_emulator(args, token=DEFAULT_TOKEN)
    _add_stuck_entries(emulator)
    try:
        emulator.start("127.0.0.1", args.port)
    except OSError as error:
        raise ConfigError([f"--port: cannot listen on 127.0.0.1:{args.port} ({error.strerror or error})"]) from None
    stack.callback(emulator.stop)
    return emulator


def _start_sink(args, stack: ExitStack):
    if args.otlp_endpoint:
        if not args.otlp_endpoint.startswith(("http://", "https://")):
            raise ConfigError([f"--otlp-endpoint: expected a URL starting with http:// or https:// "
                               f"(got {args.otlp_endpoint!r})"])
        return None, args.otlp_endpoint
    from otel_desk_receiver.devkit.sink.server import OtlpSink

    sink = OtlpSink().start()
    stack.callback(sink.stop)
    return sink, sink.grpc_endpoint if args.otlp_protocol == "grpc" else sink.http_endpoint


def _build(args, stack: ExitStack, stopping: StopRequest) -> Demo:
    emulator = _start_emulator(args, stack)
    sink, endpoint = _start_sink(args, stack)
    env = demo_environment(os.environ, endpoint=endpoint, protocol=args.otlp_protocol, embedded=sink is not None)
    problems = otlp_problems(env)
    if problems:
        raise ConfigError(problems)
    stack.callback(become_environment, dict(os.environ))
    become_environment(env)  # the receiver's exporters read OTEL_* as they are built
    state_dir = Path(tempfile.mkdtemp(prefix="otel-desk-demo-"))
    stack.callback(shutil.rmtree, state_dir, ignore_errors=True)
    settings = demo_settings(emulator.url, emulator.config.token, state_dir / "state.json", args.log_level)
    from otel_desk_receiver.app import Receiver  # after logging is set up: building it logs

    # The receiver warns that a 1-day backfill reaches past what Datadog keeps: worth seeing with
    # --otlp-endpoint, noise in front of the embedded endpoint.
    # On the handlers, not on a logger: whichever module of the receiver logs it.
    quiet = lambda r: sink is None or "Datadog drops" not in r.getMessage()  # noqa: E731
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
        stack.callback(handler.removeFilter, quiet)
    demo = Demo(args, emulator, sink, Receiver(settings), stopping, endpoint)
    stack.callback(demo.shutdown)  # flushes the last metrics: runs before the sink stops
    return demo


def _install_signal_handlers(stopping: StopRequest, stack: ExitStack) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.signal(signum, lambda *_: stopping.set())
        stack.callback(signal.signal, signum, previous)


def _quiet_when_stopping(stopping: StopRequest, stack: ExitStack) -> None:
    """Ctrl-C is how the demo ends: the receiver's warnings that it cut a bot's cycle short for the
    shutdown are expected then, not news."""
    def keep(record: logging.LogRecord) -> bool:
        return not (stopping.is_set() and "shutdown requested" in record.getMessage())

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)
        stack.callback(handler.removeFilter, keep)


def _show_until_stopped(demo: Demo, stopping: StopRequest, tty: bool) -> None:
    refresh = demo.args.refresh or (1.0 if tty else 5.0)
    duration = demo.args.duration
    if tty:
        demo.show("starting", tty)  # a screen at once, not after the first refresh
    while True:
        wait_s = refresh if duration is None else min(refresh, max(0.0, duration - demo.elapsed()))
        if stopping.wait(wait_s) or (duration is not None and demo.elapsed() >= duration):
            return
        demo.show(f"after {demo.elapsed():.0f}s", tty)


def main(args) -> int:
    configure_logging(args.log_level)
    tty = not args.no_tty and sys.stdout.isatty()
    stopping = StopRequest()
    with ExitStack() as stack:
        stack.callback(stopping.close)  # last: a signal until then still finds the pipe open
        _install_signal_handlers(stopping, stack)
        _quiet_when_stopping(stopping, stack)
        demo = _build(args, stack, stopping)
        if not tty:
            print("\n".join(demo.intro() + demo.by_hand()), flush=True)
        demo.loop.start()
        _show_until_stopped(demo, stopping, tty)
        demo.shutdown()  # the final metrics reach the sink before the last screen
        demo.show(f"final, after {demo.elapsed():.1f}s", tty, final=True)
        if tty:  # in full, within the width
            print("\n".join(demo.by_hand(shutil.get_terminal_size().columns)))
    if demo.loop.error is not None:
        raise demo.loop.error
    print("demo stopped: receiver, OTLP endpoint and emulator closed", flush=True)
    return 0
