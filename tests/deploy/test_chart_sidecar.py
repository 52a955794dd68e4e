"""The chart as a sidecar (issue 23 point 7): the examples' names do not change with the release name
(fullnameOverride), the snippet for the Collector chart comes out of `helm template` before any install (the
<fullname>-sidecar ConfigMap's collector-values.yaml, the same text the example's Collector values carry), and
NOTES lists what the host pod needs: fsGroup for the state volume, one replica with Recreate for the file
backend, the ServiceAccount and its token for the Kubernetes API, the ports the receiver takes."""

import re

import pytest
import yaml

from tests.deploy.chart import (
    CHART_DIR, EXAMPLE_VALUES, documents, load_values, render, sidecar_configmap, sidecar_snippet,
)

SIDECAR_EXAMPLE = CHART_DIR / "examples" / "sidecar-collector"
# Each example with the Collector chart's values that add its snippet: one Desk app, and two (issue 21).
COLLECTOR_EXAMPLES = [SIDECAR_EXAMPLE, CHART_DIR / "examples" / "sidecar-two-apps"]
with_collector_values = pytest.mark.parametrize("example", COLLECTOR_EXAMPLES, ids=lambda p: p.name)
SIDECAR_CI = load_values(CHART_DIR / "ci" / "sidecar-values.yaml")


def collector_values(docs) -> dict:
    return yaml.safe_load(sidecar_configmap(docs)["data"]["collector-values.yaml"])


@pytest.mark.parametrize("values_file", EXAMPLE_VALUES, ids=lambda p: p.parent.name)
def test_examples_fix_their_names(values_file):
    values = load_values(values_file)
    assert values.get("fullnameOverride") == "otel-desk-receiver"
    # Every object keeps its name whatever the release is called.
    names = {release: sorted((d["kind"], d["metadata"]["name"]) for d in documents(render(values, release)))
             for release in ("otel-desk-receiver", "desk", "prod-receiver")}
    assert len({tuple(n) for n in names.values()}) == 1, names


@with_collector_values
@pytest.mark.parametrize("release", ["otel-desk-receiver", "desk", "observability-prod"])
def test_the_collector_example_carries_the_snippet_of_any_release_name(release, example):
    docs = documents(render(load_values(example / "values.yaml"), release))
    container, volumes = sidecar_snippet(docs)
    assert container["envFrom"] == [{"configMapRef": {"name": "otel-desk-receiver"}}]
    example = yaml.safe_load((example / "opentelemetry-collector-values.yaml").read_text())
    assert example["extraContainers"] == [container] and example["extraVolumes"] == volumes


def test_helm_template_prints_the_collector_values_before_any_install():
    # `helm template ... --show-only templates/sidecar.yaml`: the ConfigMap, whose collector-values.yaml
    # is the Collector chart's extraContainers and extraVolumes, ready for `-f`.
    rendered = render(SIDECAR_CI)
    docs = documents({"sidecar.yaml": rendered["sidecar.yaml"]})
    container, volumes = sidecar_snippet(docs)
    assert collector_values(docs) == {"extraContainers": [container], "extraVolumes": volumes}


@with_collector_values
def test_the_example_s_collector_values_are_the_helm_template_output_verbatim(example):
    docs = documents(render(load_values(example / "values.yaml")))
    text = sidecar_configmap(docs)["data"]["collector-values.yaml"]
    assert text in (example / "opentelemetry-collector-values.yaml").read_text()


def test_the_chart_readme_shows_the_helm_template_command():
    readme = " ".join((CHART_DIR / "README.md").read_text().split())
    assert "--show-only templates/sidecar.yaml" in readme and "collector-values.yaml" in readme


def host_pod_needs(values) -> str:
    notes = render(values)["NOTES.txt"]
    return notes.split("The host pod needs:\n", 1)[1].split("\n\n", 1)[0]


def test_notes_list_fs_group_replicas_and_recreate_for_the_file_backend():
    needs = host_pod_needs(SIDECAR_CI)
    assert "securityContext.fsGroup: 10001" in needs
    assert "replicas: 1" in needs and "Recreate" in needs


def test_notes_ask_no_fs_group_for_an_empty_dir():
    # An emptyDir is writable by every user; the claim is not.
    needs = host_pod_needs(SIDECAR_CI | {"persistence": {"enabled": False}})
    assert "fsGroup" not in needs and "replicas: 1" in needs


def test_notes_fs_group_follows_the_pod_security_context():
    values = SIDECAR_CI | {"podSecurityContext": {"fsGroup": 20002, "runAsUser": 20002, "runAsGroup": 20002,
                                                  "runAsNonRoot": True}}
    assert "securityContext.fsGroup: 20002" in host_pod_needs(values)


def test_notes_list_the_service_account_and_its_token_for_the_kubernetes_backend():
    values = load_values(SIDECAR_EXAMPLE / "values.yaml")
    needs = host_pod_needs(values)
    assert "serviceAccountName: otel-collector" in needs
    assert "automountServiceAccountToken: true" in needs
    assert "replicas: 1" not in needs  # any number: only the Lease holder polls


def test_notes_list_the_ports_the_receiver_takes_in_the_host_pod():
    needs = host_pod_needs(SIDECAR_CI | {"metrics": {"exporter": "otlp,prometheus", "prometheusPort": 9464}})
    assert re.search(r"13134\b.*9464\b", needs, re.S)
