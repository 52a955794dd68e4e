"""Where and how one signal's OTLP requests go: the OTEL_EXPORTER_OTLP_* settings, resolved once per exporter.

The same variables the SDK's OTLP exporters read, with the specification's precedence (per-signal variable,
then generic, then default; otel_env.otlp_setting): endpoint (``/v1/<signal>`` appended to the generic one
over HTTP only), headers, compression, timeout (milliseconds, as the specification says), certificate,
client key and client certificate, and for gRPC the *_INSECURE rule (otel_env.grpc_options). Values are
validated at load (otel_env.otlp_problems); a certificate file that cannot be read is one clear line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from opentelemetry.util.re import parse_env_headers

from otel_desk_receiver import __version__
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import export_endpoint, export_timeout_s, exporter_protocol, grpc_options, otlp_setting

USER_AGENT = f"otel-desk-receiver/{__version__}"
COMPRESSIONS = ("gzip", "deflate")  # "none" or unset: uncompressed


@dataclass(frozen=True)
class OtlpTarget:
    """One signal's destination. ``endpoint`` is the URL (HTTP) or host:port (gRPC); ``headers`` have
    lower-case names; ``compression`` is gzip, deflate or ""; files are paths or ""."""

    signal: str
    protocol: str
    endpoint: str
    headers: Mapping[str, str] = field(repr=False)  # credentials: never shown
    compression: str
    timeout_s: float
    certificate: str = ""
    client_key: str = ""
    client_certificate: str = ""
    insecure: bool = False


def resolve_target(signal: str, environ: Mapping[str, str] | None = None, timeout_s: float | None = None) -> OtlpTarget:
    """The target of ``signal`` from OTEL_* (``environ``, default os.environ), its protocol included;
    ``timeout_s`` overrides the export timeout. ConfigError if a named TLS file cannot be read."""
    protocol = exporter_protocol(signal, environ)
    compression = otlp_setting(signal, "COMPRESSION", environ).lower()
    endpoint = export_endpoint(signal, environ)
    insecure = False
    if protocol == "grpc":
        compression, insecure = grpc_options(signal, environ)
        parts = urlsplit(endpoint)
        endpoint = parts.netloc or endpoint  # grpc dials host:port; the scheme only chose TLS
    files = {name: otlp_setting(signal, name, environ) for name in ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")}
    for name, path in files.items():
        if path and not Path(path).is_file():
            raise ConfigError([f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}/OTEL_EXPORTER_OTLP_{name}: "
                               f"no readable file at {path}"])
    return OtlpTarget(
        signal=signal,
        protocol=protocol,
        endpoint=endpoint,
        headers=dict(parse_env_headers(otlp_setting(signal, "HEADERS", environ), liberal=True)),
        compression=compression if compression in COMPRESSIONS else "",
        timeout_s=export_timeout_s(signal, environ) if timeout_s is None else timeout_s,
        certificate=files["CERTIFICATE"],
        client_key=files["CLIENT_KEY"],
        client_certificate=files["CLIENT_CERTIFICATE"],
        insecure=insecure,
    )
