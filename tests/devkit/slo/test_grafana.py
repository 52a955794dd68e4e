"""The SLO row of the receiver's Grafana dashboard, generated from the bots' SLOs: each bot's budget left and
burn rates, on the receiver's own names, with every bot's error budget written in (overrides first), following
the dashboard's service, app and bot variables. The generator owns that row and nothing else of the file.
Grafana's schema check of the committed file is tests/deploy/test_grafana_schema.py's, as for every dashboard."""

import copy
import json

import pytest

from otel_desk_receiver.devkit.slo.generate import DASHBOARD
from otel_desk_receiver.devkit.slo.grafana import (
    ROW_TITLE,
    DashboardError,
    budget_remaining_expr,
    burn_rate_expr,
    render_into,
    with_slo_row,
)
from otel_desk_receiver.devkit.slo.source import BURN_ALERTS
from tests.deploy.grafana_schema import panels
from tests.deploy.promql_grouping import bot_without_app
from tests.deploy.telemetry_names import promql_problems
from tests.devkit.slo.sources import shipped, with_overrides
from tests.harness.paths import REPO

COMMITTED = json.loads((REPO / DASHBOARD).read_text())


def slo_rows(board):
    return [panel for panel in board["panels"] if panel["type"] == "row" and panel.get("title") == ROW_TITLE]


def other_panels(board):
    return [panel for panel in board["panels"] if panel not in slo_rows(board)]


def targets(row):
    return [(panel["title"], target["expr"]) for panel in row["panels"] for target in panel["targets"]]


def test_the_receiver_s_dashboard_has_one_collapsed_slo_row_below_every_other_panel():
    (row,) = slo_rows(COMMITTED)
    assert row["collapsed"] is True and COMMITTED["panels"][-1] is row
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in other_panels(COMMITTED))
    assert row["gridPos"] == {"x": 0, "y": bottom, "w": 24, "h": 1}
    assert min(p["gridPos"]["y"] for p in row["panels"]) == bottom + 1
    ids = [p["id"] for p in panels(COMMITTED)] + [row["id"]]
    assert len(ids) == len(set(ids))


def test_the_row_shows_the_budget_left_and_the_page_and_ticket_burn_rates():
    (row,) = slo_rows(COMMITTED)
    assert [panel["title"] for panel in row["panels"]] == [
        "Error budget remaining (28d)", "Burn rate over 1h (page)", "Burn rate over 1d (ticket)"]
    lines = [panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] for panel in row["panels"][1:]]
    assert lines == [float(BURN_ALERTS[0].factor), float(BURN_ALERTS[2].factor)]
    for panel in row["panels"]:
        (target,) = panel["targets"]
        # The SLO's own labels, as its alerts name the bot.
        assert target["legendFormat"] == "{{sendbird_app_id}} bot {{sendbird_desk_bot_id}}"
        assert panel["datasource"] == target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_queries_use_exported_names_and_follow_the_dashboard_s_variables():
    variables = {v["name"] for v in COMMITTED["templating"]["list"]}
    assert {"datasource", "service", "app", "bot"} <= variables
    found = [expr for row in slo_rows(COMMITTED) for _, expr in targets(row)]
    assert len(found) == 3
    for expr in found + [burn_rate_expr(with_overrides(), "1h")]:
        assert promql_problems(expr) == [] and bot_without_app(expr) == [], expr
        # The bot variable lists bot names; a bot's SLO counts every call of its id, whatever its name was then.
        assert expr.endswith(' and on (sendbird_app_id, sendbird_desk_bot_id) sendbird_desk_bot_webhook_logs_total'
                             '{job=~"$service", sendbird_app_id=~"$app", sendbird_desk_bot_name=~"$bot"}'), expr
        assert expr.count('job=~"$service", sendbird_app_id=~"$app"') == expr.count("sendbird_desk_bot_webhook_logs")


def test_every_bot_s_budget_is_written_in_most_specific_first():
    expr = burn_rate_expr(with_overrides(), "1h")
    assert expr.index("0.005 * group by") < expr.index("0.02 * group by") < expr.index("0.01 * group by")
    assert '[1h]' in expr and budget_remaining_expr(with_overrides()).startswith("1 - ")


def test_regenerating_replaces_the_row_and_leaves_everything_else_as_it_was():
    edited = copy.deepcopy(COMMITTED)
    slo_rows(edited)[0]["panels"].pop()  # a stale row (an older source), in the middle of the list
    edited["panels"].insert(2, edited["panels"].pop())
    edited["annotations"]["list"].append({"name": "Deploys", "enable": True, "iconColor": "blue",
                                          "datasource": {"type": "loki", "uid": "${logs}"}})
    regenerated = with_slo_row(edited, shipped())
    assert other_panels(regenerated) == other_panels(edited)
    assert {k: v for k, v in regenerated.items() if k != "panels"} == {k: v for k, v in edited.items() if k != "panels"}
    assert slo_rows(regenerated) == slo_rows(COMMITTED) and regenerated["panels"][-1] == slo_rows(COMMITTED)[0]
    text = json.dumps(edited, indent=2) + "\n"
    assert json.loads(render_into(text, shipped())) == regenerated
    assert render_into(render_into(text, shipped()), shipped()) == render_into(text, shipped())


def test_a_panel_added_by_hand_moves_the_row_below_it_with_ids_of_its_own():
    edited = copy.deepcopy(COMMITTED)
    edited["panels"] = other_panels(edited)
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in edited["panels"])
    edited["panels"].append({"id": 40, "type": "stat", "title": "By hand", "gridPos": {"x": 0, "y": bottom, "w": 6,
                                                                                        "h": 4}})
    (row,) = slo_rows(with_slo_row(edited, shipped()))
    assert row["gridPos"]["y"] == bottom + 4 and min(p["gridPos"]["y"] for p in row["panels"]) == bottom + 5
    assert min([row["id"]] + [p["id"] for p in row["panels"]]) > 40


def test_the_row_needs_the_dashboard_s_variables():
    edited = copy.deepcopy(COMMITTED)
    edited["templating"]["list"] = [v for v in edited["templating"]["list"] if v["name"] != "bot"]
    with pytest.raises(DashboardError, match="needs the variable bot"):
        with_slo_row(edited, shipped())
    with pytest.raises(DashboardError, match="not a Grafana dashboard"):
        render_into("[]\n", shipped())
