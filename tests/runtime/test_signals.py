"""StopRequest (runtime/signals.py): a stop asked for from a signal handler or another thread, set once and
for good, waited on without a lock the handler could need; a stop asked for after close writes nowhere."""

import os
import threading

import pytest

from otel_desk_receiver.runtime.signals import StopRequest


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
