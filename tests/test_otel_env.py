"""otel_env: every OTEL_* lookup, resolved as the specification says, with the values the SDK would get wrong.

Each function takes the environment as a mapping (or reads the process's), so most tables pass it."""

import pytest

from otel_desk_receiver import otel_env
from otel_desk_receiver.errors import ConfigError


PROTOCOLS = [
    ("unset is http/protobuf", {}, "logs", "http/protobuf"),
    ("generic", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "logs", "grpc"),
    ("per-signal wins", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
     "metrics", "http/protobuf"),
    ("other signal's variable ignored", {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, "logs", "http/protobuf"),
]


@pytest.mark.parametrize(("env", "signal", "expected"), [p[1:] for p in PROTOCOLS], ids=[p[0] for p in PROTOCOLS])
def test_otlp_protocol_precedence(env, signal, expected):
    assert otel_env.otlp_protocol(signal, env) == expected
    assert otel_env.otlp_problems(env) == []


TIMEOUTS = [
    ("default 10 s", {}, "logs", 10.0),
    ("generic in ms", {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, "logs", 2.5),
    ("per-signal wins", {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "300"},
     "metrics", 0.3),
    ("other signal ignored", {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "300"}, "logs", 10.0),
]


@pytest.mark.parametrize(("env", "signal", "seconds"), [t[1:] for t in TIMEOUTS], ids=[t[0] for t in TIMEOUTS])
def test_timeout_is_read_in_milliseconds_as_the_spec_says(monkeypatch, env, signal, seconds):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert otel_env.export_timeout_s(signal) == seconds


@pytest.mark.parametrize("env, signal, endpoint", [
    pytest.param({}, "logs", "http://localhost:4318/v1/logs", id="http-default"),
    pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com/"}, "metrics",
                 "https://otlp.example.com/v1/metrics", id="http-generic-gets-the-signal-path"),
    pytest.param({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://x.example.com/ingest"}, "logs",
                 "https://x.example.com/ingest", id="per-signal-as-given"),
    pytest.param({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "logs", "http://localhost:4317", id="grpc-default"),
])
def test_the_endpoint_each_signal_uses(env, signal, endpoint):
    assert otel_env.export_endpoint(signal, env) == endpoint


@pytest.mark.parametrize("env, options", [
    pytest.param({}, ("", True), id="default-http-endpoint-is-insecure"),
    pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
                 ("", False), id="the-scheme-decides"),
    pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "TRUE"},
                 ("", True), id="insecure-without-a-scheme"),
    pytest.param({"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "GZIP"}, ("gzip", True), id="compression"),
])
def test_grpc_options(env, options):
    assert otel_env.grpc_options("logs", env) == options


def test_an_empty_per_signal_timeout_is_refused_for_grpc():
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: set but empty"):
        otel_env.grpc_options("logs", {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": " "})


@pytest.mark.parametrize("env, problem", [
    pytest.param({"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL/"
                 "OTEL_EXPORTER_OTLP_PROTOCOL: expected grpc or http/protobuf (got 'http/json')", id="protocol"),
    pytest.param({"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT: expected a number of "
                 "milliseconds (got '10s')", id="timeout"),
    pytest.param({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "expected gzip, deflate or none", id="compression"),
    pytest.param({"OTEL_EXPORTER_OTLP_INSECURE": "yes"}, "expected true or false (got 'yes')", id="insecure"),
    pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "expected a URL starting with http://",
                 id="endpoint"),
    pytest.param({"OTEL_METRIC_EXPORT_INTERVAL": "0"}, "expected a positive number of milliseconds", id="interval"),
    pytest.param({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
                 "expected cumulative, delta or lowmemory", id="temporality"),
    pytest.param({"OTEL_METRICS_EXPORTER": "console"}, "OTEL_METRICS_EXPORTER: expected otlp, prometheus",
                 id="metrics-exporter"),
    pytest.param({"OTEL_EXPORTER_PROMETHEUS_PORT": "70000"}, "expected a port number from 1 to 65535",
                 id="prometheus-port"),
])
def test_each_value_the_sdk_would_quietly_default_is_one_problem(env, problem):
    [line] = otel_env.otlp_problems(env)
    assert problem in line


@pytest.mark.parametrize("name, value, problem", [
    ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer hdr-7f3a", "pair 1 is not key=value"),
    ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=acme,api-key hdr-7f3a", "pair 2 is not key=value"),
    ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x(key)=hdr-7f3a", "pair 1 is not key=value"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hdr-7f3a%0D%0AHost:%20evil", "pair 1 holds a control character"),
])
def test_a_header_pair_the_sdk_would_drop_is_one_problem_without_its_value(name, value, problem):
    """The SDK's parser skips a pair that is not key=value (logging the pair, credential and all) and the export
    goes out without it, unauthenticated: refused at start instead, naming the pair by position, never its text."""
    [line] = otel_env.otlp_problems({name: value})
    assert line.startswith(f"{name}: {problem}") and "hdr-7f3a" not in line


def test_well_formed_header_pairs_are_no_problem():
    assert otel_env.otlp_problems({"OTEL_EXPORTER_OTLP_HEADERS": " authorization=Basic%20c2Vj==, x-team=a ,",
                                   "OTEL_EXPORTER_OTLP_LOGS_HEADERS": ""}) == []


def test_timeouts_that_look_like_seconds_are_warned_about():
    [line] = otel_env.timeout_unit_warnings({"OTEL_EXPORTER_OTLP_TIMEOUT": "10",
                                              "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "5000"})
    assert line.startswith("OTEL_EXPORTER_OTLP_TIMEOUT=10 is read as 10 milliseconds")
    assert line.endswith("set OTEL_EXPORTER_OTLP_TIMEOUT=10000")


def test_a_misspelt_variable_names_the_real_one():
    assert otel_env.otlp_warnings({"OTEL_EXPORTER_OTLP_ENDPIONT": "x", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}) == [
        "OTEL_EXPORTER_OTLP_ENDPIONT: not an OpenTelemetry OTLP exporter variable, ignored; "
        "did you mean OTEL_EXPORTER_OTLP_ENDPOINT?"]


def test_shown_variables_mask_credentials():
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret,x-team=a", "OTEL_SERVICE_NAME": "desk",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:pass@otlp.example.com", "DESK_API_TOKEN": "t"}
    shown = dict(otel_env.shown_variables(env))
    assert shown["OTEL_EXPORTER_OTLP_HEADERS"] == "api-key=****, x-team=****"
    assert "pass" not in shown["OTEL_EXPORTER_OTLP_ENDPOINT"] and "otlp.example.com" in shown["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert shown["OTEL_SERVICE_NAME"] == "desk" and "DESK_API_TOKEN" not in shown


@pytest.mark.parametrize("value, delta", [("", False), ("cumulative", False), ("Delta", True), ("lowmemory", True)])
def test_counters_go_out_as_deltas_for_delta_and_lowmemory(value, delta):
    assert otel_env.counters_delta({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": value}) is delta


def test_metrics_exporters_and_the_prometheus_address():
    assert otel_env.metrics_exporters({}) == ("otlp",)
    assert otel_env.metrics_exporters({"OTEL_METRICS_EXPORTER": "prometheus, OTLP"}) == ("otlp", "prometheus")
    assert otel_env.prometheus_address({}) == ("localhost", 9464)
    assert otel_env.prometheus_address({"OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
                                        "OTEL_EXPORTER_PROMETHEUS_PORT": "9000"}) == ("0.0.0.0", 9000)
    assert otel_env.metric_export_interval_s({"OTEL_METRIC_EXPORT_INTERVAL": "1500"}) == 1.5
