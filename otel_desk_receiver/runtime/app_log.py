"""Which app a log line is about: with several Desk apps (an apps file), every line logged on an app's threads
(its loop, its bots' turns, its Desk client's retries, its leader election) starts with "app <label>: "."""

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_WHERE: contextvars.ContextVar[str | None] = contextvars.ContextVar("otel_desk_receiver_app", default=None)
_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Name the app in the lines logged inside ``about`` (once per process; lines outside it are untouched)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def record(*args, **kwargs) -> logging.LogRecord:
            made = previous(*args, **kwargs)
            where = _WHERE.get()
            if where:
                # The message is %-formatted only when it has arguments: a % in a label must survive then.
                made.msg = f"{where.replace('%', '%%') if made.args else where}: {made.msg}"
            return made

        logging.setLogRecordFactory(record)
        _installed = True


def in_this_context(target: Callable[..., object]) -> Callable[..., object]:
    """``target``, to run on a thread started now, in a copy of this context: its lines name the app that this
    thread's lines name (ha/leadership.py's election thread; runtime/turns.py copies it for each turn)."""
    context = contextvars.copy_context()
    return lambda *args, **kwargs: context.run(target, *args, **kwargs)


@contextmanager
def about(where: str | None) -> Iterator[None]:
    """Lines logged in this context (and in threads started with its copy: runtime/turns.py) name ``where``."""
    token = _WHERE.set(where)
    try:
        yield
    finally:
        _WHERE.reset(token)
