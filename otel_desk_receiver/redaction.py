"""Secrets kept out of every output: URL user info, OTLP header values and the Desk token, in any line printed.

The receiver's own messages never quote a secret; this is the net under the libraries' messages (the SDK
prints a malformed OTLP header value whole, a gRPC error's details may quote request headers, a server
may echo the token or the headers it refused) and under URLs that carry ``user:password@``.

Every secret the receiver holds is registered here with ``hold`` as it is read (the Desk token, each token a
token file held, even after a rotation, each value of the OTLP headers file, the user info of DESK_API_URL);
those of the environment (DESK_API_TOKEN, OTEL_EXPORTER_OTLP_*HEADERS, user info in OTLP endpoints) are read
from it. ``install_redaction`` puts a filter on the log handlers and ``protect_output`` wraps stdout and
stderr, so that `run` and `check` mask them in every line, whatever a peer echoes back.
"""

import atexit
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from otel_desk_receiver.names import REDACTED

# scheme://user:password@host -> scheme://REDACTED@host (anything before the last @ of the authority)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_TOKEN_CHARS = r"A-Za-z0-9_\-"  # a secret next to one of these is part of a longer word, not the secret
# A shorter secret turns up in ordinary words by chance: it is masked only where it stands as a word.
MIN_REDACTED_LEN = 8
# Control characters in a logged value (a bot name with a newline) would forge log lines: shown escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_held: set[str] = set()
_held_lock = threading.Lock()


def hold(*secrets: str | None) -> None:
    """Mask these from now on in every line the receiver prints (the process keeps them: a previous token
    echoed after a rotation stays masked). A ``<scheme> <credential>`` value (``Bearer abc``) holds its
    credential alone too, and a percent-encoded one its decoded form."""
    found = {form for secret in secrets for form in _forms(secret)}
    with _held_lock:
        _held.update(found)


def _forms(secret: str | None) -> list[str]:
    """The secret, its percent-decoded form, and the credential alone of a ``<scheme> <credential>`` value."""
    found = []
    for value in (secret, unquote(secret or "")):
        value = (value or "").strip()
        if value:
            found.append(value)
            scheme, _, credential = value.partition(" ")
            if credential.strip() and scheme.isalpha():
                found.append(credential.strip())
    return found


def hold_user_info(url: str | None) -> None:
    """Hold the user name and password a URL carries (both parts, and ``user:password``)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        hold(userinfo, password, user)


def held_secrets() -> list[str]:
    """Every secret to mask: those held, and those the environment gives."""
    with _held_lock:
        held = list(_held)
    return held + environment_secrets()


def without_user_info(url: str) -> str:
    """The URL, or a bare ``host[:port]`` authority, with any ``user:password@`` removed: what identifies a
    Desk (log.record.uid's app, the state's identity) never holds a credential, nor changes when it rotates."""
    if "://" not in url:
        return url.rpartition("@")[2]
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact_url(url: str) -> str:
    """The URL with its user info replaced by REDACTED (for display)."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL user info and every secret replaced: a secret of MIN_REDACTED_LEN characters or more
    wherever it appears, a shorter one where it stands as a whole word (so that ordinary words containing it
    are not garbled)."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if secret not in text:
            continue
        if len(secret) >= MIN_REDACTED_LEN:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<![{_TOKEN_CHARS}]){re.escape(secret)}(?![{_TOKEN_CHARS}])", REDACTED, text)
    return text


def escape_controls(text: str) -> str:
    r"""``text`` with control characters shown escaped (``\n``, ``\x1b``): a value from outside (a bot name)
    can then never start a line of its own."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def environment_secrets(environ=None) -> list[str]:
    """DESK_API_TOKEN, every OTLP header value (raw and URL-decoded) and the user info of the OTLP endpoints
    found in the environment."""
    env = os.environ if environ is None else environ
    secrets = [env.get("DESK_API_TOKEN", "").strip()]
    for name, value in env.items():
        if not name.startswith("OTEL_EXPORTER_OTLP_"):
            continue
        if name.endswith("HEADERS"):
            for pair in value.split(","):
                if "=" in pair:
                    secrets.extend(_forms(pair.split("=", 1)[1]))
        elif name.endswith("ENDPOINT") and "@" in value:
            secrets.append(unquote(value.partition("://")[2].rpartition("@")[0].partition(":")[2]))
    return [s for s in secrets if s]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with the secrets masked and control characters escaped (installed on
    the handlers); a traceback keeps its lines, secrets masked."""

    def __init__(self, secrets: Callable[[], Iterable[str]]):
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        secrets = list(self._secrets())
        cleaned = escape_controls(redact_text(message, secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(extra: Callable[[], Iterable[str]] = tuple) -> None:
    """Put a RedactingFilter on every handler of the root logger (call after logging is configured)."""
    logging_filter = RedactingFilter(lambda: [*held_secrets(), *extra()])
    for handler in logging.getLogger().handlers:
        handler.addFilter(logging_filter)


class RedactingStream:
    """A text stream that writes whole lines to ``stream`` with every held secret masked (a secret is never
    split across two writes: a line is held until its end, or a flush)."""

    def __init__(self, stream):
        self._stream = stream
        self._pending = ""
        # Reentrant, and the state settled before each write below: a signal handler that logs (run's SIGTERM
        # handler) may write from within a write of the same thread.
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        with self._lock:
            lines, newline, self._pending = (self._pending + text).rpartition("\n")
            if newline:
                self._stream.write(redact_text(lines + newline, held_secrets()))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
            if pending:
                self._stream.write(redact_text(pending, held_secrets()))
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)  # fileno, isatty, encoding... of the real stream


def protect_output() -> None:
    """Route sys.stdout and sys.stderr through RedactingStream (once), for `run` and `check`."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RedactingStream):
            wrapped = RedactingStream(stream)
            setattr(sys, name, wrapped)
            atexit.register(wrapped.flush)
