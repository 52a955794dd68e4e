"""WatchedBots: the bots the poller watches now, published for the parts that report on them from other threads."""

from collections.abc import Callable

from otel_desk_receiver.desk.models import Bot


class WatchedBots:
    """The poller publishes each new bot list here; the counters exporter and the /metrics endpoint read it.

    Built before both, so neither needs the poller: each reading sees one whole list (a tuple replaced at
    once), the last one published, and none before the first listing.
    """

    def __init__(self) -> None:
        self._bots: tuple[Bot, ...] = ()
        self._observers: list[Callable[[tuple[Bot, ...]], None]] = []

    def publish(self, bots: list[Bot]) -> None:
        self._bots = tuple(bots)
        for observer in list(self._observers):
            observer(self._bots)

    def subscribe(self, observer: Callable[[tuple[Bot, ...]], None]) -> None:
        """Call ``observer(bots)`` with each list published from now on, on the publishing (poller's) thread
        (the bot inventory, runtime/bot_changes.py)."""
        self._observers.append(observer)

    def bots(self) -> list[Bot]:
        return list(self._bots)

    def ids_and_names(self) -> list[tuple[int, str]]:
        """(id, name) of each bot, as the counters label their points."""
        return [(bot.id, bot.name) for bot in self._bots]
