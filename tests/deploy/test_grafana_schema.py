"""The Grafana dashboards import into any Grafana: they type-check against Grafana's own schema
(npm @grafana/schema, TypeScript strict), their LogQL parses with Grafana's grammar, and every query
names its data source through a template variable that an import (`__inputs`) or the user sets,
never a hard-coded uid."""

import json
import re

import pytest

from tests.deploy.grafana_schema import UNTYPED_FIELDS, logql_errors, panels, strip_untyped, type_check
from tests.harness.paths import REPO

DASHBOARDS = sorted((REPO / "examples" / "grafana" / "dashboards").glob("*.json"))
# The checks of the checks run on the receiver's own dashboard (any other would sit beside it).
MAIN = REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json"
VARIABLE_REF = re.compile(r"\$\{(\w+)\}")


def rel(path):
    return str(path.relative_to(REPO))


def load(path):
    return json.loads(path.read_text())


def datasource_refs(dashboard):
    """Every datasource reference: panels (a row's included), their targets, query variables."""
    for panel in panels(dashboard):
        yield f"panel {panel['title']!r}", panel.get("datasource")
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target.get("datasource")
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable.get("datasource")


@pytest.mark.parametrize("path", DASHBOARDS, ids=rel)
def test_dashboard_type_checks_against_grafana_s_schema(path, tmp_path):
    assert type_check(load(path), tmp_path) == []


def test_the_type_check_catches_misspelt_and_mistyped_fields(tmp_path):
    dashboard = load(MAIN)
    dashboard["panels"][0]["titel"] = "misspelt"
    dashboard["panels"][0]["options"]["legend"]["displayMode"] = "tabel"
    dashboard["panels"][1]["gridPos"]["w"] = "12"
    errors = " ".join(type_check(dashboard, tmp_path))
    assert "titel" in errors and "tabel" in errors and "not assignable to type 'number'" in errors


def row(*children, **fields):
    """A row as Grafana saves it collapsed: its panels inside it, laid out below it."""
    return {"type": "row", "id": 90, "title": "A row", "collapsed": True, "gridPos": {"x": 0, "y": 90, "w": 24, "h": 1},
            "panels": [dict(child, id=91 + i, gridPos=dict(child["gridPos"], y=91))
                       for i, child in enumerate(children)],
            **fields}


def test_a_row_type_checks_as_grafana_s_row_panel_with_its_panels_checked_as_any_panel(tmp_path):
    dashboard = load(MAIN)
    timeseries, stat = (next(p for p in dashboard["panels"] if p["type"] == kind) for kind in ("timeseries", "stat"))
    dashboard["panels"].append(row(timeseries, stat))
    for case in ("good", "broken"):
        (tmp_path / case).mkdir()
    assert type_check(dashboard, tmp_path / "good") == []
    broken = load(MAIN)
    broken["panels"].append(row(dict(timeseries, options=dict(timeseries["options"], legend={"displayMode": "tabel"})),
                                dict(stat, fieldConfig={"defaults": {"custom": {}}, "overrides": []}),
                                collapsd=True))
    errors = " ".join(type_check(broken, tmp_path / "broken"))
    assert "tabel" in errors and "collapsd" in errors and "not assignable to type 'never'" in errors, errors


def test_a_row_is_typed_as_a_row_not_as_a_panel(tmp_path):
    dashboard = load(MAIN)
    child = dashboard["panels"][0]
    # A row takes no options or queries (Panel would), collapsed is a boolean, a row holds no row.
    for case, fields, said in (("options", {"options": child["options"]}, """'"options"' does not exist"""),
                               ("targets", {"targets": child["targets"]}, """'"targets"' does not exist"""),
                               ("collapsed", {"collapsed": "yes"}, "not assignable to type 'boolean'"),
                               ("row", {"panels": [row(child)]}, """'"collapsed"' does not exist""")):
        broken = load(MAIN)
        broken["panels"].append(row(child, **fields))
        (tmp_path / case).mkdir()
        assert said in " ".join(type_check(broken, tmp_path / case)), case


def test_panels_are_the_dashboard_s_and_those_its_rows_hold():
    first, second, third, *_ = [p for p in load(MAIN)["panels"] if p["type"] != "row"]
    dashboard = {"panels": [first, row(second, third), row(), dict(row(), collapsed=False), third]}
    assert [p["title"] for p in panels(dashboard)] == [p["title"] for p in (first, second, third, third)]


def test_only_allow_listed_fields_are_left_out_of_the_check():
    dashboard = load(MAIN)
    stripped = strip_untyped(dashboard)
    assert "__inputs" not in stripped and all("definition" not in v for v in stripped["templating"]["list"])
    assert stripped["panels"] == dashboard["panels"]
    assert all(reason for reason in UNTYPED_FIELDS.values())


@pytest.mark.parametrize("path", DASHBOARDS, ids=rel)
def test_queries_name_their_data_source_through_a_variable(path):
    dashboard = load(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"] if v["type"] == "datasource"}
    for where, ref in datasource_refs(dashboard):
        assert ref is not None, f"{where}: no datasource"
        match = VARIABLE_REF.fullmatch(ref["uid"])
        assert match, f"{where}: hard-coded uid {ref['uid']!r}"
        assert variables[match.group(1)]["query"] == ref["type"], where


@pytest.mark.parametrize("path", DASHBOARDS, ids=rel)
def test_import_asks_for_each_data_source_plugin_used(path):
    dashboard = load(path)
    inputs = {i["name"]: i for i in dashboard["__inputs"]}
    variables = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert {i["pluginId"] for i in inputs.values()} == {v["query"] for v in variables}
    for variable in variables:
        (name,) = VARIABLE_REF.fullmatch(variable["current"]["value"]).groups()
        assert inputs[name]["type"] == "datasource" and inputs[name]["pluginId"] == variable["query"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=rel)
def test_logql_parses_with_grafana_s_grammar(path):
    queries = [t["expr"] for panel in panels(load(path)) for t in panel.get("targets", [])
               if t["datasource"]["type"] == "loki"]
    assert queries
    assert dict(zip(queries, logql_errors(queries))) == dict.fromkeys(queries)


def test_the_logql_check_catches_a_broken_query():
    good, broken = logql_errors(['{service_name="x"} | a=~"b"', '{service_name="x" | a'])
    assert good is None and "syntax error" in broken
