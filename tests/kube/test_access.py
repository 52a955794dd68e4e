"""check_write_access: what the first real write would meet, found by a read and a dry run that store nothing."""

import pytest

from otel_desk_receiver.devkit.kube_api import Grant
from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube.access import AccessDenied, check_write_access
from otel_desk_receiver.kube.client import KubeClient
from otel_desk_receiver.kube.connection import KubeConnection
from tests.harness.fixtures.kube_api import NAMESPACE

TOKEN = "limited-token"
BLANK = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "state"}, "data": {}}


@pytest.fixture
def client_with(kube_api):
    """A KubeClient whose service account has only the given verbs on ConfigMaps."""
    clients = []

    def make(*verbs: str) -> KubeClient:
        kube_api.add_service_account(TOKEN, NAMESPACE, "limited", [Grant("configmaps", frozenset(verbs))])
        clients.append(KubeClient(KubeConnection(server=kube_api.url, verify=True, token=lambda: TOKEN)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def check(client):
    return check_write_access(client, "configmaps", NAMESPACE, "state", dict(BLANK, metadata={"name": "state"}))


def test_an_object_that_can_be_written_is_returned_as_read_and_left_as_it_was(kube_api, client_with):
    kube_api.store.create("configmaps", NAMESPACE, dict(BLANK, data={"k": "v"}, metadata={"name": "state"}))
    read = check(client_with("get", "update"))
    assert read["data"] == {"k": "v"}
    assert kube_api.store.get("configmaps", NAMESPACE, "state")["metadata"]["resourceVersion"] == "1"


def test_a_missing_object_that_may_be_created_is_none_and_still_missing(kube_api, client_with):
    assert check(client_with("get", "create")) is None
    with pytest.raises(Exception, match="not found"):
        kube_api.store.get("configmaps", NAMESPACE, "state")


@pytest.mark.parametrize("verbs, exists, says", [
    pytest.param({"update", "create"}, True, "configmap observability/state cannot be read", id="no-get"),
    pytest.param({"get"}, True, "configmap observability/state cannot be written", id="no-update"),
    pytest.param({"get", "update"}, False, "does not exist and this service account may not create it",
                 id="no-create"),
])
def test_what_the_role_lacks_is_said_with_what_to_grant(kube_api, client_with, verbs, exists, says):
    if exists:
        kube_api.store.create("configmaps", NAMESPACE, dict(BLANK, metadata={"name": "state"}))
    with pytest.raises(AccessDenied, match=says) as raised:
        check(client_with(*verbs))
    assert raised.value.status_code == 403 and ("grant" in str(raised.value) or "helm upgrade" in str(raised.value))


def test_an_api_that_does_not_answer_is_not_a_refusal(kube_api, client_with):
    client = client_with("get", "update", "create")
    kube_api.set_down(True)
    with pytest.raises(KubeError) as raised:
        check(client)
    assert not isinstance(raised.value, AccessDenied) and raised.value.transient
