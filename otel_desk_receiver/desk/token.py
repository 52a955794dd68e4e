"""The Desk API token as the transport asks for it before each request: a fixed value, or a file (a
Kubernetes Secret volume, say) read again whenever it changes, so a rotated token is used without a
restart."""

import logging
import os
import threading
from pathlib import Path

from pydantic import SecretStr

from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.redaction import hold

log = logging.getLogger(__name__)

TOKEN_FILE_VARIABLE = "DESK_API_TOKEN_FILE"


def usable_token(token: str) -> bool:
    """Desk's header takes the token as is: printable ASCII without spaces."""
    return bool(token) and all("!" <= char <= "~" for char in token)


def read_token_file(path: Path, variable: str = TOKEN_FILE_VARIABLE) -> str:
    """The token a file holds, surrounding whitespace (a trailing newline) removed; ConfigError with one
    line naming ``variable`` (DESK_API_TOKEN_FILE, or an app's key) when it cannot be used (the line never
    shows the content)."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError([f"{variable}: file not found: {path}"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise ConfigError([f"{variable}: cannot read {path} ({reason})"]) from None
    if not token:
        raise ConfigError([f"{variable}: {path} is empty; expected the Desk API token"])
    hold(token)  # masked in every output from now on, even once rotated away
    if not usable_token(token):
        raise ConfigError([f"{variable}: {path} does not hold a usable token "
                           "(expected printable ASCII without spaces)"])
    return token


class FixedToken:
    """A token given as is (an app's `api_token`), with the name of the key it came from: what an error about
    the token names instead of DESK_API_TOKEN."""

    def __init__(self, token: SecretStr, variable: str):
        self._token = token
        self.variable = variable

    def __repr__(self) -> str:
        return f"FixedToken({self.variable!r})"

    def __call__(self) -> str:
        return self._token.get_secret_value()


class FileToken:
    """The token in a file, read at construction (ConfigError if unusable) and again when the file changes.

    Calling it returns the current token; ``refresh`` reads the file at once (after Desk refused the
    token: a change can hide from the stat). "Changed" compares the identity of the file the path resolves
    to (device, inode, size, mtime): Kubernetes updates a Secret volume by swapping the ``..data``
    symlink to a new directory, which changes the inode, not always the mtime. A changed file that
    cannot be used (mid-rotation, emptied) keeps the last good token and logs one warning per change.
    """

    def __init__(self, path: Path, variable: str = TOKEN_FILE_VARIABLE):
        self.path = Path(path)
        self.variable = variable  # what an error about the token names: DESK_API_TOKEN_FILE, or an app's key
        self._lock = threading.Lock()
        self._seen = self._identity()
        self._token = read_token_file(self.path, variable)

    def __repr__(self) -> str:
        return f"FileToken({str(self.path)!r})"

    def __call__(self) -> str:
        identity = self._identity()
        if identity == self._seen:
            return self._token
        with self._lock:
            if identity != self._seen:
                self._seen = identity
                try:
                    self._token = read_token_file(self.path, self.variable)
                    log.info("%s: %s changed, using the token it holds now", self.variable, self.path)
                except ConfigError as error:
                    log.warning("%s; keeping the previous token", error.problems[0])
            return self._token

    def refresh(self) -> bool:
        """Read the file now, whatever its stat says (Desk just refused the token); True if it holds
        another usable token, which is used from now on."""
        with self._lock:
            self._seen = self._identity()
            try:
                token = read_token_file(self.path, self.variable)
            except ConfigError:
                return False
            changed, self._token = token != self._token, token
        if changed:
            log.info("%s: %s holds another token, using it", self.variable, self.path)
        return changed

    def _identity(self) -> tuple[int, ...] | None:
        try:
            stat = os.stat(self.path)  # follows symlinks: the file Kubernetes points at now
        except OSError:
            return None
        return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns
