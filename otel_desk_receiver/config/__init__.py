"""The receiver's settings: DESK_* environment variables over an optional YAML file over defaults, validated once.

apps.py      the --config file's `apps` (several Desk apps, issue 21) and AppSettings, one app as it is polled
settings.py  the Settings model: each field with its default, bounds and accepted values in words
kinds.py     what a setting accepts (Accepts, Duration), its range written from the field's own bounds
rules.py     the rules across settings (a token or a token file, one backfill, client-go's lease timings)
problems.py  a refused value as the line a user reads
load.py      load_settings: environment over --config file over defaults, OTEL_* from the file too
warnings.py  names that look meant for the receiver but are ignored
"""

from otel_desk_receiver.config.apps import AppSettings
from otel_desk_receiver.config.load import load_settings, token_source
from otel_desk_receiver.config.settings import (
    DATADOG_MAX_AGE_H,
    SECRET_FIELDS,
    LogLevel,
    Settings,
    StateBackendKind,
    env_name,
)
from otel_desk_receiver.config.warnings import config_warnings
from otel_desk_receiver.errors import ConfigError

__all__ = ["AppSettings", "DATADOG_MAX_AGE_H", "SECRET_FIELDS", "ConfigError", "LogLevel", "Settings",
           "StateBackendKind", "config_warnings", "env_name", "load_settings", "token_source"]
