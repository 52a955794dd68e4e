"""Spread: several Desk apps' Leases over the replicas, so that each leads about its share.

Each app has its own Lease and elector (ha/elector.py); every replica campaigns for every app. A replica
takes a free or expired app Lease (``claim``) only while it leads fewer apps than its fair share, ``ceil(apps / live
members)`` (ha/members.py counts the members), and one leading more hands the excess over: the apps whose
``sha256(identity/label)`` is lowest (a fixed, per-replica order) stop polling at a page boundary, save, and
give their Lease up (Leadership.run_terms), and a replica below its share takes them at its next retry.
So M apps spread over N replicas, ceil(M/N) at most each; a replica that stops renewing is counted out
after a lease duration on each survivor's clock, about when its app Leases expire, and the survivors' shares
grow to take them. Safety never rests on the count: one app has one Lease, and the Lease's rules (and the
state's fencing) keep one leader at a time; the count only decides who tries. A replica takes nothing for
its first retry period, so that replicas started together see each other before the first takes every app.
"""

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from otel_desk_receiver.ha.elector import LeaderElector
from otel_desk_receiver.ha.members import Members

log = logging.getLogger(__name__)


def fair_share(apps: int, members: int) -> int:
    """The most apps one replica leads: apps over live members, rounded up (all of them when alone)."""
    return math.ceil(apps / max(1, members))


class Spread:
    """One replica's side of the spread. Each elector's ``claim`` is this spread's ``claim`` for its app;
    ``tick()`` (every retry period, on its own thread once ``start``-ed) renews this replica's membership
    and asks the electors of the apps above its share to hand over."""

    def __init__(self, members: Members, electors: Mapping[str, LeaderElector], retry_period_s: float, *,
                 monotonic: Callable[[], float] = time.monotonic):
        self.members = members
        self.electors = dict(electors)
        self._retry_period_s = retry_period_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._claimed: set[str] = set()  # attempts to take under way: counted as led until they end
        self._takes_from: float | None = None  # set at the first tick: no take for one retry period
        self._thread: threading.Thread | None = None
        self._running = 0  # Leaderships started and not stopped: the last to stop leaves the members
        for label, elector in self.electors.items():
            elector.claim = (lambda label=label: self.claim(label))

    def share(self) -> int:
        return fair_share(len(self.electors), len(self.members.live()))

    def led(self) -> list[str]:
        return [label for label, elector in self.electors.items() if elector.is_leading()]

    @contextmanager
    def claim(self, label: str) -> Iterator[bool]:
        """Whether this replica may take ``label``'s Lease now: below its share, counting the apps it leads and
        the attempts under way (inside another ``claim``); this attempt counts until the block is left (it then
        leads the app, or it failed and counts no more)."""
        share = self.share()
        with self._lock:
            allowed = (self._takes_from is not None and self._monotonic() >= self._takes_from
                       and len(set(self.led()) | self._claimed) < share and label not in self._claimed)
            if allowed:
                self._claimed.add(label)
        try:
            yield allowed
        finally:
            if allowed:
                with self._lock:
                    self._claimed.discard(label)

    def tick(self) -> list[str]:
        """Renew the membership, then ask the apps above the share to hand over; returns those asked."""
        self.members.beat()
        with self._lock:
            if self._takes_from is None:
                self._takes_from = self._monotonic() + self._retry_period_s
        led, share = self.led(), self.share()
        staying = [label for label in led if not self.electors[label].handing_over()]
        excess = sorted(staying, key=self._preference)[:max(0, len(staying) - share)]
        for label in excess:
            log.info("handing app %s over: this replica leads %d apps, its fair share is %d (%d apps, %d live "
                     "replicas)", label, len(led), share, len(self.electors), len(self.members.live()))
            self.electors[label].request_hand_over()
        return excess

    def _preference(self, label: str) -> bytes:
        return hashlib.sha256(f"{self.members.identity}/{label}".encode()).digest()

    def start(self, stop: threading.Event) -> None:
        """Run ``tick`` every retry period until ``stop`` (once, whichever app's Leadership starts first)."""
        with self._lock:
            self._running += 1
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, args=(stop,), name="leader-spread", daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(self._retry_period_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        """One app's Leadership stopped; after the last, leave the members (the others count one less)."""
        with self._lock:
            self._running -= 1
            last, thread = self._running <= 0, self._thread
        if not last:
            return
        if thread is not None:
            thread.join(timeout_s)
        self.members.leave()
