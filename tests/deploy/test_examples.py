"""examples/: compose files valid against the Compose spec and built from the repository's
Dockerfile; every YAML and JSON file parses; dashboards, alerting and monitors use only names the
receiver exports (derived from otel_desk_receiver.names); the Kubernetes manifest carries the
chart's sidecar snippet; the chart README documents every value."""

import json
import re
import subprocess
import sys
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings, env_name, load_settings
from tests.deploy.chart import CHART_DIR, KUBERNETES_VERSION, documents, load_values, render, sidecar_snippet
from tests.deploy.grafana_schema import panels
from tests.deploy.promql_grouping import bot_without_app, grouping_problems, groupings
from tests.deploy.release import IMAGE
from tests.deploy.telemetry_names import (
    HISTOGRAM_SERIES, datadog_metrics, datadog_names, datadog_tags, log_labels, logql_labels, prometheus_labels,
    prometheus_series, promql_names, promql_problems,
)
from tests.harness.paths import REPO

EXAMPLES = REPO / "examples"
COMPOSE_FILES = sorted(EXAMPLES.glob("*/compose*.yaml"))
YAML_FILES = sorted([*EXAMPLES.rglob("*.yaml"), *(CHART_DIR / "examples").rglob("*.yaml")])
JSON_FILES = sorted(EXAMPLES.rglob("*.json"))
GRAFANA = EXAMPLES / "grafana"
DATADOG = EXAMPLES / "datadog"
DESK_VARIABLES = {env_name(field) for field in Settings.model_fields}
# label_values(metric, label) or label_values(metric{matchers}, label): a Grafana query variable.
VARIABLE_QUERY = re.compile(r"label_values\((\w+)(\{[^}]*\})?,\s*(\w+)\)")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)?\{([^}]*)\}")


def rel(path):
    return str(path.relative_to(REPO))


def test_every_backend_has_an_example():
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} >= {"grafana", "datadog", "collector", "otlp-direct", "alerts"}
    for directory in EXAMPLES.iterdir():
        assert (directory / "README.md").is_file(), directory


@pytest.mark.parametrize("path", YAML_FILES, ids=rel)
def test_yaml_parses(path):
    assert list(yaml.safe_load_all(path.read_text()))


@pytest.mark.parametrize("path", JSON_FILES, ids=rel)
def test_json_parses(path):
    assert json.loads(path.read_text())


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_compose_file_matches_the_compose_spec(path):
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def receiver_services(compose):
    return {name: s for name, s in compose["services"].items() if s.get("image", "").startswith(f"{IMAGE}:")}


APP_VERSION = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_compose_pulls_the_published_image_of_the_chart_s_version(path):
    images = {s["image"] for s in yaml.safe_load(path.read_text())["services"].values() if "build" in s}
    # With image and build both set, Compose pulls the image and builds only when asked (--build).
    assert images == {f"{IMAGE}:{APP_VERSION}"}


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_compose_builds_the_receiver_from_the_repository(path):
    compose = yaml.safe_load(path.read_text())
    services = receiver_services(compose)
    commands = {s["command"][0] for s in services.values()}
    assert commands == {"run", "emulator"}
    for service in services.values():
        context = (path.parent / service["build"]["context"]).resolve()
        assert context == REPO and (context / service["build"]["dockerfile"]).is_file()
        if service["command"][0] == "emulator":
            # The image's HEALTHCHECK asks the receiver's /healthz, which the emulator does not serve.
            assert "8080" in " ".join(service["healthcheck"]["test"])
            assert service["command"] == ["emulator", "--host", "0.0.0.0", "--port", "8080"]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_compose_sets_only_known_receiver_settings(path):
    compose = yaml.safe_load(path.read_text())
    for service in receiver_services(compose).values():
        desk = {k for k in service.get("environment", {}) if k.startswith("DESK_")}
        assert desk <= DESK_VARIABLES, desk - DESK_VARIABLES
        if service["command"][0] == "run":
            env = service["environment"]
            assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] in ("http/protobuf", "grpc")
            assert "/var/lib/otel-desk-receiver" in " ".join(service["volumes"])


