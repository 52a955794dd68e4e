"""Prometheus recording rules and multiwindow, multi-burn-rate alerts generated from the bots' SLOs.

Recorded per (sendbird_app_id, sendbird_desk_bot_id): the calls and the bad calls of every window the alerts
and the error budget use, each bot's objective (an override's target, else the default's), the burn rate
of each alert window and the error budget left over the SLO's window. An alert fires while the burn rate of
both its windows is above its factor and its long window holds enough calls that one bad call alone cannot
cross the factor (docs/slo.md#the-low-traffic-guard).
"""

from __future__ import annotations

from decimal import Decimal

import yaml

from otel_desk_receiver.devkit.slo.source import (
    APP_LABEL,
    BOT_LABEL,
    BURN_ALERTS,
    METRIC,
    SLI_LABELS,
    STATUS_LABEL,
    BurnAlert,
    SloSource,
    duration_s,
)

PREFIX = "sendbird_desk_bot:webhook_slo"
BUDGET = f"{PREFIX}_error_budget:ratio"  # the share of calls allowed to fail: 1 - target
BUDGET_REMAINING = f"{PREFIX}_error_budget_remaining:ratio"
ALERT_NAMES = {"page": "DeskBotSLOFastBurn", "ticket": "DeskBotSLOSlowBurn"}
SEVERITIES = {"page": "critical", "ticket": "warning"}
# Every shipped alert's runbook section, from one base (pyproject.toml's project.urls.Runbook; docs/runbook.md).
RUNBOOK = "https://github.com/otel-desk-receiver/otel-desk-receiver/blob/main/docs/runbook.md"
GROUPING = ", ".join(SLI_LABELS)


def number(value: Decimal) -> str:
    """A decimal as PromQL and YAML read it, without trailing zeros (``14.4``, ``6``, ``0.99``)."""
    return format(value.normalize(), "f")


def events(window: str) -> str:
    return f"{PREFIX}_events:increase{window}"


def errors(window: str) -> str:
    return f"{PREFIX}_errors:increase{window}"


def burn_rate(window: str) -> str:
    return f"{PREFIX}_burn_rate:{window}"


def selector(statuses: tuple[str, ...], extra: tuple[tuple[str, str], ...] = (), filters: str = "") -> str:
    """The counter's series of these statuses; ``extra`` an objective's matchers, ``filters`` more (a dashboard's)."""
    matchers = [f'{label}="{value}"' for label, value in extra]
    matchers.append(f'{STATUS_LABEL}=~"{"|".join(statuses)}"')
    return f"{METRIC}{{{', '.join(matchers + ([filters] if filters else []))}}}"


def windows(source: SloSource) -> list[str]:
    """Every window a rule looks over, shortest first."""
    every = {w for alert in BURN_ALERTS for w in (alert.long, alert.short)} | {source.window}
    return sorted(every, key=duration_s)


def budget_expr(source: SloSource, filters: str = "") -> str:
    """Each bot's error budget (1 - its target, written exactly): the first objective whose selector picks the bot
    (most specific first, the default last; `or` keeps the left side's series). ``filters``: more matchers."""
    lines = []
    for objective in source.objectives:
        series = f"group by ({GROUPING}) ({selector(source.indicator.total, objective.selector, filters)})"
        lines.append(f"{number(objective.budget)} * {series}")
    return "\n  or ".join(lines) if len(lines) > 1 else lines[0]


def recording_rules(source: SloSource) -> list[dict]:
    rules = []
    for window in windows(source):
        for record, statuses in ((events(window), source.indicator.total), (errors(window), source.indicator.bad)):
            rules.append({"record": record, "expr": f"sum by ({GROUPING}) (increase({selector(statuses)}[{window}]))"})
    rules.append({"record": BUDGET, "expr": budget_expr(source)})
    for window in windows(source):
        if window == source.window:
            continue
        rules.append({"record": burn_rate(window),
                      "expr": f"{errors(window)} / {events(window)} / {BUDGET}"})
    rules.append({"record": BUDGET_REMAINING,
                  "expr": f"1 - {errors(source.window)} / {events(source.window)} / {BUDGET}"})
    return rules


def alert_expr(alert: BurnAlert) -> str:
    factor = number(alert.factor)
    return (f"{burn_rate(alert.long)} > {factor}\n"
            f"and {burn_rate(alert.short)} > {factor}\n"
            f"and {events(alert.long)} * {factor} * {BUDGET} >= 1")


def alert_rule(source: SloSource, alert: BurnAlert) -> dict:
    name = ALERT_NAMES[alert.severity]
    spend = alert.factor * duration_s(alert.long) / duration_s(source.window) * 100
    return {
        "alert": name,
        "expr": alert_expr(alert),
        "labels": {"severity": SEVERITIES[alert.severity], "long_window": alert.long,
                   "short_window": alert.short},
        "annotations": {
            "summary": (f"Bot {{{{ $labels.{BOT_LABEL} }}}} of app {{{{ $labels.{APP_LABEL} }}}} burns its webhook "
                        f"error budget at {{{{ $value | humanize }}}}x over {alert.long} "
                        f"(above {number(alert.factor)}x over {alert.long} and {alert.short})"),
            "description": (f"At this rate the bot spends {number(spend.quantize(Decimal('0.1')))} % of its "
                            f"{source.window} error budget in {alert.long}: its ERROR and TIMEOUT calls, against "
                            f"its error budget ({BUDGET})."),
            "runbook_url": f"{RUNBOOK}#{name.lower()}",
        },
    }


def rules(source: SloSource) -> dict:
    """One group: Prometheus evaluates a group's rules in order, so each alert reads this evaluation's records."""
    alerts = [alert_rule(source, alert) for alert in BURN_ALERTS]
    return {"groups": [{"name": "otel-desk-receiver-slo", "rules": recording_rules(source) + alerts}]}


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, as a person would write them; no anchors."""

    def ignore_aliases(self, data):
        return True


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


HEADER = ("# Generated by `make slo` (python -m otel_desk_receiver.devkit.slo) from examples/slo/bots.openslo.yaml:\n"
          "# edit that source, not this file (docs/slo.md).\n")


def render(source: SloSource) -> str:
    return HEADER + yaml.dump(rules(source), Dumper=_Dumper, sort_keys=False, width=120)
