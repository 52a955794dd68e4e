"""What an OTLP endpoint answered, classified as the Collector's exporterhelper does.

A success is a 2xx whose body is an OTLP Export*ServiceResponse (protobuf, JSON, or empty): a redirect,
or a 200 with an HTML page, is not (the SDK's HTTP exporter calls any 2xx-3xx a success). The kinds:

    ACCEPTED   every item accepted
    PARTIAL    the response's partial_success rejected ``rejected`` items (never to be retried: spec)
    REFUSED    the request is refused for what it carries: HTTP 400, gRPC INVALID_ARGUMENT; split it
    TOO_LARGE  HTTP 413, gRPC RESOURCE_EXHAUSTED without retry info: split the batch
    DOWN       transient: connection refused or reset, timeout, HTTP 429/502/503/504, gRPC UNAVAILABLE ...
    FAILED     the endpoint is wrong or refuses every request (3xx, non-OTLP 2xx, 401, 403, 404, 500 ...):
               nothing is skipped for it, the export fails with the reason

Reasons are one line, quote at most a short excerpt of a body, and never a header value.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from google.protobuf.message import DecodeError

BODY_EXCERPT_CHARS = 80
RETRYABLE_HTTP = frozenset({429, 502, 503, 504})  # exporterhelper / otlphttpexporter: the rest are permanent
# gRPC codes the Collector's otlpexporter retries (shouldRetry in exporter/otlpexporter/otlp.go).
RETRYABLE_GRPC = frozenset({"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS"})
# The rejection of a single record for itself: error.type of otel_desk_receiver.entries.rejected.
REASON_REFUSED = "otlp_refused"
REASON_TOO_LARGE = "otlp_too_large"
REASON_PARTIAL = "otlp_partial_success"
# A record older than the backend's age limit (DESK_EXPORT_MAX_AGE): rejected without being sent.
REASON_TOO_OLD = "otlp_too_old"


class Kind(enum.Enum):
    ACCEPTED = "accepted"
    PARTIAL = "partial"
    REFUSED = "refused"
    TOO_LARGE = "too_large"
    DOWN = "down"
    FAILED = "failed"


@dataclass(frozen=True)
class Answer:
    """One export request's outcome; ``reason`` says why it is not ACCEPTED (empty when it is)."""

    kind: Kind
    reason: str = ""
    rejected: int = 0  # PARTIAL: items the endpoint rejected

    @property
    def accepted(self) -> bool:
        return self.kind is Kind.ACCEPTED


ACCEPTED = Answer(Kind.ACCEPTED)


def from_http(status: int | None, headers, body: bytes, response_type, error: Exception | None) -> Answer:
    """Classify one HTTP answer (or the transport error that replaced it)."""
    if status is None:
        return _transport_failure(error)
    if 200 <= status < 300:
        return _success_body(status, headers.get("content-type", ""), body, response_type)
    if 300 <= status < 400:
        target = urlsplit(headers.get("location", ""))
        where = f"{target.scheme}://{target.hostname}{target.path}" if target.hostname else "an unnamed place"
        return Answer(Kind.FAILED, f"HTTP {status} redirect to {where}, not followed: set the endpoint to the final URL")
    detail = _error_detail(headers.get("content-type", ""), body)
    if status in RETRYABLE_HTTP:
        return Answer(Kind.DOWN, f"HTTP {status}{detail}")
    if status == 413:
        return Answer(Kind.TOO_LARGE, f"HTTP 413 (request too large){detail}")
    if status == 400:
        return Answer(Kind.REFUSED, f"HTTP 400{detail}")
    return Answer(Kind.FAILED, f"HTTP {status}{detail}")


def from_grpc_response(response) -> Answer:
    """A gRPC Export answer that arrived: accepted, or partially."""
    return _partial(response)


def from_grpc_error(code_name: str, details: str, has_retry_info: bool) -> Answer:
    # Details are the server's text; some servers quote the request headers back, so never show them
    # whole: the code, and the details only with header-looking pairs removed.
    reason = f"gRPC {code_name}{_grpc_detail(details)}"
    if code_name in RETRYABLE_GRPC or (code_name == "RESOURCE_EXHAUSTED" and has_retry_info):
        return Answer(Kind.DOWN, reason)
    if code_name == "RESOURCE_EXHAUSTED":
        return Answer(Kind.TOO_LARGE, reason)
    if code_name == "INVALID_ARGUMENT":
        return Answer(Kind.REFUSED, reason)
    return Answer(Kind.FAILED, reason)


