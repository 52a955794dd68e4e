"""The settings a command's --help lists after its options, read from the Settings model itself (each
field's variable, default and description), so the help cannot drift from what is read."""

import textwrap
from enum import Enum

from otel_desk_receiver.cli import HELP_WIDTH
from otel_desk_receiver.config import Settings, env_name
from otel_desk_receiver.config.apps import APP_KEYS


def settings_help() -> str:
    """Every setting: its DESK_* variable, its default and what it does."""
    lines = ["settings (environment variables; in --config's YAML the same names in lower case without DESK_):"]
    for field_name, field in Settings.model_fields.items():
        text = f"{env_name(field_name)} (default {_shown(field.get_default(call_default_factory=True))}): " \
               f"{(field.description or '').replace('`', '')}"
        lines += textwrap.wrap(text, HELP_WIDTH - 2, initial_indent="  ", subsequent_indent="      ",
                               break_on_hyphens=False)
    apps = (f"apps (--config file only, several Desk apps): a list, each app with {', '.join(APP_KEYS)} "
            "(app_id or api_url, and api_token or api_token_file, required; max_rps and backfill default to "
            "DESK_MAX_RPS and DESK_BACKFILL); with apps, DESK_APP_ID, DESK_API_URL, DESK_API_TOKEN(_FILE) and DESK_BOT_IDS are "
            "not set: see the README")
    lines += textwrap.wrap(apps, HELP_WIDTH - 2, initial_indent="  ", subsequent_indent="      ",
                           break_on_hyphens=False)
    lines += ["  OTEL_*: the OpenTelemetry SDK's own variables (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS,",
              "      OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES...): see the README"]
    return "\n".join(lines)


def _shown(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "empty"
    return str(value) if str(value) else "empty"
