"""Settings: the DESK_* settings, each field with its default, bounds and accepted values in words (Accepts),
and the rules across them (rules.py); a Settings object that breaks one cannot be built."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, SecretStr, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from otel_desk_receiver.config.apps import DEFAULT_API_URL, AppItem, AppSettings, read_apps, single_app
from otel_desk_receiver.config.kinds import Accepts, Duration, setting_duration, given_text, parse_duration
from otel_desk_receiver.config.rules import APPS, RULE_ERROR, broken_rules
from otel_desk_receiver.desk.limits import MAX_PAGE_SIZE, RETENTION_DAYS

ENV_PREFIX = "DESK_"
MAX_BACKFILL_DAYS = RETENTION_DAYS  # never ask for more than Desk keeps
DATADOG_MAX_AGE_H = 18  # docs/delivery.md#what-backends-demand: Datadog drops records older than 18 h
DAY_S = 86_400
SECRET_FIELDS = {"api_token"}  # never shown: not in an error line, not by check


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
KUBE_NAME_WORDS = "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
KUBE_LABEL_WORDS = "lowercase letters, digits and '-', starting and ending with a letter or digit"


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
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]  # YAML's `bot_ids: 12`: the one item, as DESK_BOT_IDS=12 gives it
    return value


def _positive_ids(value: list[int] | None) -> list[int] | None:
    if value and any(bot_id <= 0 for bot_id in value):
        raise ValueError("a bot ID is a positive integer")
    return value or None  # an empty list: every bot


def _any_case_log_level(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().upper()
        return LOG_LEVEL_ALIASES.get(value, value)
    return value


def _empty_is_unset(value: SecretStr | None) -> SecretStr | None:
    return value if value is not None and value.get_secret_value() else None


def _host_port(value: str) -> str:
    if value:
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("not host:port")
    return value


def _usable_url(value: str | None) -> str | None:
    if value is not None and url_problem(value):
        raise ValueError(url_problem(value))
    return value.rstrip("/") if value else value


URL_WORDS = ("an http:// or https:// URL with a host, an optional port from 1 to 65535 and a path; no query, "
             "fragment, spaces or control characters")


class Settings(BaseSettings):
    """What the receiver is told; every field is one DESK_ variable (README's table is generated from it)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True, hide_input_in_errors=True
    )

    app_id: Annotated[str | None, Accepts("the Sendbird application ID (or set DESK_API_URL)")] = Field(
        None, description="Sendbird application ID; required unless `DESK_API_URL` is set")
    api_token: Annotated[SecretStr | None, AfterValidator(_empty_is_unset), Accepts("the Desk API token")] = Field(
        None,
        description="Desk API token (a secret: never printed or exported); this or `DESK_API_TOKEN_FILE` is required",
    )
    api_token_file: Annotated[Path | None, Accepts("the path of a file holding the Desk API token")] = Field(
        None, description="A file holding the Desk API token instead (a mounted Kubernetes Secret, say), read at start "
                          "and again whenever it changes"
    )
    api_url: Annotated[str | None, AfterValidator(_usable_url), Accepts(URL_WORDS)] = Field(
        None, description=f"Desk Platform API base URL; default `{DEFAULT_API_URL.replace('{app_id}', '{DESK_APP_ID}')}`"
    )
    bot_ids: Annotated[list[int] | None, NoDecode, BeforeValidator(_split_csv), AfterValidator(_positive_ids),
                       Accepts("comma-separated positive integer bot IDs")] = Field(
        None, description="Comma-separated bot IDs to watch; default every CUSTOM bot, listed again every `DESK_BOT_LIST_INTERVAL`"
    )
    poll_interval: Annotated[float, Duration("30s", "5m", "1h")] = Field(
        30.0, gt=0, le=DAY_S, description="Time between poll cycles, as a duration: `30s`, `5m` (a bare number: "
                                          "seconds; at most `1d`)")
    bot_list_interval: Annotated[float, Duration("10m", "90s", "1h")] = Field(
        600.0, ge=1, le=DAY_S,
        description="How often the bot list (each bot's name, `timeoutSeconds` and unread-error flag, and which "
                    "bots exist) is read again, as a duration: `10m`, `600s` (1 s to `1d`)",
    )
    page_size: Annotated[int, Accepts("an integer")] = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Entries per Desk request, 1..500")
    backfill_days: Annotated[int, Accepts("an integer")] = Field(
        0, ge=0, le=MAX_BACKFILL_DAYS,
        description="For a bot with no saved state, days of history to read first (0: from now; at most 30); "
                    "`DESK_BACKFILL` says the same as a duration",
    )
    backfill: Annotated[float | None, Duration("18h", "7d", "90m", "3600s")] = Field(
        None, ge=0, le=MAX_BACKFILL_DAYS * DAY_S,
        description="For a bot with no saved state, how far back to read first, as a duration: `18h`, `7d`, "
                    "`90m`, `3600s` (0: from now; at most `30d`); instead of `DESK_BACKFILL_DAYS`",
    )
    settle_grace: Annotated[float, Duration("60s", "5m")] = Field(
        60.0, ge=0, le=DAY_S,
        description="How long past the bot's `timeoutSeconds` an entry still not terminal is emitted as it stands, "
                    "as a duration: `60s`, `5m` (a bare number: seconds)",
    )
    state_path: Annotated[Path, Accepts("a file path")] = Field(Path("./otel-desk-receiver.state.json"), description="Where the checkpoints live")
    max_rps: Annotated[float, Accepts("a number of requests per second", joiner=", ")] = Field(2.0, gt=0, le=1000, description="Cap on requests per second to the Desk API")
    concurrency: Annotated[int, Accepts("an integer")] = Field(
        4, ge=1, le=16, description="Desk reads in flight at once, each for a different bot, all under `DESK_MAX_RPS`: "
                                    "a slow or hanging read costs its own bot alone")
    backlog_share: Annotated[float, Accepts("a fraction")] = Field(
        0.25, ge=0, le=0.5, description="Share of the Desk request budget kept for bots with a backlog while the live "
                                        "bots could use all of it (0: a backlog reads only what they leave)")
    export_max_age: Annotated[float, Duration("18h", "7d")] = Field(
        0, ge=0, le=MAX_BACKFILL_DAYS * DAY_S,
        description="The OTLP backend's age limit: older records are counted as rejected (`otlp_too_old`) without "
                    "being sent; `18h` for Datadog, Loki's `reject_old_samples_max_age` (0: no limit)")
    health_addr: Annotated[str, AfterValidator(_host_port),
                           Accepts("host:port (port 0..65535), or empty to turn health endpoints off")] = Field("0.0.0.0:13133", description="`host:port` of `/healthz`, `/readyz` and the status page `/`; empty turns them off")
    log_level: Annotated[LogLevel, BeforeValidator(_any_case_log_level),
                         Accepts("one of DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL (or FATAL), in any case")] = Field(
        LogLevel.INFO, description="The receiver's own log level: `DEBUG`, `INFO`, `WARNING` (or `WARN`), `ERROR`, "
                                   "`CRITICAL` (or `FATAL`), in any case"
    )
    export_extra_fields: Annotated[list[str], NoDecode, BeforeValidator(_split_csv),
                                   Accepts("comma-separated field names, or *")] = Field(
        default_factory=list,
        description=(
            "Entry fields beyond the documented ones to copy into `sendbird.desk.webhook_log.<field>` "
            "(comma-separated names, or `*` for every scalar field); opt-in: they may hold personal data"
        ),
    )
    # --- High availability (issue 13): where the state lives, and leader election on a Kubernetes Lease.
    state_backend: Annotated[StateBackendKind, Accepts("file or kubernetes")] = Field(
        StateBackendKind.FILE, description="Where the checkpoints live: `file` (`DESK_STATE_PATH`) or `kubernetes` "
                                           "(a ConfigMap, `DESK_STATE_CONFIGMAP`: no volume needed)")
    state_configmap: Annotated[str, Accepts(f"a ConfigMap name of {{range}}: {KUBE_NAME_WORDS}")] = Field(
        "otel-desk-receiver-state", min_length=1, max_length=253, pattern=KUBE_NAME_PATTERN,
        description="With the `kubernetes` backend, the ConfigMap holding the checkpoints (created if missing)")
    kubernetes_namespace: Annotated[str | None, Accepts(f"a namespace name of {{range}}: {KUBE_LABEL_WORDS}")] = Field(
        None, min_length=1, max_length=63, pattern=KUBE_LABEL_PATTERN,
        description="Namespace of the ConfigMap and the Lease; default `POD_NAMESPACE`, else the service "
                    "account's namespace file, else the kubeconfig context's")
    leader_election: Annotated[bool | None, Accepts("true or false")] = Field(
        None, description="Poll only while holding a Kubernetes Lease (hot standby for the other replicas); "
                          "default on with the `kubernetes` backend, off with `file`")
    leader_election_lease_name: Annotated[str, Accepts(f"a Lease name of {{range}}: {KUBE_NAME_WORDS}")] = Field(
        "otel-desk-receiver-leader", min_length=1, max_length=253, pattern=KUBE_NAME_PATTERN,
        description="The `coordination.k8s.io/v1` Lease campaigned for")
    leader_election_lease_duration: Annotated[int, Duration("15s", "1m", whole=True)] = Field(
        15, ge=1, le=3600, description="How long a standby waits, from the last renewal it saw, before taking over "
                                       "(client-go `leaseDuration`), in whole seconds: `15s`, `1m`")
    leader_election_retry_period: Annotated[float, Duration("2s", "0.5s")] = Field(
        2.0, gt=0, le=3600, description="Time between attempts to acquire or renew (client-go `retryPeriod`): `2s`")
    leader_election_renew_deadline: Annotated[float, Duration("10s", "1m")] = Field(
        10.0, gt=0, le=3600, description="How long a leader keeps polling without a successful renewal before it "
                                         "stops (client-go `renewDeadline`): `10s`; less than the lease duration, "
                                         "more than 1.2 x the retry period")
    otlp_headers_file: Annotated[Path | None, Accepts("the path of a file of OTLP headers as key=value,key2=value2")] = Field(
        None, description="A file of OTLP request headers (`key=value,...` as in `OTEL_EXPORTER_OTLP_HEADERS`, "
                          "a mounted Secret, say), added to every OTLP request, read at start and whenever it changes"
    )

    _given: dict[str, str] = PrivateAttr(default_factory=dict)  # duration settings as written: as_given
    _load_warnings: tuple[str, ...] = PrivateAttr(default=())  # what loading them noticed: load_warnings
    _apps: tuple[AppItem, ...] | None = PrivateAttr(default=None)  # the --config file's apps: desk_apps

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

    @model_validator(mode="wrap")
    @classmethod
    def _apps_durations_and_rules(cls, values: Any, handler: Any) -> "Settings":
        # `apps` is no field (the file's list, config/apps.py; no DESK_APPS variable): taken out before the
        # fields are validated, kept as its validated items (load_settings passes them validated already).
        values = dict(values) if isinstance(values, dict) else values
        apps = values.pop(APPS, None) if isinstance(values, dict) and APPS in values else None
        if apps is not None and not (isinstance(apps, tuple) and all(isinstance(item, AppItem) for item in apps)):
            apps, problems = read_apps(apps, cls.model_fields, lambda key: key)
            if problems:
                raise PydanticCustomError(RULE_ERROR, "{line}", {"line": problems[0]})
        settings = handler(values)
        if isinstance(values, dict):
            settings._given = {name: given_text(values[name]) for name in DURATION_FIELDS if values.get(name) is not None}
            settings._apps = tuple(apps) if apps is not None else settings._apps
        # The first rule broken, in its own words (config/rules.py); load_settings reports every one at once.
        given = {name: getattr(settings, name) for name in cls.model_fields}
        broken = broken_rules({**given, APPS: settings._apps} if settings._apps is not None else given, env_name)
        if broken:
            raise PydanticCustomError(RULE_ERROR, "{line}", {"line": broken[0]})
        return settings

    @property
    def backfill_s(self) -> float:
        """How far back a bot with no saved state is read first, in seconds."""
        return self.backfill if self.backfill is not None else self.backfill_days * float(DAY_S)

    def as_given(self, name: str) -> str | None:
        """A duration setting as its user wrote it (`10m`), or its default as a duration (`30s`); None when
        unset, and for a setting that is no duration."""
        value = getattr(self, name)
        if name in self._given and parse_duration(self._given[name]) == value:  # not a copy with another value
            return self._given[name]
        return None if value is None or name not in DURATION_FIELDS else setting_duration(value)

    @property
    def backfill_as_given(self) -> str:
        """How far back a bot with no saved state is read first, as the user said it: `10m`, `3 day(s)`."""
        return self.as_given("backfill") if self.backfill is not None else f"{self.backfill_days} day(s)"

    @property
    def load_warnings(self) -> tuple[str, ...]:
        """What load_settings noticed without refusing it (an OTEL_* variable the --config file overrode)."""
        return self._load_warnings

    @property
    def desk_apps(self) -> tuple[AppSettings, ...]:
        """The Desk apps polled: the --config file's `apps` in order (each leaving `max_rps` or `backfill` out
        takes DESK_MAX_RPS and DESK_BACKFILL), else the one app of the DESK_* settings."""
        if self._apps is None:
            return (single_app(self),)
        return tuple(item.app(self.max_rps, self.backfill_s, self.backfill_as_given) for item in self._apps)

    @property
    def per_app_names(self) -> bool:
        """Whether the apps come from the --config file's `apps` (the state's ConfigMap and the Lease are then
        named per app), even a single one."""
        return self._apps is not None

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


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


DURATION_FIELDS = tuple(name for name, field in Settings.model_fields.items()
                        if any(isinstance(item, Duration) for item in field.metadata))
