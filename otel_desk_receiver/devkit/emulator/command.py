"""Serve a Desk API emulator on a local port: the Desk Platform API endpoints the receiver reads
(GET /bots, /bots/{id} and /bots/{id}/webhook_logs under /platform/v1, token in the
SENDBIRDDESKAPITOKEN header), generated CUSTOM and FAQ bots with live webhook traffic and settled
history, optional faults and an optional /_emulator/ control surface. Point the receiver at it with
DESK_API_URL=http://HOST:PORT/platform/v1 and DESK_API_TOKEN=<--token>. README.md (Quick start,
Examples) shows it in use; the docstrings of otel_desk_receiver/devkit/emulator/ describe it in full."""

import argparse
import os
import signal
import sys
import threading

from otel_desk_receiver.devkit.emulator.config import ENTRY_MODELS, EmulatorConfig
from otel_desk_receiver.devkit.emulator.service import DeskEmulator
from otel_desk_receiver.errors import ConfigError

DEFAULT_TOKEN = "emulator-token"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of the `emulator` command."""
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    server.add_argument("--port", type=int, default=8080,
                        help="port to listen on; 0 picks a free one (default: %(default)s)")
    server.add_argument("--token", default=None,
                        help=f"the token accepted in SENDBIRDDESKAPITOKEN (default: $DESK_API_TOKEN if set, else "
                             f"{DEFAULT_TOKEN})")
    server.add_argument("--public-url", default=None, metavar="URL",
                        help="origin used in next/previous links, as behind a proxy (default: the request's Host)")
    server.add_argument("--control", action="store_true", help="serve the /_emulator/ control surface (default: off)")
    server.add_argument("--verbose", action="store_true", help="log every request on stderr (default: off)")
    add_traffic_arguments(parser)
    add_fault_arguments(parser)


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    """Generated bots and traffic; shared with the demo."""
    traffic = parser.add_argument_group("generated bots and traffic")
    traffic.add_argument("--bots", type=int, default=5,
                         help="CUSTOM bots; with 3 or more the last two are 'flaky' and 'slow' (default: %(default)s)")
    traffic.add_argument("--faq-bots", type=int, default=1,
                         help="FAQ bots, listed without webhook logs (default: %(default)s)")
    traffic.add_argument("--seed", type=int, default=1, help="seed of every random choice (default: %(default)s)")
    traffic.add_argument("--rate", type=float, default=0.2,
                         help="live webhook events per second per bot (default: %(default)s)")
    traffic.add_argument("--error-ratio", type=float, default=0.02,
                         help="share of events ending in ERROR (default: %(default)s)")
    traffic.add_argument("--timeout-ratio", type=float, default=0.02,
                         help="share of events the bot never answers, ending in TIMEOUT (default: %(default)s)")
    traffic.add_argument("--reply-delay", type=float, default=2.0, metavar="SECONDS",
                         help="median of the log-normal bot reply delay (default: %(default)s)")
    traffic.add_argument("--history-days", type=float, default=1.0,
                         help="days of settled past traffic to preload (default: %(default)s)")
    traffic.add_argument("--history-per-bot", type=int, default=500,
                         help="preloaded past events per bot (default: %(default)s)")
    traffic.add_argument("--entry-model", choices=ENTRY_MODELS, default="in_place",
                         help="in_place: one entry per event changing status; per_status: one entry per status "
                              "(default: %(default)s)")
    traffic.add_argument("--time-zone", default="UTC",
                         help="project time zone of start_date/end_date: UTC, +09:00 or an IANA name (default: "
                              "%(default)s)")


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("faults")
    faults.add_argument("--rate-limit", type=float, default=None, metavar="RPS",
                        help="answer 429 with Retry-After above this many requests per second (default: no limit)")
    faults.add_argument("--error-rate", type=float, default=0.0,
                        help="share of requests answered 500/502/503 (default: %(default)s)")
    faults.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay before every answer (default: %(default)s)")
    faults.add_argument("--malformed-ratio", type=float, default=0.0,
                        help="share of requests answered 200 with truncated JSON (default: %(default)s)")
    faults.add_argument("--drop-ratio", type=float, default=0.0,
                        help="share of requests whose connection is closed unanswered (default: %(default)s)")


def config_from_args(args: argparse.Namespace, **overrides) -> EmulatorConfig:
    """EmulatorConfig from parsed options (any missing option keeps its default); ConfigError
    lists every bad value at once."""
    values = {
        "token": getattr(args, "token", None) or os.environ.get("DESK_API_TOKEN") or DEFAULT_TOKEN,
        "public_url": getattr(args, "public_url", None), "control": getattr(args, "control", False),
        "verbose": getattr(args, "verbose", False),
    }
    for option, field in (("bots", "bots"), ("faq_bots", "faq_bots"), ("seed", "seed"), ("rate", "rate_per_s"),
                          ("error_ratio", "error_ratio"), ("timeout_ratio", "timeout_ratio"),
                          ("reply_delay", "reply_delay_s"), ("history_days", "history_days"),
                          ("history_per_bot", "history_per_bot"), ("entry_model", "entry_model"),
                          ("time_zone", "time_zone"), ("rate_limit", "rate_limit_rps"),
                          ("error_rate", "fault_error_ratio"), ("latency", "latency_s"),
                          ("malformed_ratio", "malformed_ratio"), ("drop_ratio", "drop_ratio")):
        if hasattr(args, option):
            values[field] = getattr(args, option)
    values.update(overrides)
    try:
        return EmulatorConfig(**values)
    except ValueError as error:
        raise ConfigError([f"emulator: {problem}" for problem in str(error).split("; ")]) from None


def build_emulator(args: argparse.Namespace, **overrides) -> DeskEmulator:
    """A populated, not yet started DeskEmulator from parsed options (the demo reuses this)."""
    return DeskEmulator(config_from_args(args, **overrides))


def main(args: argparse.Namespace) -> int:
    emulator = build_emulator(args)
    try:
        emulator.start(args.host, args.port)
    except OSError as error:
        raise ConfigError([f"--port: cannot listen on {args.host}:{args.port} ({error.strerror or error})"]) from None
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    token = emulator.config.token
    control = f"; control at {emulator.control_url}" if emulator.config.control else ""
    print(f"Desk API emulator serving {emulator.url} ({len(emulator.state.bots)} bots{control}); "
          f"DESK_API_URL={emulator.url} DESK_API_TOKEN={token}", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Desk API emulator stopped", file=sys.stderr, flush=True)
    return 0