@pytest.mark.parametrize("path", sorted(DATADOG.glob("compose*.yaml")), ids=rel)
def test_datadog_gets_delta_temporality_and_no_old_backfill(path, monkeypatch):
    (receiver,) = [s for s in receiver_services(yaml.safe_load(path.read_text())).values() if s["command"] == ["run"]]
    environment = receiver["environment"]
    assert environment["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    for name in ("DESK_BACKFILL", "DESK_BACKFILL_DAYS"):
        if name in environment:
            monkeypatch.setenv(name, str(environment[name]))
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_API_URL", "http://127.0.0.1:9/platform/v1")
    assert load_settings().backfill_s < 18 * 3600  # inside what Datadog accepts


def test_datadog_readme_warns_about_the_18_hour_limit():
    assert "18 hours" in (DATADOG / "README.md").read_text()


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("otelcol*.yaml")), ids=rel)
def test_collector_pipelines_reference_defined_components(path):
    config = yaml.safe_load(path.read_text())
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config.get(kind, {})), (kind, pipeline)
    assert set(config["service"].get("extensions", [])) <= set(config.get("extensions", {}))


def grafana_dashboard():
    return json.loads((GRAFANA / "dashboards" / "otel-desk-receiver.json").read_text())


def dashboard_targets():
    for panel in panels(grafana_dashboard()):
        for target in panel.get("targets", []):
            yield panel["title"], target["datasource"]["type"], target["expr"]


@pytest.mark.parametrize(("title", "kind", "expr"), list(dashboard_targets()), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_grafana_dashboard_uses_exported_names(title, kind, expr):
    if kind == "prometheus":
        assert promql_problems(expr) == []
    else:
        assert kind == "loki"
        assert logql_labels(expr) <= log_labels(), logql_labels(expr) - log_labels()


def test_grafana_dashboard_covers_the_issue_s_panels():
    exprs = " ".join(expr for _, _, expr in dashboard_targets())
    for spec in (names.WEBHOOK_LOGS, names.WEBHOOK_LOGS_PENDING, names.LAG, names.UNREAD_ERROR):
        assert spec.prometheus_name in exprs
    assert 'ERROR|TIMEOUT' in exprs and "loki" in {kind for _, kind, _ in dashboard_targets()}
    for variable in grafana_dashboard()["templating"]["list"]:
        if variable["type"] == "datasource":
            continue
        metric, _, label = VARIABLE_QUERY.fullmatch(variable["definition"]).groups()
        assert metric in prometheus_series() and label in prometheus_labels()


def dashboard_variables():
    return {v["name"]: v for v in grafana_dashboard()["templating"]["list"]}


def test_grafana_dashboard_has_service_app_and_bot_variables():
    variables = dashboard_variables()
    for name, label in (("service", "job"), ("app", "sendbird_app_id"), ("bot", "sendbird_desk_bot_name")):
        _, _, got = VARIABLE_QUERY.fullmatch(variables[name]["definition"]).groups()
        assert got == label and variables[name]["includeAll"] and variables[name]["multi"], name
    # Each list follows the wider choice: the apps of the chosen services, the bots of the chosen apps.
    assert 'job=~"$service"' in variables["app"]["definition"]
    assert {'job=~"$service"', 'sendbird_app_id=~"$app"'} <= set(VARIABLE_QUERY.fullmatch(
        variables["bot"]["definition"]).group(2).strip("{}").replace(", ", ",").split(","))
    # Loki refuses a stream selector every stream matches (service_name=~".*"): "All" services is ".+".
    assert variables["service"]["allValue"] == ".+"


PER_APP_SERIES = {series for spec in names.METRICS if names.ATTR_APP_ID in spec.attributes
                  for series in ([spec.prometheus_name + s for s in HISTOGRAM_SERIES] if spec.instrument == "histogram"
                                 else [spec.prometheus_name, spec.prometheus_name + "_ratio"])}


def selectors(expr):
    """(series name or __name__ pattern, matchers) of every selector with braces."""
    for name, matchers in SELECTOR.findall(expr):
        yield name or re.search(r'__name__=~"([^"]+)"', matchers).group(1), matchers


@pytest.mark.parametrize(("title", "kind", "expr"), list(dashboard_targets()), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_grafana_queries_follow_the_service_and_app_variables(title, kind, expr):
    if kind == "loki":
        assert expr.startswith('{service_name=~"$service"}') and 'sendbird_app_id=~"$app"' in expr, expr
        return
    found = list(selectors(expr))
    metrics, _, _ = promql_names(expr)
    assert metrics <= {name for name, _ in found}, f"a series without the variables: {metrics}"
    for series, matchers in found:
        assert 'job=~"$service"' in matchers, (series, expr)
        if any(re.fullmatch(series, name) for name in PER_APP_SERIES):
            assert 'sendbird_app_id=~"$app"' in matchers, (series, expr)
    assert bot_without_app(expr) == []


def test_the_dashboard_queries_name_no_service():
    queries = [expr for _, _, expr in dashboard_targets()] + [v.get("definition", "") for v in dashboard_variables().values()]
    assert [q for q in queries if names.DEFAULT_SERVICE_NAME in q] == []


def grafana_alerting_queries():
    provisioning = yaml.safe_load((GRAFANA / "provisioning" / "alerting" / "otel-desk-receiver.yaml").read_text())
    return {r["uid"]: d["model"]["expr"] for g in provisioning["groups"] for r in g["rules"] for d in r["data"]
            if d["datasourceUid"] == "prometheus"}


def test_grafana_alerting_uses_exported_names():
    queries = grafana_alerting_queries()
    assert len(queries) >= 3
    for expr in queries.values():
        assert promql_problems(expr) == []


@pytest.mark.parametrize("uid", grafana_alerting_queries())
def test_grafana_alerting_keeps_apps_and_receivers_apart(uid):
    assert grouping_problems(grafana_alerting_queries()[uid]) == []


def test_grafana_alerting_is_the_rules_on_receivers_and_apps():
    queries = grafana_alerting_queries()
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(
        (EXAMPLES / "alerts" / "otel-desk-receiver.rules.yaml").read_text())["groups"] for r in g["rules"]}
    # A receiver that vanishes leaves Grafana no series to alert on (a missing series resolves): its rule
    # counts the Prometheus rule's receivers instead.
    assert " ".join(queries["desk-receiver-not-polling"].split()) == \
        f"count by (job, instance) ( {' '.join(rules['DeskReceiverDown'].split())} )"
    assert groupings(queries["desk-api-unreachable"], "by") == [{"job", "instance", "sendbird_app_id"}] * 2


def test_grafana_compose_mounts_what_is_provisioned():
    compose = yaml.safe_load((GRAFANA / "compose.yaml").read_text())
    mounts = [v.split(":")[0] for v in compose["services"]["lgtm"]["volumes"]]
    for source in mounts:
        assert (GRAFANA / source).exists(), source
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "otel-desk-receiver.yaml").read_text())
    targets = {v.split(":")[1] for v in compose["services"]["lgtm"]["volumes"]}
    assert provider["providers"][0]["options"]["path"] in targets


