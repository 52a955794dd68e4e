"""Settings: DESK_* environment variables over an optional YAML file over defaults, validated once."""

import difflib
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from otel_desk_receiver.config_file import read_config_file
from otel_desk_receiver.desk.limits import MAX_PAGE_SIZE, RETENTION_DAYS
from otel_desk_receiver.desk.token import FileToken, read_token_file
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otel_env import otlp_problems, otlp_warnings
from otel_desk_receiver.redaction import hold, hold_user_info, redact_text

ENV_PREFIX = "DESK_"
DEFAULT_API_URL = "https://desk-api-{app_id}.sendbird.com/platform/v1"
MAX_BACKFILL_DAYS = RETENTION_DAYS  # never ask for more than Desk keeps
DATADOG_MAX_AGE_H = 18  # docs/delivery.md#what-backends-demand: Datadog drops records older than 18 h
SHOWN_MAX_CHARS = 120  # a bad value quoted in an error line


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


# Accepted in any case, as logging and most tools spell them too.
LOG_LEVEL_ALIASES = {"WARN": LogLevel.WARNING, "FATAL": LogLevel.CRITICAL}


class StateBackendKind(str, Enum):
    FILE = "file"
    KUBERNETES = "kubernetes"


KUBE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"  # DNS-1123 subdomain: ConfigMap and Lease names
KUBE_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # DNS-1123 label: namespace names


_DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _duration_s(value: Any) -> Any:
    """'18h', '7d', '90m', '3600s' or a bare number of seconds -> seconds; anything else stays for the
    field's validation to refuse."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text and text[-1] in _DURATION_UNITS_S and text[:-1].replace(".", "", 1).isdigit():
            return float(text[:-1]) * _DURATION_UNITS_S[text[-1]]
        if text.replace(".", "", 1).isdigit():
            return float(text)
        raise ValueError("backfill")
    return value


def url_problem(url: str) -> str | None:
    """What makes ``url`` unusable as the Desk base URL, or None. Checked at start, so that a URL that would
    fail every request (or raise inside requests) is one line naming DESK_API_URL, exit 2: the scheme, a
    host, a port in range, no query or fragment (the receiver appends paths and its own query) and no
    whitespace or control character (requests would send it, or refuse it, on every cycle)."""
    if any(char.isspace() or not char.isprintable() for char in url):
        return "whitespace or control character"
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of range or not a number ("host:1:2")
    except ValueError as error:
        return str(error)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "scheme or host"
    if port == 0:
        return "port"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "query or fragment"
    return None


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
    api_token: SecretStr | None = Field(
        None,
        description="Desk API token (a secret: never printed or exported); this or `DESK_API_TOKEN_FILE` is required",
    )
    api_token_file: Path | None = Field(
        None, description="A file holding the Desk API token instead (a mounted Kubernetes Secret, say), read at start "
                          "and again whenever it changes"
    )
    api_url: str | None = Field(
        None, description=f"Desk Platform API base URL; default `{DEFAULT_API_URL.replace('{app_id}', '{DESK_APP_ID}')}`"
    )
    bot_ids: Annotated[list[int] | None, NoDecode] = Field(
        None, description="Comma-separated bot IDs to watch; default every CUSTOM bot, listed again every `DESK_BOT_LIST_INTERVAL`"
    )
    poll_interval: float = Field(30.0, gt=0, le=86400, description="Seconds between poll cycles")
    bot_list_interval: Annotated[float, BeforeValidator(_duration_s)] = Field(
        600.0, ge=1, le=86_400,
        description="How often the bot list (each bot's name, `timeoutSeconds` and unread-error flag, and which "
                    "bots exist) is read again, as a duration: `10m`, `600s` (1 s to `1d`)",
    )
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Entries per Desk request, 1..500")
    backfill_days: int = Field(
        0, ge=0, le=MAX_BACKFILL_DAYS,
        description="For a bot with no saved state, days of history to read first (0: from now; at most 30); "
                    "`DESK_BACKFILL` says the same as a duration",
    )
    backfill: Annotated[float | None, BeforeValidator(_duration_s)] = Field(
        None, ge=0, le=MAX_BACKFILL_DAYS * 86_400,
        description="For a bot with no saved state, how far back to read first, as a duration: `18h`, `7d`, "
                    "`90m`, `3600s` (0: from now; at most `30d`); instead of `DESK_BACKFILL_DAYS`",
    )
    settle_grace: float = Field(
        60.0, ge=0, le=86400,
        description="Seconds past the bot's `timeoutSeconds` after which an entry still not terminal is emitted as it stands",
    )
    state_path: Path = Field(Path("./otel-desk-receiver.state.json"), description="Where the checkpoints live")
    max_rps: float = Field(2.0, gt=0, le=1000, description="Cap on requests per second to the Desk API")
    health_addr: str = Field("0.0.0.0:13133", description="`host:port` of `/healthz` and `/readyz`; empty turns them off")
    log_level: LogLevel = Field(
        LogLevel.INFO, description="The receiver's own log level: `DEBUG`, `INFO`, `WARNING` (or `WARN`), `ERROR`, "
                                   "`CRITICAL` (or `FATAL`), in any case"
    )
    export_extra_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Entry fields beyond the documented ones to copy into `sendbird.desk.webhook_log.<field>` "
            "(comma-separated names, or `*` for every scalar field); opt-in: they may hold personal data"
        ),
    )
    # --- High availability (issue 13): where the state lives, and leader election on a Kubernetes Lease.
    state_backend: StateBackendKind = Field(
        StateBackendKind.FILE, description="Where the checkpoints live: `file` (`DESK_STATE_PATH`) or `kubernetes` "
                                           "(a ConfigMap, `DESK_STATE_CONFIGMAP`: no volume needed)")
    state_configmap: str = Field(
        "otel-desk-receiver-state", min_length=1, max_length=253, pattern=KUBE_NAME_PATTERN,
        description="With the `kubernetes` backend, the ConfigMap holding the checkpoints (created if missing)")
    kubernetes_namespace: str | None = Field(
        None, min_length=1, max_length=63, pattern=KUBE_LABEL_PATTERN,
        description="Namespace of the ConfigMap and the Lease; default `POD_NAMESPACE`, else the service "
                    "account's namespace file, else the kubeconfig context's")
    leader_election: bool | None = Field(
        None, description="Poll only while holding a Kubernetes Lease (hot standby for the other replicas); "
                          "default on with the `kubernetes` backend, off with `file`")
    leader_election_lease_name: str = Field(
        "otel-desk-receiver-leader", min_length=1, max_length=253, pattern=KUBE_NAME_PATTERN,
        description="The `coordination.k8s.io/v1` Lease campaigned for")
    leader_election_lease_duration: int = Field(
        15, ge=1, le=3600, description="Seconds a standby waits, from the last renewal it saw, before taking over "
                                       "(client-go `leaseDuration`)")
    leader_election_retry_period: float = Field(
        2.0, gt=0, le=3600, description="Seconds between attempts to acquire or renew (client-go `retryPeriod`)")
    leader_election_renew_deadline: float = Field(
        10.0, gt=0, le=3600, description="Seconds a leader keeps polling without a successful renewal before it "
                                         "stops (client-go `renewDeadline`); less than the lease duration, more "
                                         "than 1.2 x the retry period")
    otlp_headers_file: Path | None = Field(
        None, description="A file of OTLP request headers (`key=value,...` as in `OTEL_EXPORTER_OTLP_HEADERS`, "
                          "a mounted Secret, say), added to every OTLP request, read at start and whenever it changes"
    )

    @field_validator("leader_election_renew_deadline")
    @classmethod
    def _renew_deadline_between(cls, value: float, info: ValidationInfo) -> float:
        # client-go's NewLeaderElector: leaseDuration > renewDeadline > JitterFactor (1.2) x retryPeriod.
        lease, retry = info.data.get("leader_election_lease_duration"), info.data.get("leader_election_retry_period")
        if lease is not None and retry is not None and not lease > value > 1.2 * retry:
            raise ValueError("leader_election_renew_deadline")
        return value

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case_log_level(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            return LOG_LEVEL_ALIASES.get(value, value)
        return value

    @field_validator("api_token", mode="after")
    @classmethod
    def _empty_token_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @field_validator("bot_ids", mode="after")
    @classmethod
    def _no_empty_bot_list(cls, value: list[int] | None) -> list[int] | None:
        if value and any(bot_id <= 0 for bot_id in value):
            raise ValueError("bot_ids")
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
        if value is not None and url_problem(value):
            raise ValueError("api_url")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _need_app_or_url(self) -> "Settings":
        if not self.app_id and not self.api_url:
            raise ValueError("app_id_or_url")
        return self

    @model_validator(mode="after")
    def _exactly_one_token(self) -> "Settings":
        if (self.api_token is None) == (self.api_token_file is None):
            raise ValueError("token_missing" if self.api_token is None else "token_both")
        return self

    @model_validator(mode="after")
    def _one_backfill(self) -> "Settings":
        if self.backfill is not None and self.backfill_days:
            raise ValueError("one_backfill")
        return self

    @property
    def backfill_s(self) -> float:
        """How far back a bot with no saved state is read first, in seconds."""
        return self.backfill if self.backfill is not None else self.backfill_days * 86_400.0

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
    "api_token": "the Desk API token",
    "api_token_file": "the path of a file holding the Desk API token",
    "otlp_headers_file": "the path of a file of OTLP headers as key=value,key2=value2",
    "api_url": ("an http:// or https:// URL with a host, an optional port from 1 to 65535 and a path; no query, "
                "fragment, spaces or control characters"),
    "bot_ids": "comma-separated positive integer bot IDs",
    "poll_interval": "a number of seconds, more than 0 and at most 86400",
    "bot_list_interval": "a duration such as 10m, 90s or 1h, from 1s to 1d",
    "page_size": "an integer from 1 to 500",
    "backfill_days": "an integer from 0 to 30",
    "backfill": "a duration such as 18h, 7d, 90m or 3600s, from 0 to 30d",
    "settle_grace": "a number of seconds from 0 to 86400",
    "state_path": "a file path",
    "max_rps": "a number of requests per second, more than 0 and at most 1000",
    "health_addr": "host:port (port 0..65535), or empty to turn health endpoints off",
    "log_level": "one of DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL (or FATAL), in any case",
    "export_extra_fields": "comma-separated field names, or *",
    "state_backend": "file or kubernetes",
    "state_configmap": "a ConfigMap name (lowercase letters, digits, '-' and '.', at most 253)",
    "kubernetes_namespace": "a namespace name (lowercase letters, digits and '-', at most 63)",
    "leader_election": "true or false",
    "leader_election_lease_name": "a Lease name (lowercase letters, digits, '-' and '.', at most 253)",
    "leader_election_lease_duration": "a whole number of seconds from 1 to 3600",
    "leader_election_retry_period": "a number of seconds, more than 0 and at most 3600",
    "leader_election_renew_deadline": ("a number of seconds less than DESK_LEADER_ELECTION_LEASE_DURATION and more "
                                       "than 1.2 x DESK_LEADER_ELECTION_RETRY_PERIOD (client-go's rule)"),
}
SECRET_FIELDS = {"api_token"}
APP_ID_LINE = "DESK_APP_ID: required unless DESK_API_URL is set (the Sendbird application ID)"
TOKEN_LINES = {
    "token_missing": "DESK_API_TOKEN: required (the Desk API token), or DESK_API_TOKEN_FILE (a file holding it)",
    "token_both": "DESK_API_TOKEN, DESK_API_TOKEN_FILE: both set; set one of them",
}


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
        elif (model_check := str(item.get("msg", "")).rpartition(" ")[2]) in TOKEN_LINES:
            lines.append(TOKEN_LINES[model_check])
        elif model_check == "one_backfill":
            lines.append("DESK_BACKFILL, DESK_BACKFILL_DAYS: set one of them (DESK_BACKFILL=7d says DESK_BACKFILL_DAYS=7)")
        elif field == "" or model_check == "app_id_or_url":
            lines.append(APP_ID_LINE)
        else:
            shown = "" if field in SECRET_FIELDS else f" (got {_shown(_raw_value(field, config_file))})"
            lines.append(f"{env_name(field)}: expected {ACCEPTS[field]}{shown}")
    return sorted(set(lines), key=lines.index)


def _raw_value(field: str, config_file: Path | None) -> Any:
    if env_name(field) in os.environ:
        return os.environ[env_name(field)]
    if config_file is not None:
        return read_config_file(config_file).get(field)
    return None


def _shown(value: Any) -> str:
    """A bad value as an error line quotes it: URL user info masked, cut to SHOWN_MAX_CHARS."""
    text = redact_text(repr(value), ())
    return text if len(text) <= SHOWN_MAX_CHARS else text[:SHOWN_MAX_CHARS - 3] + "..."


def load_settings(config_file: Path | None = None) -> Settings:
    """Read and validate settings; raise ConfigError with one line per problem (never the token)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError([f"--config: file not found: {config_file}"])
        try:
            file_values = read_config_file(config_file)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - any YAML error is a config problem
            raise ConfigError([f"--config: {config_file} is not valid YAML ({type(exc).__name__})"]) from None
    problems = otlp_problems()
    try:
        settings = Settings(**file_values)
    except ValidationError as exc:
        lines = _problem_lines(exc, config_file)
        # The model checks run only after the field checks pass: report what they would say too.
        if not any(_raw_value(f, config_file) for f in ("app_id", "api_url")) and APP_ID_LINE not in lines:
            lines.insert(0, APP_ID_LINE)
        lines += [line for line in _token_lines(config_file) if line not in lines]
        problems = lines + problems
    else:
        problems = _token_lines(config_file) + problems
    if problems:
        raise ConfigError(problems)
    # The secrets the settings hold are masked in every output from now on (redaction.py).
    hold(settings.api_token.get_secret_value() if settings.api_token else None)
    hold_user_info(settings.api_url)
    return settings


