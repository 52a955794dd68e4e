"""SIGTERM reaches `run` at any moment: its signal handler runs on the main thread between two bytecodes, so it
must never wait for a lock that thread may hold (the stop Event's, inside Event.wait between turns; a logging
handler's, inside an emit), or the receiver never exits (README: SIGTERM exits within 10 s, the state saved)."""

import logging
import signal
import threading

from otel_desk_receiver.commands.run import _install_signal_handlers
from tests.harness.wait import wait_until


class StoppableReceiver:
    """What the handlers use of a Receiver: its stop Event, and the in-flight export to cut short."""

    def __init__(self):
        self.stop_event = threading.Event()
        self.aborted = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    def abort_export(self) -> None:
        self.aborted.set()


def test_the_signal_handler_never_waits_for_a_lock_the_interrupted_main_thread_holds():
    """The main thread holds the stop Event's lock and the log handler's lock, as inside Event.wait or an emit
    when the signal lands; the handler, run on another thread, must return anyway (today's waited for ever)."""
    receiver, lines = StoppableReceiver(), []
    logger = logging.getLogger("otel_desk_receiver")
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    stopping = _install_signal_handlers(receiver)
    try:
        on_signal = signal.getsignal(signal.SIGTERM)
        with receiver.stop_event._cond, handler.lock:
            interrupted = threading.Thread(target=on_signal, args=(signal.SIGTERM, None), daemon=True)
            interrupted.start()
            interrupted.join(30.0)  # a bound on a failure only: the handler returns at once
            assert not interrupted.is_alive(), "the signal handler waits for a lock the main thread holds"
        wait_until(receiver.stop_event.is_set, what="the stop, once the main thread let go of the locks")
        wait_until(lambda: "SIGTERM received: finishing the export in flight" in lines, what="the log line")
        assert stopping.since() is not None
    finally:
        stopping.close()
        for signum, handling in previous.items():
            signal.signal(signum, handling)
        logger.removeHandler(handler)
        logger.level = level
