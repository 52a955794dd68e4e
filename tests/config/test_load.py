"""load_settings: precedence (environment over YAML over defaults) and one exact error line per bad value."""

import tracemalloc
from pathlib import Path

import pytest

from otel_desk_receiver.config import ConfigError, LogLevel, load_settings
from otel_desk_receiver.desk.token import FileToken
from tests.harness.yaml_bomb import alias_bomb

URL_ACCEPTS = ("an http:// or https:// URL with a host, an optional port from 1 to 65535 and a path; no query, "
               "fragment, spaces or control characters")
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
    ("bot list every 10 minutes", {}, None, {"bot_list_interval": 600.0}),
    ("bot list interval as a duration", {"DESK_BOT_LIST_INTERVAL": "90s"}, None, {"bot_list_interval": 90.0}),
    ("bot list interval in yaml", {}, "bot_list_interval: 1h\n", {"bot_list_interval": 3600.0}),
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
     "DESK_POLL_INTERVAL: expected a duration such as 30s, 5m or 1h, more than 0 and at most 1d (got '0')"),
    ("bot list interval too short", {"DESK_BOT_LIST_INTERVAL": "0.5s"},
     "DESK_BOT_LIST_INTERVAL: expected a duration such as 10m, 90s or 1h, from 1s to 1d (got '0.5s')"),
    ("bot list interval not a duration", {"DESK_BOT_LIST_INTERVAL": "soon"},
     "DESK_BOT_LIST_INTERVAL: expected a duration such as 10m, 90s or 1h, from 1s to 1d (got 'soon')"),
    ("bot ids not ints", {"DESK_BOT_IDS": "1,x"},
     "DESK_BOT_IDS: expected comma-separated positive integer bot IDs (got '1,x')"),
    ("log level", {"DESK_LOG_LEVEL": "LOUD"},
     "DESK_LOG_LEVEL: expected one of DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL (or FATAL), in any case "
     "(got 'LOUD')"),
    ("health addr", {"DESK_HEALTH_ADDR": "nope"},
     "DESK_HEALTH_ADDR: expected host:port (port 0..65535), or empty to turn health endpoints off (got 'nope')"),
    ("api url scheme", {"DESK_API_URL": "ftp://x"}, f"DESK_API_URL: expected {URL_ACCEPTS} (got 'ftp://x')"),
    ("api url without host", {"DESK_API_URL": "http://"}, f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http://')"),
    ("api url with an empty host", {"DESK_API_URL": "http:///x"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http:///x')"),
    ("api url port out of range", {"DESK_API_URL": "http://desk.example.com:99999/platform/v1"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http://desk.example.com:99999/platform/v1')"),
    ("api url unclosed bracket", {"DESK_API_URL": "http://[::1/x"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http://[::1/x')"),
    ("api url two ports", {"DESK_API_URL": "http://host:1:2/x"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http://host:1:2/x')"),
    ("api url with a query", {"DESK_API_URL": "https://desk.example.com/platform/v1?x=1"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'https://desk.example.com/platform/v1?x=1')"),
    ("api url with a fragment", {"DESK_API_URL": "https://desk.example.com/platform/v1#top"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'https://desk.example.com/platform/v1#top')"),
    ("api url with a space", {"DESK_API_URL": "https://desk.example.com/platform v1"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'https://desk.example.com/platform v1')"),
    ("api url bad port shows no password", {"DESK_API_URL": "http://user:pa55@desk.example.com:99999/x"},
     f"DESK_API_URL: expected {URL_ACCEPTS} (got 'http://REDACTED@desk.example.com:99999/x')"),
    ("max rps", {"DESK_MAX_RPS": "-1"},
     "DESK_MAX_RPS: expected a number of requests per second, more than 0 and at most 1000 (got '-1')"),
    ("no token", {"DESK_API_TOKEN": None},
     "DESK_API_TOKEN: required (the Desk API token), or DESK_API_TOKEN_FILE (a file holding it)"),
    ("empty token", {"DESK_API_TOKEN": ""},
     "DESK_API_TOKEN: required (the Desk API token), or DESK_API_TOKEN_FILE (a file holding it)"),
    ("token and token file", {"DESK_API_TOKEN_FILE": "/etc/desk/token"},
     "DESK_API_TOKEN, DESK_API_TOKEN_FILE: both set; set one of them"),
    ("token file missing", {"DESK_API_TOKEN": None, "DESK_API_TOKEN_FILE": "/nonexistent/token"},
     "DESK_API_TOKEN_FILE: file not found: /nonexistent/token"),
    ("token file is a directory", {"DESK_API_TOKEN": None, "DESK_API_TOKEN_FILE": "/"},
     "DESK_API_TOKEN_FILE: cannot read / (Is a directory)"),
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
    assert caught.value.problems == [
        f"backfill_days at line 3 of {path}: expected an integer from 0 to 30 (got 40)",
        f"page_sise at line 2 of {path}: unknown setting; did you mean page_size?"]


@pytest.mark.parametrize("content", ["a: [unclosed", "- just\n- a list\n"], ids=["broken", "not a mapping"])
def test_yaml_unreadable(monkeypatch, tmp_path, content):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    with pytest.raises(ConfigError) as caught:
        load_settings(write_yaml(tmp_path, content))
    assert "--config" in str(caught.value)


def test_a_yaml_alias_bomb_is_refused_in_one_short_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, alias_bomb(9))
    assert len(path.read_bytes()) < 800
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.problems == [f"--config: {path} expands YAML aliases beyond 10000 values; write the "
                                     "settings out without anchors and aliases"]
    assert peak_bytes < 20_000_000


def test_a_self_referencing_yaml_alias_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\npage_size: &loop [1, *loop]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [f"--config: {path} expands YAML aliases beyond 10000 values; write the "
                                     "settings out without anchors and aliases"]


def test_a_config_file_past_the_size_bound_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\n" + "#" * 2_000_000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [f"--config: {path} is larger than 1 MiB; a settings file is a few lines"]


def test_a_long_bad_value_is_shown_cut_short(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    with pytest.raises(ConfigError) as caught:
        load_settings(write_yaml(tmp_path, "app_id: a\npage_size: [" + ", ".join(["123456789"] * 5000) + "]\n"))
    [line] = caught.value.problems
    assert line.startswith(f"page_size at line 2 of {tmp_path / 'config.yaml'}: expected an integer from 1 to 500 "
                           "(got [123456789, ") and len(line) < 400


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


LOG_LEVELS = [("debug", LogLevel.DEBUG), ("Info", LogLevel.INFO), ("warn", LogLevel.WARNING),
              ("WARNING", LogLevel.WARNING), (" error ", LogLevel.ERROR), ("critical", LogLevel.CRITICAL),
              ("fatal", LogLevel.CRITICAL)]


@pytest.mark.parametrize(("raw", "level"), LOG_LEVELS, ids=[raw.strip() for raw, _ in LOG_LEVELS])
def test_log_level_in_any_case_and_the_usual_aliases(monkeypatch, raw, level):
    for name, value in {**BASE_ENV, "DESK_LOG_LEVEL": raw}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().log_level is level


def token_env(monkeypatch, path) -> None:
    monkeypatch.setenv("DESK_APP_ID", "app1")
    monkeypatch.setenv("DESK_API_TOKEN_FILE", str(path))


def test_token_from_a_file_with_its_trailing_newline_removed(monkeypatch, tmp_path):
    path = tmp_path / "api-token"
    path.write_text("tok-from-file-123\n")
    token_env(monkeypatch, path)
    settings = load_settings()
    assert settings.api_token is None and settings.api_token_file == path
    assert FileToken(settings.api_token_file)() == "tok-from-file-123"


@pytest.mark.parametrize(("content", "line"), [
    ("", "is empty; expected the Desk API token"),
    ("  \n", "is empty; expected the Desk API token"),
    ("two words-secret\n", "does not hold a usable token (expected printable ASCII without spaces)"),
], ids=["empty", "only-whitespace", "space-inside"])
def test_unusable_token_file_is_one_line_naming_the_variable(monkeypatch, tmp_path, content, line):
    path = tmp_path / "api-token"
    path.write_text(content)
    token_env(monkeypatch, path)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [f"DESK_API_TOKEN_FILE: {path} {line}"]
    assert "words-secret" not in str(caught.value)


def test_token_file_from_the_yaml_file(monkeypatch, tmp_path):
    token = tmp_path / "api-token"
    token.write_text("tok-yaml-file-1")
    settings = load_settings(write_yaml(tmp_path, f"app_id: a\napi_token_file: {token}\n"))
    assert settings.api_token_file == token
