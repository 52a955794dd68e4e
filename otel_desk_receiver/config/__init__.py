"""The receiver's settings: DESK_* environment variables over an optional YAML file over defaults, validated once."""

from otel_desk_receiver.config.settings import (
    ACCEPTS,
    DATADOG_MAX_AGE_H,
    SECRET_FIELDS,
    ConfigError,
    LogLevel,
    Settings,
    StateBackendKind,
    config_warnings,
    env_name,
    load_settings,
    token_source,
)

__all__ = ["ACCEPTS", "DATADOG_MAX_AGE_H", "SECRET_FIELDS", "ConfigError", "LogLevel", "Settings", "StateBackendKind",
           "config_warnings", "env_name", "load_settings", "token_source"]
