"""Stopping on a signal without a deadlock.

A Python signal handler runs on the main thread between two bytecodes, possibly while that thread holds a
non-reentrant lock: a threading.Event's inside Event.wait (the poll loop waits between turns), a logging
handler's inside an emit. A handler that takes such a lock (Event.set, logging, Thread.start) then waits for
it for ever and the process never exits. So the handlers here only set a flag and write a byte to a
non-blocking pipe; whatever else a signal means runs on a watcher thread, started before they are installed.
"""

import os
import select
import signal
import threading
from collections.abc import Callable, Iterable


class StopRequest:
    """A stop requested by a signal handler or another thread. Not a threading.Event: ``set`` takes no lock
    (a flag, and a byte written to a pipe that ``wait`` selects on), so a signal handler may call it."""

    def __init__(self):
        self._requested = False
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)

    def set(self, signum: int = 0) -> None:
        self._requested = True
        try:
            os.write(self._write_fd, bytes([signum]))
        except (BlockingIOError, OSError):  # the pipe full (it already wakes the waiter), or closed
            pass

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout_s: float) -> bool:
        """True once a stop was requested; False after ``timeout_s`` without one."""
        if not self._requested:
            select.select([self._read_fd], [], [], timeout_s)
        return self._requested

    def take(self) -> bytes:
        """For one watcher thread (not mixed with ``wait``): the signal numbers written since the last call,
        blocking until there is one; b"" once ``close`` has begun."""
        return os.read(self._read_fd, 64)

    def close(self, reader: threading.Thread | None = None) -> None:
        """Close the pipe; a later ``set`` (a thread that outlived the shutdown) writes to no descriptor.
        ``reader``, blocked in ``take``, sees the end of the pipe and is joined before its end is closed."""
        write_fd, self._write_fd = self._write_fd, -1
        os.close(write_fd)
        if reader is not None:
            reader.join()
        os.close(self._read_fd)


class SignalWatch:
    """``act(signum)`` for each of ``signums`` received, on a watcher thread, never in the signal handler."""

    def __init__(self, act: Callable[[int], None], signums: Iterable[int] = (signal.SIGTERM, signal.SIGINT)):
        self.request = StopRequest()
        self._act = act
        self._watcher = threading.Thread(target=self._watch, name="signal-watch", daemon=True)
        self._watcher.start()  # before the handlers: starting a thread takes locks
        self._previous = {signum: signal.signal(signum, self._on_signal) for signum in signums}

    def _on_signal(self, signum: int, _frame) -> None:
        self.request.set(signum)

    def _watch(self) -> None:
        while received := self.request.take():
            for signum in received:
                self._act(signum)

    def close(self) -> None:
        """Restore the previous handlers and end the watcher (a signal it has not handled yet is handled first)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self.request.close(self._watcher)
