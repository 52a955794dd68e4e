"""RetriedState: the Kubernetes state backend with transient API failures tried again within the renew deadline."""

import logging
import threading
import time
from collections.abc import Callable, Mapping

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.errors import KubeError, StateError, StateUnavailableError

log = logging.getLogger(__name__)


class RetriedState:
    """Wraps KubernetesState (same methods). A ``load`` or ``commit`` that fails with StateUnavailableError
    (the API answered 5xx or 429, timed out, or dropped the connection) is tried again every ``retry_s``
    until ``budget_s`` (the renew deadline) after the call began; each attempt is fenced by the term as
    KubernetesState fences it, so a term that ends meanwhile ends the retries (FencedError). Past the
    budget, or when ``wait`` says the process is stopping, the StateUnavailableError is raised: the
    leader gives the Lease up and campaigns again (ha/leadership.py), and what the failed commit
    covered is read again by the next term, never lost. Without leader election there is no one to hand
    over to: the run ends with exit 1 (cli.py) and the pod is restarted. Any other StateError (a refusal, a corrupt
    document) is raised at once. ``wait(seconds)`` returns True when the process stops meanwhile.
    ``check_access()`` (kube/access.py) raises KubeError when the object cannot be written or made."""

    def __init__(self, state, *, budget_s: float, retry_s: float,
                 wait: Callable[[float], bool] = threading.Event().wait,
                 monotonic: Callable[[], float] = time.monotonic,
                 check_access: Callable[[], object] = lambda: None):
        self.inner = state
        self._check_access = check_access
        self._budget_s, self._retry_s = budget_s, retry_s
        self._wait = wait
        self._monotonic = monotonic

    @property
    def path(self):
        return self.inner.path

    def __repr__(self) -> str:
        return f"RetriedState({self.inner!r})"

    def __getattr__(self, name: str):  # anything else (counters such as ``writes``) is the wrapped state's
        return getattr(self.inner, name)

    def check_access(self) -> dict | None:
        """The state object as read (None: missing), once this service account may write it or make it
        (kube/access.py); KubeError otherwise."""
        return self._check_access()

    def check_writable(self) -> None:
        """At start: StateError (exit 2) when the Role lets this process neither write the object nor make it,
        as ``check`` says; an API that does not answer now is no reason to stop (the first term tries again)."""
        try:
            self._check_access()
        except KubeError as error:
            if not error.transient:
                raise StateError(f"state {error}") from None
            log.warning("state %s cannot be checked now (%s); tried again when this process leads", self.path,
                        error)

    def load(self) -> dict[int, BotCursor]:
        return self._retried(self.inner.load)

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        self._retried(lambda: self.inner.commit(cursors))

    def _retried(self, attempt: Callable):
        began, tries = self._monotonic(), 0
        while True:
            tries += 1
            try:
                return attempt()
            except StateUnavailableError as error:
                left = self._budget_s - (self._monotonic() - began)
                if left <= 0:
                    raise StateUnavailableError(f"{error} (tried {tries} time{'s' if tries > 1 else ''} in "
                                                f"{self._budget_s:g}s, the renew deadline)") from None
                if tries == 1:
                    log.warning("%s; trying again every %gs for up to %gs", error, self._retry_s, self._budget_s)
                if self._wait(min(self._retry_s, left)):
                    raise StateUnavailableError(f"{error} (stopping)") from None
