"""Ctrl-C reaches the demo at any moment: its signal handler runs on the main thread between two bytecodes,
so it must never wait for a lock that thread may hold (a threading.Event's, inside Event.wait)."""

import signal
import sys
import threading
from contextlib import ExitStack

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
