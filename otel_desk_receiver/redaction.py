"""Secrets kept out of every output: URL user info, OTLP header values and the Desk token, in any log line.

The receiver's own messages never quote a secret; this is the net under the libraries' messages (the SDK
prints a malformed OTLP header value whole, a gRPC error's details may quote request headers, a server
may echo the token) and under URLs that carry ``user:password@``.
"""

import logging
import os
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from otel_desk_receiver.names import REDACTED

# scheme://user:password@host -> scheme://REDACTED@host (anything before the last @ of the authority)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_TOKEN_CHARS = r"A-Za-z0-9_\-"  # a secret next to one of these is part of a longer word, not the secret


def redact_url(url: str) -> str:
    """The URL with its user info replaced by REDACTED (for display)."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def without_user_info(url: str) -> str:
    """The URL, or a bare ``host[:port]`` authority, with any ``user:password@`` removed: what identifies a
    Desk (log.record.uid's app, the state's identity) never holds a credential, nor changes when it rotates."""
    if "://" not in url:
        return url.rpartition("@")[2]
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL user info and every secret replaced; a secret is matched as a whole word, so
    even a short one is masked without garbling ordinary words that contain it."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = re.sub(rf"(?<![{_TOKEN_CHARS}]){re.escape(secret)}(?![{_TOKEN_CHARS}])", REDACTED, text)
    return text


def environment_secrets(environ=None) -> list[str]:
    """DESK_API_TOKEN and every OTLP header value (raw and URL-decoded) found in the environment."""
    env = os.environ if environ is None else environ
    secrets = [env.get("DESK_API_TOKEN", "").strip()]
    for name, value in env.items():
        if name.startswith("OTEL_EXPORTER_OTLP_") and name.endswith("HEADERS"):
            for pair in value.split(","):
                if "=" in pair:
                    raw = pair.split("=", 1)[1].strip()
                    secrets.extend([raw, unquote(raw).strip()])
    return [s for s in secrets if s]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with the secrets masked (installed on the handlers)."""

    def __init__(self, secrets: Callable[[], Iterable[str]]):
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message, self._secrets())
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._secrets())
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_redaction(extra: Callable[[], Iterable[str]] = tuple) -> None:
    """Put a RedactingFilter on every handler of the root logger (call after logging is configured)."""
    secrets_now = environment_secrets()
    logging_filter = RedactingFilter(lambda: [*secrets_now, *extra()])
    for handler in logging.getLogger().handlers:
        handler.addFilter(logging_filter)
