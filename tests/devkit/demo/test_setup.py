"""The demo's environment for the receiver it runs: Desk variables of the shell gone, OTLP aimed at the demo's sink
or the --otlp-endpoint given, counters every second unless the shell says otherwise."""

import pytest

from otel_desk_receiver.devkit.demo.setup import demo_environment


@pytest.mark.parametrize("environ, embedded, kept, dropped", [
    ({"DESK_POLL_INTERVAL": "30", "PATH": "/bin"}, True, {"PATH": "/bin"}, ["DESK_POLL_INTERVAL"]),
    ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://far:4318", "OTEL_EXPORTER_OTLP_HEADERS": "a=b",
      "OTEL_SDK_DISABLED": "true", "OTEL_SERVICE_NAME": "me"}, True, {"OTEL_SERVICE_NAME": "me"},
     ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SDK_DISABLED"]),
    ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://far:4318", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc",
      "OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_METRIC_EXPORT_INTERVAL": "60000"}, False,
     {"OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_METRIC_EXPORT_INTERVAL": "60000"},
     ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"]),
], ids=["desk-variables-go", "embedded-drops-every-otlp-setting", "flag-keeps-headers-drops-per-signal-endpoint"])
def test_demo_environment(environ, embedded, kept, dropped):
    env = demo_environment(environ, endpoint="http://127.0.0.1:1", protocol="grpc", embedded=embedded)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:1"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert env.items() >= kept.items()
    assert not set(dropped) & set(env)
    assert env["OTEL_METRIC_EXPORT_INTERVAL"] == kept.get("OTEL_METRIC_EXPORT_INTERVAL", "1000")
