"""The stand-in Kubernetes API answers as the real one does, for the two resources it serves."""

import threading

import pytest
import requests

from otel_desk_receiver.devkit.kube_api import Grant
from tests.harness.fixtures.kube_api import KUBE_TOKEN, NAMESPACE
from tests.harness.wait import wait_until

CM = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases"


def configmap(name="state", **extra) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra}, "data": {"k": "v"}}


def lease(name="leader", **spec) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, **spec}}


def call(api, method, path, body=None, token=KUBE_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.request(method, api.url + path, json=body, headers=headers, timeout=5)
    return answer.status_code, answer.json()


def test_create_get_update_and_resource_versions(kube_api):
    status, created = call(kube_api, "POST", CM, configmap())
    assert status == 201 and created["metadata"]["resourceVersion"] and created["metadata"]["uid"]
    status, read = call(kube_api, "GET", f"{CM}/state")
    assert status == 200 and read == created
    read["data"]["k"] = "w"
    status, updated = call(kube_api, "PUT", f"{CM}/state", read)
    assert status == 200 and int(updated["metadata"]["resourceVersion"]) > int(read["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]


@pytest.mark.parametrize(("method", "path", "body", "code", "reason"), [
    ("GET", f"{CM}/absent", None, 404, "NotFound"),
    ("PUT", f"{CM}/absent", configmap("absent"), 404, "NotFound"),
    ("POST", CM, configmap(), 409, "AlreadyExists"),
    ("PUT", f"{CM}/state", configmap(resourceVersion="1"), 409, "Conflict"),
    ("POST", CM, configmap(name="Bad_Name"), 422, "Invalid"),
    ("POST", CM, {**configmap("x"), "spec": {}}, 422, "Invalid"),  # strict schema: no such field
    ("POST", CM, {**configmap("big"), "data": {"k": "x" * (1024 * 1024 + 1)}}, 422, "Invalid"),
    ("POST", LEASES, lease(leaseDurationSeconds=0), 422, "Invalid"),
    ("POST", LEASES, lease(leaseDurationSeconds="15"), 422, "Invalid"),
    ("POST", LEASES, lease(renewTime="yesterday"), 400, "BadRequest"),
    ("PUT", f"{CM}/state", configmap("other"), 400, "BadRequest"),
], ids=["get missing", "update missing", "create existing", "stale resourceVersion", "invalid name",
        "unknown field", "over 1 MiB", "lease duration 0", "lease duration a string", "renewTime not a time",
        "name differs from URL"])
def test_errors_are_status_objects(kube_api, method, path, body, code, reason):
    call(kube_api, "POST", CM, configmap())
    call(kube_api, "PUT", f"{CM}/state", configmap())  # resourceVersion 2: "1" is stale now
    status, answer = call(kube_api, method, path, body)
    assert (status, answer["kind"], answer["status"], answer["reason"], answer["code"]) == (
        code, "Status", "Failure", reason, code), answer


def test_conflict_names_the_object_as_the_api_does(kube_api):
    call(kube_api, "POST", LEASES, lease())
    call(kube_api, "PUT", f"{LEASES}/leader", lease())
    _, answer = call(kube_api, "PUT", f"{LEASES}/leader", {**lease(), "metadata": {"name": "leader",
                                                                                 "resourceVersion": "1"}})
    assert answer["message"].startswith('Operation cannot be fulfilled on leases.coordination.k8s.io "leader": '
                                        "the object has been modified")
    assert answer["details"] == {"name": "leader", "group": "coordination.k8s.io", "kind": "leases"}


def test_unknown_token_is_unauthorized(kube_api):
    assert call(kube_api, "GET", f"{CM}/state", token="nope")[0] == 401
    assert call(kube_api, "GET", f"{CM}/state", token=None)[0] == 401


def test_rbac_by_verb_and_resource_name(kube_api):
    kube_api.add_service_account("narrow", NAMESPACE, "receiver", [
        Grant("configmaps", frozenset({"get", "update", "create"}), frozenset({"state"})),
        Grant("leases", frozenset({"get"}), frozenset({"leader"})),
    ])
    assert call(kube_api, "POST", CM, configmap("anything"), token="narrow")[0] == 201  # create ignores names
    assert call(kube_api, "GET", f"{CM}/anything", token="narrow")[0] == 403
    assert call(kube_api, "POST", LEASES, lease(), token="narrow")[0] == 403
    kube_api.store.revoke("narrow", "configmaps", "get")
    status, answer = call(kube_api, "GET", f"{CM}/state", token="narrow")
    assert status == 403 and answer["message"] == (
        'configmaps "state" is forbidden: User "system:serviceaccount:observability:receiver" cannot get resource '
        f'"configmaps" in API group "" in the namespace "{NAMESPACE}"')


def test_down_answers_503_and_requests_are_counted(kube_api):
    kube_api.set_down(True)
    assert call(kube_api, "GET", f"{LEASES}/leader")[0] == 503
    kube_api.set_down(False)
    assert call(kube_api, "GET", f"{LEASES}/leader")[0] == 404
    assert kube_api.requests[("GET", "leases")] == 2


def test_a_stale_version_is_a_conflict_before_the_object_is_validated(kube_api):
    call(kube_api, "POST", LEASES, lease())
    call(kube_api, "PUT", f"{LEASES}/leader", lease())
    stale_and_invalid = {**lease(leaseDurationSeconds=0), "metadata": {"name": "leader", "resourceVersion": "1"}}
    assert call(kube_api, "PUT", f"{LEASES}/leader", stale_and_invalid)[1]["reason"] == "Conflict"


@pytest.mark.parametrize(("code", "reason"), [(500, "InternalError"), (503, "ServiceUnavailable"),
                                              (504, "Timeout"), (429, "TooManyRequests")],
                         ids=["500", "503", "504", "429"])
def test_an_error_fault_answers_the_api_s_status_for_the_next_n_matching_requests(kube_api, code, reason):
    kube_api.inject("status", code=code, method="PUT", resource="configmaps", count=2)
    call(kube_api, "POST", CM, configmap())
    assert call(kube_api, "GET", f"{CM}/state")[0] == 200  # not a PUT: untouched
    for _ in range(2):
        status, answer = call(kube_api, "PUT", f"{CM}/state", configmap())
        assert (status, answer["kind"], answer["reason"], answer["code"]) == (code, "Status", reason, code)
    assert call(kube_api, "PUT", f"{CM}/state", configmap())[0] == 200  # the two are spent


def test_a_fault_for_some_seconds_ends_by_itself(kube_api):
    kube_api.inject("status", code=500, seconds=0.3)
    assert call(kube_api, "GET", f"{CM}/state")[0] == 500
    wait_until(lambda: call(kube_api, "GET", f"{CM}/state")[0] == 404, 5, "the fault to end", poll_s=0.05)


@pytest.mark.parametrize("applied", [False, True], ids=["never carried out", "carried out, answer lost"])
@pytest.mark.parametrize("kind", ["timeout", "drop"])
def test_timeouts_and_dropped_connections_give_no_answer(kube_api, kind, applied):
    call(kube_api, "POST", CM, configmap())
    version = kube_api.store.get("configmaps", NAMESPACE, "state")["metadata"]["resourceVersion"]
    kube_api.inject(kind, method="PUT", count=1, applied=applied)
    headers = {"Authorization": f"Bearer {KUBE_TOKEN}"}
    expected = requests.ReadTimeout if kind == "timeout" else requests.ConnectionError
    with pytest.raises(expected):
        requests.put(f"{kube_api.url}{CM}/state", json=configmap(), headers=headers, timeout=0.5)
    after = kube_api.store.get("configmaps", NAMESPACE, "state")["metadata"]["resourceVersion"]
    assert (after != version) is applied
    assert kube_api.served[-1].status == 0
    assert call(kube_api, "PUT", f"{CM}/state", configmap())[0] == 200


def test_held_requests_wait_together_until_released_then_are_carried_out_and_answered(kube_api):
    version = call(kube_api, "POST", CM, configmap())[1]["metadata"]["resourceVersion"]
    fault = kube_api.hold(method="PUT", resource="configmaps")
    answers: list = []
    puts = [threading.Thread(target=lambda: answers.append(call(kube_api, "PUT", f"{CM}/state", configmap())))
            for _ in range(3)]
    for put in puts:
        put.start()
    wait_until(lambda: fault.held == 3, 5, "three PUTs held at once", poll_s=0.01)
    status, stored = call(kube_api, "GET", f"{CM}/state")  # not a PUT: answered meanwhile
    assert (status, stored["metadata"]["resourceVersion"], answers) == (200, version, [])  # none carried out yet
    fault.release.set()
    for put in puts:
        put.join(5)
    assert sorted(status for status, _ in answers) == [200] * 3 and fault.held == 0  # unconditional updates
    assert call(kube_api, "PUT", f"{CM}/state", configmap())[0] == 200  # released: no longer held


def test_a_held_request_whose_client_gives_up_is_dropped_not_carried_out(kube_api):
    version = call(kube_api, "POST", CM, configmap())[1]["metadata"]["resourceVersion"]
    fault = kube_api.hold(method="PUT")
    with pytest.raises(requests.ReadTimeout):
        requests.put(f"{kube_api.url}{CM}/state", json=configmap(), headers={"Authorization": f"Bearer {KUBE_TOKEN}"},
                     timeout=0.2)
    wait_until(lambda: kube_api.served[-1].method == "PUT", 5, "the abandoned request ended", poll_s=0.01)
    assert (kube_api.served[-1].status, fault.held) == (0, 0)  # not answered, no longer held
    fault.release.set()
    assert kube_api.store.get("configmaps", NAMESPACE, "state")["metadata"]["resourceVersion"] == version


def test_held_requests_go_on_when_the_faults_are_cleared(kube_api):
    call(kube_api, "POST", CM, configmap())
    fault = kube_api.hold(method="PUT", count=1)
    answers: list = []
    put = threading.Thread(target=lambda: answers.append(call(kube_api, "PUT", f"{CM}/state", configmap())[0]))
    put.start()
    wait_until(lambda: fault.held == 1, 5, "the PUT held", poll_s=0.01)
    kube_api.clear_faults()
    put.join(5)
    assert answers == [200]


def test_dry_run_checks_rbac_the_object_and_the_version_and_stores_nothing(kube_api):
    kube_api.add_service_account("chart-role", NAMESPACE, "receiver", [
        Grant("configmaps", frozenset({"get", "update"}), frozenset({"state"}))])
    assert call(kube_api, "POST", f"{CM}?dryRun=All", configmap(), token="chart-role")[0] == 403
    status, answer = call(kube_api, "POST", f"{CM}?dryRun=All", configmap())
    assert status == 201 and answer["metadata"]["uid"] and "resourceVersion" not in answer["metadata"]
    assert call(kube_api, "GET", f"{CM}/state")[0] == 404  # nothing stored
    call(kube_api, "POST", CM, configmap())
    read = call(kube_api, "GET", f"{CM}/state")[1]
    status, answer = call(kube_api, "PUT", f"{CM}/state?dryRun=All", {**read, "data": {"k": "changed"}},
                          token="chart-role")
    assert status == 200 and answer["metadata"]["resourceVersion"] == read["metadata"]["resourceVersion"]
    assert call(kube_api, "GET", f"{CM}/state")[1] == read
    stale = {**read, "metadata": {**read["metadata"], "resourceVersion": "1"}}
    call(kube_api, "PUT", f"{CM}/state", read)
    assert call(kube_api, "PUT", f"{CM}/state?dryRun=All", stale)[1]["reason"] == "Conflict"
    assert call(kube_api, "POST", f"{CM}?dryRun=Yes", configmap("x"))[0] == 400


def test_delete_as_kubectl_does(kube_api):
    call(kube_api, "POST", LEASES, lease())
    kube_api.store.delete("leases", NAMESPACE, "leader")
    assert call(kube_api, "GET", f"{LEASES}/leader")[0] == 404
