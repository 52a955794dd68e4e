"""The Helm chart: every ci/ scenario renders, lints strictly and validates against Kubernetes 1.33;
the token only ever travels by secretKeyRef; probes, security context, checksums, sidecar mode,
NOTES and the schema behave; examples/ match their committed renderings."""

import base64
import json
import re

import helm_python
import kubernetes_validate
import pytest
import yaml

from otel_desk_receiver import otel_env
from otel_desk_receiver.config import SECRET_FIELDS, Settings, env_name
from tests.deploy.chart import (
    CHART_DIR, CI_VALUES, EXAMPLE_VALUES, KUBERNETES_VERSION, RELEASE, all_containers, documents, find,
    load_values, receiver_containers, render, sidecar_snippet, token_secrets,
)

MINIMAL = {"token": {"value": "ci-token"}, "settings": {"appId": "app-1"}, "otlp": {"endpoint": "http://collector:4318"}}
scenarios = pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name.removesuffix("-values.yaml"))


def camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def kube_state(values) -> bool:
    return values.get("settings", {}).get("stateBackend", "file") == "kubernetes"


def uses_kube_api(values) -> bool:
    election = values.get("settings", {}).get("leaderElection")
    return kube_state(values) or bool(election)


def env_entries(container):
    return {entry["name"]: entry for entry in container.get("env", [])}


TOKEN_FIELDS = {"api_token", "api_token_file"}  # given by the chart's `token` values, not `settings`


def receivers_with_volumes(docs):
    """(receiver container, the volumes of its pod): the Deployment's, or the sidecar snippet's."""
    for deployment in find(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            if "run" in container.get("args", []):
                yield container, pod["volumes"]
    if find(docs, "ConfigMap", f"{RELEASE}-sidecar"):
        yield sidecar_snippet(docs)


@pytest.fixture(scope="module")
def chart_values():
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())


@pytest.fixture(scope="module")
def schema():
    return json.loads((CHART_DIR / "values.schema.json").read_text())


def test_there_is_a_ci_scenario_per_shape():
    names = {p.name for p in CI_VALUES}
    assert {"default-values.yaml", "sidecar-values.yaml", "demo-emulator-values.yaml", "full-values.yaml"} <= names


@scenarios
def test_scenario_renders_valid_kubernetes_objects(values_file):
    docs = documents(render(load_values(values_file)))
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@scenarios
def test_scenario_lints_strictly(values_file):
    report = helm_python.lint(CHART_DIR, load_values(values_file), strict=True)
    assert report["errors"] == []
    # Severity 1 is informational ("icon is recommended"); warnings and errors are not accepted.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@scenarios
def test_token_reaches_the_receiver_only_as_a_file_of_a_secret_volume(values_file):
    values = load_values(values_file)
    rendered = render(values)
    docs = documents(rendered)
    containers = list(all_containers(docs))
    assert containers
    receivers = list(receivers_with_volumes(docs))
    assert receivers
    for container, volumes in receivers:
        assert "DESK_API_TOKEN" not in env_entries(container)
        assert token_secrets(docs, container, volumes)
    for container in containers:
        token = env_entries(container).get("DESK_API_TOKEN")
        if token is not None:  # the emulator's: it reads the token it accepts at start only
            assert "run" not in container["args"]
            assert set(token) == {"name", "valueFrom"} and set(token["valueFrom"]) == {"secretKeyRef"}
        headers = env_entries(container).get("OTEL_EXPORTER_OTLP_HEADERS")
        if headers is not None:
            assert set(headers) == {"name", "valueFrom"} and "secretKeyRef" in headers["valueFrom"]
    for configmap in find(docs, "ConfigMap"):  # the state ConfigMap is rendered without data
        data = configmap.get("data", {})
        assert "DESK_API_TOKEN" not in data and "DESK_API_TOKEN_FILE" not in data
        assert "OTEL_EXPORTER_OTLP_HEADERS" not in data
    secrets = {"secret.yaml"}
    app_tokens = [app.get("token") for app in values.get("apps", [])]
    for secret_value in (values.get("token", {}).get("value"), values.get("otlp", {}).get("headers", {}).get("value"),
                         *app_tokens):
        if secret_value:
            for path, text in rendered.items():
                if path not in secrets:
                    assert secret_value not in text, path


