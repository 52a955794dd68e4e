"""The Grafana SLO dashboard generated from the bots' SLOs: each bot's error budget left over the SLO's
window, its burn rate over the page's and the ticket's long windows beside the alert factors, and the bad calls'
log records.

The queries read the receiver's counter directly, each bot's error budget written into them, so the dashboard
works on any Prometheus holding the counter, with or without the SLO recording rules loaded.
"""

from __future__ import annotations

import json

from otel_desk_receiver.devkit.slo.prometheus import GROUPING, budget_expr, number
from otel_desk_receiver.devkit.slo.source import APP_LABEL, BOT_LABEL, BURN_ALERTS, METRIC, STATUS_LABEL, SloSource

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
LOGS = {"type": "loki", "uid": "${logs}"}
# As the receiver's dashboard: receivers by job (service.name when pushed, the scrape job when scraped), apps
# of the chosen receivers, bots of the chosen apps; "All" receivers is .+, as Loki refuses a selector every
# stream matches.
FILTERS = f'job=~"$service", {APP_LABEL}=~"$app", {BOT_LABEL}=~"$bot"'
POLL_COUNT = "otel_desk_receiver_poll_duration_seconds_count"
LEGEND = f"{{{{{APP_LABEL}}}}} bot {{{{{BOT_LABEL}}}}}"
UID = "otel-desk-receiver-slo"


def _count(statuses: tuple[str, ...], window: str) -> str:
    matchers = f'{STATUS_LABEL}=~"{"|".join(statuses)}", {FILTERS}'
    return f"sum by ({GROUPING}) (increase({METRIC}{{{matchers}}}[{window}]))"


def burn_rate_expr(source: SloSource, window: str) -> str:
    budget = budget_expr(source).replace("\n  or ", " or ")
    return f"{_count(source.indicator.bad, window)} / {_count(source.indicator.total, window)} / ({budget})"


def budget_remaining_expr(source: SloSource) -> str:
    return f"1 - {burn_rate_expr(source, source.window)}"


def _panel(index: int, kind: str, title: str, description: str, expr: str, x: int, y: int, w: int,
           field_defaults: dict, options: dict) -> dict:
    return {
        "id": index + 1, "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": 8},
        "fieldConfig": {"defaults": field_defaults, "overrides": []},
        "options": options,
        "targets": [{"refId": "A", "datasource": DATASOURCE, "expr": expr, "legendFormat": LEGEND}],
    }


def _thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


def panels(source: SloSource) -> list[dict]:
    found = [_panel(0, "stat", f"Error budget remaining ({source.window})",
                    f"Share of each bot's {source.window} error budget not yet spent by ERROR and TIMEOUT calls "
                    f"(below 0: the objective is missed).", budget_remaining_expr(source), 0, 0, 24,
                    {"unit": "percentunit", "min": -1, "max": 1,
                     "thresholds": _thresholds(("red", None), ("orange", 0), ("green", 0.25))},
                    {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                     "colorMode": "background", "textMode": "value_and_name"})]
    for severity in ("page", "ticket"):
        alerts = [alert for alert in BURN_ALERTS if alert.severity == severity]
        window = alerts[0].long
        factors = ", ".join(f"{number(a.factor)}x over {a.long}" for a in alerts)
        steps = [("green", None)] + [("red" if severity == "page" else "orange", float(alerts[0].factor))]
        found.append(_panel(len(found), "timeseries", f"Burn rate over {window} ({severity})",
                            f"How fast each bot spends its error budget (1 = all of it in {source.window}); the "
                            f"{severity} fires above {factors} while the short window agrees.",
                            burn_rate_expr(source, window), 12 * (len(found) - 1), 8, 12,
                            {"unit": "short", "min": 0, "thresholds": _thresholds(*steps),
                             "custom": {"thresholdsStyle": {"mode": "line"}}},
                            {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}}))
    bad = "|".join(source.indicator.bad)
    found.append({
        "id": len(found) + 1, "type": "logs", "title": f"The calls that spend the budget ({bad})", "datasource": LOGS,
        "gridPos": {"x": 0, "y": 16, "w": 24, "h": 12},
        "options": {"showTime": True, "sortOrder": "Descending", "wrapLogMessage": True, "enableLogDetails": True},
        "targets": [{"refId": "A", "datasource": LOGS, "queryType": "range",
                     "expr": f'{{service_name=~"$service"}} | {STATUS_LABEL}=~"{bad}" | {APP_LABEL}=~"$app" '
                             f'| {BOT_LABEL}=~"$bot"'}],
    })
    return found


def _variable(name: str, label: str, query: str, every: str = ".*") -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
            "query": {"query": query, "refId": name}, "definition": query, "includeAll": True, "multi": True,
            "allValue": every, "current": {"text": "All", "value": "$__all"}, "refresh": 2}


def dashboard(source: SloSource) -> dict:
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus",
                      "description": "Where the receiver's metrics are (scraped, or through OTLP)",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"},
                     {"name": "DS_LOKI", "label": "Loki", "description": "Where the receiver's log records are",
                      "type": "datasource", "pluginId": "loki", "pluginName": "Loki"}],
        "uid": UID,
        "title": "Sendbird Desk bot SLOs (otel-desk-receiver)",
        "description": "Generated by `make slo` from examples/slo/bots.openslo.yaml (docs/slo.md): edit the source.",
        "tags": ["sendbird", "desk", "opentelemetry", "slo"],
        "timezone": "browser", "schemaVersion": 39, "version": 1, "refresh": "1m", "editable": True,
        "time": {"from": "now-2d", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
             "current": {"text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"}, "hide": 0, "refresh": 1,
             "regex": ""},
            {"name": "logs", "label": "Loki", "type": "datasource", "query": "loki",
             "current": {"text": "${DS_LOKI}", "value": "${DS_LOKI}"}, "hide": 0, "refresh": 1, "regex": ""},
            _variable("service", "Service", f"label_values({POLL_COUNT}, job)", every=".+"),
            _variable("app", "App", f'label_values({METRIC}{{job=~"$service"}}, {APP_LABEL})'),
            _variable("bot", "Bot", f'label_values({METRIC}{{job=~"$service", {APP_LABEL}=~"$app"}}, {BOT_LABEL})'),
        ]},
        "annotations": {"list": []},
        "panels": panels(source),
    }


def render(source: SloSource) -> str:
    return json.dumps(dashboard(source), indent=1) + "\n"
