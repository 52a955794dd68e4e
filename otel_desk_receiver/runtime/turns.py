"""Bots' turns on a bounded pool of worker threads (DESK_CONCURRENCY), collected by the poll loop on its own thread."""

import contextvars
import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from otel_desk_receiver.pipeline.cycle import BotCycleResult
from otel_desk_receiver.runtime.scheduler import Turn


def scheduler_turn(outcome: BotCycleResult) -> Turn:
    """What the scheduler needs of a turn's outcome."""
    # An OTLP endpoint that is down is not the bot's fault: it tries again next interval, no backoff.
    failed = outcome.error is not None and not outcome.waiting_for_otlp
    return Turn(more=outcome.more, active=bool(outcome.exported or outcome.pending), failed=failed,
                retry_after_s=outcome.retry_after_s, auth_failed=outcome.auth_failed, requests=outcome.requests)


class Turns:
    """Bots' turns on a bounded pool of worker threads; the loop collects the ended ones on its own thread
    (a turn's exception is raised there, by the future's result())."""

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bot-turn")
        self._ended: queue.SimpleQueue[tuple[int, Future]] = queue.SimpleQueue()
        self._ready: list[tuple[int, Future]] = []
        self.running = 0

    def start(self, bot_id: int, turn: Callable[[], BotCycleResult]) -> None:
        self.running += 1
        # In the loop's context: a turn's lines name the app the loop's do (runtime/app_log.py).
        future = self._pool.submit(contextvars.copy_context().run, turn)
        future.add_done_callback(lambda ended: self._ended.put((bot_id, ended)))

    def wait(self, timeout_s: float) -> None:
        """Until a turn ends, or ``timeout_s`` of wall-clock time passed."""
        try:
            self._ready.append(self._ended.get(timeout=timeout_s))
        except queue.Empty:
            pass

    def finished(self) -> list[tuple[int, Future]]:
        """The turns that ended since the last call."""
        ready, self._ready = self._ready, []
        while True:
            try:
                ready.append(self._ended.get_nowait())
            except queue.Empty:
                break
        self.running -= len(ready)
        return ready

    def close(self) -> None:
        self._pool.shutdown(wait=True)
