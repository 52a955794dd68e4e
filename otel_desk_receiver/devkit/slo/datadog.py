"""Datadog metric SLOs (POST /api/v1/slo) and burn-rate monitors (POST /api/v1/monitor, type ``slo alert``)
generated from the bots' SLOs.

One Datadog SLO per SLO document, grouped by app and bot; the default leaves out what an override selects,
an app's override what a bot's override selects. Datadog tag values are lowercase, and its SLO windows are
7, 30 or 90 days: the source's window becomes the shortest of them that covers it (28d -> 30d). A monitor
names its SLO by the placeholder ``SLO_ID(<name>)``, replaced by the id Datadog gave that SLO
(examples/datadog/README.md).
"""

from __future__ import annotations

import json

from otel_desk_receiver import names
from otel_desk_receiver.devkit.slo.prometheus import ALERT_NAMES, RUNBOOK, SEVERITIES, number
from otel_desk_receiver.devkit.slo.source import (
    APP_LABEL,
    BOT_LABEL,
    BURN_ALERTS,
    BurnAlert,
    Objective,
    SloSource,
    duration_s,
)

METRIC = names.WEBHOOK_LOGS.name
TAGS = {APP_LABEL: names.ATTR_APP_ID, BOT_LABEL: names.ATTR_BOT_ID}  # Prometheus label -> Datadog tag key
GROUP_BY = f"by {{{names.ATTR_APP_ID},{names.ATTR_BOT_ID}}}"
TIMEFRAMES = ("7d", "30d", "90d")
PRIORITIES = {"page": 1, "ticket": 3}  # as monitors.json: critical 1, warning 3
SERVICE_TAG = "service:otel-desk-receiver"


def timeframe(source: SloSource) -> str:
    return next(t for t in TIMEFRAMES if duration_s(t) >= duration_s(source.window))


def _term(selector: tuple[tuple[str, str], ...]) -> str:
    return " AND ".join(f"{TAGS[label]}:{value.lower()}" for label, value in selector)


def scope(source: SloSource, objective: Objective) -> list[str]:
    """What the objective's SLO counts: its selector, less every more specific selector within it."""
    terms = [_term(objective.selector)] if objective.selector else []
    for other in source.objectives:
        if len(other.selector) > len(objective.selector) and set(objective.selector) <= set(other.selector):
            rest = tuple(pair for pair in other.selector if pair not in objective.selector)
            terms.append(f"NOT ({_term(rest)})" if len(rest) > 1 else f"NOT {_term(rest)}")
    return terms


def count(statuses: tuple[str, ...], terms: list[str]) -> str:
    """The calls in ``statuses`` within ``terms``, summed over statuses, by app and bot."""
    status = names.ATTR_WEBHOOK_LOG_STATUS
    return " + ".join(f"sum:{METRIC}{{{' AND '.join([f'{status}:{s.lower()}', *terms])}}} {GROUP_BY}.as_count()"
                      for s in statuses)


def slo(source: SloSource, objective: Objective) -> dict:
    terms = scope(source, objective)
    return {
        "name": (objective.display_name if objective is source.default
                 else f"{source.default.display_name}: {objective.display_name}"),
        "type": "metric",
        "description": (f"{number(objective.target_percent)} % of each bot's settled webhook calls end "
                        f"{'|'.join(source.indicator.good)}, per app and bot (source: "
                        f"examples/slo/bots.openslo.yaml, SLO {objective.name})."),
        "query": {"numerator": count(source.indicator.good, terms),
                  "denominator": count(source.indicator.total, terms)},
        "thresholds": [{"timeframe": timeframe(source), "target": float(objective.target_percent)}],
        "tags": [SERVICE_TAG, f"slo:{objective.name}"],
    }


def monitor(source: SloSource, objective: Objective, alert: BurnAlert) -> dict:
    name = ALERT_NAMES[alert.severity]
    factor = number(alert.factor)
    return {
        "name": (f"Desk bot webhook SLO {objective.name}: {alert.severity}, burn rate above {factor}x over "
                 f"{alert.long} and {alert.short}"),
        "type": "slo alert",
        "query": (f'burn_rate("SLO_ID({objective.name})").over("{timeframe(source)}")'
                  f'.long_window("{alert.long}").short_window("{alert.short}") > {factor}'),
        "message": (f"The bots of SLO {objective.name} burn their webhook error budget faster than {factor}x over "
                    f"{alert.long} and {alert.short}.\n\nRunbook: {RUNBOOK}#{name.lower()}"),
        "tags": [SERVICE_TAG, f"slo:{objective.name}", f"alert:{name}", f"severity:{SEVERITIES[alert.severity]}",
                 f"long_window:{alert.long}"],
        "priority": PRIORITIES[alert.severity],
        "options": {"thresholds": {"critical": float(alert.factor)}},
    }


def slos(source: SloSource) -> list[dict]:
    return [slo(source, objective) for objective in source.objectives]


def monitors(source: SloSource) -> list[dict]:
    return [monitor(source, objective, alert) for objective in source.objectives for alert in BURN_ALERTS]


def render_slos(source: SloSource) -> str:
    return json.dumps(slos(source), indent=2) + "\n"


def render_monitors(source: SloSource) -> str:
    return json.dumps(monitors(source), indent=2) + "\n"
