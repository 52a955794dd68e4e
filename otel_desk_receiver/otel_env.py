"""Every OTEL_* lookup of the receiver: what the SDK reads itself is only validated here; what we must
resolve ourselves (protocol, timeout, gRPC options, endpoint for display) is resolved here, once.

Precedence everywhere is the specification's: the per-signal variable, then the generic one, then the
default; an empty value counts as unset.
"""

import difflib
import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlsplit

from otel_desk_receiver.errors import ConfigError

OTLP_PROTOCOLS = ("grpc", "http/protobuf")
# Chosen here: the SDK's auto-configuration would fall back to gRPC, ours (README, Configuration) is http/protobuf.
DEFAULT_OTLP_PROTOCOL = "http/protobuf"
SIGNALS = ("logs", "metrics")
DEFAULT_TIMEOUT_MS = 10_000.0  # the specification's default for OTEL_EXPORTER_OTLP_TIMEOUT
DEFAULT_METRIC_INTERVAL_MS = 60_000.0  # the specification's default for OTEL_METRIC_EXPORT_INTERVAL
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
# Shown by `check` (header values masked); the DESK_* settings are shown from Settings.
SHOWN_PREFIXES = ("OTEL_EXPORTER_OTLP_", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
                  "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_SDK_DISABLED", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_PROMETHEUS_")
MASK = "****"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: what a header name may be


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def otlp_setting(signal: str, name: str, environ: Mapping[str, str] | None = None) -> str:
    """An OTEL_EXPORTER_OTLP_* value: per-signal variable, then generic; "" when neither is set."""
    env = _env(environ)
    for variable in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        if value := env.get(variable, "").strip():
            return value
    return ""


def otlp_protocol(signal: str, environ: Mapping[str, str] | None = None) -> str:
    """The OTLP protocol for a signal: per-signal variable, then generic, then http/protobuf."""
    return otlp_setting(signal, "PROTOCOL", environ) or DEFAULT_OTLP_PROTOCOL


def exporter_protocol(signal: str, environ: Mapping[str, str] | None = None) -> str:
    """The protocol an exporter is built for; ValueError on anything else (otlp_problems reports it to
    the user first, at load)."""
    protocol = otlp_protocol(signal, environ)
    if protocol not in OTLP_PROTOCOLS:
        raise ValueError(f"unsupported OTLP protocol {protocol!r}")
    return protocol


def export_timeout_s(signal: str, environ: Mapping[str, str] | None = None) -> float:
    """The export timeout in seconds from OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT, which the specification
    gives in milliseconds. The Python SDK (1.45) reads it as seconds, so a value meant as 10000 ms
    would wait almost three hours there: we read it ourselves and pass seconds to both exporters."""
    return float(otlp_setting(signal, "TIMEOUT", environ) or DEFAULT_TIMEOUT_MS) / 1000.0


def grpc_options(signal: str, environ: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """(compression name or "", insecure) for the gRPC sender (otlp/target.py), resolved as the spec says:
    compression "none" is valid, and an http:// endpoint is insecure whatever an empty or "false"
    *_INSECURE variable says (the SDK's own gRPC exporter got both wrong, measured on 1.45). An empty
    per-signal timeout is refused rather than read as a default.
    """
    env = _env(environ)
    per_signal_timeout = f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT"
    if per_signal_timeout in env and not env[per_signal_timeout].strip():
        # The SDK parses this one before looking at any argument: float("") would raise.
        raise ConfigError([f"{per_signal_timeout}: set but empty; give a number of milliseconds or unset it"])
    scheme = urlsplit(otlp_setting(signal, "ENDPOINT", env) or DEFAULT_GRPC_ENDPOINT).scheme
    # The spec: *_INSECURE applies only to an endpoint without a scheme; the scheme decides otherwise.
    insecure = scheme == "http" if scheme in ("http", "https") else otlp_setting(signal, "INSECURE", env).lower() == "true"
    return otlp_setting(signal, "COMPRESSION", env).lower(), insecure


def export_endpoint(signal: str, environ: Mapping[str, str] | None = None) -> str:
    """The endpoint the SDK will use for a signal, as the specification resolves it (for display)."""
    env = _env(environ)
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
    if specific:
        return specific
    generic = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if otlp_protocol(signal, env) == "grpc":
        return generic or DEFAULT_GRPC_ENDPOINT
    return f"{(generic or DEFAULT_HTTP_ENDPOINT).rstrip('/')}/v1/{signal}"


def counters_delta(environ: Mapping[str, str] | None = None) -> bool:
    """Whether counters go out as deltas: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE delta or
    lowmemory (the specification's lowmemory makes synchronous counters delta)."""
    preference = _env(environ).get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    return preference in ("delta", "lowmemory")


def metric_export_interval_s(environ: Mapping[str, str] | None = None) -> float:
    """OTEL_METRIC_EXPORT_INTERVAL (milliseconds, default 60000) in seconds."""
    return float(_env(environ).get("OTEL_METRIC_EXPORT_INTERVAL", "").strip() or DEFAULT_METRIC_INTERVAL_MS) / 1000.0


# Below this a timeout is most likely meant in seconds, the unit the Python SDK reads (1.45): 10 means 10 ms here.
TIMEOUT_LOOKS_LIKE_SECONDS_MS = 100


def timeout_unit_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per OTEL_EXPORTER_OTLP_*TIMEOUT value that looks like seconds rather than milliseconds."""
    env = _env(environ)
    lines = []
    for name in sorted(env):
        if not (name.startswith("OTEL_EXPORTER_OTLP_") and name.endswith("_TIMEOUT")):
            continue
        value = env[name].strip()
        if _is_non_negative_number(value) and 0 < float(value) < TIMEOUT_LOOKS_LIKE_SECONDS_MS:
            lines.append(f"{name}={value} is read as {value} milliseconds, as the OpenTelemetry specification "
                         f"says (the Python SDK alone reads seconds): for {value} seconds set "
                         f"{name}={float(value) * 1000:g}")
    return lines


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    return _env(environ).get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def shown_variables(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The OTEL_* variables `check` prints, sorted, with header values masked (they are credentials)."""
    env = _env(environ)
    return [(name, masked_value(name, env[name])) for name in sorted(env) if name.startswith(SHOWN_PREFIXES)]


def masked_value(name: str, value: str) -> str:
    """Header variables show their header names only: the values are credentials."""
    if name.endswith("_HEADERS"):
        keys = [pair.split("=", 1)[0].strip() for pair in value.split(",") if pair.strip()]
        return ", ".join(f"{key}={MASK}" for key in keys)
    if name.endswith("_ENDPOINT"):
        from otel_desk_receiver.redaction import redact_url

        return redact_url(value)  # user:password@ in an endpoint is a credential too
    return value


def _as_is(name: str) -> str:
    return name


def otlp_problems(environ: Mapping[str, str] | None = None, where: Callable[[str], str] = _as_is) -> list[str]:
    """One line per OTEL_* value the receiver relies on that the SDK would silently ignore or default
    (docs/testing.md#opentelemetry-sdk-pitfalls: the SDK's HTTP exporter defaults bad timeout or compression
    values in silence). ``where`` names where a variable was given (a --config key and its line, say)."""
    env = _env(environ)
    problems = []
    for signal in SIGNALS:
        protocol = otlp_protocol(signal, env)
        if protocol not in OTLP_PROTOCOLS:
            problems.append(f"{where(f'OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL')}/"
                            f"{where('OTEL_EXPORTER_OTLP_PROTOCOL')}: expected grpc or http/protobuf (got {protocol!r})")
    for name, value in sorted(env.items()):
        if not name.startswith("OTEL_EXPORTER_OTLP_") or not value.strip():
            continue
        if name.endswith("_TIMEOUT") and not _is_non_negative_number(value):
            problems.append(f"{where(name)}: expected a number of milliseconds (got {value!r})")
        elif name.endswith("_COMPRESSION") and value.strip().lower() not in ("gzip", "deflate", "none"):
            problems.append(f"{where(name)}: expected gzip, deflate or none (got {value!r})")
        elif name.endswith("_INSECURE") and value.strip().lower() not in ("true", "false"):
            problems.append(f"{where(name)}: expected true or false (got {value!r})")
        elif name.endswith("_ENDPOINT") and not value.strip().startswith(("http://", "https://")):
            problems.append(f"{where(name)}: expected a URL starting with http:// or https:// (got {value!r})")
        elif name.endswith("_HEADERS"):
            # The SDK's parser skips a bad pair (logging it, credential and all) and the export goes out without it.
            problems += [f"{where(name)}: {problem}" for problem in header_problems(value)]
    interval = env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    if interval and not (_is_non_negative_number(interval) and float(interval) > 0):
        problems.append(f"{where('OTEL_METRIC_EXPORT_INTERVAL')}: expected a positive number of milliseconds "
                        f"(got {interval!r})")
    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    if temporality and temporality not in ("cumulative", "delta", "lowmemory"):
        problems.append(f"{where('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')}: expected cumulative, delta "
                        f"or lowmemory (got {temporality!r})")
    problems += metrics_exporter_problems(env, where)
    return problems


# The OTLP exporter variables the specification defines (opentelemetry-specification,
# protocol/exporter.md, and metrics/sdk_exporters/otlp.md for the two metrics-only ones).
OTLP_OPTIONS = ("ENDPOINT", "HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE",
                "INSECURE", "PROTOCOL")
SPEC_SIGNALS = ("LOGS", "METRICS", "TRACES")
OTLP_VARIABLES = frozenset(
    [f"OTEL_EXPORTER_OTLP_{option}" for option in OTLP_OPTIONS]
    + [f"OTEL_EXPORTER_OTLP_{signal}_{option}" for signal in SPEC_SIGNALS for option in OTLP_OPTIONS]
    + ["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"]
)
OTLP_FAMILY = "OTEL_EXPORTER_OTLP"
# Every OTEL_* variable the receiver or the SDK's parts it uses read: what the --config file may set too.
RECEIVER_VARIABLES = OTLP_VARIABLES | {
    "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_SDK_DISABLED",
    "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_PORT"}
# Outside the OTEL_EXPORTER_OTLP prefix, only a name this close to a real one counts as a typo of it
# (OTEL_EXPORTER_OTPL_ENDPOINT is 0.96); other exporters' real variables (OTEL_EXPORTER_ZIPKIN_ENDPOINT
# 0.86, OTEL_EXPORTER_PROMETHEUS_PORT 0.72) stay below it.
TYPO_RATIO = 0.9


def otlp_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per variable that looks meant for the OTLP exporters but is not one the specification
    defines, so the SDK ignores it: the name starts with OTEL_EXPORTER_OTLP, or is very close to a real one.
    Each line names the closest real variable."""
    env = _env(environ)
    known = sorted(OTLP_VARIABLES)
    lines = []
    for name in sorted(env):
        if not name.startswith("OTEL_") or name in OTLP_VARIABLES:
            continue
        if name.startswith(OTLP_FAMILY):  # compared without the prefix all share, which makes them look alike
            suffixes = {known_name.removeprefix(OTLP_FAMILY): known_name for known_name in known}
            close = [suffixes[s] for s in difflib.get_close_matches(name.removeprefix(OTLP_FAMILY), suffixes, 1, 0.6)]
        else:
            close = difflib.get_close_matches(name, known, n=1, cutoff=TYPO_RATIO)
        if close or name.startswith(OTLP_FAMILY):
            hint = f"; did you mean {close[0]}?" if close else " (see the OpenTelemetry specification's OTLP exporter)"
            lines.append(f"{name}: not an OpenTelemetry OTLP exporter variable, ignored{hint}")
    return lines


def header_problems(text: str) -> list[str]:
    """What is wrong with ``k=v,k2=v2`` (OTEL_EXPORTER_OTLP_HEADERS' format, DESK_OTLP_HEADERS_FILE's too): a
    line per pair that is not key=value with an RFC 9110 header name, or whose value holds a control character
    (CR, LF: every request would fail, or the header split). Pairs are named by position: values are credentials."""
    problems = []
    for index, pair in enumerate(part.strip() for part in text.strip().split(",")):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not _HEADER_NAME.fullmatch(unquote(key).strip()):
            problems.append(f"pair {index + 1} is not key=value")
        elif any(char != "\t" and (char < " " or char == "\x7f") for char in unquote(value).strip()):
            problems.append(f"pair {index + 1} holds a control character (CR, LF...), which no header value may")
    return problems


def _is_non_negative_number(value: str) -> bool:
    try:
        return float(value) >= 0
    except ValueError:
        return False


# OTEL_METRICS_EXPORTER, as the specification's SDK configuration names it: a comma-separated list. The
# log records always go over OTLP; this picks where metrics go: pushed over OTLP, served for a Prometheus
# scrape, or both. Other values of the specification (console, none) are refused: the counters must reach
# a backend for the delivery guarantees to mean anything.
METRICS_EXPORTERS = ("otlp", "prometheus")
DEFAULT_PROMETHEUS_HOST = "localhost"  # the specification's default (and the SDK's): set 0.0.0.0 in a container
DEFAULT_PROMETHEUS_PORT = 9464


def metrics_exporters(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The metric exporters OTEL_METRICS_EXPORTER names (default otlp), in METRICS_EXPORTERS order."""
    value = _env(environ).get("OTEL_METRICS_EXPORTER", "").strip().lower() or "otlp"
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    return tuple(name for name in METRICS_EXPORTERS if name in chosen)


def prometheus_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(host, port) of the Prometheus endpoint: OTEL_EXPORTER_PROMETHEUS_HOST and _PORT, spec defaults."""
    env = _env(environ)
    host = env.get("OTEL_EXPORTER_PROMETHEUS_HOST", "").strip() or DEFAULT_PROMETHEUS_HOST
    port = env.get("OTEL_EXPORTER_PROMETHEUS_PORT", "").strip()
    return host, int(port) if port else DEFAULT_PROMETHEUS_PORT


def metrics_exporter_problems(environ: Mapping[str, str] | None = None, where: Callable[[str], str] = _as_is) -> list[str]:
    """One line per bad OTEL_METRICS_EXPORTER or OTEL_EXPORTER_PROMETHEUS_* value."""
    env = _env(environ)
    problems = []
    value = env.get("OTEL_METRICS_EXPORTER", "").strip().lower()
    parts = [part.strip() for part in value.split(",")] if value else []
    if any(part not in METRICS_EXPORTERS for part in parts):
        problems.append(f"{where('OTEL_METRICS_EXPORTER')}: expected otlp, prometheus or otlp,prometheus "
                        f"(got {env['OTEL_METRICS_EXPORTER']!r})")
    port = env.get("OTEL_EXPORTER_PROMETHEUS_PORT", "").strip()
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        problems.append(f"{where('OTEL_EXPORTER_PROMETHEUS_PORT')}: expected a port number from 1 to 65535 "
                        f"(got {port!r})")
    return problems