def datadog_queries():
    dashboard = json.loads((DATADOG / "dashboard.json").read_text())
    for widget in dashboard["widgets"]:
        for request in widget["definition"].get("requests", []):
            for query in request["queries"]:
                if query["data_source"] == "metrics":  # the bot change overlay's logs search: test_bot_inventory_dashboards
                    yield widget["definition"]["title"], query["query"]
    for monitor in json.loads((DATADOG / "monitors.json").read_text()):
        yield monitor["name"], monitor["query"]


@pytest.mark.parametrize(("title", "query"), list(datadog_queries()), ids=lambda v: v[:60])
def test_datadog_queries_use_exported_names(title, query):
    metrics, tags = datadog_names(query)
    assert metrics, query
    assert metrics <= datadog_metrics(), metrics - datadog_metrics()
    tags = {t for t in tags if not t.startswith("$")}
    assert tags <= datadog_tags(), tags - datadog_tags()


def test_datadog_log_queries_use_exported_attributes():
    dashboard = json.loads((DATADOG / "dashboard.json").read_text())
    streams = [w["definition"] for w in dashboard["widgets"] if w["definition"]["type"] == "log_stream"]
    assert streams
    for stream in streams:
        attributes = set(re.findall(r"@([\w.]+)", stream["query"] + " ".join(stream["columns"])))
        assert attributes <= set(names.LOG_ATTRIBUTES), attributes - set(names.LOG_ATTRIBUTES)


def test_datadog_monitors_cover_the_alerts():
    queries = " ".join(q for _, q in datadog_queries())
    for spec in (names.WEBHOOK_LOGS, names.UNREAD_ERROR, names.LAG):
        assert spec.name in queries


