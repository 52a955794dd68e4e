"""load_settings: the DESK_* settings from the environment over the --config file over defaults, and the
OTEL_* variables the file sets, validated once; ConfigError with one line per problem, each naming where
the value was given (`DESK_PAGE_SIZE`, or `page_size at line 4 of receiver.yaml`), never a secret.

Precedence: a DESK_* variable wins over the file's key (as before: the file is the base, a variable the
override). For OTEL_* names the file wins over the environment, as in OpenTelemetry's own configuration
file and the Collector's, where the file says what is used (a platform that injects OTEL_* variables into
every pod does not silently redirect the receiver); each variable the file overrides is a warning.
"""

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from otel_desk_receiver.config.apps import AppItem, AppSettings, read_apps
from otel_desk_receiver.config.problems import field_lines
from otel_desk_receiver.config.rules import APPS, REFUSED, broken_rules
from otel_desk_receiver.config.settings import Settings, env_name
from otel_desk_receiver.config.warnings import closest_name
from otel_desk_receiver.config_file import ConfigFile, read_config
from otel_desk_receiver.desk.token import TOKEN_FILE_VARIABLE, FileToken, FixedToken, read_token_file
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import RECEIVER_VARIABLES, otlp_problems
from otel_desk_receiver.redaction import hold, hold_user_info

OTEL_PREFIX = "OTEL_"


class Given:
    """Where each DESK_* setting was given and as what: its variable, else the file's key, else nowhere."""

    def __init__(self, environ: Mapping[str, str], config: ConfigFile | None):
        self._environ = environ
        self._file = config.values if config is not None else {}
        self._config = config

    def value(self, name: str) -> Any:
        if env_name(name) in self._environ:
            return self._environ[env_name(name)]
        return self._file.get(name)

    def where(self, name: str) -> str:
        """'DESK_PAGE_SIZE', or 'page_size at line 4 of receiver.yaml' when the value came from the file."""
        if env_name(name) not in self._environ and name in self._file and self._config is not None:
            return self._config.where(name)
        return env_name(name)

    def values(self, refused: set[str]) -> dict[str, Any]:
        """Every setting's value as given, or its default, REFUSED for those their field refused: what the
        rules across settings look at."""
        return {name: REFUSED if name in refused else self.value(name) if self.value(name) is not None
                else field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate settings; raise ConfigError with one line per problem (never the token)."""
    config = read_config(config_file) if config_file is not None else None
    desk_values = {key: value for key, value in (config.values if config else {}).items()
                   if not str(key).upper().startswith(OTEL_PREFIX)}
    otel_values, problems = _otel_values(config)
    given = Given(os.environ, config)
    apps: tuple[AppItem, ...] | None = None
    app_problems: list[str] = []
    if APPS in desk_values:  # the file's list of apps: validated here, each problem naming its item and key
        apps, app_problems = read_apps(desk_values.pop(APPS), Settings.model_fields, _item_where(config))
        desk_values[APPS] = apps
    try:
        settings = Settings(**desk_values)
    except ValidationError as error:
        settings = None
        refused = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        values = given.values(refused) | ({APPS: apps} if apps is not None else {})
        problems = broken_rules(values, given.where) + field_lines(error, Settings, given.where, given.value) \
            + problems
    problems += app_problems
    problems += _token_file_problems(given) if apps is None else _app_token_file_problems(apps)
    environ = {**os.environ, **otel_values}  # the file's OTEL_* values win
    problems += otlp_problems(environ, lambda name: config.where(name) if name in otel_values else name)
    if problems or settings is None:
        raise ConfigError(problems)
    settings._load_warnings = tuple(_apply(otel_values, config))
    # The secrets the settings hold are masked in every output from now on (redaction.py); the OTLP headers
    # the file set are in the environment now, where redaction reads them.
    hold(settings.api_token.get_secret_value() if settings.api_token else None)
    hold_user_info(settings.api_url)
    for item in apps or ():
        hold(item.values["api_token"].get_secret_value() if item.values.get("api_token") else None)
        hold_user_info(item.values.get("api_url"))
    return settings


def _item_where(config: ConfigFile | None) -> Callable[[str], str]:
    """How a key of `apps` is named: 'apps[1].max_rps at line 7 of receiver.yaml' when written, else 'apps[1].app_id'
    (a key left out of the item)."""
    return lambda key: config.where(key) if config is not None and key in config.lines else key


def _otel_values(config: ConfigFile | None) -> tuple[dict[str, str], list[str]]:
    """The OTEL_* variables the file sets, as the environment would hold them; a line per key that is none
    the receiver reads, or that holds a list or a mapping."""
    values, problems = {}, []
    for key, value in (config.values if config else {}).items():
        if not str(key).upper().startswith(OTEL_PREFIX):
            continue
        if key != key.upper():
            problems.append(f"{config.where(key)}: write an OTEL_* variable as the specification spells it, "
                            f"{key.upper()}")
        elif key not in RECEIVER_VARIABLES:
            hint = closest_name(key, sorted(RECEIVER_VARIABLES), OTEL_PREFIX)
            problems.append(f"{config.where(key)}: not an OpenTelemetry variable the receiver reads; {hint}")
        elif isinstance(value, (dict, list)):
            problems.append(f"{config.where(key)}: expected a single value, as the environment variable takes")
        else:
            values[key] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return values, problems


def _apply(otel_values: Mapping[str, str], config: ConfigFile | None) -> list[str]:
    """Put the file's OTEL_* values in the environment, where the OTLP senders and the SDK read them when
    they are built (after this); a warning per variable the environment held otherwise."""
    warnings = []
    for name, value in otel_values.items():
        if os.environ.get(name, value) != value:
            warnings.append(f"{name}: set in the environment and at {config.line_of(name)}; the file's value is used")
        os.environ[name] = value
    return warnings


def _token_file_problems(given: Given) -> list[str]:
    """A token file that cannot be used, read at start (when the token comes from one)."""
    token_file = given.value("api_token_file")
    if not token_file or given.value("api_token"):
        return []
    try:
        read_token_file(Path(token_file))
    except ConfigError as error:
        return error.problems
    return []


def _app_token_file_problems(apps: tuple[AppItem, ...]) -> list[str]:
    """Each app's token file that cannot be used, read at start, naming the item's key."""
    problems = []
    for item in apps:
        if item.values.get("api_token_file") is not None:
            try:
                read_token_file(item.values["api_token_file"], item.token_key)
            except ConfigError as error:
                problems += error.problems
    return problems


def token_source(app: "AppSettings | Settings") -> "SecretStr | Callable[[], str]":
    """What DeskClient takes for one app: its token as is, or its token file read now (ConfigError if it cannot
    be used) and again whenever the file changes; an error about it names the app's key (DESK_API_TOKEN or
    DESK_API_TOKEN_FILE for the single app of the DESK_* settings). Given the Settings, their first app."""
    if isinstance(app, Settings):
        app = app.desk_apps[0]
    if app.api_token_file is not None:
        return FileToken(app.api_token_file, app.token_key or TOKEN_FILE_VARIABLE)
    if app.token_key:
        return FixedToken(app.api_token, app.token_key)
    return app.api_token
