"""target.py: one signal's OTLP destination from OTEL_EXPORTER_OTLP_*, as one precedence table (per-signal
variable, then generic, then default), and a TLS file that cannot be read as one clear line."""

import pytest

from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otlp.target import resolve_target

# (label, signal, protocol, environment, expected fields of the target)
GRPC = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
CASES = [
    ("http defaults", "logs", "http/protobuf", {},
     {"endpoint": "http://localhost:4318/v1/logs", "headers": {}, "compression": "", "timeout_s": 10.0}),
    ("http generic endpoint gets the signal's path", "metrics", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com/base/"},
     {"endpoint": "https://otlp.example.com/base/v1/metrics"}),
    ("http per-signal endpoint used as given", "logs", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://b:9999/ingest"},
     {"endpoint": "http://b:9999/ingest"}),
    ("grpc defaults: plain text to localhost", "logs", "grpc", {},
     {"endpoint": "localhost:4317", "insecure": True, "compression": ""}),
    ("grpc https is TLS whatever INSECURE says", "logs", "grpc",
     {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com:443", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
     {"endpoint": "otlp.example.com:443", "insecure": False}),
    ("grpc per-signal endpoint wins", "metrics", "grpc",
     {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://b:5317"},
     {"endpoint": "b:5317", "insecure": True}),
    ("headers: per-signal replaces generic, names lower case, values decoded", "logs", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_HEADERS": "x-generic=1", "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "Authorization=Bearer%20t,X-Tenant=a"},
     {"headers": {"authorization": "Bearer t", "x-tenant": "a"}}),
    ("headers: generic for the other signal", "metrics", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_HEADERS": "x-generic=1", "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "x-logs=2"},
     {"headers": {"x-generic": "1"}}),
    ("compression: per-signal wins", "logs", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_COMPRESSION": "deflate", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "GZIP"},
     {"compression": "gzip"}),
    ("compression none is none", "logs", "grpc", {"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, {"compression": ""}),
    ("timeout in milliseconds, per-signal wins", "metrics", "grpc",
     {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "300"}, {"timeout_s": 0.3}),
    ("an empty value counts as unset", "logs", "http/protobuf",
     {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": " ", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
     {"endpoint": "http://c:4318/v1/logs"}),
]


@pytest.mark.parametrize(("signal", "protocol", "env", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_precedence(signal, protocol, env, expected):
    target = resolve_target(signal, {**env, **(GRPC if protocol == "grpc" else {})})
    assert target.protocol == protocol
    assert {name: getattr(target, name) for name in expected} == expected


def test_the_timeout_argument_overrides_the_environment():
    assert resolve_target("logs", {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, timeout_s=1.5).timeout_s == 1.5


def test_tls_files_per_signal_then_generic(tmp_path):
    ca, key, cert = (tmp_path / name for name in ("ca.pem", "key.pem", "cert.pem"))
    for path in (ca, key, cert):
        path.write_text("-----BEGIN-----\n")
    env = {"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nowhere/generic.pem", "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE": str(ca),
           "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(key), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(cert)}
    target = resolve_target("logs", {**env, **GRPC, "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4317"})
    assert (target.certificate, target.client_key, target.client_certificate) == (str(ca), str(key), str(cert))


def test_a_tls_file_that_is_not_there_is_one_line_naming_the_variables(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY": str(tmp_path / "gone.pem")})
    assert caught.value.problems == [
        f"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY/OTEL_EXPORTER_OTLP_CLIENT_KEY: no readable file at {tmp_path / 'gone.pem'}"]


def test_header_values_are_not_in_the_target_s_repr():
    assert "s3cr3t" not in repr(resolve_target("logs", {"OTEL_EXPORTER_OTLP_HEADERS": "k=s3cr3t"}))