@scenarios
def test_token_secret_holds_the_token_under_the_referenced_key(values_file):
    values = load_values(values_file)
    docs = documents(render(values))
    # The single app's `token`, or each app's own (token, or existingSecret and existingSecretKey).
    tokens = [{"value": app.get("token", ""), **app} for app in values["apps"]] if values.get("apps") else [values["token"]]
    for container, volumes in receivers_with_volumes(docs):
        secrets = token_secrets(docs, container, volumes)
        assert len(secrets) == len(tokens)
        for (secret_name, key), token in zip(secrets, tokens):
            assert key == token.get("existingSecretKey", "api-token")
            if token.get("existingSecret"):
                assert secret_name == token["existingSecret"]
            else:
                (secret,) = find(docs, "Secret", secret_name)
                assert base64.b64decode(secret["data"][key]).decode() == token["value"]


@scenarios
def test_every_container_runs_locked_down(values_file):
    docs = documents(render(load_values(values_file)))
    for container in all_containers(docs):
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
    for deployment in find(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        # Only the Kubernetes state backend and leader election call the API (test_chart_ha.py).
        assert pod["automountServiceAccountToken"] is uses_kube_api(load_values(values_file))


@scenarios
def test_probes_use_the_health_endpoints_on_the_configured_port(values_file):
    values = load_values(values_file)
    sidecar = values.get("mode") == "sidecar"
    health_addr = values.get("settings", {}).get("healthAddr", "0.0.0.0:13134" if sidecar else "0.0.0.0:13133")
    readiness_wanted = values.get("probes", {}).get("readiness", {}).get("enabled", True) and (
        not sidecar or values.get("sidecar", {}).get("readinessProbe", False))
    for container in receiver_containers(documents(render(values))):
        health_ports = [p for p in container.get("ports", []) if p["name"] == "desk-health"]
        if not health_addr:
            assert "livenessProbe" not in container and "readinessProbe" not in container and not health_ports
            continue
        port = int(health_addr.rsplit(":", 1)[1])
        assert health_ports == [{"name": "desk-health", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        if readiness_wanted:
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        else:
            assert "readinessProbe" not in container


@scenarios
def test_state_volume_is_mounted_where_the_state_path_points(values_file):
    values = load_values(values_file)
    docs = documents(render(values))
    state_path = values.get("settings", {}).get("statePath", "/var/lib/otel-desk-receiver/state.json")
    persistence = values.get("persistence", {})
    for container in receiver_containers(docs):
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["desk-receiver-state"] == state_path.rsplit("/", 1)[0]
    configmap = find(docs, "ConfigMap", RELEASE if "fullnameOverride" not in values else values["fullnameOverride"])
    assert configmap[0]["data"]["DESK_STATE_PATH"] == state_path
    claims = find(docs, "PersistentVolumeClaim")
    if not persistence.get("enabled", True) or persistence.get("existingClaim") or kube_state(values):
        assert claims == []
    else:
        (claim,) = claims
        assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


@scenarios
def test_deployment_is_a_single_writer(values_file):
    values = load_values(values_file)
    receivers = [d for d in find(documents(render(values)), "Deployment")
                 if d["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == "receiver"]
    if values.get("mode") == "sidecar":
        assert receivers == []
        return
    (deployment,) = receivers
    if kube_state(values) and values.get("settings", {}).get("leaderElection") is not False:
        assert deployment["spec"]["strategy"] == {"type": "RollingUpdate"}  # hot standbys: test_chart_ha.py
    else:
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    # With apps, the receiver reads them from the file the chart mounts (test_chart_apps.py).
    config = ["--config", "/etc/otel-desk-receiver/apps.yaml"] if values.get("apps") else []
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == ["run", *config]


def test_every_setting_is_a_chart_value_and_an_environment_variable(chart_values, schema):
    full = load_values(CHART_DIR / "ci" / "full-values.yaml")
    docs = documents(render(full))
    (configmap,) = find(docs, "ConfigMap", full["fullnameOverride"])
    (container,) = receiver_containers(docs)
    for field in Settings.model_fields:
        if field in TOKEN_FIELDS:
            assert "token" in chart_values and "token" in schema["properties"]
            continue
        key = camel(field)
        assert key in chart_values["settings"], key
        assert key in schema["properties"]["settings"]["properties"], key
        assert key in full["settings"], f"ci/full-values.yaml should set {key}"
        assert env_name(field) in configmap["data"], env_name(field)
    assert "DESK_API_TOKEN_FILE" in env_entries(container)
    expected_keys = {camel(f) for f in Settings.model_fields if f not in TOKEN_FIELDS | SECRET_FIELDS}
    assert set(chart_values["settings"]) == expected_keys


def test_full_scenario_passes_every_value_through():
    full = load_values(CHART_DIR / "ci" / "full-values.yaml")
    docs = documents(render(full))
    (configmap,) = find(docs, "ConfigMap", full["fullnameOverride"])
    data = configmap["data"]
    assert data["DESK_BOT_IDS"] == "101,202"
    assert data["DESK_EXPORT_EXTRA_FIELDS"] == "requestId,responseCode"
    assert data["DESK_SETTLE_GRACE"] == "90.5"
    assert data["DESK_BOT_LIST_INTERVAL"] == "5m"
    assert data["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    assert data["OTEL_RESOURCE_ATTRIBUTES"] == "deployment.environment.name=ci,k8s.cluster.name=ci-cluster"
    assert data["OTEL_EXPORTER_OTLP_TIMEOUT"] == "5000"
    assert data["OTEL_METRIC_EXPORT_INTERVAL"] == "30000"
    assert data["OTEL_METRICS_EXPORTER"] == "otlp,prometheus"
    assert data["OTEL_EXPORTER_PROMETHEUS_PORT"] == "9465"
    (deployment,) = find(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["tolerations"] == full["tolerations"]
    assert pod["affinity"] == full["affinity"]
    assert pod["nodeSelector"] == full["nodeSelector"]
    assert pod["serviceAccountName"] == full["serviceAccount"]["name"]
    assert deployment["spec"]["template"]["metadata"]["annotations"]["example.com/team"] == "support-bots"
    assert {"name": "otlp-ca", "configMap": {"name": "otlp-ca"}} in pod["volumes"]
    assert env_entries(pod["containers"][0])["OTEL_EXPORTER_OTLP_CERTIFICATE"]["value"] == "/etc/otlp-ca/ca.crt"
    (claim,) = find(docs, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == ""


def pod_annotations(values):
    (deployment,) = find(documents(render(values)), "Deployment")
    return deployment["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize(
    ("change", "annotation"),
    [
        ({"settings": {"appId": "app-1", "pollInterval": 60}}, "checksum/config"),
        ({"otlp": {"endpoint": "http://other-collector:4318"}}, "checksum/config"),
        ({"token": {"value": "rotated-token"}}, "checksum/secret"),
    ],
    ids=["setting", "otlp-endpoint", "token"],
)
def test_a_changed_config_rolls_the_pod(change, annotation):
    before = pod_annotations(MINIMAL)
    assert pod_annotations(MINIMAL) == before  # deterministic
    after = pod_annotations(MINIMAL | change)
    assert after[annotation] != before[annotation]


def test_sidecar_mode_renders_pieces_and_a_snippet_but_no_workload():
    values = load_values(CHART_DIR / "ci" / "sidecar-values.yaml")
    docs = documents(render(values))
    assert {d["kind"] for d in docs} == {"Secret", "ConfigMap", "PersistentVolumeClaim"}
    container, volumes = sidecar_snippet(docs)
    assert token_secrets(docs, container, volumes) == [(RELEASE, "api-token")]
    assert container["envFrom"] == [{"configMapRef": {"name": RELEASE}}]
    assert [v["name"] for v in volumes] == ["desk-receiver-state", "desk-receiver-tmp", "desk-receiver-token"]
    assert volumes[0]["persistentVolumeClaim"]["claimName"] == find(docs, "PersistentVolumeClaim")[0]["metadata"]["name"]
    # The snippet is the same container the Deployment runs (on the sidecar's health port), minus the
    # readiness probe.
    standalone = next(receiver_containers(documents(render(
        values | {"mode": "deployment", "settings": values["settings"] | {"healthAddr": "0.0.0.0:13134"}}))))
    assert {k: v for k, v in standalone.items() if k != "readinessProbe"} == container
    # A Pod built from the snippet is a valid Kubernetes object.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host"},
           "spec": {"containers": [{"name": "otel-collector", "image": "otel/opentelemetry-collector-contrib"}, container],
                    "volumes": volumes}}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(("mode", "health_addr", "expected"), [
    ("deployment", None, "0.0.0.0:13133"),
    ("sidecar", None, "0.0.0.0:13134"),
    ("sidecar", "0.0.0.0:9000", "0.0.0.0:9000"),
    ("sidecar", "", ""),
], ids=["deployment-default", "sidecar-default-clears-the-collector", "sidecar-explicit", "sidecar-off"])
def test_health_address_defaults_by_mode(mode, health_addr, expected):
    """The Collector's health_check extension takes 13133 in the pod a sidecar shares."""
    settings = {"appId": "app-1"} | ({} if health_addr is None else {"healthAddr": health_addr})
    docs = documents(render(MINIMAL | {"mode": mode, "settings": settings}))
    (configmap,) = find(docs, "ConfigMap", RELEASE)
    assert configmap["data"]["DESK_HEALTH_ADDR"] == expected
    (container,) = receiver_containers(docs)
    assert [p["containerPort"] for p in container.get("ports", [])] == ([int(expected.rsplit(":", 1)[1])]
                                                                        if expected else [])


def test_metrics_go_over_otlp_by_default_with_no_metrics_port():
    docs = documents(render(MINIMAL))
    (configmap,) = find(docs, "ConfigMap", RELEASE)
    assert configmap["data"]["OTEL_METRICS_EXPORTER"] == "otlp"
    assert not {"OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_PORT"} & set(configmap["data"])
    (container,) = receiver_containers(docs)
    assert [p["name"] for p in container["ports"]] == ["desk-health"]


@pytest.mark.parametrize("mode", ["deployment", "sidecar"])
@pytest.mark.parametrize("exporter", ["prometheus", "otlp,prometheus"])
def test_prometheus_scrape_listens_on_the_pod_and_declares_its_port(mode, exporter):
    docs = documents(render(MINIMAL | {"mode": mode, "metrics": {"exporter": exporter, "prometheusPort": 9500}}))
    (configmap,) = find(docs, "ConfigMap", RELEASE)
    assert {k: v for k, v in configmap["data"].items() if "METRICS_EXPORTER" in k or "PROMETHEUS" in k} == {
        "OTEL_METRICS_EXPORTER": exporter, "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
        "OTEL_EXPORTER_PROMETHEUS_PORT": "9500"}
    (container,) = receiver_containers(docs)  # the Deployment's container, or the sidecar snippet
    assert {"name": "desk-metrics", "containerPort": 9500, "protocol": "TCP"} in container["ports"]
    # What the chart sets is what the receiver accepts.
    assert otel_env.metrics_exporter_problems(configmap["data"]) == []
    assert otel_env.metrics_exporters(configmap["data"]) == tuple(exporter.split(","))
    assert otel_env.prometheus_address(configmap["data"]) == ("0.0.0.0", 9500)


def test_prometheus_port_without_health_port_is_the_only_port():
    settings = {"appId": "app-1", "healthAddr": ""}
    (container,) = receiver_containers(documents(render(
        MINIMAL | {"settings": settings, "metrics": {"exporter": "prometheus", "prometheusPort": 9464}})))
    assert container["ports"] == [{"name": "desk-metrics", "containerPort": 9464, "protocol": "TCP"}]
    assert "livenessProbe" not in container and "readinessProbe" not in container


def test_render_fails_when_the_metrics_port_is_the_health_port():
    with pytest.raises(helm_python.HelmRenderError, match=r"metrics\.prometheusPort 13133 is the health port"):
        render(MINIMAL | {"metrics": {"exporter": "prometheus", "prometheusPort": 13133}})


def test_collector_chart_example_carries_the_rendered_snippet():
    example = CHART_DIR / "examples" / "sidecar-collector"
    container, volumes = sidecar_snippet(documents(render(load_values(example / "values.yaml"))))
    collector_values = yaml.safe_load((example / "opentelemetry-collector-values.yaml").read_text())
    assert collector_values["extraContainers"] == [container]
    assert collector_values["extraVolumes"] == volumes
    assert collector_values["replicaCount"] > 1  # safe: the kubernetes backend with leader election


def test_sidecar_notes_print_the_snippet():
    values = load_values(CHART_DIR / "ci" / "sidecar-values.yaml")
    rendered = render(values)
    container, volumes = sidecar_snippet(documents(rendered))
    notes = rendered["NOTES.txt"]
    snippet = notes.split("extraContainers):\n", 1)[1].split("and to its volumes", 1)[0]
    assert yaml.safe_load(snippet) == [container]
    assert yaml.safe_load(notes.split("extraVolumes):\n", 1)[1]) == volumes


def test_demo_emulator_is_what_the_receiver_polls():
    docs = documents(render(load_values(CHART_DIR / "ci" / "demo-emulator-values.yaml")))
    (service,) = find(docs, "Service")
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]["port"]
    (configmap,) = find(docs, "ConfigMap", RELEASE)
    assert configmap["data"]["DESK_API_URL"] == f"http://{name}:{port}/platform/v1"
    (emulator,) = find(docs, "Deployment", name)
    container = emulator["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["emulator", "--host", "0.0.0.0", "--port", str(port)]
    assert "secretKeyRef" in env_entries(container)["DESK_API_TOKEN"]["valueFrom"]
    selectors = [d["spec"]["selector"]["matchLabels"] for d in find(docs, "Deployment")]
    assert selectors[0] != selectors[1]


@pytest.mark.parametrize(
    "values",
    [
        {"settings": {"appId": "app-1"}},
        {"settings": {"appId": "app-1"}, "token": {"value": "", "existingSecret": ""}},
        {"mode": "sidecar", "settings": {"appId": "app-1"}},
    ],
    ids=["no-token", "empty-token", "sidecar-no-token"],
)
def test_notes_fail_without_a_token(values):
    with pytest.raises(helm_python.HelmRenderError, match=r"token\.existingSecret"):
        render(values)


def test_render_fails_without_an_application_or_url():
    with pytest.raises(helm_python.HelmRenderError, match=r"settings\.appId"):
        render({"token": {"value": "t"}})


@pytest.mark.parametrize(
    ("values", "warning"),
    [
        (MINIMAL | {"persistence": {"enabled": False}}, "forgets all checkpoints"),
        ({"token": {"value": "t"}, "settings": {"appId": "a"}}, "otlp.endpoint is empty"),
        (MINIMAL | {"settings": {"appId": "a", "backfillDays": 2}}, "Datadog drops log records older than 18 hours"),
    ],
    ids=["emptydir", "no-endpoint", "backfill-datadog"],
)
def test_notes_warn(values, warning):
    assert warning in render(values)["NOTES.txt"]


def test_notes_quiet_on_defaults():
    assert "WARNING" not in render(MINIMAL)["NOTES.txt"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bogus": 1}, "additional properties 'bogus'"),
        ({"settings": {"appId": "a", "bogus": 1}}, "additional properties 'bogus'"),
        ({"mode": "daemonset"}, "/mode"),
        ({"settings": {"appId": "a", "pageSize": 501}}, "/settings/pageSize"),
        ({"settings": {"appId": "a", "backfillDays": 31}}, "/settings/backfillDays"),
        ({"settings": {"appId": "a", "logLevel": "TRACE"}}, "/settings/logLevel"),
        ({"settings": {"appId": "a", "healthAddr": "13133"}}, "/settings/healthAddr"),
        ({"otlp": {"protocol": "http/json"}}, "/otlp/protocol"),
        ({"otlp": {"endpoint": "collector:4317"}}, "/otlp/endpoint"),
        ({"otlp": {"metricsTemporalityPreference": "Delta"}}, "/otlp/metricsTemporalityPreference"),
        ({"metrics": {"exporter": "otlp,jaeger", "prometheusPort": 9464}}, "/metrics/exporter"),
        ({"metrics": {"exporter": "prometheus", "prometheusPort": 0}}, "/metrics/prometheusPort"),
        ({"securityContext": {"runAsNonRot": True}}, "runAsNonRot"),
    ],
    ids=["unknown-top", "unknown-setting", "mode", "page-size", "backfill", "log-level", "health-addr",
         "protocol", "endpoint-scheme", "temporality", "metrics-exporter", "metrics-port", "misspelt-security"],
)
def test_schema_rejects_bad_values(change, message):
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message)):
        render(MINIMAL | change)


def test_schema_closes_every_object(schema):
    """Every object the chart owns lists its keys; only Kubernetes pass-through types stay open."""
    pass_through = {"global", "affinity", "extraEnv", "extraVolumes", "extraVolumeMounts", "tolerations", "windowsOptions"}

    def walk(node, path):
        if node.get("type") == "object" and "properties" in node and path.split(".")[-1] not in pass_through:
            assert node.get("additionalProperties") is False or path.endswith("extraEnv.items"), path
            for key, child in node["properties"].items():
                walk(child, f"{path}.{key}")
        for key in ("items",):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{path}.{key}")

    walk(schema, "values")


def test_schema_describes_every_default_value(chart_values, schema):
    def walk(values, node, path):
        assert set(values) <= set(node["properties"]), path
        for key, value in values.items():
            child = node["properties"][key]
            if isinstance(value, dict) and "properties" in child:
                walk(value, child, f"{path}.{key}")

    walk(chart_values, schema, "values")
    assert set(chart_values) == set(schema["properties"]) - {"global"}


def golden_files(example_dir):
    rendered = render(load_values(example_dir / "values.yaml"))
    return {path.replace("/", "_"): text for path, text in rendered.items()}


@pytest.mark.parametrize("values_file", EXAMPLE_VALUES, ids=lambda p: p.parent.name)
def test_example_matches_its_committed_rendering(values_file, update_golden):
    rendered_dir = values_file.parent / "rendered"
    actual = golden_files(values_file.parent)
    if update_golden:
        rendered_dir.mkdir(exist_ok=True)
        for stale in rendered_dir.iterdir():
            stale.unlink()
        for name, text in actual.items():
            (rendered_dir / name).write_text(text)
    committed = {p.name: p.read_text() for p in sorted(rendered_dir.glob("*"))} if rendered_dir.is_dir() else {}
    assert sorted(committed) == sorted(actual), f"regenerate with pytest --update-golden ({rendered_dir})"
    for name, text in actual.items():
        assert committed[name] == text, f"{rendered_dir / name} differs; regenerate with pytest --update-golden"


@pytest.mark.parametrize("values_file", EXAMPLE_VALUES, ids=lambda p: p.parent.name)
def test_example_renders_valid_kubernetes_objects(values_file):
    for doc in documents(render(load_values(values_file))):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
