"""KubeClient against the stand-in API: the paths of the two resources, dry runs, and every failure one KubeError
carrying the HTTP status and the Status reason callers match on."""

import pytest

from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube.client import KubeClient
from otel_desk_receiver.kube.connection import KubeConnection
from tests.harness.fixtures.kube_api import KUBE_TOKEN, NAMESPACE
from tests.harness.ports import free_port


def configmap(name: str = "state") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def kube_error(call) -> KubeError:
    with pytest.raises(KubeError) as raised:
        call()
    return raised.value


def test_create_get_and_replace_of_a_configmap_and_a_lease(kube_api, kube_client):
    created = kube_client.create("configmaps", NAMESPACE, configmap())
    assert kube_client.get("configmaps", NAMESPACE, "state")["data"] == {"k": "v"}
    created["data"] = {"k": "w"}
    assert kube_client.replace("configmaps", NAMESPACE, "state", created)["data"] == {"k": "w"}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
             "spec": {"holderIdentity": "pod-a"}}
    kube_client.create("leases", NAMESPACE, lease)
    assert kube_client.get("leases", NAMESPACE, "leader")["spec"]["holderIdentity"] == "pod-a"
    assert kube_api.store.get("leases", NAMESPACE, "leader")["spec"]["holderIdentity"] == "pod-a"


def test_a_dry_run_stores_nothing(kube_client):
    kube_client.create("configmaps", NAMESPACE, configmap(), dry_run=True)
    assert kube_error(lambda: kube_client.get("configmaps", NAMESPACE, "state")).reason == "NotFound"


def test_a_status_answer_becomes_its_code_and_reason(kube_client):
    kube_client.create("configmaps", NAMESPACE, configmap())
    error = kube_error(lambda: kube_client.create("configmaps", NAMESPACE, configmap()))
    assert (error.status_code, error.reason, error.transient) == (409, "AlreadyExists", False)
    assert str(error) == (f"Kubernetes API POST /api/v1/namespaces/{NAMESPACE}/configmaps: 409 AlreadyExists: "
                          'configmaps "state" already exists')


def test_the_token_is_sent_as_it_is_now(kube_api):
    tokens = iter(["not-a-token", KUBE_TOKEN])
    client = KubeClient(KubeConnection(server=kube_api.url, verify=True, token=lambda: next(tokens)))
    try:
        assert kube_error(lambda: client.get("configmaps", NAMESPACE, "state")).reason == "Unauthorized"
        assert kube_error(lambda: client.get("configmaps", NAMESPACE, "state")).reason == "NotFound"
    finally:
        client.close()


def test_no_answer_is_a_transient_error_naming_the_server():
    server = f"http://127.0.0.1:{free_port()}"
    client = KubeClient(KubeConnection(server=server, verify=True, token=lambda: KUBE_TOKEN), timeout_s=2)
    try:
        error = kube_error(lambda: client.get("leases", NAMESPACE, "leader"))
    finally:
        client.close()
    assert error.status_code is None and error.transient
    assert str(error) == (f"Kubernetes API GET /apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/leader: "
                          f"ConnectionError ({server})")


def test_a_5xx_without_a_status_body_is_transient(kube_api, kube_client):
    kube_api.set_down(True)
    error = kube_error(lambda: kube_client.get("configmaps", NAMESPACE, "state"))
    assert error.status_code == 503 and error.transient
