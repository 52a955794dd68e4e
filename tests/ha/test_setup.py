"""ha/setup.py: the Kubernetes parts built from Settings (when election is on, the namespace, the identity, the
transition a state ConfigMap was claimed in), and check's description of the ConfigMap and the Lease."""

from contextlib import nullcontext

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


# --- several apps (issue 21 point 4): a Lease and a state ConfigMap per app, spread over the replicas

from otel_desk_receiver.ha.members import Members  # noqa: E402
from otel_desk_receiver.kube.object_names import per_app_name  # noqa: E402

TWO_APPS = [{"app_id": "6B0C1A2E", "api_token": "t1"}, {"app_id": "eu2", "api_token": "t2"}]


def test_with_an_apps_file_each_app_has_its_own_lease_and_configmap_and_the_replicas_share_members(kubeconfig):
    settings = Settings(apps=TWO_APPS, state_backend="kubernetes")
    parts = ha_setup.build(settings, env={"KUBECONFIG": str(kubeconfig)})
    try:
        assert list(parts.apps) == ["6B0C1A2E", "eu2"]
        leases = [app.elector.name for app in parts.apps.values()]
        configmaps = [app.state.name for app in parts.apps.values()]
        assert leases == [per_app_name("otel-desk-receiver-leader", "6B0C1A2E"), "otel-desk-receiver-leader-eu2"]
        assert configmaps == [per_app_name("otel-desk-receiver-state", "6B0C1A2E"), "otel-desk-receiver-state-eu2"]
        assert all(app.state.legacy_name == "otel-desk-receiver-state" for app in parts.apps.values())
        assert isinstance(parts.spread.members, Members)
        assert parts.spread.members.name == "otel-desk-receiver-leader.members"
        assert {app.elector.identity for app in parts.apps.values()} == {parts.spread.members.identity}
        electors = list(parts.spread.electors.values())
        assert electors == [app.elector for app in parts.apps.values()]
    finally:
        parts.client.close()


def test_one_app_without_an_apps_file_keeps_the_names_and_needs_no_members(kubeconfig):
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes")
    parts = ha_setup.build(settings, env={"KUBECONFIG": str(kubeconfig)})
    try:
        (app,) = parts.apps.values()
        assert (app.elector.name, app.state.name, parts.spread) == (
            "otel-desk-receiver-leader", "otel-desk-receiver-state", None)
        assert parts.elector is app.elector and parts.state is app.state  # the one app's, as before
    finally:
        parts.client.close()


def test_each_apps_lease_counts_on_from_the_transition_its_own_configmap_was_claimed_in(kube_api, kubeconfig):
    settings = Settings(apps=TWO_APPS, state_backend="kubernetes")
    kube_api.store.create("configmaps", NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "otel-desk-receiver-state-eu2", "annotations": {TRANSITIONS_ANNOTATION: "6"}}})
    parts = ha_setup.build(settings, env={"KUBECONFIG": str(kubeconfig)})
    try:
        eu2 = parts.apps["eu2"].elector
        eu2.claim = lambda: nullcontext(True)  # the spread's first retry period not awaited: take at once
        assert eu2.try_acquire_or_renew() and eu2.term().transitions == 7
    finally:
        parts.client.close()


def test_leaderships_are_one_per_app_sharing_the_spread(kubeconfig):
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_desk_receiver.runtime.health import HealthState

    settings = Settings(apps=TWO_APPS, state_backend="kubernetes")
    parts = ha_setup.build(settings, env={"KUBECONFIG": str(kubeconfig)})
    meter = MeterProvider().get_meter("test")
    try:
        made = {label: parts.leadership(label, HealthState(30), meter) for label in parts.apps}
        assert [(m.app, m.elector) for m in made.values()] == [(label, parts.apps[label].elector)
                                                               for label in parts.apps]
        assert all(m._spread is parts.spread for m in made.values())
    finally:
        parts.client.close()


def test_check_describes_each_apps_configmap_and_lease(kube_api, kubeconfig):
    settings = Settings(apps=TWO_APPS, state_backend="kubernetes")
    ok, line = ha_setup.describe(settings, None, {"KUBECONFIG": str(kubeconfig)})
    assert ok, line
    for label in ("6B0C1A2E", "eu2"):
        assert (f"app {label}: configmap {NAMESPACE}/{per_app_name('otel-desk-receiver-state', label)}: none yet"
                in line)
        assert f"lease {NAMESPACE}/{per_app_name('otel-desk-receiver-leader', label)}: none yet" in line
    assert f"lease {NAMESPACE}/otel-desk-receiver-leader.members: none yet" in line
    parts = ha_setup.build(settings, env={"KUBECONFIG": str(kubeconfig)})
    parts.spread.members.beat()
    parts.client.close()
    ok, line = ha_setup.describe(settings, None, {"KUBECONFIG": str(kubeconfig)})
    assert ok and line.endswith(f"lease {NAMESPACE}/otel-desk-receiver-leader.members: 1 replica(s) listed"), line
