"""The state file: the saved state document (state/document.py) of every Desk app, replaced atomically,
locked for one writer; ``StateFile.section(label)`` is one app's StateBackend."""

import fcntl
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity, StateDocument
from otel_desk_receiver.errors import StateError

log = logging.getLogger(__name__)


class StateLockedError(StateError):
    """Another process holds the state file's lock; ``holder`` says which (pid and host, as it wrote them)."""

    holder = "another process"


class StateFile:
    """The state file. ``commit`` is atomic: after a crash at any instant the file holds either
    the previous complete state or the new one, never a mix (temp file, fsync, rename, fsync dir).

    ``lock`` takes an exclusive lock for the process lifetime on ``<path>.lock`` (flock: the kernel
    drops it when the process dies, kill -9 included), so two receivers never write one state.
    ``desks`` names the Desk apps the state belongs to (one DeskIdentity, or several): the file holds a
    section per app, and ``section(label)`` is one app's backend (its ``load`` and ``commit``); with one
    app, the file's own ``load`` and ``commit`` are that app's. A commit writes the whole file: its app's
    new cursors, every other app's as last committed (never their uncommitted ones), and the sections of
    apps not configured as they were. Commits from several threads (one per app) are serialised.
    Loading a file saved for an app not configured (version 2 or 3) fails; so does a version 1 file
    (it names no app) with several apps configured. None (tests, tools): whichever one app the file holds.
    ``fsync`` is os.fsync unless a test records the calls. ``writes`` and ``bytes_written`` count the
    commits made (for tests and benchmarks); ``needs_rewrite`` says the document loaded is not the one this
    version writes (an older version: CursorStore writes it again at its first save).
    """

    def __init__(self, path: Path, desks: DeskIdentity | Sequence[DeskIdentity] | None = None, *,
                 fsync: Callable[[int], None] = os.fsync):
        self.path = Path(path)
        single = desks is None or isinstance(desks, DeskIdentity)
        self.desk = desks if single else None
        self._fsync = fsync
        self._lock_fd: int | None = None
        self._document = StateDocument([desks] if single else list(desks))
        self._guard = threading.Lock()  # one load or commit at a time, whichever app's thread calls
        self._read = False  # the file's document is in self._document (after a load, or before the first commit)
        self._sections: dict[str, StateSection] = {}
        self.writes = 0
        self.bytes_written = 0
        self.needs_rewrite = False  # the document loaded is not as this version writes it

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    def section(self, label: str) -> "StateSection":
        """App ``label``'s part of the file, as a StateBackend; KeyError for an app not configured."""
        if label not in self._document.labels:
            raise KeyError(f"state file {self.path}: no app {label!r} configured")
        return self._sections.setdefault(label, StateSection(self, label))

    def load(self) -> dict[int, BotCursor]:
        """The one app's cursors; {} when the file does not exist. Anything unreadable raises StateError."""
        return self.load_app(None)

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        self.commit_app(None, cursors)

    def load_app(self, label: str | None) -> dict[int, BotCursor]:
        """App ``label``'s cursors (None: the file's one app), reading the file again."""
        with self._guard:
            loaded = self._read_file()
            label = self._label(label)
            if note := self._document.fresh_beside_others(label, f"state file {self.path}"):
                log.warning("%s", note)
            return loaded.get(label, {})

    def commit_app(self, label: str | None, cursors: Mapping[int, BotCursor]) -> int:
        """Write the file with app ``label``'s cursors (None: the file's one app); the bytes written."""
        with self._guard:
            if not self._read:
                self._read_file()  # the other apps' sections are carried: read them before the first write
            encoded = self._document.encode(self._label(label), cursors)
            try:
                self._replace(encoded.payload)
            except OSError as exc:  # disk full, directory gone: stop rather than deliver without remembering
                raise StateError(f"state file {self.path} cannot be written: {exc.strerror}") from None
            self._document.keep(encoded)
            self.writes += 1
            self.bytes_written += len(encoded.payload)
            return len(encoded.payload)

    def _label(self, label: str | None) -> str:
        if label is not None:
            return label
        if len(self._document.labels) != 1:
            raise TypeError(f"state file {self.path} holds {len(self._document.labels)} apps: use section(label)")
        return self._document.labels[0]

    def _read_file(self) -> dict[str, dict[int, BotCursor]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            raise StateError(f"state file {self.path} cannot be read: {exc.strerror}") from None
        loaded = self._document.load(text, f"state file {self.path}")
        self._read = True
        self.needs_rewrite = self._document.needs_rewrite  # an older version, say
        return loaded

    def check_writable(self) -> None:
        """Raise StateError now, at start, rather than after the first export, if commit cannot work."""
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise StateError(f"state file {self.path}: directory {directory} does not exist or is not writable")

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
            raise StateError(f"state file {self.path}: lock file {lock_path} cannot be opened: "
                             f"{exc.strerror}") from None
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


class StateSection:
    """One app's part of a StateFile, as a StateBackend: ``load`` reads the file again and returns the app's
    cursors; ``commit`` writes the whole file (state/document.py). ``path`` names the file and the app."""

    def __init__(self, file: StateFile, label: str):
        self.file, self.label = file, label
        self.writes = 0
        self.bytes_written = 0
        self.needs_rewrite = False  # the file loaded is not as this version writes it

    @property
    def path(self) -> str:
        return f"{self.file.path} [app {self.label}]"

    @property
    def desk(self) -> DeskIdentity | None:
        return self.file.desk

    def __repr__(self) -> str:
        return f"StateSection({self.path!r})"

    def load(self) -> dict[int, BotCursor]:
        cursors = self.file.load_app(self.label)
        self.needs_rewrite = self.file.needs_rewrite
        return cursors

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        self.bytes_written += self.file.commit_app(self.label, cursors)
        self.writes += 1

    def check_writable(self) -> None:
        self.file.check_writable()
