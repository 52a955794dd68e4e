"""One Desk GET with pacing and retries; the single place requests' errors and HTTP statuses become ours."""

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from otel_desk_receiver import __version__
from otel_desk_receiver.desk.throttle import Outcome, RateLimiter, RetryPolicy, classify_status, parse_retry_hint
from otel_desk_receiver.desk.token import usable_token
from otel_desk_receiver.errors import ConfigError, DeskAuthError, DeskError, DeskResponseError, DeskRetryableError
from otel_desk_receiver.redaction import held_secrets, hold, redact_text
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)

USER_AGENT = f"otel-desk-receiver/{__version__}"
TOKEN_HEADER = "SENDBIRDDESKAPITOKEN"  # docs/desk-api.md#access: the only auth header, no bearer scheme
DETAIL_MAX_CHARS = 200
BODY_EXCERPT_CHARS = 60  # enough to tell HTML or a cut-off JSON apart; entries may hold personal data
MAX_REQUESTS_IN_FLIGHT = 32  # DESK_CONCURRENCY's bound (16) turns, each with a page read ahead

Params = Sequence[tuple[str, str | int]]
# Checks a decoded 2xx body; returns what is wrong with it, or None when it is usable.
BodyCheck = Callable[[Any], str | None]
# The token, asked for before each request: a rotated one (desk/token.py FileToken) is used at once.
TokenSource = Callable[[], str]


@dataclass(frozen=True)
class RequestInfo:
    """One HTTP attempt, for http.client.request.duration (HTTP client semantic conventions)."""

    method: str
    url_template: str  # e.g. "/bots/{bot_id}/webhook_logs": low cardinality
    server_address: str
    server_port: int
    status_code: int | None  # None when no response arrived
    duration_s: float
    error_type: str | None  # None on success; status code as text, or timeout / connection_error / ...
    attempt: int
    bot_id: int | None
    server_date: str | None = None  # the answer's HTTP Date header: Desk's clock (desk/clock.py)


@dataclass(frozen=True)
class RetryInfo:
    """A failed attempt about to be retried after ``delay_s``; ``error`` says what failed."""

    method: str
    url_template: str
    bot_id: int | None
    attempt: int
    max_attempts: int
    delay_s: float
    error: DeskRetryableError


@dataclass(frozen=True)
class _Request:
    method: str
    template: str
    bot_id: int | None

    @property
    def path(self) -> str:
        return self.template.format(bot_id=self.bot_id)

    @property
    def label(self) -> str:
        bot = "" if self.bot_id is None else f" (bot {self.bot_id})"
        return f"{self.method} {self.template}{bot}"


