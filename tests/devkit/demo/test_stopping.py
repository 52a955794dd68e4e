"""Ctrl-C reaches the demo at any moment: its signal handler runs on the main thread between two bytecodes,
so it must never wait for a lock that thread may hold (a threading.Event's, inside Event.wait)."""

import os
import signal
import sys
import threading
from contextlib import ExitStack

import pytest

from otel_desk_receiver.devkit.demo.command import _install_signal_handlers
from otel_desk_receiver.runtime.signals import StopRequest


def test_the_signal_handler_never_waits_for_a_lock_the_interrupted_wait_holds():
    """The handler run at every line of the stop wait, as a signal may land anywhere in it; a deadlock
    (the handler waiting for the Event's lock that the same thread holds) leaves the waiter blocked."""
    stopping, returned = StopRequest(), []
    with ExitStack() as stack:
        stack.callback(stopping.close)
        _install_signal_handlers(stopping, stack)
        handler = signal.getsignal(signal.SIGINT)

        def every_line(frame, event, _arg):
            if event == "line":
                handler(signal.SIGINT, frame)
            return every_line

        def waiter() -> None:
            sys.settrace(lambda frame, event, arg: every_line if event == "call" else None)
            try:
                returned.append(stopping.wait(60.0))
            finally:
                sys.settrace(None)

        thread = threading.Thread(target=waiter, name="stop-waiter", daemon=True)
        thread.start()
        thread.join(30.0)  # a bound on a failure only: the wait ends at once once the handler has run
        assert not thread.is_alive(), "the signal handler deadlocked inside the stop wait"
    assert returned == [True] and stopping.is_set()


def test_a_stop_requested_before_the_wait_ends_it_at_once_and_from_another_thread_too():
    stopping = StopRequest()
    try:
        assert not stopping.wait(0) and not stopping.is_set()
        threading.Thread(target=stopping.set).start()  # the poll loop, when the receiver dies
        assert stopping.wait(60.0) and stopping.wait(0)  # stays set
    finally:
        stopping.close()


def test_a_stop_requested_after_close_writes_nowhere():
    """A poll loop that outlived the shutdown may still request a stop: no write to a reused descriptor."""
    stopping = StopRequest()
    stopping.close()
    reused_read, reused_write = os.pipe()  # the lowest free numbers: the closed pipe's
    try:
        stopping.set()
        os.set_blocking(reused_read, False)
        with pytest.raises(BlockingIOError):
            os.read(reused_read, 1)
    finally:
        os.close(reused_read)
        os.close(reused_write)
    assert stopping.is_set()
