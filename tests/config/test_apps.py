"""Several Desk apps in one receiver (issue 21): the --config file's `apps` list as AppSettings, each item's
problems one line naming the item, key and line, every problem at once; without `apps` the DESK_* single app."""

from pathlib import Path

import pytest

from otel_desk_receiver.config import AppSettings, Settings, load_settings, token_source
from otel_desk_receiver.config.apps import app_label
from otel_desk_receiver.desk.token import FileToken
from otel_desk_receiver.errors import ConfigError
from tests.harness.paths import REPO

TWO_APPS = """\
poll_interval: 1m
max_rps: 4
backfill: 2h
apps:
  - app_id: 6B0C1A2E
    api_token_file: {eu}
    bot_ids: [12, 14]
  - api_url: https://user:pw@desk.example.com:8443/platform/v1/
    api_token: us-token-1f2e
    bot_ids: "3,4"
    max_rps: 1
    backfill: 7d
"""


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "receiver.yaml"
    path.write_text(text)
    return path


def token_file(tmp_path: Path, name: str = "eu-token", content: str = "eu-token-9a8b\n") -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_two_apps_each_with_its_own_token_bots_budget_and_backfill(tmp_path):
    eu = token_file(tmp_path)
    settings = load_settings(write_yaml(tmp_path, TWO_APPS.format(eu=eu)))
    first, second = settings.desk_apps
    assert settings.per_app_names is True
    assert first == AppSettings(label="6B0C1A2E", app_id="6B0C1A2E",
                                base_url="https://desk-api-6B0C1A2E.sendbird.com/platform/v1", api_token=None,
                                api_token_file=eu, bot_ids=[12, 14], max_rps=4, backfill_s=7200,
                                backfill_as_given="2h", where="app 6B0C1A2E", token_key=first.token_key)
    assert (second.label, second.app_id, second.base_url) == (
        "desk.example.com:8443", None, "https://user:pw@desk.example.com:8443/platform/v1")
    assert second.api_token.get_secret_value() == "us-token-1f2e" and second.api_token_file is None
    assert (second.bot_ids, second.max_rps, second.backfill_s, second.backfill_as_given) == ([3, 4], 1, 604_800, "7d")
    assert second.where == "app desk.example.com:8443"
    assert settings.poll_interval == 60  # everything else stays process-wide


def test_without_apps_the_single_app_comes_from_the_desk_variables(monkeypatch):
    monkeypatch.setenv("DESK_API_URL", "http://user:pw@127.0.0.1:9/platform/v1")
    monkeypatch.setenv("DESK_API_TOKEN", "tok-single-1")
    monkeypatch.setenv("DESK_BOT_IDS", "5")
    monkeypatch.setenv("DESK_BACKFILL_DAYS", "2")
    settings = load_settings()
    (app,) = settings.desk_apps
    assert settings.per_app_names is False
    assert (app.label, app.app_id, app.base_url, app.bot_ids, app.max_rps) == (
        app_label(settings.app_id, settings.base_url), None, settings.base_url, [5], settings.max_rps)
    assert app.label == "127.0.0.1:9" and app.api_token == settings.api_token and app.api_token_file is None
    assert (app.backfill_s, app.backfill_as_given, app.where) == (172_800, "2 day(s)", "app 127.0.0.1:9")
    assert token_source(app) == settings.api_token  # as today: the token itself


def test_settings_take_apps_directly_too():
    settings = Settings(apps=[{"app_id": "a1", "api_token": "t1"}, {"app_id": "a2", "api_token": "t2",
                                                                     "max_rps": 0.5}])
    assert [(app.label, app.max_rps) for app in settings.desk_apps] == [("a1", 2.0), ("a2", 0.5)]
    assert settings.per_app_names and settings.model_copy().desk_apps == settings.desk_apps
    with pytest.raises(ValueError, match=r"apps\[1\]: app a1 is listed twice"):
        Settings(apps=[{"app_id": "a1", "api_token": "t1"}, {"app_id": "a1", "api_token": "t2"}])


