"""Several Desk apps in one receiver (issue 21): the --config file's `apps` list, each item validated with the
same field rules as the DESK_* setting of its name, and AppSettings, what one app's parts are built from.

Without `apps`, the one app is the DESK_* settings' (Settings.desk_apps builds it from them). With `apps`, each
item names its app (`app_id` or `api_url`) and its token (`api_token` or `api_token_file`) and may narrow its
bots (`bot_ids`), its Desk request budget (`max_rps`) and how far back a new bot is read (`backfill`); an item
leaving `max_rps` or `backfill` out takes the process-wide setting. Everything else is process-wide.
"""

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from otel_desk_receiver.config.kinds import accepted, given_text, shown_value
from otel_desk_receiver.config.rules import APPS, app_or_url, one_token
from otel_desk_receiver.desk.token import usable_token
from otel_desk_receiver.redaction import without_user_info

DEFAULT_API_URL = "https://desk-api-{app_id}.sendbird.com/platform/v1"
APP_KEYS = ("app_id", "api_url", "api_token", "api_token_file", "bot_ids", "max_rps", "backfill")
SECRET_KEYS = {"api_token"}
ITEM_WORDS = "a mapping with app_id or api_url and api_token or api_token_file"
Where = Callable[[str], str]


def app_label(app_id: str | None, base_url: str) -> str:
    """How an app is named (log.record.uid's app, its state section, `sendbird.app_id`): its app ID, or the API
    host[:port] when only a URL is given, never with the URL's user info (a credential, which would also change
    the label when it rotates)."""
    return app_id or without_user_info(urlsplit(base_url).netloc)


@dataclass(frozen=True)
class AppSettings:
    """One Desk app as the receiver polls it: where its API is, its token (inline or a file), the bots it
    watches (None: every CUSTOM bot), its request budget and its backfill. ``label`` is unique in a process;
    ``where`` is how messages name the app ("app 6B0C1A2E"); ``token_key`` is the setting its token came from
    as an error names it (empty: DESK_API_TOKEN or DESK_API_TOKEN_FILE, the single app's variables); ``item``:
    its item of the apps file ("apps[1]"), empty for the single app of the DESK_* settings (see ``setting``)."""

    label: str
    app_id: str | None
    base_url: str
    api_token: SecretStr | None = None
    api_token_file: Path | None = None
    bot_ids: list[int] | None = None
    max_rps: float = 2.0
    backfill_s: float = 0.0
    backfill_as_given: str = "0 day(s)"
    where: str = ""
    token_key: str = field(default="", compare=False)
    item: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.where:
            object.__setattr__(self, "where", f"app {self.label}")

    def setting(self, key: str, variable: str) -> str:
        """How a message names where this app's ``key`` is set: its item's key (apps[1].bot_ids) with an apps
        file, where ``variable`` (DESK_BOT_IDS) is refused, else ``variable``."""
        return f"{self.item}.{key}" if self.item else variable


@dataclass(frozen=True)
class AppItem:
    """One item of `apps` as validated: the keys it set (validated values) and the name of its token key."""

    values: Mapping[str, Any]
    given_backfill: str | None  # `backfill` as written: 7d
    token_key: str
    key: str = ""  # apps[1]

    @property
    def base_url(self) -> str:
        return self.values.get("api_url") or DEFAULT_API_URL.format(app_id=self.values.get("app_id"))

    @property
    def label(self) -> str:
        return app_label(self.values.get("app_id"), self.base_url)

    def app(self, max_rps: float, backfill_s: float, backfill_as_given: str) -> AppSettings:
        """The AppSettings, ``max_rps`` and the backfill (the process-wide ones) used where the item sets none."""
        own_rps, own_backfill = self.values.get("max_rps"), self.values.get("backfill")
        return AppSettings(
            label=self.label, app_id=self.values.get("app_id"), base_url=self.base_url,
            api_token=self.values.get("api_token"), api_token_file=self.values.get("api_token_file"),
            bot_ids=self.values.get("bot_ids"), max_rps=max_rps if own_rps is None else own_rps,
            backfill_s=backfill_s if own_backfill is None else own_backfill,
            backfill_as_given=backfill_as_given if own_backfill is None else self.given_backfill,
            token_key=f"{self.token_key} (app {self.label})", item=self.key)


