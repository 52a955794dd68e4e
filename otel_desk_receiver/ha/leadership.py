"""Leadership: runs the election thread and the poll loop's terms; tells health, the log and the meter
who leads. Only the holder of the Lease polls, exports and writes checkpoints."""

import logging
import threading
from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_desk_receiver import names
from otel_desk_receiver.errors import FencedError, StateUnavailableError
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.ha.elector import LeaderElector
from otel_desk_receiver.kube.lease import Term

log = logging.getLogger(__name__)


class Leadership:
    """The election for one process. ``run_terms`` polls only inside a term: it starts one when this
    process acquires the Lease (reloading the state the previous leader committed), ends it as soon as
    the Lease is lost or the renew deadline passes, and stands by in between. A term whose state cannot
    be read or written within the renew deadline (the API answers 5xx, times out, drops connections:
    StateUnavailableError, already tried again by state/retry.py) ends too: the Lease is given
    up and the process campaigns again, so a passing API fault never ends the process."""

    def __init__(self, elector: LeaderElector, health: HealthState, meter: Meter):
        self.elector = elector
        self._health = health
        self._changes = meter.create_counter(names.LEADER_CHANGES.name, unit=names.LEADER_CHANGES.unit,
                                             description=names.LEADER_CHANGES.description)
        meter.create_observable_gauge(names.LEADER.name, [self._observe], unit=names.LEADER.unit,
                                      description=names.LEADER.description)
        self._was_leading = False
        self._releasing = False  # stopping: giving the Lease up is not losing it
        self._thread: threading.Thread | None = None
        elector.on_change = self._changed
        health.set_role("standby", None)

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(int(self.elector.is_leading()))

    def start(self, stop: threading.Event) -> None:
        log.info("leader election on lease %s/%s as %s (lease %ss, renew deadline %ss, retry %ss)",
                 self.elector.namespace, self.elector.name, self.elector.identity,
                 self.elector.config.lease_duration_s, self.elector.config.renew_deadline_s,
                 self.elector.config.retry_period_s)
        self._thread = threading.Thread(target=self.elector.run, args=(stop, self._tick), name="leader-election",
                                        daemon=True)
        self._thread.start()

    def is_leading(self) -> bool:
        return self.elector.is_leading()

    def run_terms(self, stop: threading.Event, start_term: Callable[[], None], run_cycle: Callable[[], object],
                  poll_interval_s: float) -> None:
        """Until ``stop``: wait to lead, then ``start_term()`` and ``run_cycle()`` every interval while the term lasts."""
        while not stop.is_set():
            if not self.elector.leading_event.wait(self.elector.config.retry_period_s):
                continue
            term = self.elector.term()
            if term is None:
                continue
            try:
                start_term()
                while not stop.is_set() and self.elector.term() == term:
                    run_cycle()
                    stop.wait(poll_interval_s)
            except FencedError as error:
                log.warning("stopped polling: %s", error)
            except StateUnavailableError as error:
                log.warning("stopped polling: %s; giving the lease up, campaigning again", error)
                self.elector.step_down()
            if not stop.is_set():
                log.warning("no longer leading (term of %s, lease transition %d): standing by", term.holder,
                            term.transitions)
                if not self.elector.is_leading():
                    start_term()  # a standby's load holds no cursors: nothing stale is exported meanwhile
                stop.wait(self.elector.config.retry_period_s)  # a fenced term: let the election catch up

    def stop(self, timeout_s: float = 5.0) -> None:
        """After the loop ended (stop set): release the Lease so a standby takes over at once."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._releasing = True
        self.elector.release()

    def _tick(self) -> None:
        if not self.elector.is_leading():
            self._health.set_role("standby", self.elector.holder() or None, self.elector.problem())

    def _changed(self, leading: bool, holder: str) -> None:
        if leading != self._was_leading:
            self._was_leading = leading
            self._changes.add(1, {names.ATTR_LEADER_CHANGE: "acquired" if leading else "lost"})
            term: Term | None = self.elector.term()
            if leading:
                log.info("leading: lease %s/%s acquired (lease transition %d); polling", self.elector.namespace,
                         self.elector.name, term.transitions if term else -1)
            elif not self._releasing:
                log.warning("lease %s/%s lost or not renewed within %ss: polling stops", self.elector.namespace,
                            self.elector.name, self.elector.config.renew_deadline_s)
        if leading:
            self._health.set_role("leader", self.elector.identity)
        elif not self._releasing:
            self._health.set_role("standby", holder or None, self.elector.problem())
            log.info("standing by: %s leads", holder or "nobody (the lease is free or expired)")
