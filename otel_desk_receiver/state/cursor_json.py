"""A BotCursor's saved form: written compactly (state version 3), read back from every version with a
CursorFormatError that names the first wrong field."""

from dataclasses import fields
from datetime import date

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.id_codec import decode_recent, encode_recent


class CursorFormatError(ValueError):
    """A saved cursor does not have the shape of one; the message names the field ("pending", "offset")."""


_CURSOR_FIELDS = fields(BotCursor)
_FIELD_NAMES = tuple(f.name for f in _CURSOR_FIELDS)
_REQUIRED = object()  # never equal to a value: required fields are always written
_DEFAULTS = {"newest_created_ns": None, "pending": {}, "recent": {}, "rejected_after_last": 0, "counted": {},
             "counted_since_ns": None, "acked": {}, "acked_ns": None}
_INT = int
_INT_OR_NONE = (int, type(None))
_COUNTS = "counts"  # status -> non-negative count
# field -> (accepted JSON types, required)
_FIELD_TYPES = {
    "window_start": (str, True), "offset": (_INT, True), "anchor_id": (_INT_OR_NONE, True), "last_id": (_INT, True),
    "since_ns": (_INT, True), "newest_created_ns": (_INT_OR_NONE, False), "pending": (dict, False),
    "recent": (dict, False), "trail_start_ns": (_INT, False), "rejected_after_last": (_INT, False),
    "counted": (_COUNTS, False), "counted_since_ns": (_INT_OR_NONE, False), "acked": (_COUNTS, False),
    "acked_ns": (_INT_OR_NONE, False),
}
_KIND_NAMES = {str: "a string", _INT: "an integer", _INT_OR_NONE: "an integer or null"}


def cursor_to_json(cursor: BotCursor) -> dict:
    """The saved form (state version 3): ``recent`` in the compact form of state/id_codec.py, and the
    optional fields left out while they hold their defaults (a ConfigMap holds more bots)."""
    # Shallow, not dataclasses.asdict: asdict's deep copy was the costliest part of a commit over many
    # bots (benchmarks/RESULTS.md).
    data = {name: value for name in _FIELD_NAMES
            if (value := getattr(cursor, name)) != _DEFAULTS.get(name, _REQUIRED)}
    if cursor.pending:
        data["pending"] = {str(k): v for k, v in cursor.pending.items()}
    if cursor.recent:
        data["recent"] = encode_recent(cursor.recent)
    return data


def cursor_from_json(data, version: int = 3) -> BotCursor:
    """The cursor a saved object of state ``version`` describes; CursorFormatError names the first
    field that is wrong. Fields of older versions that are no longer used (``frontier``) are ignored;
    versions 1 and 2 saved ``recent`` as an object of id -> createdAt, version 3 compactly."""
    if not isinstance(data, dict):
        raise CursorFormatError(f"expected an object, got {type(data).__name__}")
    values = {}
    for name, (kinds, required) in _FIELD_TYPES.items():
        if name not in data:
            if required:
                raise CursorFormatError(f"{name}: missing")
            continue
        value = data[name]
        if name == "recent" and version >= 3:
            values[name] = _recent_groups(value)
        elif kinds is dict:
            values[name] = _id_map(name, value)
        elif kinds is _COUNTS:
            values[name] = _counts(name, value)
        elif isinstance(value, bool) or not isinstance(value, kinds):
            raise CursorFormatError(f"{name}: expected {_KIND_NAMES[kinds]}, got {json_type(value)}")
        else:
            values[name] = value
    # Version 1 had no trailing window: everything up to the newest entry read was done.
    values.setdefault("trail_start_ns", (values["newest_created_ns"] + 1) if values.get("newest_created_ns")
                      else values["since_ns"])
    try:
        date.fromisoformat(values["window_start"])
    except ValueError:
        raise CursorFormatError("window_start: expected a date as YYYY-MM-DD") from None
    return BotCursor(**values)


def json_type(value) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _id_map(name: str, value) -> dict[int, int]:
    if not isinstance(value, dict):
        raise CursorFormatError(f"{name}: expected an object of entry id -> createdAt, got {json_type(value)}")
    result = {}
    for key, created_ns in value.items():
        if not (isinstance(key, str) and key.isdecimal()) or isinstance(created_ns, bool) \
                or not isinstance(created_ns, int):
            raise CursorFormatError(f"{name}: expected entry id -> createdAt in ns, got {key!r}: {json_type(created_ns)}")
        result[int(key)] = created_ns
    return result


def _recent_groups(value) -> dict[int, int]:
    try:
        if not isinstance(value, list):
            raise ValueError(value)
        return decode_recent(value)
    except ValueError:
        raise CursorFormatError("recent: expected a list of [createdAt in ns, ids]") from None


def _counts(name: str, value) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              and v >= 0 for k, v in value.items()):
        raise CursorFormatError(f"{name}: expected an object of status -> count, got {json_type(value)}")
    return dict(value)