def read_apps(raw: Any, fields: Mapping[str, FieldInfo], where: Where) -> tuple[tuple[AppItem, ...], list[str]]:
    """The items of `apps` that are valid, and one line per problem (every item's, at once): ``fields`` are the
    settings' fields (an item's key takes what the setting of its name takes), ``where`` names a key as the
    user wrote it ("apps[1].max_rps at line 7 of receiver.yaml"). A token is never quoted."""
    if not isinstance(raw, list) or not raw:
        shown = "an empty list" if raw == [] else shown_value(raw)
        return (), [f"{where(APPS)}: expected a list of apps, each {ITEM_WORDS} (got {shown})"]
    items, problems, first_of = [], [], {}
    for index, item in enumerate(raw):
        key = f"{APPS}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where(key)}: expected {ITEM_WORDS} (got {shown_value(item)})")
            continue
        values, item_problems = _item_values(item, fields, lambda name, key=key: where(f"{key}.{name}"))
        problems += item_problems
        if item_problems:
            continue
        token_name = "api_token_file" if values.get("api_token_file") is not None else "api_token"
        found = AppItem(values, given_text(item["backfill"]) if values.get("backfill") is not None else None,
                        where(f"{key}.{token_name}"), key)
        same = found.label.lower()  # Desk's hosts ignore case: 6b0c1a2e and 6B0C1A2E are one app
        if same in first_of:
            problems.append(f"{where(key)}: app {found.label} is listed twice (first {where(first_of[same])});"
                            " list each app once")
            continue
        first_of[same] = key
        items.append(found)
    return tuple(items), problems


def _item_values(item: Mapping[str, Any], fields: Mapping[str, FieldInfo],
                 where: Where) -> tuple[dict[str, Any], list[str]]:
    """One item's keys validated as the settings of their names, and its problems: unknown keys, refused
    values, then the rules across them (an app or a URL, one token)."""
    values, problems = {}, []
    for name, value in item.items():
        name = str(name)
        if name not in APP_KEYS:
            problems.append(f"{where(name)}: not a key of an app; {_known_keys(name, fields)}")
            continue
        try:
            values[name] = _adapter(name, fields[name]).validate_python(value)
        except ValidationError:
            shown = "" if name in SECRET_KEYS else f" (got {shown_value(value)})"
            problems.append(f"{where(name)}: expected {accepted(fields[name])}{shown}")
            continue
        if name == "api_token" and values[name] is not None and not usable_token(values[name].get_secret_value()):
            problems.append(f"{where(name)}: expected the Desk API token, printable ASCII without spaces")
    if problems:
        return values, problems
    return values, [line for rule in (app_or_url, one_token) if (line := rule(values, where))]


def _known_keys(name: str, fields: Mapping[str, FieldInfo]) -> str:
    close = difflib.get_close_matches(name, APP_KEYS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    process_wide = f" ({name} is process-wide: set it at the top level)" if name in fields else ""
    return f"{hint}an app takes {', '.join(APP_KEYS)}{process_wide}"


_ADAPTERS: dict[str, TypeAdapter] = {}


def _adapter(name: str, info: FieldInfo) -> TypeAdapter:
    """A validator for one key: the setting's type with its validators and bounds (its field's metadata)."""
    if name not in _ADAPTERS:
        _ADAPTERS[name] = TypeAdapter(Annotated[(info.annotation, *info.metadata)])
    return _ADAPTERS[name]


def single_app(settings: Any) -> AppSettings:
    """The app of the DESK_* settings (no `apps`): exactly what the receiver polled before issue 21."""
    return AppSettings(
        label=app_label(settings.app_id, settings.base_url), app_id=settings.app_id, base_url=settings.base_url,
        api_token=settings.api_token, api_token_file=settings.api_token_file, bot_ids=settings.bot_ids,
        max_rps=settings.max_rps, backfill_s=settings.backfill_s, backfill_as_given=settings.backfill_as_given)
