"""OTLP request headers from a file (DESK_OTLP_HEADERS_FILE), as Kubernetes mounts a Secret: read at start
and again whenever the file changes, added to every OTLP request of both signals and both protocols.

The specification has no file form of OTEL_EXPORTER_OTLP_HEADERS, and the SDK reads that variable once,
when an exporter is built; this fills the gap without rebuilding exporters. The file holds the same
format as the variable (``key=value`` pairs separated by commas, values percent-encoded); its headers
win over the variable's of the same name. Values are credentials: they appear in no log or error.
"""

import logging
import os
import threading
from pathlib import Path
from urllib.parse import unquote

from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import header_problems
from otel_desk_receiver.redaction import hold

log = logging.getLogger(__name__)

HEADERS_FILE_VARIABLE = "DESK_OTLP_HEADERS_FILE"
_source: "HeadersFile | None" = None


def parse_headers(text: str, where: str) -> dict[str, str]:
    """``k=v,k2=v2`` (OTEL_EXPORTER_OTLP_HEADERS' format) -> headers; ConfigError naming the pair's key
    position, never its value."""
    problems = header_problems(text)
    if problems:  # the first: a CR or LF accepted here would fail every export (or split the header)
        raise ConfigError([f"{HEADERS_FILE_VARIABLE}: {where}: {problems[0]}"])
    headers = {}
    for pair in filter(None, (part.strip() for part in text.strip().split(","))):
        key, _, value = pair.partition("=")
        headers[unquote(key).strip()] = unquote(value).strip()
    return headers


def read_headers_file(path: Path) -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{HEADERS_FILE_VARIABLE}: file not found: {path}"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise ConfigError([f"{HEADERS_FILE_VARIABLE}: cannot read {path} ({reason})"]) from None
    headers = parse_headers(text, str(path))
    hold(*headers.values())  # credentials: masked in every output from now on, whatever a peer echoes
    return headers


class HeadersFile:
    """The headers in a file, read at construction (ConfigError if unusable) and again when it changes
    (device, inode, size, mtime: a Secret volume swaps a symlink). A changed file that cannot be used
    keeps the last good headers and logs one warning per change."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen = self._identity()
        self._headers = read_headers_file(self.path)

    def __call__(self) -> dict[str, str]:
        identity = self._identity()
        if identity != self._seen:
            with self._lock:
                if identity != self._seen:
                    self._seen = identity
                    try:
                        self._headers = read_headers_file(self.path)
                        log.info("%s: %s changed, sending the headers it holds now (%s)", HEADERS_FILE_VARIABLE,
                                 self.path, ", ".join(sorted(self._headers)) or "none")
                    except ConfigError as error:
                        log.warning("%s; keeping the previous headers", error.problems[0])
        return dict(self._headers)

    def _identity(self) -> tuple[int, ...] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def use(source: "HeadersFile | None") -> None:
    """Make ``source`` the headers every OTLP request carries from now on (None: no file)."""
    global _source
    _source = source


def current() -> dict[str, str]:
    """The file's headers now ({} without a file)."""
    return _source() if _source is not None else {}
