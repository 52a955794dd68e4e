"""Poll Sendbird Desk bot webhook logs and export them over OTLP: forever, or one catch-up cycle with --once.

Settings come from DESK_* and OTEL_* environment variables (see the README). SIGTERM or SIGINT
finishes the export in flight, saves the state and exits 0.
"""

import logging
import signal
import sys
import threading
import time

from otel_desk_receiver.cli import EXIT_FAILURE, EXIT_OK, add_config_argument, exit_codes_help
from otel_desk_receiver.commands.help_text import settings_help
from otel_desk_receiver.config import config_warnings, load_settings
from otel_desk_receiver.redaction import install_redaction, protect_output
from otel_desk_receiver.runtime.signals import SignalWatch

log = logging.getLogger("otel_desk_receiver")

# docs/delivery.md#stopping: exit within 10 s of SIGTERM. An export still retrying after ABORT_EXPORT_S is cut short
# (its batch is not committed); the final metrics flush gets what is left before EXIT_BY_S.
ABORT_EXPORT_S = 5.0
EXIT_BY_S = 9.0


def add_arguments(parser) -> None:
    add_config_argument(parser)
    parser.add_argument("--once", action="store_true",
                        help="one full catch-up cycle over all bots, then exit (0 only if everything read was delivered)")
    parser.epilog = f"{settings_help()}\n\n{exit_codes_help()}"


def configure_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("urllib3", "grpc", "opentelemetry"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # OTLP goes through our own senders (otlp/sender.py), which log retries at DEBUG and report each outcome
    # once; an SDK exporter still in use (Prometheus) reports through the receiver's lines, not its own.
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    # parse_env_headers prints a malformed OTEL_EXPORTER_OTLP_HEADERS value whole: it holds credentials.
    logging.getLogger("opentelemetry.util.re").setLevel(logging.CRITICAL)
    install_redaction()


def main(args) -> int:
    protect_output()  # every line printed, logged or not, with the secrets held masked (redaction.py)
    settings = load_settings(args.config)
    configure_logging(settings.log_level.value)
    for line in config_warnings(settings=settings):  # a misspelt or overridden variable is otherwise silent
        log.warning("%s", line)
    from otel_desk_receiver.app import Receiver  # after logging is set up: building it logs

    receiver = Receiver(settings)
    stopping = _install_signal_handlers(receiver)
    try:
        receiver.start_health()
        if args.once:
            if not receiver.lead_for_once():  # leader election: another receiver polls, --once must not
                return EXIT_FAILURE
            result = receiver.run_once()
            counted = receiver.flush_counters()  # docs/delivery.md#counters: --once fails unless they were accepted
            if not counted:
                log.error("run --once: the OTLP metrics endpoint did not accept the counters; the totals are "
                          "kept in the state and sent by the next run")
            return EXIT_OK if result.delivered and counted else EXIT_FAILURE
        for app in settings.desk_apps:  # with an apps file, each app on its own line, named
            log.info("%spolling every %s; Desk at %s", f"{app.where}: " if settings.per_app_names else "",
                     settings.as_given("poll_interval"), app.base_url)
        receiver.run_forever()
        log.info("stopped; state saved to %s", receiver.state_location)
        return EXIT_OK
    finally:
        started = stopping.since()
        receiver.close(None if started is None else max(0.5, EXIT_BY_S - (time.monotonic() - started)),
                       flush_counters=not args.once)
        stopping.close()


def _install_signal_handlers(receiver) -> "_Stopping":
    """SIGTERM/SIGINT stop the loop after the page in flight. The handlers only note the signal: logging, the
    watchdog and the stop run on a watcher thread (runtime/signals.py: a handler taking a lock the interrupted
    main thread holds, as inside stop_event.wait or a log emit, would wait for ever)."""
    return _Stopping(receiver)


class _Stopping:
    def __init__(self, receiver):
        self._receiver = receiver
        self._received: list[float] = []
        self._watch = SignalWatch(self._on_signal)

    def _on_signal(self, signum: int) -> None:
        log.info("%s received: finishing the export in flight", signal.Signals(signum).name)
        if not self._received:
            self._received.append(time.monotonic())
            watchdog = threading.Timer(ABORT_EXPORT_S, self._receiver.abort_export)
            watchdog.daemon = True
            watchdog.start()
        self._receiver.stop()

    def since(self) -> float | None:
        """When the first signal was handled (monotonic), or None."""
        return self._received[0] if self._received else None

    def close(self) -> None:
        self._watch.close()