def test_an_apps_token_file_names_the_apps_key_when_it_cannot_be_used(tmp_path):
    eu = token_file(tmp_path)
    path = write_yaml(tmp_path, TWO_APPS.format(eu=eu))
    first, _second = load_settings(path).desk_apps
    source = token_source(first)
    assert isinstance(source, FileToken) and source() == "eu-token-9a8b"
    assert source.variable == f"apps[0].api_token_file at line 6 of {path} (app 6B0C1A2E)"
    eu.write_text("")
    assert source.refresh() is False and source() == "eu-token-9a8b"  # the last good token is kept


def test_an_inline_apps_token_names_its_key_when_desk_refuses_it(tmp_path):
    path = write_yaml(tmp_path, TWO_APPS.format(eu=token_file(tmp_path)))
    _first, second = load_settings(path).desk_apps
    source = token_source(second)
    assert source() == "us-token-1f2e"
    assert source.variable == f"apps[1].api_token at line 9 of {path} (app desk.example.com:8443)"
    assert "us-token-1f2e" not in repr(source) + str(second)


def at(path: Path, key: str, line: int) -> str:
    return f"{key} at line {line} of {path}"


# label, the file (with {eu}: a readable token file), the lines expected ({path}: the file)
INVALID = [
    ("top-level app keys beside apps", "app_id: x\nbot_ids: [1]\napps:\n  - app_id: a\n    api_token: t\n",
     ["app_id at line 1 of {path}, bot_ids at line 2 of {path}: set beside apps at line 3 of {path}; "
      "with apps, set them in each app"]),
    ("an empty list", "apps: []\n",
     ["apps at line 1 of {path}: expected a list of apps, each a mapping with app_id or api_url and api_token "
      "or api_token_file (got an empty list)"]),
    ("not a list", "apps: eu\n",
     ["apps at line 1 of {path}: expected a list of apps, each a mapping with app_id or api_url and api_token "
      "or api_token_file (got 'eu')"]),
    ("an item that is no mapping", "apps:\n  - eu\n",
     ["apps[0] at line 2 of {path}: expected a mapping with app_id or api_url and api_token or api_token_file "
      "(got 'eu')"]),
    ("an unknown key", "apps:\n  - app_id: a\n    api_token: t\n    page_size: 5\n",
     ["apps[0].page_size at line 4 of {path}: not a key of an app; an app takes app_id, api_url, api_token, "
      "api_token_file, bot_ids, max_rps, backfill (page_size is process-wide: set it at the top level)"]),
    ("a misspelt key", "apps:\n  - app_id: a\n    api_token: t\n    bot_id: [1]\n",
     ["apps[0].bot_id at line 4 of {path}: not a key of an app; did you mean bot_ids? an app takes app_id, "
      "api_url, api_token, api_token_file, bot_ids, max_rps, backfill"]),
    ("no app id nor URL", "apps:\n  - api_token: t\n",
     ["apps[0].app_id: required unless apps[0].api_url is set (the Sendbird application ID)"]),
    ("no token", "apps:\n  - app_id: a\n",
     ["apps[0].api_token: required (the Desk API token), or apps[0].api_token_file (a file holding it)"]),
    ("both tokens", "apps:\n  - app_id: a\n    api_token: t\n    api_token_file: {eu}\n",
     ["apps[0].api_token at line 3 of {path}, apps[0].api_token_file at line 4 of {path}: both set; "
      "set one of them"]),
    ("bad values", "apps:\n  - app_id: a\n    api_token: t\n    max_rps: 0\n    bot_ids: [0]\n    backfill: 40d\n",
     ["apps[0].max_rps at line 4 of {path}: expected a number of requests per second, more than 0 and at most "
      "1000 (got 0)",
      "apps[0].bot_ids at line 5 of {path}: expected comma-separated positive integer bot IDs (got [0])",
      "apps[0].backfill at line 6 of {path}: expected a duration such as 18h, 7d, 90m or 3600s, from 0 to 30d "
      "(got '40d')"]),
    ("a bad URL", "apps:\n  - api_url: ftp://x\n    api_token: t\n",
     ["apps[0].api_url at line 2 of {path}: expected an http:// or https:// URL with a host, an optional port "
      "from 1 to 65535 and a path; no query, fragment, spaces or control characters (got 'ftp://x')"]),
    ("an unusable token", "apps:\n  - app_id: a\n    api_token: two words-8d7e\n",
     ["apps[0].api_token at line 3 of {path}: expected the Desk API token, printable ASCII without spaces"]),
    ("a token file not found", "apps:\n  - app_id: a\n    api_token: t\n  - app_id: b\n"
                               "    api_token_file: /nowhere/token\n",
     ["apps[1].api_token_file at line 5 of {path}: file not found: /nowhere/token"]),
    ("one app twice", "apps:\n  - app_id: a\n    api_token: t\n  - app_id: a\n    api_token_file: {eu}\n",
     ["apps[1] at line 4 of {path}: app a is listed twice (first apps[0] at line 2 of {path}); list each app once"]),
    ("one API host twice", "apps:\n  - api_url: http://h:1/v1\n    api_token: t\n  - api_url: http://u@h:1/v2\n"
                           "    api_token: t\n",
     ["apps[1] at line 4 of {path}: app h:1 is listed twice (first apps[0] at line 2 of {path}); "
      "list each app once"]),
    # Desk's hosts (desk-api-<app_id>.sendbird.com) ignore case: one app twice, each entry sent and counted twice.
    ("one app in two cases", "apps:\n  - app_id: 6b0c1a2e\n    api_token: t\n  - app_id: 6B0C1A2E\n"
                             "    api_token: t\n",
     ["apps[1] at line 4 of {path}: app 6B0C1A2E is listed twice (first apps[0] at line 2 of {path}); "
      "list each app once"]),
    ("every problem at once", "app_id: x\napps:\n  - app_id: a\n    api_token: t\n    max_rps: -1\n"
                              "  - api_token: t\npage_size: 0\n",
     ["app_id at line 1 of {path}: set beside apps at line 2 of {path}; with apps, set them in each app",
      "page_size at line 7 of {path}: expected an integer from 1 to 500 (got 0)",
      "apps[0].max_rps at line 5 of {path}: expected a number of requests per second, more than 0 and at most "
      "1000 (got -1)",
      "apps[1].app_id: required unless apps[1].api_url is set (the Sendbird application ID)"]),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_a_bad_app_is_one_line_naming_the_item_and_key(tmp_path, text, expected):
    eu = token_file(tmp_path)
    path = write_yaml(tmp_path, text.format(eu=eu))
    assert problems(path) == [line.format(path=path) for line in expected]


def test_a_desk_variable_beside_apps_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_API_TOKEN", "env-token-3c4d")
    monkeypatch.setenv("DESK_APP_ID", "x")
    path = write_yaml(tmp_path, "apps:\n  - app_id: a\n    api_token: t\n")
    assert problems(path) == [f"DESK_APP_ID, DESK_API_TOKEN: set beside apps at line 1 of {path}; "
                              "with apps, set them in each app"]


def test_an_apps_token_is_never_in_an_error_line(tmp_path):
    path = write_yaml(tmp_path, "apps:\n  - app_id: a\n    api_token: [secret-5e6f]\n    nope: 1\n")
    text = "\n".join(problems(path))
    assert "secret-5e6f" not in text and "apps[0].api_token at line 3" in text


def test_the_documented_example_loads_and_its_error_lines_are_the_ones_given(tmp_path):
    """docs/configuration.md#several-desk-apps: its YAML is two apps as described, and the lines it quotes are
    what the receiver says of that file."""
    section = (REPO / "docs" / "configuration.md").read_text().split("## Several Desk apps", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    for region in ("eu", "us"):
        example = example.replace(f"/var/run/secrets/desk-{region}/token", str(token_file(tmp_path, region)))
    path = write_yaml(tmp_path, example)
    eu, us = load_settings(path).desk_apps
    assert (eu.bot_ids, eu.max_rps, eu.backfill_s, us.bot_ids, us.max_rps, us.backfill_as_given) == (
        [12, 14], 2, 0, None, 1, "7d")
    (tmp_path / "us").unlink()
    (line,) = problems(path)
    assert line.replace(str(path), "receiver.yaml").replace(str(tmp_path / "us"), "/var/run/secrets/desk-us/token") \
        in section
    assert f"check {us.token_key} ".replace(str(path), "receiver.yaml") in section
    token_file(tmp_path, "us")
    path.write_text(example.replace("bot_ids: [12, 14]", "bot_id: [12, 14]"))
    (line,) = problems(path)
    assert line.replace(str(path), "receiver.yaml") in section
