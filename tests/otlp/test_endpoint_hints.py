"""The likely causes named next to an OTLP failure, from the endpoint settings' shape: one table, and `run`'s
failure lines (`check`'s report: tests/commands/test_check.py)."""

import pytest

from otel_desk_receiver.otlp.endpoint_hints import endpoint_hints, with_hints
from tests.harness.receiver_process import receiver_env, run_command


@pytest.mark.parametrize("env, signal, expected", [
    ({}, "logs", []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "logs", []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "metrics", []),
    ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://otlp.example.com/v1/logs"}, "logs", []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, "logs",
     ["OTEL_EXPORTER_OTLP_ENDPOINT uses port 4317, the OTLP/gRPC port, while the protocol is http/protobuf: use the "
      "OTLP/HTTP port (OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318), or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc"]),
    ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
     "metrics",
     ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT uses port 4318, the OTLP/HTTP port, while the protocol is grpc: use the "
      "OTLP/gRPC port (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://collector:4317), or set "
      "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://u:pw@otlp.example.com/v1/metrics/"}, "logs",
     ["OTEL_EXPORTER_OTLP_ENDPOINT is the base endpoint and takes no signal path: the exporter appends /v1/logs to "
      "it, so it sent to https://REDACTED@otlp.example.com/v1/metrics/v1/logs; set "
      "OTEL_EXPORTER_OTLP_ENDPOINT=https://REDACTED@otlp.example.com, or the full URL in "
      "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:pw@collector:4317"}, "logs",
     ["OTEL_EXPORTER_OTLP_ENDPOINT uses port 4317, the OTLP/gRPC port, while the protocol is http/protobuf: use the "
      "OTLP/HTTP port (OTEL_EXPORTER_OTLP_ENDPOINT=http://REDACTED@collector:4318), or set "
      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"]),
    ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://collector:4318"}, "logs",
     ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is used as given, without a path added: set it to the full URL "
      "(OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://collector:4318/v1/logs), or set the base "
      "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 instead"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317/v1/logs"}, "logs", 2),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:notaport"}, "logs", []),
], ids=["defaults", "http-right", "grpc-right", "per-signal-full-url", "grpc-port-over-http", "http-port-over-grpc",
        "signal-path-on-the-base-endpoint-user-info-masked",
        "grpc-port-over-http-user-info-kept-masked", "per-signal-without-a-path", "both-wrong", "not-a-url"])
def test_endpoint_hints(env, signal, expected):
    hints = endpoint_hints(signal, env)
    assert (len(hints) if isinstance(expected, int) else hints) == expected


def test_with_hints_appends_each_on_the_same_line():
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}
    line = with_hints("connection failed (ConnectionError)", "logs", env)
    assert line.startswith("connection failed (ConnectionError); likely: OTEL_EXPORTER_OTLP_ENDPOINT uses port 4317")
    assert "\n" not in line and with_hints("HTTP 500", "logs", {}) == "HTTP 500"


@pytest.mark.parametrize("endpoint, logs_hint, metrics_hint", [
    ("http://127.0.0.1:4317", "likely: OTEL_EXPORTER_OTLP_ENDPOINT uses port 4317, the OTLP/gRPC port, while the "
     "protocol is http/protobuf: use the OTLP/HTTP port (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318), or set "
     "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", None),
    ("{http}/v1/logs", "likely: OTEL_EXPORTER_OTLP_ENDPOINT is the base endpoint and takes no signal path: the "
     "exporter appends /v1/logs to it, so it sent to {http}/v1/logs/v1/logs; set OTEL_EXPORTER_OTLP_ENDPOINT={http}, "
     "or the full URL in OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
     "it, so it sent to {http}/v1/logs/v1/metrics; set OTEL_EXPORTER_OTLP_ENDPOINT={http}, or the full URL in "
     "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
], ids=["grpc-port-over-http", "signal-path-on-the-base-endpoint"])
def test_run_names_the_likely_cause_on_its_failure_lines(desk_emulator, otlp_sink, state_path, endpoint, logs_hint,
                                                         metrics_hint):
    """`run --once` against a wrong endpoint shape: the line saying the log records were not accepted, and the
    one about the counters, each say what is likely wrong and what to set."""
    bot = desk_emulator.add_bot(name="order-helper")
    desk_emulator.add_entries(bot["id"], 3, ("RECEIVED",))
    endpoint, logs_hint, metrics_hint = (None if text is None else text.format(http=otlp_sink.http_endpoint)
                                         for text in (endpoint, logs_hint, metrics_hint))
    env = receiver_env(desk_emulator, endpoint, "http/protobuf", state_path, backfill_days=1)
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1500"
    done = run_command(env, "run", "--once")
    assert done.returncode == 1, done.stderr[-3000:]
    logs_line = next(line for line in done.stderr.splitlines() if "did not accept the log records" in line)
    counters_line = next(line for line in done.stderr.splitlines() if "did not accept the counters (" in line)
    assert logs_hint in logs_line, logs_line
    assert (metrics_hint or logs_hint.replace("/v1/logs", "/v1/metrics")) in counters_line, counters_line
