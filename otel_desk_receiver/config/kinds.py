"""What a setting accepts, said once beside its field: its kind in words (``Accepts``), durations (``Duration``:
`30s`, `10m`, `1h`, `7d` or bare seconds), and its range read from the field's own bounds.

A bound is stated once, in ``Field(ge=..., le=...)`` (or ``min_length``/``max_length``); the error line a user
reads is built from that field's metadata (``accepted``), so no second table can say another bound.
"""

from collections.abc import Callable
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic.fields import FieldInfo
from pydantic_core import core_schema

from otel_desk_receiver.redaction import redact_text

DURATION_UNITS_S = {"d": 86_400, "h": 3600, "m": 60, "s": 1}  # largest first: how a bound is written
SHOWN_MAX_CHARS = 120  # a bad value quoted in an error line


def number_text(value: float) -> str:
    return f"{value:g}"


def setting_duration(seconds: float) -> str:
    """Seconds as a duration in the largest unit that writes them whole: 600 -> 10m, 86400 -> 1d, 0.5 -> 0.5s."""
    if seconds == 0:
        return "0"
    for unit, size in DURATION_UNITS_S.items():
        if seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


class Accepts:
    """Annotated metadata: the kind of value a setting takes, in words ("an integer", "a ConfigMap name of
    {range}: ..."). Its bounds are not repeated here: ``accepted`` reads them from the field and writes them
    with ``bound`` (after ``joiner``, or where ``{range}`` stands in the words)."""

    def __init__(self, words: str, *, bound: Callable[[float], str] = number_text, joiner: str = " "):
        self.words, self.bound, self.joiner = words, bound, joiner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.words!r})"

    def text(self, metadata: list[Any]) -> str:
        span = range_text(metadata, self.bound)
        if "{range}" in self.words:
            return self.words.format(range=span)
        return f"{self.words}{self.joiner}{span}" if span else self.words


class Duration(Accepts):
    """A time span: a number with a unit (`30s`, `10m`, `1.5h`, `7d`, any case) or a bare number of seconds;
    its bounds are written as durations (`from 1s to 1d`). The value validated is the number of seconds."""

    def __init__(self, *examples: str, whole: bool = False):
        shown = ", ".join(examples[:-1]) + f" or {examples[-1]}" if len(examples) > 1 else examples[0]
        super().__init__(f"a duration{' in whole seconds' if whole else ''} such as {shown}", bound=setting_duration,
                         joiner=", ")

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(parse_duration, handler(source))


def parse_duration(value: Any) -> Any:
    """'18h', '7d', '90m', '30s' or a bare number -> seconds; anything else is left for the field to refuse."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in DURATION_UNITS_S else (text, "s")
    if number.replace(".", "", 1).isdigit():
        seconds = float(number) * DURATION_UNITS_S[unit]
        return int(seconds) if seconds.is_integer() else seconds
    return value


def given_text(value: Any) -> str:
    """A duration as its user wrote it (`10m`), a bare number with its unit added (`30` -> `30s`)."""
    text = str(value).strip()
    return text + "s" if parse_duration(text) is not text and text[-1:].isdigit() else text


def range_text(metadata: list[Any], bound: Callable[[float], str] = number_text) -> str:
    """The bounds among a field's metadata in words: 'from 1 to 500', 'more than 0 and at most 86400',
    '1 to 253 characters'; '' without bounds."""
    found = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    if "min_length" in found or "max_length" in found:
        return f"{found.get('min_length', 0)} to {found['max_length']} characters" if "max_length" in found \
            else f"at least {found['min_length']} characters"
    low = (f"from {bound(found['ge'])}" if "ge" in found else
           f"more than {bound(found['gt'])}" if "gt" in found else "")
    high = (f"at most {bound(found['le'])}" if "le" in found else
            f"less than {bound(found['lt'])}" if "lt" in found else "")
    if low.startswith("from") and high.startswith("at most"):
        return f"{low} to {bound(found['le'])}"
    return " and ".join(part for part in (low, high) if part)


def accepted(field: FieldInfo) -> str:
    """What ``field`` accepts, in words, with its own bounds: 'an integer from 1 to 500'."""
    kind = next((item for item in field.metadata if isinstance(item, Accepts)), None)
    if kind is None:
        raise TypeError("every setting says what it accepts: Annotated[..., Accepts('...')]")
    return kind.text(field.metadata)



def shown_value(value: Any) -> str:
    """A bad value as an error line quotes it: URL user info masked, cut to SHOWN_MAX_CHARS."""
    text = redact_text(repr(value), ())
    return text if len(text) <= SHOWN_MAX_CHARS else text[:SHOWN_MAX_CHARS - 3] + "..."
