"""The state file: the saved state document (state_format.py), replaced atomically, locked for one writer."""

import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity, StateEncoder, decode_state
from otel_desk_receiver.errors import StateError


class StateLockedError(StateError):
    """Another process holds the state file's lock; ``holder`` says which (pid and host, as it wrote them)."""

    holder = "another process"


class StateFile:
    """The state file. ``commit`` is atomic: after a crash at any instant the file holds either
    the previous complete state or the new one, never a mix (temp file, fsync, rename, fsync dir).

    ``lock`` takes an exclusive lock for the process lifetime on ``<path>.lock`` (flock: the kernel
    drops it when the process dies, kill -9 included), so two receivers never write one state.
    ``desk`` names the Desk the state belongs to: loading a file saved for another one fails.
    ``fsync`` is os.fsync unless a test records the calls. ``writes`` and ``bytes_written`` count the
    commits made (for tests and benchmarks); ``needs_rewrite`` says the document loaded is not the one this
    version writes (an older version: CursorStore writes it again at its first save).
    """

    def __init__(self, path: Path, desk: DeskIdentity | None = None, *, fsync: Callable[[int], None] = os.fsync):
        self.path = Path(path)
        self.desk = desk
        self._fsync = fsync
        self._lock_fd: int | None = None
        self._encoder = StateEncoder(desk)
        self.writes = 0
        self.bytes_written = 0
        self.needs_rewrite = False  # the document loaded is not as this version writes it

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
        cursors = decode_state(text, f"state file {self.path}", self.desk)
        self.needs_rewrite = self._encoder.encode(cursors) != text.encode()  # an older version, say
        return cursors

    def check_writable(self) -> None:
        """Raise StateError now, at start, rather than after the first export, if commit cannot work."""
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise StateError(f"state file {self.path}: directory {directory} does not exist or is not writable")

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        payload = self._encoder.encode(cursors)
        try:
            self._replace(payload)
        except OSError as exc:  # disk full, directory gone: stop rather than deliver without remembering
            raise StateError(f"state file {self.path} cannot be written: {exc.strerror}") from None
        self.writes += 1
        self.bytes_written += len(payload)

    def _replace(self, payload: bytes) -> None:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(payload)
                tmp.flush()
                self._fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            self._fsync(dir_fd)  # the rename itself survives a power cut only once the directory is synced
        finally:
            os.close(dir_fd)

    def lock(self) -> None:
        """Take the single-writer lock, or raise StateLockedError naming who holds it."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(f"state file {self.path}: lock file {lock_path} cannot be opened: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            error = StateLockedError(f"state file {self.path} is in use by {holder} (lock {lock_path}): one "
                                     "receiver per state; stop the other one, or give this one its own "
                                     "DESK_STATE_PATH")
            error.holder = holder
            raise error from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        self._lock_fd = fd

    def holder(self) -> str | None:
        """Who holds the single-writer lock now (as it wrote itself), or None. Takes nothing and creates no
        file: `check` asks this, and leaves no ``.lock`` beside a state no receiver has run on."""
        try:
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"state file {self.path}: its lock file cannot be opened: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # refused while a receiver holds it exclusively
        except BlockingIOError:
            return os.read(fd, 512).decode("utf-8", "replace").strip() or StateLockedError.holder
        finally:
            os.close(fd)  # releases the shared lock, if taken
        return None

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
