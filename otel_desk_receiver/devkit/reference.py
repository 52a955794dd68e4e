"""README reference tables generated from Settings and names, so the docs cannot drift from the code.

`python -m otel_desk_receiver.devkit.reference README.md` rewrites the marked sections in place
(`... docs/bot-inventory.md` the bot change record's table).
"""

import argparse
import re
import sys
from pathlib import Path

from pydantic_core import PydanticUndefined

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings, env_name

SETTINGS_MARK = "settings"
LOG_FIELDS_MARK = "log-fields"
METRICS_MARK = "metrics"
BOT_CHANGES_MARK = "bot-changes"

LOG_FIELD_MEANINGS = {
    names.ATTR_APP_ID: "the app's label: its app id (`DESK_APP_ID`, or `app_id` in `apps:`), else the API host[:port]",
    names.ATTR_LOG_RECORD_UID: "`{app}:{bot_id}:{entry_id}`: the same entry always carries the same uid",
    names.ATTR_BOT_ID: "the bot's id (int)",
    names.ATTR_BOT_NAME: "the bot's name",
    names.ATTR_BOT_KEY: "the bot's key",
    names.ATTR_WEBHOOK_LOG_ID: "the entry's id (int)",
    names.ATTR_WEBHOOK_LOG_STATUS: "the status it settled in, exactly as Desk gave it",
    names.ATTR_SETTLED_BY: "`status` (terminal status read) or `age` (still INITIALIZED/SENT past timeout + grace)",
    names.ATTR_URL_FULL: "the entry's `webhookUrl`, user info, query values and bare query items replaced by `REDACTED`",
    names.ATTR_SERVER_ADDRESS: "the webhook's host",
}


BOT_CHANGE_MEANINGS = {
    names.ATTR_APP_ID: LOG_FIELD_MEANINGS[names.ATTR_APP_ID],
    names.ATTR_LOG_RECORD_UID: "`{app}:{bot_id}:change:{kind}:{seen}` (seen: the listing's Unix time in ns): the same "
                               "change sent again carries the same uid",
    names.ATTR_BOT_ID: "the bot's id (int)",
    names.ATTR_BOT_NAME: "the bot's name",
    names.ATTR_BOT_CHANGE: "what changed: " + ", ".join(f"`{kind}`" for kind in names.BOT_CHANGES),
    names.ATTR_BOT_CHANGE_FROM: "the value before (a status, webhook host or timeout change), as text",
    names.ATTR_BOT_CHANGE_TO: "the value after, as text",
    names.ATTR_BOT_STATUS: "the bot's status as listed, exactly as Desk gives it (absent when Desk gives none)",
    names.ATTR_BOT_TYPE: "the bot's type (`CUSTOM`: only those are watched)",
    names.ATTR_BOT_TIMEOUT: "the bot's `timeoutSeconds` (60 when Desk gives none)",
    names.ATTR_BOT_WEBHOOK_HOST: "hostname[:port] of the bot's `webhookUrl`: never its path, query or user info",
}


def _default(field) -> str:
    if field.default is PydanticUndefined:
        return "required" if field.default_factory is None else "empty"
    value = field.default
    if value is None:
        return "none"
    if hasattr(value, "value"):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`" if str(value) != "" else "empty"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{env_name(name)}` | {_default(field)} | {field.description} |")
    return "\n".join(rows)


def log_fields_table() -> str:
    rows = ["| attribute | value |", "|---|---|"]
    rows += [f"| `{attribute}` | {LOG_FIELD_MEANINGS[attribute]} |" for attribute in names.LOG_ATTRIBUTES]
    return "\n".join(rows)


def metrics_table() -> str:
    rows = ["| metric | instrument, unit | attributes | Prometheus name | meaning |", "|---|---|---|---|---|"]
    for spec in names.METRICS:
        attributes = ", ".join(f"`{a}`" for a in spec.attributes) or "none"
        prom = f"`{spec.prometheus_name}`" + ("" if spec.instrument != "histogram" else " (`_bucket`, `_sum`, `_count`)")
        rows.append(f"| `{spec.name}` | {spec.instrument.capitalize()}, `{spec.unit}` | {attributes} | {prom} "
                    f"| {spec.description} |")
    return "\n".join(rows)


def bot_changes_table() -> str:
    rows = ["| attribute | value |", "|---|---|"]
    rows += [f"| `{attribute}` | {BOT_CHANGE_MEANINGS[attribute]} |" for attribute in names.BOT_CHANGE_ATTRIBUTES]
    return "\n".join(rows)


GENERATED = {SETTINGS_MARK: settings_table, LOG_FIELDS_MARK: log_fields_table, METRICS_MARK: metrics_table}
# Tables of other pages than the README, by file name.
GENERATED_IN = {"bot-inventory.md": {BOT_CHANGES_MARK: bot_changes_table}}


def section_pattern(mark: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated:{mark} -->\n)(.*?)\n?(<!-- /generated:{mark} -->)", re.S)


def render(text: str, generated: dict = GENERATED) -> str:
    """The text with every generated section replaced by what the code says now."""
    for mark, build in generated.items():
        pattern = section_pattern(mark)
        if not pattern.search(text):
            raise ValueError(f"no <!-- generated:{mark} --> section")
        text = pattern.sub(lambda m, b=build: m.group(1) + b() + "\n" + m.group(3), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m otel_desk_receiver.devkit.reference",
        description="Rewrite the generated sections of README.md (settings, log fields, metrics) or of "
                    "docs/bot-inventory.md (the bot change record's attributes) from the code.")
    parser.add_argument("path", nargs="?", type=Path, default=Path("README.md"),
                        help="README.md (default) or docs/bot-inventory.md")
    path = parser.parse_args(argv).path
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    try:
        text = render(path.read_text(), GENERATED_IN.get(path.name, GENERATED))
    except ValueError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
