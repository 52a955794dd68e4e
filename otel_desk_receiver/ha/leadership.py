"""Leadership: one Desk app's election. It runs the app's election thread and the app's poll loop's terms,
and tells health, the log and the meter who leads. Only the holder of an app's Lease polls that app,
exports its entries and writes its checkpoints."""

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Protocol

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_desk_receiver import names
from otel_desk_receiver.errors import FencedError, StateError, StateUnavailableError
from otel_desk_receiver.ha.elector import LeaderElector
from otel_desk_receiver.ha.spread import Spread
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.runtime import app_log

log = logging.getLogger(__name__)


class RoleSink(Protocol):
    """Where an app's role is published (runtime/health.py's HealthState, or the app's part of it)."""

    def set_role(self, role: str, leader: str | None, problem: str | None = None) -> None: ...


class LeaderInstruments:
    """The receiver-wide leader gauge (apps this process leads: 1 or 0 with one app) and changes counter,
    made once per meter whatever the number of apps (an instrument made twice is an SDK warning)."""

    _by_meter: "weakref.WeakKeyDictionary[Meter, LeaderInstruments]" = weakref.WeakKeyDictionary()
    _made = threading.Lock()

    def __init__(self, meter: Meter):
        self.changes = meter.create_counter(names.LEADER_CHANGES.name, unit=names.LEADER_CHANGES.unit,
                                            description=names.LEADER_CHANGES.description)
        self._electors: list[LeaderElector] = []
        meter.create_observable_gauge(names.LEADER.name, [self._observe], unit=names.LEADER.unit,
                                      description=names.LEADER.description)

    @classmethod
    def of(cls, meter: Meter) -> "LeaderInstruments":
        with cls._made:
            if meter not in cls._by_meter:
                cls._by_meter[meter] = cls(meter)
            return cls._by_meter[meter]

    def add(self, elector: LeaderElector) -> None:
        self._electors.append(elector)

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(sum(elector.is_leading() for elector in self._electors))


