"""The rules across settings, each stated once, in words: the model refuses a Settings that breaks one, and
load_settings reports every broken one at once, naming where each value was given (a variable, or a key
and line of the --config file).

A rule takes the values it looks at (validated, or as given when the fields did not validate) and ``name``,
which says where a setting was given; it returns the problem as the line a user reads, or None.
"""

from collections.abc import Callable, Mapping
from typing import Any

from otel_desk_receiver.config.kinds import setting_duration, parse_duration

Name = Callable[[str], str]
RULE_ERROR = "settings_rule"  # the type of the model's error for a broken rule; its message is the line
REFUSED = object()  # a value its own field refused: set, but nothing a rule can compare (its line says why)
# client-go's NewLeaderElector: leaseDuration > renewDeadline > JitterFactor x retryPeriod.
LEADER_ELECTION_JITTER = 1.2
APPS = "apps"  # the --config file's list of apps (config/apps.py): its presence in ``values`` is what counts
SINGLE_APP_KEYS = ("app_id", "api_token", "api_token_file", "api_url", "bot_ids")  # in Settings' field order


def _set(value: Any) -> bool:
    """Given and not empty (an empty variable counts as unset, as the specification says of OTEL_*)."""
    return value is not None and str(getattr(value, "get_secret_value", lambda: value)()).strip() != ""


def app_or_url(values: Mapping[str, Any], name: Name) -> str | None:
    if APPS in values:  # each app names its own (config/apps.py)
        return None
    if not _set(values.get("app_id")) and not _set(values.get("api_url")):
        return f"{name('app_id')}: required unless {name('api_url')} is set (the Sendbird application ID)"
    return None


def one_token(values: Mapping[str, Any], name: Name) -> str | None:
    if APPS in values:
        return None
    token, token_file = _set(values.get("api_token")), _set(values.get("api_token_file"))
    if not token and not token_file:
        return f"{name('api_token')}: required (the Desk API token), or {name('api_token_file')} (a file holding it)"
    if token and token_file:
        return f"{name('api_token')}, {name('api_token_file')}: both set; set one of them"
    return None


def apps_alone(values: Mapping[str, Any], name: Name) -> str | None:
    """With `apps`, the single app's settings are set in each app, not beside the list (whose would they be?)."""
    beside = [key for key in SINGLE_APP_KEYS if APPS in values and _set(values.get(key))]
    if beside:
        return f"{', '.join(name(key) for key in beside)}: set beside {name(APPS)}; with apps, set them in each app"
    return None


def one_backfill(values: Mapping[str, Any], name: Name) -> str | None:
    days = values.get("backfill_days")
    if _set(values.get("backfill")) and _number(days) not in (None, 0):
        return (f"{name('backfill')}, {name('backfill_days')}: set one of them "
                "(DESK_BACKFILL=7d says DESK_BACKFILL_DAYS=7)")
    return None


def renew_deadline_between(values: Mapping[str, Any], name: Name) -> str | None:
    lease = _number(values.get("leader_election_lease_duration"))
    retry = _number(values.get("leader_election_retry_period"))
    renew = _number(values.get("leader_election_renew_deadline"))
    if None in (lease, retry, renew) or lease > renew > LEADER_ELECTION_JITTER * retry:
        return None
    return (f"{name('leader_election_renew_deadline')}: expected a duration less than "
            f"{name('leader_election_lease_duration')} "
            f"({setting_duration(lease)}) and more than {LEADER_ELECTION_JITTER:g} x "
            f"{name('leader_election_retry_period')} ({setting_duration(LEADER_ELECTION_JITTER * retry)}), "
            f"client-go's rule (got {setting_duration(renew)})")


def _number(value: Any) -> float | None:
    """A value the rule can compare, or None (a value its field refuses: that field's line says so)."""
    value = parse_duration(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


RULES: tuple[Callable[[Mapping[str, Any], Name], str | None], ...] = (
    apps_alone, app_or_url, one_token, one_backfill, renew_deadline_between)


def broken_rules(values: Mapping[str, Any], name: Name) -> list[str]:
    return [line for rule in RULES if (line := rule(values, name))]
