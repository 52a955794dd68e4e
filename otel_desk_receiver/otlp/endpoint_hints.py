"""What is likely wrong with an OTLP endpoint that did not accept an export, read from the shape of its
settings: the other protocol's well-known port, a signal path on the base endpoint, none on a per-signal one.
`check` and `run` say it next to the failure (never instead of it): the answer alone ("connection failed",
"HTTP 404") does not say that 4317 is the gRPC port or that the exporter appended /v1/logs itself."""

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from otel_desk_receiver.otel_env import export_endpoint, otlp_protocol
from otel_desk_receiver.redaction import redact_url

# The OTLP specification's default ports (protocol/exporter.md): 4317 for gRPC, 4318 for HTTP.
GRPC_PORT = 4317
HTTP_PORT = 4318
SIGNAL_PATH = re.compile(r"/v1/(logs|metrics|traces)/*$")
BASE_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"


def endpoint_hints(signal: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per likely mistake in the endpoint settings of ``signal`` (empty when none is seen), each
    saying what to set instead."""
    env = os.environ if environ is None else environ
    specific_name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    specific = env.get(specific_name, "").strip()
    name, value = (specific_name, specific) if specific else (BASE_VARIABLE, env.get(BASE_VARIABLE, "").strip())
    if not value:
        return []  # the defaults match the protocol
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return []  # not a URL: check and run refuse it before any export (otel_env.otlp_problems)
    protocol = otlp_protocol(signal, env)
    hints = []
    if protocol == "http/protobuf" and port == GRPC_PORT:
        hints.append(f"{name} uses port {GRPC_PORT}, the OTLP/gRPC port, while the protocol is http/protobuf: "
                     f"use the OTLP/HTTP port ({name}={_with(parts, port=HTTP_PORT)}), "
                     "or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc")
    elif protocol == "grpc" and port == HTTP_PORT:
        hints.append(f"{name} uses port {HTTP_PORT}, the OTLP/HTTP port, while the protocol is grpc: "
                     f"use the OTLP/gRPC port ({name}={_with(parts, port=GRPC_PORT)}), "
                     "or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
    if protocol == "http/protobuf" and not specific and SIGNAL_PATH.search(parts.path):
        base = _with(parts, path=SIGNAL_PATH.sub("", parts.path))
        hints.append(f"{BASE_VARIABLE} is the base endpoint and takes no signal path: the exporter appends "
                     f"/v1/{signal} to it, so it sent to {redact_url(export_endpoint(signal, env))}; set "
                     f"{BASE_VARIABLE}={base}, or the full URL in {specific_name}")
    elif protocol == "http/protobuf" and specific and parts.path.strip("/") == "":
        hints.append(f"{specific_name} is used as given, without a path added: set it to the full URL "
                     f"({specific_name}={_with(parts, path=f'/v1/{signal}')}), or set the base "
                     f"{BASE_VARIABLE}={_with(parts, path='')} instead")
    return hints


def with_hints(reason: str, signal: str, environ: Mapping[str, str] | None = None) -> str:
    """``reason`` with the likely causes appended on the same line, for a log line."""
    hints = endpoint_hints(signal, environ)
    return reason + "".join(f"; likely: {hint}" for hint in hints)


def _with(parts, *, port: int | None = None, path: str | None = None) -> str:
    """The endpoint with another port or path, user info kept but masked (for display): dropped, the value
    suggested would send without the credentials the user gave."""
    user_info, at, netloc = parts.netloc.rpartition("@")
    if port is not None:
        host = netloc.rsplit(":", 1)[0] if parts.port is not None else netloc
        netloc = f"{host}:{port}"
    return redact_url(urlunsplit((parts.scheme, f"{user_info}{at}{netloc}", parts.path if path is None else path,
                                  "", "")))
