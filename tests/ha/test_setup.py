"""ha/setup.py: the Kubernetes parts built from Settings (when election is on, the namespace, the identity, the
transition a state ConfigMap was claimed in), and check's description of the ConfigMap and the Lease."""

import pytest

from otel_desk_receiver.config import Settings
from otel_desk_receiver.ha import setup as ha_setup
from otel_desk_receiver.state.configmap_backend import TRANSITIONS_ANNOTATION
from tests.harness.fixtures.kube_api import NAMESPACE


@pytest.mark.parametrize(("values", "enabled"), [
    ({}, False),
    ({"state_backend": "kubernetes"}, True),
    ({"state_backend": "kubernetes", "leader_election": False}, False),
    ({"leader_election": True}, True),
], ids=["file: off", "kubernetes: on", "kubernetes, turned off", "file, turned on"])
def test_election_defaults_follow_the_backend(values, enabled):
    settings = Settings(api_url="http://desk.example", api_token="t", **values)
    assert ha_setup.election_enabled(settings) is enabled


@pytest.mark.parametrize(("setting", "env", "namespace"), [
    ("mine", {"POD_NAMESPACE": "pods"}, "mine"),
    (None, {"POD_NAMESPACE": "pods"}, "pods"),
    (None, {}, "observability"),  # the kubeconfig context's
], ids=["setting", "POD_NAMESPACE", "kubeconfig context"])
def test_namespace_precedence(kubeconfig, setting, env, namespace):
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes",
                        kubernetes_namespace=setting)
    parts = ha_setup.build(settings, None, {"KUBECONFIG": str(kubeconfig), **env})
    assert parts.namespace == namespace and parts.elector.namespace == namespace
    parts.client.close()


def test_check_describes_the_state_configmap_and_the_lease_without_writing(kube_api, kubeconfig):
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes")
    env = {"KUBECONFIG": str(kubeconfig)}
    assert ha_setup.describe(settings, None, env) == (
        True, f"configmap {NAMESPACE}/otel-desk-receiver-state: none yet (created at the first start); "
              f"lease {NAMESPACE}/otel-desk-receiver-leader: none yet")
    parts = ha_setup.build(settings, None, env)
    assert parts.elector.try_acquire_or_renew()
    parts.state.load()
    writes_before = kube_api.served[-1].at
    ok, line = ha_setup.describe(settings, None, env)
    assert ok and "valid, 0 bot cursor(s)" in line and f"held by {parts.elector.identity}" in line
    checks = [r for r in kube_api.served if r.method in ("PUT", "POST") and r.at > writes_before]
    assert checks and all(r.dry_run for r in checks)  # asked with dry runs, nothing written
    kube_api.store.revoke("kube-token-receiver", "leases", "get")
    ok, line = ha_setup.describe(settings, None, env)
    assert not ok and "Forbidden" in line
    parts.client.close()


def test_the_identity_is_the_pod_name_with_a_suffix_unique_to_the_process(monkeypatch):
    monkeypatch.setenv("POD_NAME", "receiver-7f9c")
    first, second = ha_setup.identity(), ha_setup.identity()
    assert first.startswith("receiver-7f9c_") and len(first) == len("receiver-7f9c_") + 8 and first != second


@pytest.mark.parametrize("annotations, claimed", [
    pytest.param(None, -1, id="no-configmap"),
    pytest.param({}, -1, id="never-claimed"),
    pytest.param({TRANSITIONS_ANNOTATION: "4"}, 4, id="claimed-in-4"),
    pytest.param({TRANSITIONS_ANNOTATION: "x"}, -1, id="unreadable"),
])
def test_the_transition_the_state_was_claimed_in(kube_api, kube_client, annotations, claimed):
    if annotations is not None:
        kube_api.store.create("configmaps", NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "state", "annotations": annotations}})
    assert ha_setup.claimed_transitions(kube_client, NAMESPACE, "state")() == claimed
