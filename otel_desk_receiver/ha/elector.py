"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics (leaderelection.go).

One process holds the Lease and polls; the others stand by and try again every retry period. The
holder renews every retry period; another candidate takes the Lease only once it has seen the same
record unchanged for ``lease_duration_s`` on its own clock (client-go's observedTime: clocks of
different nodes are never compared). Where this differs from client-go, it is stricter:

- leadership is valid until the send time of the last successful renew plus ``renew_deadline_s``
  (client-go counts the deadline from the start of the failing renew, up to one retry period later),
  so a leader that cannot renew stops before any other candidate can see its lease expire, for any
  settings client-go accepts;
- a leader that lost the Lease goes back to standing by (client-go's Run returns and the process
  usually exits);
- a Lease made again (it was missing: deleted, or never made) does not restart its count at 0:
  ``transitions_floor()`` gives the transition the state was last claimed in, and a new term always
  counts past it, so that the state's fencing never sees an older term than its own (client-go
  restarts at 0, and every term would be refused);
- a candidate the API refuses (RBAC: 401, 403; or an invalid object) says so in ``problem()``, in
  the Role's words (kube/access.py asks with dry runs), and the process is not ready while it lasts:
  it could not take over, so it is no standby; it keeps trying, and a fixed Role is seen at once;
- a leader that cannot use the API for its own work within the renew deadline (the state ConfigMap
  does not answer) steps down: ``step_down()`` releases the Lease and sits out the longest a standby
  waits between tries, so that a standby gets the first chance, then campaigns again.

With several apps (ha/spread.py) each app has its own Lease and elector, and two hooks spread them over the
replicas: ``claim()`` is entered around taking a free or expired Lease (or making a missing one), never
around renewing this process's own, and says whether this process may take it (the attempt counts as under
way until it is left); and ``request_hand_over()`` asks the loop polling the app to stop at a
page boundary, save and give the Lease up (``handing_over()`` until ``step_down`` or ``release``). A
candidate that may not take reads the Lease all the same, so the moment it may, a Lease it has seen
unchanged for a lease duration is taken at once.

``release()`` is client-go's ReleaseOnCancel: holderIdentity "" and leaseDurationSeconds 1, so a
standby takes over at its next retry instead of after a full lease duration.
"""

import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube.access import AccessDenied, check_write_access
from otel_desk_receiver.kube.lease import LeaseRecord, Term, lease_object

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2  # client-go: retries while standing by wait retryPeriod * (1 + rand * 1.2)


@dataclass(frozen=True)
class ElectionConfig:
    """client-go's LeaderElectionConfig timings, validated as client-go validates them."""

    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def problems(self) -> list[str]:
        found = []
        if self.lease_duration_s <= self.renew_deadline_s:
            found.append("the lease duration must be greater than the renew deadline")
        if self.renew_deadline_s <= JITTER_FACTOR * self.retry_period_s:
            found.append(f"the renew deadline must be greater than {JITTER_FACTOR} x the retry period")
        if self.retry_period_s <= 0:
            found.append("the retry period must be positive")
        return found