def _token_lines(config_file: Path | None) -> list[str]:
    """What is wrong with how the token is given: neither or both variables, or a file that cannot be used."""
    token, token_file = _raw_value("api_token", config_file), _raw_value("api_token_file", config_file)
    if bool(token) == bool(token_file):
        return [TOKEN_LINES["token_both" if token else "token_missing"]]
    if token_file:
        try:
            read_token_file(Path(token_file))
        except ConfigError as error:
            return error.problems
    return []


def token_source(settings: Settings) -> "SecretStr | Callable[[], str]":
    """What DeskClient takes: DESK_API_TOKEN as is, or DESK_API_TOKEN_FILE read now (ConfigError if it cannot
    be used) and again whenever the file changes."""
    if settings.api_token_file is not None:
        return FileToken(settings.api_token_file)
    return settings.api_token


def unknown_variable_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per DESK_* variable that is no setting (a typo is otherwise ignored in silence), with the
    closest real name; the known names come from the Settings fields, so a new setting is known at once."""
    env = os.environ if environ is None else environ
    known = [env_name(field) for field in Settings.model_fields]
    lines = []
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            lines.append(f"{name}: not a setting of this receiver, ignored; {closest_name(name, known, ENV_PREFIX)}")
    return lines


def closest_name(name: str, known: list[str], prefix: str) -> str:
    """'did you mean X?' for the known name closest to ``name``, compared without the prefix they share
    (which would make every name look alike); else the list of known names."""
    suffixes = {known_name.removeprefix(prefix): known_name for known_name in known}
    close = difflib.get_close_matches(name.removeprefix(prefix), list(suffixes), n=1, cutoff=0.6)
    return f"did you mean {suffixes[close[0]]}?" if close else f"known: {', '.join(known)}"


def config_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """Variables that look meant for the receiver but are ignored: unknown DESK_* names and misspelt
    OTEL_EXPORTER_OTLP_* ones. `run` logs each at start, `check` lists them."""
    return unknown_variable_warnings(environ) + otlp_warnings(environ)