class Transport:
    """Sends GETs to one Desk base URL: paced by ``max_rps``, retried per ``retry``, errors converted.

    Guarantees: every failure leaves as a DeskError subclass (or ConfigError for an unusable
    token) whose text never holds the token; redirects are never followed, because the token
    header would go to whatever host the redirect names. ``token`` is the token itself or a
    TokenSource, asked before each request.
    """

    def __init__(self, base_url: str, token: str | TokenSource, *, max_rps: float, timeout_s: float, retry: RetryPolicy,
                 stop_event: threading.Event | None, on_request: Callable[[RequestInfo], None] | None,
                 on_retry: Callable[[RetryInfo], None] | None, sleep: Callable[[float], Any] | None,
                 monotonic: Callable[[], float] | None, session: requests.Session | None,
                 wall_clock: Callable[[], float] = time.time, url_setting: str = "DESK_API_URL"):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL")
        self._token_source: TokenSource = token if callable(token) else (lambda: token)
        if not usable_token(self._token_source()):
            raise ConfigError(["DESK_API_TOKEN: expected the Desk API token, printable ASCII without spaces"])
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        self.base_url = base_url.rstrip("/")
        self.server_address = parts.hostname
        self.server_port = parts.port or (443 if parts.scheme == "https" else 80)
        self._headers = {
            "Content-Type": "application/json; charset=utf8",  # docs/desk-api.md#access
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._timeout_s = timeout_s
        self._retry = retry
        self._stop = stop_event
        self._on_request = on_request
        self._on_retry = on_retry
        self._sleep = sleep or (stop_event.wait if stop_event is not None else time.sleep)
        self._limiter = RateLimiter(max_rps, monotonic or time.monotonic)
        self._isolation: tuple[int, float] | None = None  # see isolate_bots
        self._wall_clock = wall_clock
        self._url_setting = url_setting  # where base_url is set, as a redirect's line names it (an apps file's item)
        self._owns_session = session is None
        self._session = session or _pooled_session()

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def get_json(self, template: str, *, bot_id: int | None = None, params: Params = (),
                 check: BodyCheck | None = None) -> Any:
        """GET base_url + template; the decoded body, after retries as the policy allows."""
        request = _Request("GET", template, bot_id)
        attempt = 1
        while True:
            self._wait(self._limiter.reserve(), request)
            try:
                return self._attempt(request, params, attempt, check)
            except DeskRetryableError as error:
                if not self._retry.should_retry(attempt):
                    raise DeskRetryableError(f"{error} (gave up after {attempt} attempts)",
                                             error.status_code, error.retry_after_s) from None
                delay_s = self._retry.delay_s(attempt, error.retry_after_s)
                self._defer_if_isolated(request, error, attempt, delay_s)
                if self._on_retry is not None:
                    self._on_retry(RetryInfo(request.method, request.template, bot_id, attempt,
                                             self._retry.max_attempts, delay_s, error))
                if error.status_code == 429 and error.retry_after_s is not None:
                    # Desk's rate limit is the app's: its hint holds every request of every worker (the
                    # limiter), this one's retry included; a hint too long to wait here defers the bot instead.
                    self._limiter.hold(delay_s)
                    delay_s = 0.0
            self._wait(delay_s, request)
            attempt += 1

    def isolate_bots(self, attempts: int, max_wait_s: float) -> None:
        """For a loop serving many bots: a request is tried at most ``attempts`` times in place, and never
        waits longer than ``max_wait_s`` for a retry; past that it fails at once, carrying Desk's hint, and
        the caller delays that bot alone (runtime/scheduler.py), or the bot listing (polling the last
        list meanwhile), instead of holding everyone."""
        self._isolation = (attempts, max_wait_s)

    def _defer_if_isolated(self, request: _Request, error: DeskRetryableError, attempt: int, delay_s: float) -> None:
        if self._isolation is None:
            return
        attempts, max_wait_s = self._isolation
        if attempt >= attempts or delay_s > max_wait_s:
            raise DeskRetryableError(f"{error} (this bot waits {duration_text(delay_s)}; the others go on)",
                                     error.status_code, max(delay_s, error.retry_after_s or 0.0)) from None

    def _wait(self, delay_s: float, request: _Request) -> None:
        if delay_s <= 0:
            return
        self._check_stop(request)
        self._sleep(delay_s)
        self._check_stop(request)

    def _check_stop(self, request: _Request) -> None:
        if self._stop is not None and self._stop.is_set():
            raise DeskRetryableError(f"shutdown requested while waiting to send {request.label}")

    def _attempt(self, request: _Request, params: Params, attempt: int, check: BodyCheck | None,
                 after_rotation: bool = False) -> Any:
        started = time.perf_counter()
        response, body, failure, error_type = None, None, None, None
        token = self._token_source()
        hold(token)  # whatever a server echoes of it, now or after a rotation, is masked in every output
        try:
            headers = {TOKEN_HEADER: token, **self._headers}
            response = self._get_within_deadline(self.base_url + request.path, list(params), headers)
        except requests.RequestException as exc:
            # Built here, raised below: outside the handler the error carries no link to
            # requests' exception, whose request object holds the token header.
            failure, error_type = self._transport_error(request, exc)
        if response is not None:
            body, failure, error_type = self._read(request, response, check)
        if self._on_request is not None:
            self._on_request(RequestInfo(
                request.method, request.template, self.server_address, self.server_port,
                None if response is None else response.status_code, time.perf_counter() - started,
                error_type, attempt, request.bot_id, None if response is None else response.headers.get("Date")))
        if failure is not None:
            if isinstance(failure, DeskAuthError) and not after_rotation and self._token_rotated(token):
                log.warning("%s; %s holds another token now: trying it once", failure, self._token_variable)
                return self._attempt(request, params, attempt, check, after_rotation=True)
            raise failure
        return body

    def _token_rotated(self, sent: str) -> bool:
        """After a 401/403: whether the token source holds another token than the one ``sent`` (a file is read
        again at once, in case it changed without its stat showing it). Compared with what was sent, not with
        what the source held last: a rotation may land while the refused request was in flight, the new token
        already read (by this request's error handling, or another thread)."""
        refresh = getattr(self._token_source, "refresh", None)
        if refresh is not None:
            refresh()
        return self._token_source() != sent

    @property
    def _token_variable(self) -> str:
        """The setting the token came from, for messages: DESK_API_TOKEN_FILE for a file, else DESK_API_TOKEN."""
        return getattr(self._token_source, "variable", "DESK_API_TOKEN")

    def _get_within_deadline(self, url: str, params: list, headers: dict[str, str]) -> requests.Response:
        """The GET, answered in full within timeout_s or abandoned: requests' timeout bounds each socket
        read, so a server dripping its answer could hold one request for minutes (and SIGTERM with it).
        The abandoned request ends on its own thread when its next read times out."""
        done, box = threading.Event(), {}

        def get() -> None:
            try:
                box["response"] = self._session.get(url, params=params, headers=headers, timeout=self._timeout_s,
                                                    allow_redirects=False)
            except requests.RequestException as exc:
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=get, name="desk-request", daemon=True).start()
        deadline = time.monotonic() + self._timeout_s
        while not done.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise requests.Timeout(f"no complete answer within {duration_text(self._timeout_s)}")
            if self._stop is not None and self._stop.is_set():
                raise requests.Timeout("shutdown requested during the request")
        if "error" in box:
            raise box["error"]
        return box["response"]

    def _transport_error(self, request: _Request, exc: requests.RequestException) -> tuple[DeskError, str]:
        reason = self._redact(_exception_text(exc))
        if isinstance(exc, requests.Timeout):
            return DeskRetryableError(f"{request.label}: no answer within {duration_text(self._timeout_s)} ({reason})"), "timeout"
        if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ContentDecodingError)):
            return DeskRetryableError(f"{request.label}: connection failed ({reason})"), "connection_error"
        return DeskError(f"{request.label}: request could not be sent ({reason})"), type(exc).__name__

    def _read(self, request: _Request, response: requests.Response,
              check: BodyCheck | None) -> tuple[Any, DeskError | None, str | None]:
        status = response.status_code
        outcome = classify_status(status)
        if outcome is Outcome.OK:
            return self._decode(request, response, check)
        detail = self._redact(_error_detail(response))
        where = f"{request.label}: HTTP {status}"
        if outcome is Outcome.AUTH:
            return None, DeskAuthError(f"{where}: Desk rejected the API token; check {self._token_variable} "
                                       f"({detail})", status), str(status)
        if outcome is Outcome.RETRY:
            hint = parse_retry_hint(response.headers, self._wall_clock(), self._retry.max_hint_s)
            return None, DeskRetryableError(f"{where}: {detail}", status, hint), str(status)
        if 300 <= status < 400:
            detail = (f"redirect to {urlsplit(response.headers.get('Location', '')).netloc or 'an unnamed place'} "
                      f"not followed (it would carry the token); set {self._url_setting} to the final URL")
        return None, DeskResponseError(f"{where}: {detail}", status), str(status)

    def _decode(self, request: _Request, response: requests.Response,
                check: BodyCheck | None) -> tuple[Any, DeskError | None, str | None]:
        where = f"{request.label}: HTTP {response.status_code}"
        try:
            body = _json_body(response)
        except ValueError:
            excerpt = self._redact(_excerpt(response.text, BODY_EXCERPT_CHARS))
            return None, DeskRetryableError(
                f"{where} but the body was not valid JSON ({len(response.content)} bytes, starting {excerpt!r})",
                response.status_code), "malformed_response"
        problem = check(body) if check is not None else None
        if problem is not None:
            return None, DeskRetryableError(f"{where} but {problem}", response.status_code), "malformed_response"
        return body, None, None

    def _redact(self, text: str) -> str:
        """Every secret held masked: the token sent, and any other the process held (a previous token)."""
        return redact_text(text, held_secrets())


