"""A ValidationError of the settings as lines a user reads: where each refused value was given, what its
setting accepts (the field's own words and bounds, config/kinds.py) and the value as given, never a secret."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from otel_desk_receiver.config.kinds import accepted, shown_value
from otel_desk_receiver.config.rules import RULE_ERROR
from otel_desk_receiver.config.settings import ENV_PREFIX, SECRET_FIELDS
from otel_desk_receiver.config.warnings import closest_name

__all__ = ["field_lines", "shown_value", "unknown_key"]


def field_lines(error: ValidationError, model: type[BaseModel], where: Callable[[str], str],
                given: Callable[[str], Any]) -> list[str]:
    """One line per setting ``model`` refused: "DESK_PAGE_SIZE: expected an integer from 1 to 500 (got '900')",
    ``where`` naming where a setting was given and ``given`` its value as given. A key no setting has (in the
    --config file) names the closest setting."""
    lines = []
    for item in error.errors():
        if item["type"] == RULE_ERROR or not item["loc"]:
            continue
        name = str(item["loc"][0])
        if item["type"] == "extra_forbidden":
            lines.append(f"{where(name)}: {unknown_key(name, list(model.model_fields))}")
            continue
        shown = "" if name in SECRET_FIELDS else f" (got {shown_value(given(name))})"
        lines.append(f"{where(name)}: expected {accepted(model.model_fields[name])}{shown}")
    return list(dict.fromkeys(lines))


def unknown_key(key: str, fields: list[str]) -> str:
    """What to say of a --config key no setting has: the key a setting spelt as its variable (DESK_PAGE_SIZE, the
    way the file takes OTEL_* names) is written as, else the closest setting."""
    bare = key.lower().removeprefix(ENV_PREFIX.lower())
    if bare != key and bare in fields:
        return f"write a setting in lower case without {ENV_PREFIX}: {bare}"
    return f"unknown setting; {closest_name(bare, fields, '')}"
