"""The chart's high-availability shapes: the least RBAC on named objects, the objects it creates for
that, hot standbys only with the Kubernetes state backend and leader election, NOTES on unsafe shapes."""

import helm_python
import kubernetes_validate
import pytest

from tests.deploy.chart import CHART_DIR, KUBERNETES_VERSION, NAMESPACE, RELEASE, documents, find, load_values, render

MINIMAL = {"token": {"value": "ci-token"}, "settings": {"appId": "app-1"}, "otlp": {"endpoint": "http://c:4318"}}
HA = MINIMAL | {"settings": {"appId": "app-1", "stateBackend": "kubernetes"}}


def receiver(docs) -> dict:
    (deployment,) = [d for d in find(docs, "Deployment") if d["metadata"]["name"] == RELEASE]
    return deployment


def test_role_grants_only_get_and_update_on_the_two_named_objects():
    docs = documents(render(HA | {"replicaCount": 3}))
    (role,) = find(docs, "Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [f"{RELEASE}-state"], "verbs": ["get", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [f"{RELEASE}-leader"],
         "verbs": ["get", "update"]},
    ]
    (binding,) = find(docs, "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_chart_creates_the_named_objects_so_no_create_verb_is_needed_and_keeps_them():
    docs = documents(render(HA))
    (state,) = find(docs, "ConfigMap", f"{RELEASE}-state")
    (lease,) = find(docs, "Lease", f"{RELEASE}-leader")
    for obj in (state, lease):
        assert obj["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert "data" not in state and lease["spec"] == {}  # the receiver's fields survive an upgrade's merge
    (configmap,) = find(docs, "ConfigMap", RELEASE)
    assert {k: configmap["data"][k] for k in ("DESK_STATE_BACKEND", "DESK_STATE_CONFIGMAP", "DESK_LEADER_ELECTION",
                                              "DESK_LEADER_ELECTION_LEASE_NAME", "DESK_KUBERNETES_NAMESPACE")} == {
        "DESK_STATE_BACKEND": "kubernetes", "DESK_STATE_CONFIGMAP": f"{RELEASE}-state", "DESK_LEADER_ELECTION": "true",
        "DESK_LEADER_ELECTION_LEASE_NAME": f"{RELEASE}-leader", "DESK_KUBERNETES_NAMESPACE": NAMESPACE}


def test_hot_standby_replicas_roll_and_need_no_volume():
    docs = documents(render(HA | {"replicaCount": 3}))
    deployment = receiver(docs)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 3 and deployment["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert pod["automountServiceAccountToken"] is True
    (state_volume,) = [v for v in pod["volumes"] if v["name"] == "desk-receiver-state"]
    assert state_volume == {"name": "desk-receiver-state", "emptyDir": {}}
    assert find(docs, "PersistentVolumeClaim") == []


@pytest.mark.parametrize("values", [
    MINIMAL | {"replicaCount": 2},
    HA | {"replicaCount": 2, "settings": {"appId": "a", "stateBackend": "kubernetes", "leaderElection": False}},
    MINIMAL | {"replicaCount": 2, "settings": {"appId": "a", "leaderElection": True}},
], ids=["file backend", "kubernetes without election", "file backend with election"])
def test_more_than_one_writer_fails_to_render(values):
    with pytest.raises(helm_python.HelmRenderError, match="replicaCount is 2 without the kubernetes state backend"):
        render(values)


def test_file_backend_stays_recreate_with_no_rbac():
    docs = documents(render(MINIMAL | {"settings": {"appId": "a", "leaderElection": True}}))
    assert receiver(docs)["spec"]["strategy"] == {"type": "Recreate"}  # a ReadWriteOnce claim: never two pods
    (role,) = find(docs, "Role")
    assert [rule["resources"] for rule in role["rules"]] == [["leases"]]
    assert find(documents(render(MINIMAL)), "Role") == []


def test_sidecar_binds_the_host_pod_s_service_account():
    docs = documents(render(load_values(CHART_DIR / "ci" / "sidecar-ha-values.yaml")))
    (binding,) = find(docs, "RoleBinding")
    assert binding["subjects"][0]["name"] == "otel-collector"
    with pytest.raises(helm_python.HelmRenderError, match=r"rbac\.hostServiceAccount"):
        render(HA | {"mode": "sidecar"})


@pytest.mark.parametrize(("values", "needle"), [
    (HA | {"replicaCount": 3}, "only the holder of Lease otel-desk-receiver-leader polls; 2 hot standby(s)"),
    (HA, "State: ConfigMap otel-desk-receiver-state (no volume)"),
    (MINIMAL, "Safe shapes: with stateBackend=file, one pod, never two at once"),
    (load_values(CHART_DIR / "ci" / "sidecar-ha-values.yaml"), "(any number of host pods: only the holder of Lease"),
    (load_values(CHART_DIR / "ci" / "sidecar-values.yaml"), "(one host pod, never two at once"),
], ids=["standbys", "state", "shapes", "sidecar any shape", "sidecar one pod"])
def test_notes_say_which_shapes_are_safe(values, needle):
    assert needle in render(values)["NOTES.txt"]


def test_no_persistence_warning_without_a_volume():
    assert "persistence is disabled" not in render(HA | {"persistence": {"enabled": False}})["NOTES.txt"]
