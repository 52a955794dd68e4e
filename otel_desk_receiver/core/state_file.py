"""The state file: one versioned JSON document holding every bot's cursor, replaced atomically."""

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from otel_desk_receiver.core.cursors import BotCursor
from otel_desk_receiver.errors import StateError

STATE_VERSION = 1


class StateFile:
    """The state file. ``commit`` is atomic: after a crash at any instant the file holds either
    the previous complete state or the new one, never a mix (temp file, fsync, rename, fsync dir)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    def load(self) -> dict[int, BotCursor]:
        """Every bot's cursor; {} when the file does not exist. Anything unreadable raises StateError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateError(f"state file {self.path} cannot be read: {exc.strerror}") from None
        return self._parse(text)

    def _parse(self, text: str) -> dict[int, BotCursor]:
        reset = "; move it aside to start over (see README, 'Resetting the state')"
        try:
            data = json.loads(text)
        except ValueError:
            raise StateError(f"state file {self.path} is not valid JSON (corrupt?){reset}") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            found = data.get("version") if isinstance(data, dict) else None
            raise StateError(f"state file {self.path} has version {found!r}, expected {STATE_VERSION}{reset}")
        try:
            return {int(bot_id): BotCursor.from_json(c) for bot_id, c in data.get("bots", {}).items()}
        except (TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"state file {self.path} has a malformed bot cursor ({exc}){reset}") from None

    def check_writable(self) -> None:
        """Raise StateError now, at start, rather than after the first export, if commit cannot work."""
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise StateError(f"state file {self.path}: directory {directory} does not exist or is not writable")

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        document = {"version": STATE_VERSION, "bots": {str(k): c.to_json() for k, c in sorted(cursors.items())}}
        payload = json.dumps(document, separators=(",", ":")).encode()
        try:
            self._replace(payload)
        except OSError as exc:  # disk full, directory gone: stop rather than deliver without remembering
            raise StateError(f"state file {self.path} cannot be written: {exc.strerror}") from None

    def _replace(self, payload: bytes) -> None:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(payload)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut only once the directory is synced
        finally:
            os.close(dir_fd)
