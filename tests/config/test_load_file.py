"""load_settings with --config as a user writes it: every setting and the OTLP variables, errors at the key's line."""

import os
from pathlib import Path

import pytest

from otel_desk_receiver.config import Settings, config_warnings, load_settings
from otel_desk_receiver.config_file import read_config
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import export_endpoint
from tests.harness.receiver_process import ReceiverProcess, receiver_env, run_command


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "receiver.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_the_file_knows_the_line_of_each_key(tmp_path):
    config = read_config(write_yaml(tmp_path, "# settings\napp_id: a\n\npage_size: 900\n"))
    assert config.values == {"app_id": "a", "page_size": 900}
    assert (config.where("app_id"), config.where("page_size")) == (f"app_id at line 2 of {config.path}",
                                                                   f"page_size at line 4 of {config.path}")


def test_a_bad_value_in_the_file_names_its_key_and_line_not_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\nmax_rps: 2\n\npage_size: 900\nbackfill: 40d\n")
    assert problems(path) == [f"page_size at line 4 of {path}: expected an integer from 1 to 500 (got 900)",
                              f"backfill at line 5 of {path}: expected a duration such as 18h, 7d, 90m or 3600s, "
                              f"from 0 to 30d (got '40d')"]


def test_a_value_from_the_environment_still_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_PAGE_SIZE", "0")
    path = write_yaml(tmp_path, "app_id: a\npage_size: 900\n")
    assert problems(path) == ["DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '0')"]


def test_an_unknown_key_names_its_line_and_the_closest_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\npage_sise: 5\n")
    assert problems(path) == [f"page_sise at line 2 of {path}: unknown setting; did you mean page_size?"]


def test_a_rule_across_settings_names_the_keys_it_came_from(tmp_path):
    path = write_yaml(tmp_path, "app_id: a\napi_token: t\napi_token_file: /t\n")
    assert problems(path) == [f"api_token at line 2 of {path}, api_token_file at line 3 of {path}: both set; "
                              "set one of them"]


@pytest.mark.parametrize(("content", "where"), [
    ("app_id: a\npage_size: [1, 2\n", "line 3, column 1"),
    ("app_id: a\n  page_size: 5\n", "line 2, column 12"),
    ("app_id: a\npage_size: 5\npage_size: 6\n", "line 3"),
], ids=["unclosed list", "bad indent", "a key twice"])
def test_a_broken_file_gives_its_line(monkeypatch, tmp_path, content, where):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    [line] = problems(path := write_yaml(tmp_path, content))
    assert line.startswith(f"--config: {path}") and where in line, line


DURATION_SETTINGS = [("poll_interval", 30.0), ("bot_list_interval", 30.0), ("backfill", 30.0),
                     ("settle_grace", 30.0), ("leader_election_retry_period", 0.5),
                     ("leader_election_renew_deadline", 3.0), ("leader_election_lease_duration", 30),
                     ("export_max_age", 30.0)]


@pytest.mark.parametrize(("field", "seconds"), DURATION_SETTINGS, ids=[d[0] for d in DURATION_SETTINGS])
def test_every_duration_setting_takes_a_duration_with_its_unit(monkeypatch, tmp_path, field, seconds):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    given = "0.5s" if seconds == 0.5 else f"{seconds:g}s"
    settings = load_settings(write_yaml(tmp_path, f"app_id: a\n{field}: {given}\n"))
    assert getattr(settings, field) == seconds
    assert settings.as_given(field) == given
    monkeypatch.setenv("DESK_APP_ID", "a")
    monkeypatch.setenv(f"DESK_{field.upper()}", given)
    assert getattr(load_settings(), field) == seconds


def test_every_duration_setting_is_in_that_table():
    from otel_desk_receiver.config.kinds import Duration

    durations = {name for name, field in Settings.model_fields.items()
                 if any(isinstance(item, Duration) for item in field.metadata)}
    assert durations == {field for field, _ in DURATION_SETTINGS}


def test_a_duration_is_shown_as_given(monkeypatch):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_APP_ID", "a")
    monkeypatch.setenv("DESK_BACKFILL", "10m")
    settings = load_settings()
    assert (settings.as_given("backfill"), settings.as_given("poll_interval")) == ("10m", "30s")
    assert settings.backfill_as_given == "10m"


# --- The OTLP variables in the file: the OTEL_* names as keys, as the specification spells them.

def test_the_otlp_variables_can_come_from_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\nOTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318\n"
                                "OTEL_EXPORTER_OTLP_HEADERS: api-key=file-secret-1\nOTEL_METRIC_EXPORT_INTERVAL: 5000\n")
    load_settings(path)
    assert export_endpoint("logs") == "http://collector:4318/v1/logs"
    assert os.environ["OTEL_EXPORTER_OTLP_HEADERS"] == "api-key=file-secret-1"
    assert os.environ["OTEL_METRIC_EXPORT_INTERVAL"] == "5000"


