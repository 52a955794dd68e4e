"""The receiver's exception tree.

    ReceiverError                 anything the receiver reports on purpose
     +-- ConfigError              bad settings (exit 2); .problems holds one line per problem
     +-- StateError               state file unreadable or corrupt (exit 2); names the file
     |    +-- FencedError         a checkpoint write refused: this process no longer leads (exit 1)
     |    +-- StateUnavailableError  the Kubernetes API holding the state did not answer (5xx, 429,
     |                            timeout, dropped connection): tried again, then the leader stands
     |                            by (exit 1 if it ends a run: nothing is wrong with the settings)
     +-- KubeError                the Kubernetes API could not be used (kube/); .status_code, .reason
     +-- DeskError                the Desk API could not be used
     |    +-- DeskAuthError       401/403: the token was rejected (exit 3)
     |    +-- DeskRetryableError  429, 5xx, timeout, dropped connection, a 200 whose body is not
     |    |                       the JSON expected; .retry_after_s when Desk gave a hint
     |    +-- DeskResponseError   any other 4xx (400 bad request, 404 not found): not retried

An OTLP endpoint that refuses is not an exception: EntryExporter.export answers False and the
pipeline acts on it (no commit, the bot stops for this cycle).

Lower libraries' exceptions (requests, json) are converted at one boundary,
``desk.transport`` (reached through ``desk.client``); nothing above it sees them.
"""


class ReceiverError(Exception):
    """Base of every error the receiver raises on purpose."""


class ConfigError(ReceiverError):
    """Settings are invalid; ``problems`` holds one line per problem, naming the variable."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class StateError(ReceiverError):
    """The state file cannot be read or parsed; the message names the file."""


class DeskError(ReceiverError):
    """The Desk API could not be used."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class DeskAuthError(DeskError):
    """Desk rejected the token (401 or 403): misconfiguration, never retried."""


class DeskRetryableError(DeskError):
    """A failure worth retrying: 429, 5xx, timeout, dropped connection or malformed JSON."""

    def __init__(self, message: str, status_code: int | None = None, retry_after_s: float | None = None):
        super().__init__(message, status_code)
        self.retry_after_s = retry_after_s


class DeskResponseError(DeskError):
    """Desk answered with a non-retryable 4xx (400, 404, ...)."""


class FencedError(StateError):
    """A checkpoint write was refused because this process no longer holds the lease (or the state
    object shows a newer leader): the write is dropped, never forced; the process stands by."""


class StateUnavailableError(StateError):
    """The state could not be read or written because the Kubernetes API did not answer usefully now (a
    5xx, 429, timeout or dropped connection): transient, tried again; never a sign of bad settings."""


class KubeError(ReceiverError):
    """The Kubernetes API answered with an error or could not be reached; ``status_code`` and
    ``reason`` (the Status object's, e.g. Conflict, NotFound, Forbidden) when it answered."""

    def __init__(self, message: str, status_code: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason

    @property
    def transient(self) -> bool:
        """No answer (timeout, dropped connection), a 5xx or a 429: worth trying again as it is."""
        return self.status_code is None or self.status_code >= 500 or self.status_code == 429
