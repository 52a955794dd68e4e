"""The settings run --help lists, from the Settings model: every field once, in order, with its default."""

import re

from otel_desk_receiver.commands.help_text import settings_help
from otel_desk_receiver.config import Settings, env_name
from otel_desk_receiver.config.apps import APP_KEYS


def test_every_setting_is_listed_once_in_the_models_order_with_its_default():
    text = settings_help()
    listed = re.findall(r"^  (DESK_\w+) \(default ([^)]*)\): ", text, re.M)
    assert [name for name, _ in listed] == [env_name(field) for field in Settings.model_fields]
    defaults = dict(listed)
    assert defaults["DESK_POLL_INTERVAL"] == "30" and defaults["DESK_API_TOKEN"] == "unset"
    assert defaults["DESK_EXPORT_EXTRA_FIELDS"] == "empty" and defaults["DESK_STATE_BACKEND"] == "file"
    assert "`" not in text and max(map(len, text.splitlines())) <= 100


def test_the_apps_list_of_the_config_file_is_named_with_every_key_an_app_takes():
    text = " ".join(settings_help().split())
    assert "apps (--config file only, several Desk apps): a list" in text
    assert all(key in text.split("apps (--config", 1)[1] for key in APP_KEYS)
