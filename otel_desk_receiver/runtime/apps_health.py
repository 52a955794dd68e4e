"""AppsHealth: several Desk apps' health as one, for /healthz, /readyz and the status page."""

from collections.abc import Callable, Iterable, Mapping

from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.runtime.selfmetrics import BotGauges
from otel_desk_receiver.runtime.status_page import StatusFacts, apps_document


class AppsHealth:
    """Each app's HealthState, read as one: alive while every app's loop is (a stuck loop is restarted),
    ready while every app is (an app whose token is refused, whose Desk is down or whose bots all fail makes
    the receiver not ready, and /readyz says which). /readyz and the status page name each app, and each
    failing app and bot; nothing here calls into an app's loop."""

    def __init__(self, parts: Mapping[str, HealthState], gauges: Mapping[str, Callable[[], Iterable[BotGauges]]]):
        self._parts = dict(parts)
        self._gauges = dict(gauges)

    def alive(self) -> bool:
        return all(part.alive() for part in self._parts.values())

    def ready(self) -> bool:
        return all(part.ready() for part in self._parts.values())

    def stop(self) -> None:
        for part in self._parts.values():
            part.stop()

    def snapshot(self) -> dict:
        """Per app its own /readyz body and status; ``failing``: each failing app and bot (bot None: the bot
        listing) with its error; ``unready``: each app not ready (failing, not read yet, ...) with the reason
        its own /readyz gives."""
        apps = {label: {"status": "unavailable" if "reason" in snapshot else "ok", **snapshot}
                for label, snapshot in ((label, part.snapshot()) for label, part in self._parts.items())}
        failing = [{"app": label, "bot": bot_id, "error": error}
                   for label, part in self._parts.items() for bot_id, error in part.failing()]
        unready = [{"app": label, "reason": app["reason"]} for label, app in apps.items() if app["status"] != "ok"]
        return {"apps": apps, "failing": failing, "unready": unready}

    def facts(self) -> StatusFacts:
        """The receiver's facts over every app: alive and ready as above, turns and records added up."""
        parts = [part.facts() for part in self._parts.values()]
        first = min(parts, key=lambda facts: facts.started_ns)
        return StatusFacts(max(facts.now_ns for facts in parts), first.started_ns, self.alive(), self.ready(),
                           None, None, None, sum(facts.turns for facts in parts),
                           sum(facts.exported for facts in parts))

    def status(self, _gauges: Iterable[BotGauges] = ()) -> dict:
        """The status page's document: each app's part with its own gauges (HealthServer's are not used)."""
        return apps_document(self.facts(), [(label, part.facts(), self._gauges[label]())
                                            for label, part in self._parts.items()])
