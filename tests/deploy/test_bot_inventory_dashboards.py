"""The bot change records on the dashboards (issue #24 point 2): the Grafana dashboard annotates its graphs from Loki
and the Datadog dashboard overlays the webhook failure ratio with them, so that a failure spike reads against "the
bot's webhook moved to a new host at 14:02". Both select the records by the change kind only they carry, and follow
the dashboards' service, app and bot variables. Loki keeps the OTLP event name (event_name); Datadog is asked for the
change kind, an attribute only the change records carry."""

import json

from otel_desk_receiver import names
from tests.deploy.grafana_schema import logql_errors
from tests.deploy.telemetry_names import log_labels, logql_labels
from tests.harness.paths import REPO

GRAFANA = json.loads((REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json").read_text())
DATADOG = json.loads((REPO / "examples" / "datadog" / "dashboard.json").read_text())
CHANGE_LABEL = names.prometheus_label(names.ATTR_BOT_CHANGE)  # Loki's structured metadata key


EVENT_FILTER = f'event_name="{names.BOT_CHANGE_EVENT_NAME}"'


def bot_change_annotations() -> list[dict]:
    return [a for a in GRAFANA["annotations"]["list"] if EVENT_FILTER in a.get("target", {}).get("expr", "")]


def test_grafana_annotates_from_loki_with_the_bot_change_records():
    (annotation,) = bot_change_annotations()
    assert annotation["enable"] and annotation["datasource"] == {"type": "loki", "uid": "${logs}"}
    expr = annotation["target"]["expr"]
    assert logql_errors([expr]) == [None]
    assert logql_labels(expr) <= log_labels()
    for variable in ("$service", "$app", "$bot"):
        assert variable in expr, variable
    assert CHANGE_LABEL in annotation["titleFormat"]


def test_datadog_overlays_the_failure_ratio_with_the_bot_change_records():
    (widget,) = [w["definition"] for w in DATADOG["widgets"] if w["definition"].get("title") == "Error and timeout ratio"]
    overlays = [r for r in widget["requests"] if r["display_type"] == "overlay"]
    (query,) = [q for r in overlays for q in r["queries"]]
    assert query["data_source"] == "logs" and query["compute"] == {"aggregation": "count"}
    search = query["search"]["query"].split()
    assert f"@{names.ATTR_BOT_CHANGE}:*" in search and {"$service", "$app", "$bot"} <= set(search)
    assert {word.split(":")[0][1:] for word in search if word.startswith("@")} <= set(names.BOT_CHANGE_ATTRIBUTES)
    assert {"facet": f"@{names.ATTR_BOT_CHANGE}", "limit": 10} in [
        {k: g[k] for k in ("facet", "limit")} for g in query["group_by"]]