def _pooled_session() -> requests.Session:
    """A session keeping a connection for each request that may be in flight at once: every concurrent turn
    (DESK_CONCURRENCY, at most 16) with its page read ahead. urllib3 keeps 10 by default and discards the
    others with a warning each."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=MAX_REQUESTS_IN_FLIGHT)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _error_detail(response: requests.Response) -> str:
    """Desk's ``message``, DRF's ``detail``, else the raw text (docs/desk-api.md#errors-rate-limits-and-retry-after)."""
    try:
        body = _json_body(response)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                code = body.get("code")
                prefix = f"{code}: " if isinstance(code, str) and code else ""
                return _excerpt(prefix + body[key])
    return _excerpt(response.text) or response.reason or "no details"


def _json_body(response: requests.Response) -> Any:
    """The decoded body; ValueError when it is not JSON, or is nested deeper than the decoder's recursion
    limit (json raises RecursionError for that: a page of 200,000 "[" would otherwise escape the retries
    and end the process)."""
    try:
        return json.loads(response.content)
    except RecursionError:
        raise ValueError("JSON nested too deep to decode") from None


def _excerpt(text: str, max_chars: int = DETAIL_MAX_CHARS) -> str:
    """One line of at most ``max_chars`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= max_chars else line[:max_chars - 3] + "..."


_OBJECT_PREFIX = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>: ")


def _exception_text(exc: requests.RequestException) -> str:
    """The innermost reason urllib3 gives (``Connection refused``, ``Read timed out``), on one line."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None) or inner or exc
    text = _OBJECT_PREFIX.sub("", str(reason)) or type(exc).__name__
    return f"{type(exc).__name__}: {_excerpt(text)}"
