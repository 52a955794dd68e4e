"""What OtlpSink answers instead of a plain acceptance: the fault modes real endpoints show.

- ``Refusal``: an error status (503 / UNAVAILABLE, 400 / INVALID_ARGUMENT, 401 ...) for the next n requests,
  its message quoting the request's headers if asked (a gateway echoing the credentials it refused);
- ``Imposter``: a redirect (an ingress forcing https) or a 200 with an HTML page (a web UI), HTTP only;
- ``RecordRule``: records a backend refuses for themselves (a Loki-like "too old"): either answered
  with partial_success naming how many were dropped, or the whole request refused with 400;
- ``max_records``: a request carrying more records is refused as too large (413 / RESOURCE_EXHAUSTED);
- ``drip_s``: the answer is written one byte every drip_s seconds (HTTP), or held that long (gRPC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc

from otel_desk_receiver.devkit.sink.decode import SinkLogRecord


@dataclass
class Refusal:
    remaining: int
    http_status: int
    grpc_code: grpc.StatusCode
    signal: str | None
    message: str = "refused by OtlpSink"
    quote_headers: tuple[str, ...] = ()  # headers the message quotes, values included (a gateway echoing credentials)


@dataclass
class Imposter:
    """An answer that is not OTLP: ``kind`` is redirect or html."""

    remaining: int
    kind: str
    signal: str | None
    location: str = "https://otlp.example.com/v1/logs"
    status: int = 308


@dataclass
class RecordRule:
    """Records matching ``rejects`` are refused: by partial success (http_status None) or a whole-request error."""

    rejects: Callable[[SinkLogRecord], bool]
    message: str
    http_status: int | None = None


@dataclass(frozen=True)
class Reply:
    """What the sink answers one request: OK (with ``rejected`` records dropped), an error, or an imposter."""

    kind: str  # ok | error | redirect | html
    http_status: int = 200
    grpc_code: grpc.StatusCode | None = None
    message: str = ""
    rejected: int = 0
    location: str = ""


OK = Reply("ok")
DOWN = Reply("error", 503, grpc.StatusCode.UNAVAILABLE, "refused by OtlpSink")
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Observability console</h1>"
             b"<p>Please sign in.</p></body></html>")
