"""AppRun: one Desk app's loop (its poller's sweeps, its terms with leader election, its refused token) over its
own parts (app_parts.py), on its own thread when the receiver has several apps."""

import logging
import time
from collections.abc import Callable

from otel_desk_receiver.app.app_parts import AppParts
from otel_desk_receiver.app.refusals import TokenRefusals
from otel_desk_receiver.errors import DeskAuthError, StateError
from otel_desk_receiver.otel_env import export_endpoint
from otel_desk_receiver.otlp.endpoint_hints import with_hints
from otel_desk_receiver.runtime import app_log
from otel_desk_receiver.runtime.poller import CycleResult
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)

REFUSED_MAX_INTERVALS = 10  # an app whose token is refused asks Desk again at least once every this many intervals


class AppRun:
    """One app's loop. Its lines name the app (``where``, runtime/app_log.py) when the receiver has an apps
    file. A refused token ends nothing but this app's polling: it is said once, the app asks Desk again after
    a backoff (one poll interval, doubling, up to REFUSED_MAX_INTERVALS: a token file rotated meanwhile is
    read then), and the whole receiver ends (DeskAuthError: exit 3) only when every app's token is refused."""

    def __init__(self, parts: AppParts, refusals: TokenRefusals, *, interval_s: float, named: bool,
                 monotonic: Callable[[], float] = time.monotonic):
        self.parts = parts
        self.label = parts.app.label
        self.where = parts.app.where if named else None
        self._refusals = refusals
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._refused_in_a_row = 0

    @property
    def poller(self):
        return self.parts.poller

    @property
    def health(self):
        return self.parts.health

    def run_once(self) -> CycleResult:
        """One catch-up cycle over the app's bots (``run --once``); DeskAuthError when Desk refuses its token."""
        with app_log.about(self.where):
            self.parts.exporter.new_cycle()  # an endpoint found down last cycle is tried again
            result = self.poller.run_cycle()
            self.sweep_done()
            log.info("cycle done: exported %d, %d bot(s) ok, %d failed", result.exported, result.bots_ok,
                     result.bots_failed)
            return result

    def refused(self, error: DeskAuthError) -> bool:
        """Record Desk's refusal of the app's token; True when every app's is refused now."""
        return self._refusals.refused(self.label, f"{self.where}: {error}" if self.where else str(error))

    def run_forever(self, stop: Callable[[], bool]) -> None:
        """Until ``stop`` (the stop event's is_set, or another app's loop failed): the app's loop, inside its
        leadership terms with leader election (issue 13)."""
        stop_event, leadership = self.parts.stop_event, self.parts.leadership

        def stopped() -> bool:
            return stop() or self.parts.should_stop()

        def poll_until_stopped() -> None:
            self.poll_until(stopped, stop_event.wait)
        if leadership is None:
            poll_until_stopped()
            return
        with app_log.about(self.where):
            leadership.start(stop_event)
            leadership.run_terms(stop_event, self.parts.cursors.reload, poll_until_stopped, self._interval_s,
                                 end_term=self.parts.cursors.save)

    def poll_until(self, stop: Callable[[], bool], wait: Callable[[float], object]) -> None:
        """The app's poll loop (Poller.run_until) with its once-an-interval OTLP retry, until ``stop``. A refused
        token waits its backoff here (``wait``, beating liveness each interval) and polls again; raises
        DeskAuthError when every app's token is refused. Tests drive it on a virtual clock through ``wait``."""
        with app_log.about(self.where):
            while not stop():
                try:
                    self.poller.run_until(stop, wait, on_sweep=self.sweep_done)
                    return
                except DeskAuthError as error:
                    if self.refused(error):
                        raise self._refusals.error() from None
                    self._wait_refused(error, stop, wait)

    def _wait_refused(self, error: DeskAuthError, stop: Callable[[], bool], wait: Callable[[float], object]) -> None:
        self._refused_in_a_row += 1
        backoff_s = self._interval_s * min(2 ** (self._refused_in_a_row - 1), REFUSED_MAX_INTERVALS)
        log.error("%s; the other apps go on, this one asks Desk again in %s", error, duration_text(backoff_s))
        until = self._monotonic() + backoff_s
        while not stop() and (left := until - self._monotonic()) > 0:
            wait(min(left, self._interval_s))
            self.health.beat()  # waiting on purpose: alive, and not ready (it reads nothing)

    def sweep_done(self) -> None:
        """After every bot had a turn: say once if the OTLP endpoint was down, then try it again."""
        # A whole poll interval read without the token refused: a later refusal starts its backoff afresh (a
        # listing accepted while every bot is refused does not count: that one keeps doubling).
        self._refused_in_a_row = 0
        exporter = self.parts.exporter
        down, waiting = exporter.down, exporter.waiting
        if down is not None:
            # One line per cycle, whatever the number of bots: the first failed export stopped the others.
            log.warning("OTLP logs endpoint %s did not accept the log records (%s): %d bot(s) waiting with %d "
                        "settled entr%s; nothing is lost, retrying next cycle", export_endpoint("logs"),
                        with_hints(down.reason, "logs"),
                        waiting.deliveries, waiting.records, "y" if waiting.records == 1 else "ies")
        exporter.new_cycle()

    def save_state(self) -> None:
        """What was delivered and not saved yet (saves are coalesced, state/store.py) is saved before exit;
        if it cannot be (no longer leading, disk full), the next receiver sends that batch again. Every line
        names the app (its state's retries too): the receiver saves every app's at once (Receiver.close)."""
        with app_log.about(self.where):
            try:
                self.parts.cursors.save()
            except StateError as error:
                log.warning("the last deliveries could not be saved (%s): at most one batch per bot is sent again",
                            error)

    def abort_export(self) -> None:
        """Cut the in-flight export's retries short (shutdown deadline); its batch is not committed."""
        self.parts.exporter.shutdown()

    def close(self) -> None:
        """After the loop ended: the exporter and the Desk client closed (the state saved by save_state)."""
        self.parts.exporter.shutdown()
        self.parts.client.close()
