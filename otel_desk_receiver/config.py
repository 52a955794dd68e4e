"""Settings: DESK_* environment variables over an optional YAML file over defaults, validated once."""

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from otel_desk_receiver.desk.limits import MAX_PAGE_SIZE, RETENTION_DAYS
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import otlp_problems

ENV_PREFIX = "DESK_"
DEFAULT_API_URL = "https://desk-api-{app_id}.sendbird.com/platform/v1"
MAX_BACKFILL_DAYS = RETENTION_DAYS  # never ask for more than Desk keeps
DATADOG_MAX_AGE_H = 18  # contract.md: Datadog drops log records older than 18 h


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """What the receiver is told; every field is one DESK_ variable (README's table is generated from it)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True, hide_input_in_errors=True
    )

    app_id: str | None = Field(None, description="Sendbird application ID; required unless `DESK_API_URL` is set")
    api_token: SecretStr = Field(description="Desk API token (a secret: never printed or exported)")
    api_url: str | None = Field(
        None, description=f"Desk Platform API base URL; default `{DEFAULT_API_URL.replace('{app_id}', '{DESK_APP_ID}')}`"
    )
    bot_ids: Annotated[list[int] | None, NoDecode] = Field(
        None, description="Comma-separated bot IDs to watch; default every CUSTOM bot, listed again every 10 minutes"
    )
    poll_interval: float = Field(30.0, gt=0, le=86400, description="Seconds between poll cycles")
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Entries per Desk request, 1..500")
    backfill_days: int = Field(
        0, ge=0, le=MAX_BACKFILL_DAYS,
        description="For a bot with no saved state, days of history to read first (0: from now; at most 30)",
    )
    settle_grace: float = Field(
        60.0, ge=0, le=86400,
        description="Seconds past the bot's `timeoutSeconds` after which an entry still not terminal is emitted as it stands",
    )
    state_path: Path = Field(Path("./otel-desk-receiver.state.json"), description="Where the checkpoints live")
    max_rps: float = Field(2.0, gt=0, le=1000, description="Cap on requests per second to the Desk API")
    health_addr: str = Field("0.0.0.0:13133", description="`host:port` of `/healthz` and `/readyz`; empty turns them off")
    log_level: LogLevel = Field(LogLevel.INFO, description="The receiver's own log level")
    export_extra_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Entry fields beyond the documented ones to copy into `sendbird.desk.webhook_log.<field>` "
            "(comma-separated names, or `*` for every scalar field); opt-in: they may hold personal data"
        ),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # One precedence: environment, then the YAML file (init_settings carries it), then defaults.
        return env_settings, init_settings

    _split_bot_ids = field_validator("bot_ids", mode="before")(_split_csv)
    _split_extra_fields = field_validator("export_extra_fields", mode="before")(_split_csv)

    @field_validator("bot_ids", mode="after")
    @classmethod
    def _no_empty_bot_list(cls, value: list[int] | None) -> list[int] | None:
        return value or None

    @field_validator("health_addr")
    @classmethod
    def _check_health_addr(cls, value: str) -> str:
        if value:
            host, sep, port = value.rpartition(":")
            if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError("health_addr")
        return value

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("api_url")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _need_app_or_url(self) -> "Settings":
        if not self.app_id and not self.api_url:
            raise ValueError("app_id_or_url")
        return self

    @property
    def base_url(self) -> str:
        """The Desk API base URL, without a trailing slash."""
        return self.api_url or DEFAULT_API_URL.format(app_id=self.app_id)

    @property
    def health_host_port(self) -> tuple[str, int] | None:
        if not self.health_addr:
            return None
        host, _, port = self.health_addr.rpartition(":")
        return host or "0.0.0.0", int(port)


# What each setting accepts, for error lines: "DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '900')".
ACCEPTS = {
    "app_id": "the Sendbird application ID (or set DESK_API_URL)",
    "api_token": "the Desk API token (required)",
    "api_url": "an http:// or https:// URL",
    "bot_ids": "comma-separated integer bot IDs",
    "poll_interval": "a number of seconds, more than 0 and at most 86400",
    "page_size": "an integer from 1 to 500",
    "backfill_days": "an integer from 0 to 30",
    "settle_grace": "a number of seconds from 0 to 86400",
    "state_path": "a file path",
    "max_rps": "a number of requests per second, more than 0 and at most 1000",
    "health_addr": "host:port (port 0..65535), or empty to turn health endpoints off",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "export_extra_fields": "comma-separated field names, or *",
}
SECRET_FIELDS = {"api_token"}
APP_ID_LINE = "DESK_APP_ID: required unless DESK_API_URL is set (the Sendbird application ID)"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _problem_lines(error: ValidationError, config_file: Path | None) -> list[str]:
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == "extra_forbidden":
            where = f" in {config_file}" if config_file else ""
            lines.append(f"{field}: unknown setting{where}; known settings: {', '.join(Settings.model_fields)}")
        elif item["type"] == "missing":
            lines.append(f"{env_name(field)}: required, {ACCEPTS[field]}")
        elif field == "" or str(item.get("msg", "")).endswith("app_id_or_url"):
            lines.append(APP_ID_LINE)
        else:
            shown = "" if field in SECRET_FIELDS else f" (got {_raw_value(field, config_file)!r})"
            lines.append(f"{env_name(field)}: expected {ACCEPTS[field]}{shown}")
    return sorted(set(lines), key=lines.index)


def _raw_value(field: str, config_file: Path | None) -> Any:
    if env_name(field) in os.environ:
        return os.environ[env_name(field)]
    if config_file is not None:
        return _read_yaml(config_file).get(field)
    return None


def _read_yaml(config_file: Path) -> dict[str, Any]:
    source = YamlConfigSettingsSource(Settings, yaml_file=config_file)
    return dict(source.yaml_data)


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate settings; raise ConfigError with one line per problem (never the token)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError([f"--config: file not found: {config_file}"])
        try:
            file_values = _read_yaml(config_file)
        except Exception as exc:  # noqa: BLE001 - any YAML error is a config problem
            raise ConfigError([f"--config: {config_file} is not valid YAML ({type(exc).__name__})"]) from None
    problems = otlp_problems()
    try:
        settings = Settings(**file_values)
    except ValidationError as exc:
        lines = _problem_lines(exc, config_file)
        if not any(_raw_value(f, config_file) for f in ("app_id", "api_url")) and APP_ID_LINE not in lines:
            lines.insert(0, APP_ID_LINE)  # the model check runs only after field checks pass: report it too
        problems = lines + problems
    if problems:
        raise ConfigError(problems)
    return settings
