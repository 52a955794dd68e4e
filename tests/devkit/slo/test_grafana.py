"""The Grafana SLO dashboard generated from the bots' SLOs: each bot's budget left and burn rates, on the
receiver's own names, with every bot's error budget written in (overrides first). Grafana's schema check of the
committed file is tests/deploy/test_grafana_schema.py's, as for every dashboard."""

import json

import pytest

from otel_desk_receiver.devkit.slo.grafana import budget_remaining_expr, burn_rate_expr, dashboard, render
from otel_desk_receiver.devkit.slo.source import BURN_ALERTS
from tests.deploy.telemetry_names import log_labels, logql_labels, promql_problems
from tests.devkit.slo.sources import with_overrides
from tests.harness.paths import REPO

COMMITTED = json.loads((REPO / "examples/grafana/dashboards/otel-desk-receiver.slo.json").read_text())


def targets(board, kind="prometheus"):
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]
            if target["datasource"]["type"] == kind]


@pytest.mark.parametrize(("title", "expr"), targets(COMMITTED) + targets(dashboard(with_overrides())),
                         ids=lambda v: v if len(v) < 50 else "")
def test_queries_use_exported_names(title, expr):
    assert promql_problems(expr) == []


@pytest.mark.parametrize(("title", "expr"), targets(COMMITTED, "loki"))
def test_log_queries_use_exported_labels(title, expr):
    assert logql_labels(expr) <= log_labels(), logql_labels(expr) - log_labels()


def test_panels_show_the_budget_left_and_the_page_and_ticket_burn_rates():
    titles = [panel["title"] for panel in COMMITTED["panels"]]
    assert titles == ["Error budget remaining (28d)", "Burn rate over 1h (page)", "Burn rate over 1d (ticket)",
                      "The calls that spend the budget (ERROR|TIMEOUT)"]
    lines = [panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] for panel in COMMITTED["panels"][1:3]]
    assert lines == [float(BURN_ALERTS[0].factor), float(BURN_ALERTS[2].factor)]


def test_every_bot_s_budget_is_written_in_most_specific_first():
    expr = burn_rate_expr(with_overrides(), "1h")
    assert expr.index("0.005 * group by") < expr.index("0.02 * group by") < expr.index("0.01 * group by")
    assert '[1h]' in expr and budget_remaining_expr(with_overrides()).startswith("1 - ")
    assert 'job=~"$service", sendbird_app_id=~"$app", sendbird_desk_bot_id=~"$bot"' in expr


def test_variables_pick_receivers_then_their_apps_then_their_bots_as_the_receiver_s_dashboard_does():
    variables = {v["name"]: v for v in COMMITTED["templating"]["list"]}
    main = {v["name"]: v for v in json.loads((REPO / "examples/grafana/dashboards/otel-desk-receiver.json")
                                               .read_text())["templating"]["list"]}
    for name in ("service", "app"):
        assert variables[name]["query"] == main[name]["query"] and variables[name]["allValue"] == main[name]["allValue"]
    assert variables["bot"]["query"]["query"] == ('label_values(sendbird_desk_bot_webhook_logs_total{job=~"$service", '
                                                  'sendbird_app_id=~"$app"}, sendbird_desk_bot_id)')
    (logs,) = targets(COMMITTED, "loki")
    assert logs[1].startswith('{service_name=~"$service"}')
    assert render(with_overrides()).endswith("\n")
