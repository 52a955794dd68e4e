"""The stand-in API's ObjectStore on its own: resourceVersion semantics, RBAC per token, validation, Status bodies."""

import pytest

from otel_desk_receiver.devkit.kube_api.store import ApiStatus, Grant, ObjectStore

NS = "desk"


def configmap(name: str = "state", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def lease(name: str = "leader", **spec) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}


def refused(call) -> ApiStatus:
    with pytest.raises(ApiStatus) as raised:
        call()
    return raised.value


def test_every_write_takes_the_next_revision_and_a_stale_version_is_a_conflict():
    store = ObjectStore()
    created = store.create("configmaps", NS, configmap(a="1"))
    assert created["metadata"]["resourceVersion"] == "1" and created["metadata"]["namespace"] == NS
    store.create("leases", NS, lease(holderIdentity="pod-a"))
    update = configmap(a="2")
    update["metadata"]["resourceVersion"] = "1"
    replaced = store.replace("configmaps", NS, "state", update)
    assert replaced["metadata"]["resourceVersion"] == "3"
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]  # kept across replaces
    stale = configmap(a="3")
    stale["metadata"]["resourceVersion"] = "1"
    status = refused(lambda: store.replace("configmaps", NS, "state", stale))
    assert (status.code, status.body["reason"]) == (409, "Conflict")
    assert 'configmaps "state": the object has been modified' in status.body["message"]


def test_get_returns_a_copy_and_a_missing_object_is_not_found():
    store = ObjectStore()
    store.create("configmaps", NS, configmap(a="1"))
    store.get("configmaps", NS, "state")["data"]["a"] = "changed"
    assert store.get("configmaps", NS, "state")["data"] == {"a": "1"}
    status = refused(lambda: store.get("leases", NS, "gone"))
    assert status.code == 404 and status.body["message"] == 'leases.coordination.k8s.io "gone" not found'
    assert status.body["details"] == {"name": "gone", "kind": "leases", "group": "coordination.k8s.io"}


def test_create_twice_is_already_exists_and_a_dry_run_stores_nothing():
    store = ObjectStore()
    store.create("configmaps", NS, configmap("dry"), dry_run=True)
    assert refused(lambda: store.get("configmaps", NS, "dry")).code == 404
    store.create("configmaps", NS, configmap())
    assert refused(lambda: store.create("configmaps", NS, configmap())).body["reason"] == "AlreadyExists"


@pytest.mark.parametrize("resource, body, code, in_message", [
    pytest.param("configmaps", configmap("Not_A_Name"), 422, "metadata.name", id="bad-name"),
    pytest.param("configmaps", configmap(**{"bad key": "x"}), 422, "data[bad key]", id="bad-key"),
    pytest.param("configmaps", configmap(big="x" * (1024 * 1024)), 422, "Too long", id="over-1-MiB"),
    pytest.param("configmaps", {**configmap(), "spam": 1}, 422, "spam", id="unknown-field"),
    pytest.param("leases", lease(leaseDurationSeconds=0), 422, "spec.leaseDurationSeconds", id="zero-duration"),
    pytest.param("leases", lease(renewTime="yesterday"), 400, "spec.renewTime", id="bad-micro-time"),
    pytest.param("leases", configmap(), 400, "must be a Lease", id="wrong-kind"),
])
def test_what_the_api_server_refuses(resource, body, code, in_message):
    status = refused(lambda: ObjectStore().create(resource, NS, body))
    assert status.code == code and in_message in status.body["message"]
    assert status.body["kind"] == "Status" and status.body["status"] == "Failure"


def test_rbac_by_token_verb_and_name():
    store = ObjectStore()
    store.add_token("t", "system:serviceaccount:desk:receiver",
                    [Grant("configmaps", frozenset({"get", "update", "create"}), frozenset({"state"}))])
    store.authorize("t", "get", "configmaps", NS, "state")
    store.authorize("t", "create", "configmaps", NS, "anything")  # create ignores names, as in RBAC
    status = refused(lambda: store.authorize("t", "get", "configmaps", NS, "other"))
    assert status.code == 403 and status.body["message"] == (
        'configmaps "other" is forbidden: User "system:serviceaccount:desk:receiver" cannot get resource '
        '"configmaps" in API group "" in the namespace "desk"')
    store.revoke("t", "configmaps", "update")
    assert refused(lambda: store.authorize("t", "update", "configmaps", NS, "state")).code == 403
    assert refused(lambda: store.authorize("unknown", "get", "configmaps", NS, "state")).code == 401


def test_delete_bumps_the_revision_and_then_the_object_is_gone():
    store = ObjectStore()
    store.create("configmaps", NS, configmap())
    store.delete("configmaps", NS, "state")
    assert store.create("configmaps", NS, configmap())["metadata"]["resourceVersion"] == "3"
    store.delete("configmaps", NS, "state")
    assert refused(lambda: store.delete("configmaps", NS, "state")).code == 404


def annotated(kind: str, annotations: dict) -> dict:
    body = configmap() if kind == "configmaps" else lease()
    body["metadata"]["annotations"] = annotations
    return body


@pytest.mark.parametrize("annotations, field_message", [
    ({"otel-desk-receiver/members": "{}", "helm.sh/resource-policy": "keep", "plain": "x"}, None),
    ({"bad key/x": "1"}, "prefix part a lowercase RFC 1123 subdomain"),
    ({"example.com/-x": "1"}, "name part must consist of alphanumeric characters"),
    ({"example.com/" + "n" * 64: "1"}, "name part must be no more than 63 characters"),
    ({"a/b/c": "1"}, "a qualified name must consist of"),
    ({"k": "v" * (256 * 1024)}, "Too long: must have at most 262144 bytes"),
], ids=["valid", "bad-prefix", "bad-name", "long-name", "two-slashes", "too-large"])
@pytest.mark.parametrize("kind", ["configmaps", "leases"])
def test_annotations_are_validated_as_the_api_server_does(kind, annotations, field_message):
    store = ObjectStore()
    if field_message is None:
        store.create(kind, NS, annotated(kind, annotations))
        return
    status = refused(lambda: store.create(kind, NS, annotated(kind, annotations)))
    assert (status.code, status.body["reason"]) == (422, "Invalid")
    assert "metadata.annotations" in status.body["message"] and field_message in status.body["message"]