class Leadership:
    """The election for one app in this process. ``run_terms`` polls only inside a term: it starts one when
    this process acquires the app's Lease (reloading the state the previous leader committed), ends it as
    soon as the Lease is lost or the renew deadline passes, and stands by in between. A term whose state
    cannot be read or written within the renew deadline (the API answers 5xx, times out, drops connections:
    StateUnavailableError, already tried again by state/retry.py) ends too: the Lease is given up and the
    process campaigns again, so a passing API fault never ends the process. With several apps (``spread``,
    ha/spread.py) an app this replica leads beyond its fair share is handed over: ``is_leading()`` turns
    False at once (the loop stops at its next page boundary), ``end_term()`` saves, then the Lease is given
    up, and a replica below its share takes the app at its next retry: never two leaders at once, nothing
    sent twice. ``health`` receives this app's role (leader, or standby naming the holder)."""

    def __init__(self, elector: LeaderElector, health: RoleSink, meter: Meter, *, spread: Spread | None = None,
                 app: str | None = None):
        self.elector = elector
        self.app = app  # the app's label, for messages (None: the receiver's one app)
        self._health = health
        self._spread = spread
        self._instruments = LeaderInstruments.of(meter)
        self._instruments.add(elector)
        self._was_leading = False
        self._releasing = False  # stopping: giving the Lease up is not losing it
        self._handing_over = False  # giving the Lease up to spread the apps: not losing it either
        self._thread: threading.Thread | None = None
        elector.on_change = self._changed
        health.set_role("standby", None)

    def _lease(self) -> str:
        return f"lease {self.elector.namespace}/{self.elector.name}" + (f" (app {self.app})" if self.app else "")

    def start(self, stop: threading.Event) -> None:
        log.info("leader election on %s as %s (lease %ss, renew deadline %ss, retry %ss)", self._lease(),
                 self.elector.identity, self.elector.config.lease_duration_s, self.elector.config.renew_deadline_s,
                 self.elector.config.retry_period_s)
        if self._spread is not None:
            self._spread.start(stop)
        # In the starter's context: with an apps file, the election's lines name the app (runtime/app_log.py).
        self._thread = threading.Thread(target=app_log.in_this_context(self.elector.run), args=(stop, self._tick),
                                        name="leader-election", daemon=True)
        self._thread.start()

    def is_leading(self) -> bool:
        """True while this process leads the app and is not handing it over: asked between pages."""
        return self.elector.is_leading() and not self.elector.handing_over()

    def run_terms(self, stop: threading.Event, start_term: Callable[[], None], run_cycle: Callable[[], object],
                  poll_interval_s: float, end_term: Callable[[], None] = lambda: None) -> None:
        """Until ``stop``: wait to lead, then ``start_term()`` and ``run_cycle()`` every interval while the term
        lasts; on a hand-over, ``end_term()`` (save what was delivered) before the Lease is given up."""
        while not stop.is_set():
            if not self.elector.leading_event.wait(self.elector.config.retry_period_s):
                continue
            term = self.elector.term()
            if term is None:
                continue
            try:
                start_term()
                while not stop.is_set() and self.elector.term() == term and not self.elector.handing_over():
                    run_cycle()
                    if not self.elector.handing_over():
                        stop.wait(poll_interval_s)
            except FencedError as error:
                log.warning("%s: stopped polling: %s", self._lease(), error)
            except StateUnavailableError as error:
                log.warning("%s: stopped polling: %s; giving the lease up, campaigning again", self._lease(), error)
                self.elector.step_down()
            if stop.is_set():
                break
            if self.elector.handing_over():
                self._hand_over(end_term, term)
            else:
                log.warning("%s: no longer leading (term of %s, lease transition %d): standing by", self._lease(),
                            term.holder, term.transitions)
            if not self.elector.is_leading():
                start_term()  # a standby's load holds no cursors: nothing stale is exported meanwhile
            stop.wait(self.elector.config.retry_period_s)  # a fenced term: let the election catch up

    def _hand_over(self, end_term: Callable[[], None], term: Term) -> None:
        """Save in this term (the Lease still held), then give the Lease up and sit out a retry or two."""
        try:
            if self.elector.term() == term:
                end_term()
        except StateError as error:
            log.warning("%s: the last deliveries could not be saved before handing over (%s): the next leader "
                        "sends at most one batch per bot again", self._lease(), error)
        self._handing_over = True
        try:
            self.elector.step_down()
        finally:
            self._handing_over = False
        log.info("%s handed over (lease transition %d): standing by", self._lease(), term.transitions)

    def stop(self, timeout_s: float = 5.0) -> None:
        """After the loop ended (stop set): release the Lease so a standby takes over at once."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._releasing = True
        self.elector.release()
        if self._spread is not None:
            self._spread.stop(timeout_s)

    def _tick(self) -> None:
        if not self.elector.is_leading():
            self._health.set_role("standby", self.elector.holder() or None, self.elector.problem())

    def _changed(self, leading: bool, holder: str) -> None:
        quiet = self._releasing or self._handing_over
        if leading != self._was_leading:
            self._was_leading = leading
            self._instruments.changes.add(1, {names.ATTR_LEADER_CHANGE: "acquired" if leading else "lost"})
            term: Term | None = self.elector.term()
            if leading:
                log.info("leading: %s acquired (lease transition %d); polling", self._lease(),
                         term.transitions if term else -1)
            elif not quiet:
                log.warning("%s lost or not renewed within %ss: polling stops", self._lease(),
                            self.elector.config.renew_deadline_s)
        if leading:
            self._health.set_role("leader", self.elector.identity)
        elif not self._releasing:
            self._health.set_role("standby", holder or None, self.elector.problem())
            if not self._handing_over:
                log.info("standing by%s: %s leads", f" for app {self.app}" if self.app else "",
                         holder or "nobody (the lease is free or expired)")
