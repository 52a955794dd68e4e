"""StateBackend: what CursorStore needs from wherever the saved state lives (a file, a Kubernetes object)."""

from collections.abc import Mapping
from typing import Protocol

from otel_desk_receiver.pipeline.cursor import BotCursor


class StateBackend(Protocol):
    """Holds the state document (state/document.py) for one receiver.

    ``load`` returns every bot's cursor ({} for a fresh state) or raises StateError; ``commit`` stores
    every bot's cursor in one atomic step before it returns, or raises StateError and stores nothing;
    ``check_writable`` raises StateError at start when commits cannot work. ``path`` names the state
    in messages. StateFile (state/file_backend.py) and KubernetesState (state/configmap_backend.py) are the two.
    """

    @property
    def path(self): ...

    def load(self) -> dict[int, BotCursor]: ...

    def commit(self, cursors: Mapping[int, BotCursor]) -> None: ...

    def check_writable(self) -> None: ...
