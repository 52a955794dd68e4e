"""A receiver of several Desk apps (an apps file: issue 21) on several emulators, and the virtual time its apps'
loops share: time moves only when every app's loop waits, so a test counts turns and intervals, never wall
seconds, and one app's loop cannot let time run ahead of another's."""

import threading
from datetime import datetime, timedelta

from otel_desk_receiver.app import Receiver
from otel_desk_receiver.config import Settings
from tests.harness.receiver import FAST_RETRY

REAL_POLL_S = 0.02  # a waiting loop looks this often whether the others wait too, or the test stopped


class SharedClock:
    """One virtual clock over several emulators (each frozen at the same instant): ``advance`` moves them all."""

    def __init__(self, emulators):
        self._emulators = list(emulators)
        starts = {emulator.clock.now() for emulator in self._emulators}
        if len(starts) != 1:
            raise ValueError("the emulators must be frozen at the same instant")

    def now(self) -> datetime:
        return self._emulators[0].clock.now()

    def advance(self, seconds: float) -> None:
        for emulator in self._emulators:
            emulator.clock.advance(seconds)

    def now_ns(self) -> int:
        return int(self.now().timestamp() * 1_000_000_000)

    def monotonic(self) -> float:
        return self.now().timestamp()


def apps_settings(apps: list[dict], state_path, **overrides) -> Settings:
    """Settings with an apps list (as the --config file's `apps`), the rest as tests/harness/receiver.py's."""
    values = dict(apps=apps, page_size=500, backfill_days=0, poll_interval=30, state_path=state_path,
                  health_addr="", max_rps=1000, settle_grace=60)
    return Settings(**{**values, **overrides})


def app_of(emulator, token: str | None = None, **item) -> dict:
    """An `apps` item for an emulator: its URL, its token (or ``token``: a wrong one, say)."""
    return {"api_url": emulator.url, "api_token": token or emulator.config.token, **item}


def virtual_apps_receiver(clock: SharedClock, apps: list[dict], state_path, retry=FAST_RETRY, **overrides) -> Receiver:
    """A receiver of ``apps`` living on the shared clock: request pacing and retry waits advance it."""
    return Receiver(apps_settings(apps, state_path, **overrides), clock_ns=clock.now_ns, monotonic=clock.monotonic,
                    retry=retry, sleep=clock.advance)


class VirtualTime:
    """The ``wait`` every app's loop calls (each from its own thread): a loop waiting for s seconds sleeps until
    the shared clock reaches its wake-up; the clock moves (to the earliest wake-up) only once every loop still
    running waits, so a loop busy with its turns holds time still for all. ``stop()`` true: every wait returns."""

    def __init__(self, clock: SharedClock, loops: int, stop, each_wait=lambda: None):
        self._clock, self._loops, self._stop, self._each_wait = clock, loops, stop, each_wait
        self._cond = threading.Condition()
        self._waiting: dict[threading.Thread, datetime] = {}
        self._seen: set[threading.Thread] = set()

    def wait(self, seconds: float) -> None:
        me = threading.current_thread()
        with self._cond:
            self._seen.add(me)
            self._waiting[me] = self._clock.now() + timedelta(seconds=max(seconds, 0.01))
            while me in self._waiting and not self._stop():
                if self._waiting[me] <= self._clock.now():  # time moved past it meanwhile (a paced request)
                    break
                ended = sum(1 for thread in self._seen if not thread.is_alive())
                if len(self._waiting) >= self._loops - ended:
                    self._advance()
                    continue
                self._cond.wait(REAL_POLL_S)
            self._waiting.pop(me, None)
        self._each_wait()

    def _advance(self) -> None:
        """Every loop waits: the clock moves to the earliest wake-up, and every loop due by then goes on."""
        wake = min(self._waiting.values())
        now = self._clock.now()
        if wake > now:
            self._clock.advance((wake - now).total_seconds())
        now = self._clock.now()
        for thread in [thread for thread, due in self._waiting.items() if due <= now]:
            del self._waiting[thread]
        self._cond.notify_all()


def drive_apps(receiver: Receiver, clock: SharedClock, virtual_s: float, until=lambda: False,
               each_wait=lambda: None) -> None:
    """Every app's loop until ``until()`` or ``virtual_s`` of shared virtual time passed."""
    deadline = clock.now() + timedelta(seconds=virtual_s)

    def stop() -> bool:
        return until() or clock.now() >= deadline

    def stopped() -> bool:  # or an app's loop failed: the receiver stops the others
        return stop() or receiver.stop_event.is_set()
    receiver.poll_until(stop, VirtualTime(clock, len(receiver.apps), stopped, each_wait).wait)