def _success_body(status: int, content_type: str, body: bytes, response_type) -> Answer:
    media = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return ACCEPTED  # the spec's response is a message whose every field is unset: zero bytes
    if media in ("application/x-protobuf", "application/protobuf", ""):
        try:
            return _partial(response_type.FromString(body))
        except DecodeError:
            pass
    elif media == "application/json":
        return _partial_json(body, status)
    return Answer(Kind.FAILED, f"HTTP {status} but the body is not an OTLP response ({media or 'no content type'}, "
                               f"{len(body)} bytes, starting {excerpt(body)!r}): is the endpoint an OTLP receiver?")


def _partial(response) -> Answer:
    partial = response.partial_success
    rejected = next((getattr(partial, name) for name in ("rejected_log_records", "rejected_data_points")
                     if partial.DESCRIPTOR.fields_by_name.get(name) is not None), 0)
    if rejected:
        return Answer(Kind.PARTIAL, f"the endpoint rejected {rejected}: {_one_line(partial.error_message) or 'no message'}",
                      rejected)
    return ACCEPTED


def _partial_json(body: bytes, status: int) -> Answer:
    try:
        document = json.loads(body)
    except ValueError:
        return Answer(Kind.FAILED, f"HTTP {status} but the JSON body does not parse (starting {excerpt(body)!r})")
    partial = document.get("partialSuccess") if isinstance(document, dict) else None
    if not isinstance(partial, dict):
        return ACCEPTED
    rejected = int(partial.get("rejectedLogRecords") or partial.get("rejectedDataPoints") or 0)
    if rejected:
        message = _one_line(str(partial.get("errorMessage", ""))) or "no message"
        return Answer(Kind.PARTIAL, f"the endpoint rejected {rejected}: {message}", rejected)
    return ACCEPTED


def _transport_failure(error: Exception | None) -> Answer:
    if error is None:
        return Answer(Kind.DOWN, "no answer")
    name = type(error).__name__
    text = str(error)
    if "SSL" in name or "CERTIFICATE" in text.upper():
        return Answer(Kind.FAILED, f"TLS error ({_ssl_reason(text)}): check the endpoint's scheme and "
                                   "OTEL_EXPORTER_OTLP_CERTIFICATE")
    if "BadStatusLine" in text or "RemoteDisconnected" in text or "\\x00\\x00" in text:
        return Answer(Kind.FAILED, "the endpoint closed the connection without an HTTP/1.1 answer: a gRPC port? "
                                   "Use OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or the OTLP/HTTP port (4318)")
    if "Connection refused" in text:
        return Answer(Kind.DOWN, "connection refused")
    if "no complete answer within" in text:  # http_sender's total deadline on a request
        return Answer(Kind.DOWN, text[text.index("no complete answer within"):].rstrip("')\""))
    if "timed out" in text.lower() or "Timeout" in name:
        return Answer(Kind.DOWN, "no answer within the export timeout")
    return Answer(Kind.DOWN, f"connection failed ({name})")


def _ssl_reason(text: str) -> str:
    match = re.search(r"\[SSL: ([A-Z_]+)\]|(certificate verify failed|wrong version number)", text, re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else "handshake failed"


def _error_detail(content_type: str, body: bytes) -> str:
    """': <message>' from a google.rpc.Status body (the spec's error body), else a short excerpt."""
    if not body.strip():
        return ""
    if content_type.split(";", 1)[0].strip().lower() in ("application/x-protobuf", "application/protobuf", ""):
        from google.rpc import status_pb2

        try:
            message = status_pb2.Status.FromString(body).message
            if message:
                return f": {_one_line(message)}"
        except DecodeError:
            pass
    return f": {excerpt(body)}"


_HEADERISH = re.compile(r"(?i)([\w-]+)\s*[:=]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")


def _grpc_detail(details: str) -> str:
    text = _one_line(details or "")
    if not text:
        return ""
    return f": {_HEADERISH.sub(lambda m: f'{m.group(1)}=****', text)}"


def excerpt(body: bytes, max_chars: int = BODY_EXCERPT_CHARS) -> str:
    return _one_line(body.decode("utf-8", errors="replace"), max_chars)


def _one_line(text: str, max_chars: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= max_chars else line[:max_chars - 3] + "..."
