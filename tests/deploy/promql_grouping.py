"""How a PromQL expression groups: a bot must keep its app (two Desk apps share bot ids), and nothing may
aggregate over every receiver at once (one live receiver would hide a dead one). Used on the alert rules,
the Grafana alerting and the dashboards (examples/alerts/README.md, "Apps and receivers")."""

import re

BOT_LABELS = {"sendbird_desk_bot_id", "sendbird_desk_bot_name"}
APP_LABEL = "sendbird_app_id"
RECEIVER_LABELS = {"job", "instance"}
GROUPING = re.compile(r"\b(by|on)\s*\(([^)]*)\)")
_GLOBAL_AGGREGATION = re.compile(r"\b(sum|max|min|count|avg|group)\s*\(")


def groupings(expr: str, kind: str | None = None) -> list[set[str]]:
    """The label sets of every `by (...)` and `on (...)` (or only those of ``kind``)."""
    return [{label.strip() for label in labels.split(",") if label.strip()}
            for found, labels in GROUPING.findall(expr) if kind in (None, found)]


def bot_without_app(expr: str) -> list[str]:
    return [f"by/on {sorted(g)} keeps the bot but not {APP_LABEL}" for g in groupings(expr)
            if g & BOT_LABELS and APP_LABEL not in g]


def grouping_problems(expr: str) -> list[str]:
    """A bot grouped without its app, a by/on with neither the app nor the receiver, an aggregation over
    everything."""
    problems = bot_without_app(expr)
    problems += [f"by/on {sorted(g)}: neither the app nor the receiver" for g in groupings(expr)
                 if not g & ({APP_LABEL} | RECEIVER_LABELS)]
    problems += [f"{m.group(1)}(...) over everything" for m in _GLOBAL_AGGREGATION.finditer(expr)]
    return problems
