"""TokenRefusals: which apps' tokens Desk refuses now. One app's refused token stops that app alone; the
receiver ends (exit 3) only when Desk refuses every app's."""

import threading
from collections.abc import Iterable

from otel_desk_receiver.errors import DeskAuthError


class TokenRefusals:
    """An app is refused from Desk's refusal of its token (its bot list, or every one of its bots) until Desk
    answers one of its requests with success (a token file rotated meanwhile, say). Safe from any thread."""

    def __init__(self, labels: Iterable[str]):
        self._labels = tuple(labels)
        self._refused: dict[str, str] = {}  # label -> the app's last refusal, naming the app and the setting
        self._lock = threading.Lock()

    def refused(self, label: str, line: str) -> bool:
        """Record the app's refusal (``line``: one line naming the app); True when every app is refused now."""
        with self._lock:
            self._refused[label] = line
            return self._all_refused()

    def accepted(self, label: str) -> None:
        """Desk answered the app's request with success: its token is good (again)."""
        if label in self._refused:  # read without the lock first: this runs on every answer
            with self._lock:
                self._refused.pop(label, None)

    def is_refused(self, label: str) -> bool:
        with self._lock:
            return label in self._refused

    def all_refused(self) -> bool:
        with self._lock:
            return self._all_refused()

    def _all_refused(self) -> bool:
        return bool(self._labels) and all(label in self._refused for label in self._labels)

    def error(self) -> DeskAuthError:
        """The end of the run: one line per app, in the order the apps are configured."""
        with self._lock:
            lines = [self._refused[label] for label in self._labels if label in self._refused]
        if len(lines) == 1:
            return DeskAuthError(lines[0])
        return DeskAuthError("Desk rejected the API token of every app:\n" + "\n".join(lines))
