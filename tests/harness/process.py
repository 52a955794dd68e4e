"""Child processes the tests start (the receiver, Prometheus, Alertmanager, rotel, Datadog's test agent):
started with their output in a log file, and stopped one way.

``stop`` is SIGTERM, a grace period, then SIGKILL: a test's teardown never waits for ever and never leaves
a server behind. ``kill`` is kill -9, the crash a test means."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tests.harness.ports import free_port
from tests.harness.wait import WAIT_S, wait_until

STOP_GRACE_S = 10.0

T = TypeVar("T")


def stop_process(process: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> int:
    """SIGTERM, up to ``grace_s`` to exit, then SIGKILL; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=grace_s)


class ServerProcess:
    """A started child process writing stdout and stderr to ``log_path``."""

    def __init__(self, name: str, command: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, cwd=cwd)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        """The end of its output, for failure messages."""
        return self.output()[-chars:]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout_s: float = WAIT_S) -> int:
        """Its exit code; killed and a failure naming it if it is still running after ``timeout_s``."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_GRACE_S)
            raise AssertionError(f"{self.name} did not exit within {timeout_s:g} s:\n{self.tail()}") from None

    def wait_for(self, condition: Callable[[], T], timeout_s: float = WAIT_S, what: str = "ready") -> T:
        """The first truthy result of ``condition()``; a failure with its output if it exits first or the time
        runs out (it is stopped then). ``what`` names the condition in that failure: "<name> not <what> ..."."""
        met = None

        def met_or_exited():
            nonlocal met
            if not self.alive():
                return True
            met = condition()
            return met

        try:
            wait_until(met_or_exited, timeout_s, f"{self.name} {what}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} not {what} within {timeout_s:g} s:\n{self.tail()}") from None
        if not self.alive() and not met:
            raise AssertionError(f"{self.name} exited with {self.returncode}:\n{self.tail()}")
        return met

    def wait_ready(self, ready: Callable[[], object], timeout_s: float = WAIT_S) -> ServerProcess:
        """Until ``ready()`` is truthy; a failure with its output if it exits first or the time runs out
        (it is stopped then)."""
        self.wait_for(ready, timeout_s)
        return self

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        return stop_process(self.process, grace_s)

    def kill(self) -> None:
        """kill -9, and reaped."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_GRACE_S)


def start_on_free_port(start: Callable[[int], ServerProcess], attempts: int = 5) -> ServerProcess:
    """``start(port)`` on a free port; started again on another when the port was taken between picking and
    binding it (its output says "address already in use")."""
    for attempt in range(attempts):
        try:
            return start(free_port())
        except AssertionError as error:
            if "address already in use" not in str(error).lower() or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