def test_collector_manifest_carries_the_chart_s_sidecar_snippet():
    manifest = list(yaml.safe_load_all((EXAMPLES / "collector" / "kubernetes.yaml").read_text()))
    for doc in manifest:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    container, volumes = sidecar_snippet(documents(render(
        load_values(CHART_DIR / "examples" / "sidecar-two-apps" / "values.yaml"))))
    (deployment,) = [d for d in manifest if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert container in pod["containers"]
    assert all(volume in pod["volumes"] for volume in volumes)
    # Hot standbys: the sidecar recipe uses the kubernetes state backend (leader election on).
    assert deployment["spec"]["replicas"] > 1 and deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert pod["serviceAccountName"] == "otel-collector"
    (configmap,) = [d for d in manifest if d["kind"] == "ConfigMap"]
    assert configmap["data"]["config.yaml"] == (EXAMPLES / "collector" / "otelcol-config.yaml").read_text()


def test_sidecar_examples_keep_the_health_port_off_the_collector_s():
    docs = documents(render(load_values(CHART_DIR / "examples" / "sidecar-collector" / "values.yaml")))
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "otel-desk-receiver"]
    assert configmap["data"]["DESK_HEALTH_ADDR"] == "0.0.0.0:13134"
    compose = yaml.safe_load((EXAMPLES / "collector" / "compose.yaml").read_text())
    assert compose["services"]["otel-desk-receiver"]["environment"]["DESK_HEALTH_ADDR"].endswith(":13134")


def test_the_collector_compose_reads_two_apps_each_token_a_secret_file(tmp_path):
    """examples/collector/compose.yaml runs one receiver for two Desk apps (issue 21): the apps file it mounts is
    one the receiver loads, each app's token is a compose secret (a file), and each app's API is an emulator of the
    file that accepts that very token."""
    directory = EXAMPLES / "collector"
    compose = yaml.safe_load((directory / "compose.yaml").read_text())
    receiver = compose["services"]["otel-desk-receiver"]
    assert receiver["command"][:2] == ["run", "--config"]
    (config,) = [c for c in receiver["configs"] if c["target"] == receiver["command"][2]]
    apps_file = directory / compose["configs"][config["source"]]["file"]
    assert not {k for k in receiver["environment"] if k.startswith("DESK_API") or k == "DESK_APP_ID"}
    secret_files = {f"/run/secrets/{name}": name for name in receiver["secrets"]}
    dotenv = dict(line.split("=", 1) for line in (directory / ".env").read_text().splitlines()
                  if line and not line.startswith("#"))
    apps = yaml.safe_load(apps_file.read_text())["apps"]
    assert len(apps) == 2
    for app in apps:
        variable = compose["secrets"][secret_files[app["api_token_file"]]]["environment"]
        assert variable in dotenv  # `docker compose up` works as is, on the emulators
        emulator = compose["services"][urlsplit(app["api_url"]).hostname]
        assert emulator["command"][0] == "emulator"
        assert emulator["environment"]["DESK_API_TOKEN"].startswith(f"${{{variable}:")
    for app in apps:  # the secrets' files, here
        (tmp_path / secret_files[app["api_token_file"]]).write_text("token\n")
    text = apps_file.read_text().replace("/run/secrets", str(tmp_path))
    (tmp_path / "apps.yaml").write_text(text)
    settings = load_settings(tmp_path / "apps.yaml")
    assert [app.label for app in settings.desk_apps] == ["desk-emulator-eu:8080", "desk-emulator-us:8080"]


def test_otlp_direct_uses_http_and_headers():
    compose = yaml.safe_load((EXAMPLES / "otlp-direct" / "compose.yaml").read_text())
    env = compose["services"]["otel-desk-receiver"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert "OTEL_EXPORTER_OTLP_HEADERS" in env


def test_chart_readme_documents_every_value():
    readme = (CHART_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.M))

    def leaves(values, path=""):
        for key, value in values.items():
            full = f"{path}.{key}" if path else key
            if isinstance(value, dict) and value and key != "resources":
                yield from leaves(value, full)
            else:
                yield full

    missing = set(leaves(yaml.safe_load((CHART_DIR / "values.yaml").read_text()))) - documented
    assert not missing
