"""OTLP/HTTP with protobuf: one export request POSTed with requests, retried as the SDK's exporter retries,
its answer classified (answer.py) rather than taken as a success for any 2xx-3xx as the SDK's does.

Each request is bounded by a total deadline, not only requests' per-read timeout: an endpoint dripping its
answer could otherwise hold a request for minutes. A request still running at its deadline is abandoned to
its (daemon) thread, whose socket reads time out on their own; ``close`` releases every waiting caller.
"""

from __future__ import annotations

import gzip
import logging
import math
import threading
import time
import zlib
from datetime import timezone
from email.utils import parsedate_to_datetime

import requests

from otel_desk_receiver.otlp import answer as answers
from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.answer import RETRYABLE_HTTP, Answer, Kind
from otel_desk_receiver.otlp.retry import Attempts
from otel_desk_receiver.otlp.target import USER_AGENT, OtlpTarget
from otel_desk_receiver.units import duration_text

log = logging.getLogger(__name__)

# What the SDK's requests transport retries at once, then with backoff: the connection, not the answer.
CONNECTION_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


class HttpSender:
    """Sends Export*ServiceRequest messages to ``target`` over HTTP; ``send`` returns the endpoint's answer."""

    def __init__(self, target: OtlpTarget, response_type):
        self.target = target
        self._response_type = response_type
        self._session = requests.Session()
        self._session.verify = target.certificate or True
        if target.client_certificate:
            key = target.client_key
            self._session.cert = (target.client_certificate, key) if key else target.client_certificate
        self._headers = {"content-type": "application/x-protobuf", "user-agent": USER_AGENT, **target.headers}
        if target.compression:
            self._headers["content-encoding"] = target.compression
        self._closed = threading.Event()
        self._waiting: set[threading.Event] = set()
        self._lock = threading.Lock()

    def send(self, request) -> Answer:
        if self._closed.is_set():
            return Answer(Kind.FAILED, "the exporter is shut down")
        data = _compress(request.SerializeToString(), self.target.compression)
        attempts = Attempts(self.target.timeout_s, self._closed)
        answer = Answer(Kind.DOWN, "no answer")
        for attempt in attempts:
            response, error = self._post_once_more_on_a_stale_connection(data, attempts)
            status = None if response is None else response.status_code
            answer = answers.from_http(status, {} if response is None else response.headers,
                                       b"" if response is None else response.content, self._response_type, error)
            if status is not None and 200 <= status < 400:
                return answer  # the SDK stops here too; answer.py tells an OTLP acceptance from a redirect
            retryable = status in RETRYABLE_HTTP if status is not None else isinstance(error, CONNECTION_ERRORS)
            hint_s = _retry_after_s(response) if retryable and response is not None else None
            if not attempts.wait(attempt, retryable, hint_s):
                break
            log.debug("OTLP %s export: %s, trying again", self.target.signal, answer.reason)
        return answer

    def _post_once_more_on_a_stale_connection(self, data: bytes, attempts: Attempts):
        response, error = self._post(data, attempts.remaining_s())
        if isinstance(error, CONNECTION_ERRORS) and attempts.remaining_s() > 0 and not self._closed.is_set():
            # As the SDK does: a pooled connection the endpoint closed fails at once; a new one may not.
            response, error = self._post(data, attempts.remaining_s())
        return response, error

    def _post(self, data: bytes, limit_s: float) -> tuple[requests.Response | None, Exception | None]:
        done, box = threading.Event(), {}
        # DESK_OTLP_HEADERS_FILE, read again when it changes; its headers win over the variable's.
        headers = {**self._headers, **{key.lower(): value for key, value in headers_file.current().items()}}

        def call() -> None:
            try:
                response = self._session.post(self.target.endpoint, data=data, headers=headers, timeout=limit_s,
                                              allow_redirects=False)
                response.content  # noqa: B018 - read here, on this thread, within the deadline
                box["response"] = response
            except Exception as error:  # noqa: BLE001 - a failed request is an answer
                box["error"] = error
            finally:
                done.set()

        with self._lock:
            self._waiting.add(done)
        try:
            if not self._closed.is_set():
                threading.Thread(target=call, name="otlp-http-request", daemon=True).start()
                done.wait(limit_s)
        finally:
            with self._lock:
                self._waiting.discard(done)
        if "response" in box or "error" in box:
            return box.get("response"), box.get("error")
        reason = "exporter shut down" if self._closed.is_set() else f"no complete answer within {duration_text(self.target.timeout_s)}"
        return None, requests.exceptions.ReadTimeout(f"timed out: {reason}")

    def close(self) -> None:
        """Cut a waiting request and any retry short; later sends fail at once."""
        self._closed.set()
        with self._lock:
            for waiting in self._waiting:
                waiting.set()
        self._session.close()


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data)
    if compression == "deflate":
        return zlib.compress(data)
    return data


def _retry_after_s(response: requests.Response) -> float | None:
    """Retry-After (RFC 9110): seconds, or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)