class LeaderElector:
    """Campaigns for one Lease. ``is_leading()`` is safe from any thread and turns False by itself at the
    renew deadline, without waiting for the election thread; ``term()`` is the tenure it leads in."""

    def __init__(self, client, namespace: str, name: str, identity: str, config: ElectionConfig = ElectionConfig(),
                 *, monotonic: Callable[[], float] = time.monotonic, clock_ns: Callable[[], int] = time.time_ns,
                 on_change: Callable[[bool, str], None] = lambda leading, holder: None,
                 transitions_floor: Callable[[], int] = lambda: -1,
                 claim: Callable[[], AbstractContextManager[bool]] = lambda: nullcontext(True)):
        self._client = client
        self._floor = transitions_floor  # may raise KubeError: then no term is started this time
        self.namespace, self.name, self.identity = namespace, name, identity
        self.config = config
        self._monotonic, self._clock_ns = monotonic, clock_ns
        self.on_change = on_change
        self._lock = threading.Lock()
        self._observed: LeaseRecord | None = None
        self._observed_at: float = 0.0
        self._read: dict | None = None  # the Lease as last read or written: its metadata is written back
        self._valid_until: float | None = None  # monotonic instant leadership ends unless renewed
        self._term: Term | None = None
        self._reported = (False, "")
        self._report_lock = threading.Lock()
        self.leading_event = threading.Event()  # set while leading (as last checked by the election loop)
        self._stop = threading.Event()  # the one run() is given: pause() ends when it is set
        self._sit_out_until: float | None = None  # after step_down(): no write to the Lease before then
        self._problem: str | None = None  # why the API refuses this candidate, while it does
        self.claim = claim  # entered around taking a Lease another held, or none did (ha/spread.py)
        self._hand_over = threading.Event()  # set: the app's loop stops, saves and gives the Lease up

    def is_leading(self) -> bool:
        with self._lock:
            return self._valid_until is not None and self._monotonic() < self._valid_until

    def term(self) -> Term | None:
        with self._lock:
            leading = self._valid_until is not None and self._monotonic() < self._valid_until
            return self._term if leading else None

    def holder(self) -> str:
        """The holder identity last observed ("" when released or unknown)."""
        with self._lock:
            return self._observed.holder if self._observed else ""

    def problem(self) -> str | None:
        """Why this process cannot campaign (the API refuses it: RBAC), or None."""
        with self._lock:
            return self._problem

    def check_access(self) -> dict | None:
        """Ask the API, with dry runs, whether this process may write the Lease (or make it where it is
        missing), and record the answer as ``problem()``. Returns the Lease read (None: missing); raises
        AccessDenied, or a transient KubeError (then nothing is recorded)."""
        blank = lease_object(self.namespace, self.name, LeaseRecord("", self._duration(), None, None, 0))
        try:
            lease = check_write_access(self._client, "leases", self.namespace, self.name, blank)
        except AccessDenied as error:
            self._set_problem(str(error))
            raise
        self._set_problem(None)
        return lease

    def _set_problem(self, problem: str | None) -> None:
        with self._lock:
            before, self._problem = self._problem, problem
        if problem and problem != before:
            log.error("cannot campaign for the lease, not ready until it can: %s", problem)
        elif before and not problem:
            log.info("lease %s/%s: this process may campaign again", self.namespace, self.name)

    def _refused(self, error: KubeError) -> None:
        """A refusal (not a passing fault, not another candidate first): the problem, in the Role's words."""
        try:
            self.check_access()
        except KubeError:
            pass
        if self.problem() is None:
            self._set_problem(f"lease {self.namespace}/{self.name}: {error}")

    def pause(self, seconds: float) -> bool:
        """Wait up to ``seconds`` unless the election stops meanwhile; True when it stopped."""
        return self._stop.wait(seconds)

    def try_acquire_or_renew(self) -> bool:
        """One client-go tryAcquireOrRenew: True when this process holds the Lease afterwards."""
        sent = self._monotonic()
        now_ns = self._clock_ns()
        if self._sit_out_until is not None and sent < self._sit_out_until:
            return False
        try:
            lease = self._client.get("leases", self.namespace, self.name)
        except KubeError as error:
            if error.reason == "NotFound":
                return self._take(-1, now_ns, sent, create=True)
            if error.transient:
                log.warning("lease %s/%s cannot be read: %s", self.namespace, self.name, error)
            else:
                self._refused(error)
            return False
        record = LeaseRecord.from_lease(lease)
        with self._lock:
            if record != self._observed:
                self._observed, self._observed_at = record, sent
            self._read = lease
            observed_at = self._observed_at
            if record.holder != self.identity:
                self._valid_until = None  # someone else's record: whatever we held is gone
        if record.holder and record.holder != self.identity and observed_at + record.lease_duration_s > sent:
            if self.problem() is not None:  # standing by: could it take over? (a Role fixed since)
                try:
                    self.check_access()
                except KubeError:
                    pass
            return False
        if record.holder == self.identity:
            renewed = LeaseRecord(self.identity, self._duration(), record.acquire_time_ns, now_ns, record.transitions)
            return self._write(renewed, sent, create=False)
        return self._take(record.transitions, now_ns, sent, create=False)

    def _take(self, transitions: int, now_ns: int, sent: float, *, create: bool) -> bool:
        with self.claim() as allowed:
            return allowed and self._new_term(transitions, now_ns, sent, create=create)

    def _new_term(self, transitions: int, now_ns: int, sent: float, *, create: bool) -> bool:
        """Take the Lease (``create``: make it) in a term past ``transitions`` and past the state's."""
        try:
            floor = self._floor()
        except KubeError as error:
            log.warning("lease %s/%s not taken: the state's last term cannot be read: %s", self.namespace,
                        self.name, error)
            return False
        record = LeaseRecord(self.identity, self._duration(), now_ns, now_ns, max(transitions, floor) + 1)
        return self._write(record, sent, create=create)

    def _duration(self) -> int:
        return max(1, round(self.config.lease_duration_s))

    def _write(self, record: LeaseRecord, sent: float, *, create: bool) -> bool:
        try:
            if create:
                written = self._client.create("leases", self.namespace, lease_object(self.namespace, self.name, record))
            else:
                body = lease_object(self.namespace, self.name, record, self._read)
                written = self._client.replace("leases", self.namespace, self.name, body)
        except KubeError as error:
            # A Conflict means another candidate wrote first: it may be the new holder; read again next time.
            # NotFound: deleted since it was read; made again next time.
            if error.transient or error.reason in ("Conflict", "AlreadyExists", "NotFound"):
                log.log(logging.INFO if error.reason in ("Conflict", "AlreadyExists") else logging.WARNING,
                        "lease %s/%s not %s: %s", self.namespace, self.name, "created" if create else "updated",
                        error)
            else:
                self._refused(error)
            return False
        self._set_problem(None)
        with self._lock:
            self._observed, self._observed_at = record, sent
            self._read = written
            self._valid_until = sent + self.config.renew_deadline_s
            self._term = Term(record.holder, record.transitions)
        return True

    def release(self) -> bool:
        """Give the Lease up (client-go ReleaseOnCancel); True if it was held and is now released."""
        with self._lock:
            held = self._valid_until is not None and self._observed is not None
            observed, read = self._observed, self._read
            self._valid_until = None
        self._hand_over.clear()
        if not held:
            return False
        now_ns = self._clock_ns()
        record = LeaseRecord("", 1, now_ns, now_ns, observed.transitions)
        try:
            written = self._client.replace("leases", self.namespace, self.name,
                                           lease_object(self.namespace, self.name, record, read))
            with self._lock:
                self._observed, self._observed_at = record, self._monotonic()
                self._read = written
        except KubeError as error:
            log.warning("lease %s/%s not released (a standby takes over when it expires): %s",
                        self.namespace, self.name, error)
            return False
        finally:
            self._report()
        log.info("lease %s/%s released", self.namespace, self.name)
        return True

    def request_hand_over(self) -> None:
        """Ask the loop polling this app to stop at a page boundary, save, and give the Lease up
        (Leadership.run_terms calls ``step_down``); leadership lasts until then."""
        self._hand_over.set()

    def handing_over(self) -> bool:
        return self._hand_over.is_set()

    def step_down(self) -> None:
        """Stop leading now and give the Lease up (as ``release``), then write nothing to it for the longest a
        standby waits between tries (retry period x (1 + jitter)), so that a standby that can do the work
        takes it first; a lone replica campaigns again after that."""
        self.release()
        self._hand_over.clear()
        with self._lock:
            self._valid_until = None
            self._sit_out_until = self._monotonic() + self.config.retry_period_s * (1 + JITTER_FACTOR)
        self._report()

    def run(self, stop: threading.Event, on_tick: Callable[[], None] = lambda: None) -> None:
        """The election loop: try every retry period (jittered while standing by) until ``stop``."""
        self._stop = stop
        try:
            self.check_access()  # a Role that forbids campaigning is said at once, not at the first takeover
        except KubeError:
            pass
        while not stop.is_set():
            self.try_acquire_or_renew()
            self._report()
            on_tick()
            stop.wait(self._next_wait())
        self._report()

    def _next_wait(self) -> float:
        with self._lock:
            remaining = None if self._valid_until is None else self._valid_until - self._monotonic()
        if remaining is None or remaining <= 0:
            return self.config.retry_period_s * (1 + random.random() * JITTER_FACTOR)
        # Wake up no later than the renew deadline, so that losing it is reported on time.
        return min(self.config.retry_period_s, remaining + 0.001)

    def _report(self) -> None:
        """Tell ``on_change`` when leadership or the observed holder changed since the last report."""
        with self._report_lock:
            state = (self.is_leading(), self.holder())
            if state == self._reported:
                return
            self._reported = state
            if state[0]:
                self.leading_event.set()
            else:
                self.leading_event.clear()
            self.on_change(*state)
