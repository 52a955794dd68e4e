"""`check`'s OTLP probe says why an endpoint did not accept, and answers within about 2 s."""

import pytest

from otel_desk_receiver.commands.diagnostics import probe_otlp
from tests.harness.ports import free_port


def closed_port(_sink) -> str:
    return f"http://127.0.0.1:{free_port()}"


CASES = [
    # label, signal, endpoint(sink), protocol, sink setup, expected in the finding
    ("accepted", "logs", lambda s: s.http_endpoint, "http/protobuf", lambda s: None, "accepted an empty export"),
    ("connection refused", "logs", closed_port, "http/protobuf", lambda s: None, "connection refused"),
    ("connection refused, grpc", "metrics", closed_port, "grpc", lambda s: None, "gRPC UNAVAILABLE"),
    ("HTTP 400 with the body's message", "logs", lambda s: s.http_endpoint, "http/protobuf",
     lambda s: s.fail_next(1, http_status=400, message="tenant id missing"), "HTTP 400: tenant id missing"),
    ("401", "metrics", lambda s: s.http_endpoint, "http/protobuf",
     lambda s: s.fail_next(1, http_status=401, message="bad credentials"), "HTTP 401: bad credentials"),
    ("redirect", "logs", lambda s: s.http_endpoint, "http/protobuf",
     lambda s: s.impersonate_next(1, "redirect", status=308), "HTTP 308 redirect to https://otlp.example.com"),
    ("a 200 that is not OTLP", "metrics", lambda s: s.http_endpoint, "http/protobuf",
     lambda s: s.impersonate_next(1, "html"), "not an OTLP response (text/html"),
    ("http/protobuf at a gRPC port", "logs", lambda s: s.grpc_endpoint, "http/protobuf", lambda s: None,
     "a gRPC port?"),
    ("TLS towards a plain HTTP port", "logs", lambda s: s.http_endpoint.replace("http://", "https://"),
     "http/protobuf", lambda s: None, "TLS error"),
    ("an answer dripping for a minute", "logs", lambda s: s.http_endpoint, "http/protobuf",
     lambda s: setattr(s, "drip_s", 1.0), "no complete answer within 2 s"),
]


@pytest.mark.parametrize(("signal", "endpoint", "protocol", "setup", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_probe_reports_why(otlp_sink, monkeypatch, signal, endpoint, protocol, setup, expected):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint(otlp_sink))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")  # the probe bounds itself, not the setting
    setup(otlp_sink)
    try:
        finding = probe_otlp(signal)
    finally:
        otlp_sink.drip_s = 0
    assert expected in finding.detail
    assert finding.ok is (expected == "accepted an empty export")
