"""Settings: precedence (environment over YAML over defaults) and one exact error line per bad value."""

from pathlib import Path

import pytest

from otel_desk_receiver.config import ConfigError, Settings, load_settings
from otel_desk_receiver.otel_env import otlp_problems, otlp_protocol

BASE_ENV = {"DESK_API_TOKEN": "tok-secret-123", "DESK_APP_ID": "app1"}


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


PRECEDENCE = [
    ("defaults", {}, None, {"page_size": 500, "poll_interval": 30.0, "backfill_days": 0, "bot_ids": None}),
    ("env only", {"DESK_PAGE_SIZE": "100"}, None, {"page_size": 100}),
    ("yaml only", {}, "page_size: 200\npoll_interval: 5\n", {"page_size": 200, "poll_interval": 5.0}),
    ("env beats yaml", {"DESK_PAGE_SIZE": "100"}, "page_size: 200\n", {"page_size": 100}),
    ("yaml fills what env lacks", {"DESK_PAGE_SIZE": "100"}, "backfill_days: 3\n",
     {"page_size": 100, "backfill_days": 3}),
    ("bot ids csv", {"DESK_BOT_IDS": "12, 34"}, None, {"bot_ids": [12, 34]}),
    ("bot ids yaml list", {}, "bot_ids: [5, 6]\n", {"bot_ids": [5, 6]}),
    ("empty bot ids means all", {"DESK_BOT_IDS": ""}, None, {"bot_ids": None}),
    ("extra fields star", {"DESK_EXPORT_EXTRA_FIELDS": "*"}, None, {"export_extra_fields": ["*"]}),
    ("health off", {"DESK_HEALTH_ADDR": ""}, None, {"health_addr": ""}),
]


@pytest.mark.parametrize(("env", "yaml_text", "expected"), [p[1:] for p in PRECEDENCE], ids=[p[0] for p in PRECEDENCE])
def test_precedence(monkeypatch, tmp_path, env, yaml_text, expected):
    for name, value in {**BASE_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(write_yaml(tmp_path, yaml_text) if yaml_text else None)
    for field, value in expected.items():
        assert getattr(settings, field) == value, field


INVALID = [
    ("page size too big", {"DESK_PAGE_SIZE": "900"}, "DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '900')"),
    ("page size zero", {"DESK_PAGE_SIZE": "0"}, "DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '0')"),
    ("backfill too far", {"DESK_BACKFILL_DAYS": "31"}, "DESK_BACKFILL_DAYS: expected an integer from 0 to 30 (got '31')"),
    ("interval zero", {"DESK_POLL_INTERVAL": "0"},
     "DESK_POLL_INTERVAL: expected a number of seconds, more than 0 and at most 86400 (got '0')"),
    ("bot ids not ints", {"DESK_BOT_IDS": "1,x"}, "DESK_BOT_IDS: expected comma-separated integer bot IDs (got '1,x')"),
    ("log level", {"DESK_LOG_LEVEL": "LOUD"}, "DESK_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR (got 'LOUD')"),
    ("health addr", {"DESK_HEALTH_ADDR": "nope"},
     "DESK_HEALTH_ADDR: expected host:port (port 0..65535), or empty to turn health endpoints off (got 'nope')"),
    ("api url scheme", {"DESK_API_URL": "ftp://x"}, "DESK_API_URL: expected an http:// or https:// URL (got 'ftp://x')"),
    ("max rps", {"DESK_MAX_RPS": "-1"},
     "DESK_MAX_RPS: expected a number of requests per second, more than 0 and at most 1000 (got '-1')"),
    ("no token", {"DESK_API_TOKEN": None}, "DESK_API_TOKEN: required, the Desk API token (required)"),
    ("no app nor url", {"DESK_APP_ID": None},
     "DESK_APP_ID: required unless DESK_API_URL is set (the Sendbird application ID)"),
    ("otlp protocol", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
     "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL/OTEL_EXPORTER_OTLP_PROTOCOL: expected grpc or http/protobuf (got 'http/json')"),
    ("otlp timeout", {"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
     "OTEL_EXPORTER_OTLP_TIMEOUT: expected a number of milliseconds (got 'soon')"),
    ("otlp compression", {"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "zstd"},
     "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: expected gzip, deflate or none (got 'zstd')"),
    ("temporality", {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
     "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: expected cumulative, delta or lowmemory (got 'sometimes')"),
]


@pytest.mark.parametrize(("env", "line"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_invalid_value_gives_one_exact_line(monkeypatch, env, line):
    for name, value in {**BASE_ENV, **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert line in caught.value.problems
    assert "tok-secret-123" not in str(caught.value)


def test_every_problem_reported_at_once(monkeypatch):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_PAGE_SIZE", "0")
    monkeypatch.setenv("DESK_BACKFILL_DAYS", "99")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "DESK_APP_ID", "DESK_PAGE_SIZE", "DESK_BACKFILL_DAYS",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL/OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL/OTEL_EXPORTER_OTLP_PROTOCOL",
    ]


def test_yaml_unknown_key_and_bad_value_name_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\npage_sise: 5\nbackfill_days: 40\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = str(caught.value)
    assert f"page_sise: unknown setting in {path}" in text
    assert "DESK_BACKFILL_DAYS: expected an integer from 0 to 30 (got 40)" in text


@pytest.mark.parametrize("content", ["a: [unclosed", "- just\n- a list\n"], ids=["broken", "not a mapping"])
def test_yaml_unreadable(monkeypatch, tmp_path, content):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    with pytest.raises(ConfigError) as caught:
        load_settings(write_yaml(tmp_path, content))
    assert "--config" in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.yaml")


def test_token_never_in_repr_or_str(monkeypatch):
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert "tok-secret-123" not in repr(settings) and "tok-secret-123" not in str(settings)
    assert settings.api_token.get_secret_value() == "tok-secret-123"


def test_base_url_from_app_id_or_explicit(monkeypatch):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_APP_ID", "abc")
    assert load_settings().base_url == "https://desk-api-abc.sendbird.com/platform/v1"
    monkeypatch.setenv("DESK_API_URL", "http://proxy.local/desk/platform/v1/")
    assert load_settings().base_url == "http://proxy.local/desk/platform/v1"


PROTOCOLS = [
    ("unset is http/protobuf", {}, "logs", "http/protobuf"),
    ("generic", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "logs", "grpc"),
    ("per-signal wins", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
     "metrics", "http/protobuf"),
    ("other signal's variable ignored", {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, "logs", "http/protobuf"),
]


@pytest.mark.parametrize(("env", "signal", "expected"), [p[1:] for p in PROTOCOLS], ids=[p[0] for p in PROTOCOLS])
def test_otlp_protocol_precedence(env, signal, expected):
    assert otlp_protocol(signal, env) == expected
    assert otlp_problems(env) == []


def test_settings_fields_all_have_accepts_and_descriptions():
    from otel_desk_receiver.config import ACCEPTS

    assert set(ACCEPTS) == set(Settings.model_fields)
    assert all(f.description for f in Settings.model_fields.values())