def test_a_bad_otlp_value_in_the_file_names_its_key_and_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, "app_id: a\n\nOTEL_EXPORTER_OTLP_TIMEOUT: soon\nOTEL_EXPORTER_OTLP_ENDPIONT: x\n"
                                "OTEL_SERVICE_NAME: [a, b]\notel_sdk_disabled: true\n")
    assert problems(path) == [
        f"OTEL_EXPORTER_OTLP_ENDPIONT at line 4 of {path}: not an OpenTelemetry variable the receiver reads; "
        "did you mean OTEL_EXPORTER_OTLP_ENDPOINT?",
        f"OTEL_SERVICE_NAME at line 5 of {path}: expected a single value, as the environment variable takes",
        f"otel_sdk_disabled at line 6 of {path}: write an OTEL_* variable as the specification spells it, "
        "OTEL_SDK_DISABLED",
        f"OTEL_EXPORTER_OTLP_TIMEOUT at line 3 of {path}: expected a number of milliseconds (got 'soon')",
    ]
    assert "OTEL_EXPORTER_OTLP_TIMEOUT" not in os.environ


def test_the_file_wins_over_the_environment_for_otlp_variables_and_says_so(monkeypatch, tmp_path):
    """OpenTelemetry's own configuration file (and the Collector's) is the whole truth once given: the
    environment enters only where the file does not speak. A warning names each variable the file overrides."""
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://injected:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    path = write_yaml(tmp_path, "app_id: a\nOTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318\n")
    settings = load_settings(path)
    assert export_endpoint("logs") == "http://collector:4318/v1/logs"
    assert os.environ["OTEL_SERVICE_NAME"] == "from-env"
    assert config_warnings(settings=settings) == [
        f"OTEL_EXPORTER_OTLP_ENDPOINT: set in the environment and at line 2 of {path}; the file's value is used"]


def test_the_environment_wins_over_the_file_for_desk_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_PAGE_SIZE", "100")
    settings = load_settings(write_yaml(tmp_path, "app_id: a\npage_size: 200\n"))
    assert settings.page_size == 100


def test_run_exports_to_the_endpoint_the_file_names(desk_emulator, otlp_sink, state_path, tmp_path):
    bot = desk_emulator.add_bot(name="order-helper")
    desk_emulator.add_entries(bot["id"], 3, ("RECEIVED",))
    env = receiver_env(desk_emulator, "http://127.0.0.1:9", "http/protobuf", state_path, backfill_days=1)
    del env["OTEL_EXPORTER_OTLP_ENDPOINT"], env["OTEL_EXPORTER_OTLP_PROTOCOL"]
    config = write_yaml(tmp_path, f"OTEL_EXPORTER_OTLP_ENDPOINT: {otlp_sink.http_endpoint}\n"
                                  "OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf\n")
    done = run_command(env, "run", "--once", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert otlp_sink.count() == 3


def test_check_prints_durations_as_given_and_leaves_no_lock_file(desk_emulator, otlp_sink, tmp_path):
    state_path = tmp_path / "state" / "receiver.json"
    state_path.parent.mkdir()
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    config = write_yaml(tmp_path, "backfill: 10m\npoll_interval: 1m\n")
    done = run_command(env, "check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DESK_BACKFILL                10m" in done.stdout and "DESK_POLL_INTERVAL           1m" in done.stdout
    assert "none yet; each bot starts 10m back" in done.stdout
    assert list(state_path.parent.iterdir()) == []


def test_a_copy_with_another_duration_is_shown_by_its_value_not_the_text_it_was_loaded_with(monkeypatch):
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_APP_ID", "a")
    monkeypatch.setenv("DESK_POLL_INTERVAL", "1m")
    settings = load_settings()
    assert settings.as_given("poll_interval") == "1m"
    assert settings.model_copy(update={"poll_interval": 5.0}).as_given("poll_interval") == "5s"
    assert settings.as_given("page_size") is None  # no duration


def test_run_logs_its_poll_interval_as_given(desk_emulator, otlp_sink, state_path, tmp_path):
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    receiver = ReceiverProcess.start(env, tmp_path, "--config", str(write_yaml(tmp_path, "poll_interval: 1m\n")))
    try:
        receiver.wait_for(lambda: "polling every" in receiver.output(), what="the start line")
        assert "polling every 1m; Desk at" in receiver.output()
    finally:
        receiver.stop()


@pytest.mark.parametrize(("key", "hint"), [
    ("DESK_PAGE_SIZE", "write a setting in lower case without DESK_: page_size"),
    ("DESK_PAGE_SIZ", "unknown setting; did you mean page_size?"),
])
def test_a_key_spelt_as_its_variable_names_the_key_the_file_takes(monkeypatch, tmp_path, key, hint):
    """The file takes OTEL_* variables by their own names, so DESK_PAGE_SIZE: 100 is the natural slip: it was
    'unknown setting; known: <every setting>'."""
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    path = write_yaml(tmp_path, f"app_id: a\n{key}: 100\n")
    assert problems(path) == [f"{key} at line 2 of {path}: {hint}"]


@pytest.mark.parametrize("text", [
    "app_id: a\napi_token: t\nbot_ids: 12\n",
    "apps:\n  - app_id: a\n    api_token: t\n    bot_ids: 12\n",
])
def test_a_lone_bot_id_in_the_file_is_that_one_bot(tmp_path, text):
    """YAML reads `bot_ids: 12` as an integer, not the text "12" that DESK_BOT_IDS=12 gives: it was refused as
    'expected comma-separated positive integer bot IDs (got 12)', a positive integer said not to be one."""
    settings = load_settings(write_yaml(tmp_path, text))
    assert [app.bot_ids for app in settings.desk_apps] == [[12]]
