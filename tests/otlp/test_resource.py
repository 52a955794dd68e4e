"""Our OpenTelemetry resource: service name, version and instance, the Desk app; OTEL_* variables win over ours;
one service.instance.id per receiver, derived from its apps and its state, so a restart carries on the same series."""

import socket
import uuid

import pytest

from otel_desk_receiver import __version__, names
from otel_desk_receiver.otlp.resource import build_resource, instance_id, instance_key

KEY = instance_key(["app-9"], "/var/lib/otel-desk-receiver/state.json")

RESOURCE_CASES = [
    ("defaults", {}, [], {"service.name": "otel-desk-receiver", "service.version": __version__}),
    ("one app: on the resource too", {}, ["app-9"], {"sendbird.app_id": "app-9"}),
    ("several apps: on their records and points only", {}, ["app-9", "app-1"], {"sendbird.app_id": None}),
    ("OTEL_SERVICE_NAME wins", {"OTEL_SERVICE_NAME": "desk-eu"}, [], {"service.name": "desk-eu"}),
    ("OTEL_RESOURCE_ATTRIBUTES win",
     {"OTEL_RESOURCE_ATTRIBUTES": "service.name=a,service.version=9,sendbird.app_id=other,deployment.environment.name=prod"},
     ["app-9"],
     {"service.name": "a", "service.version": "9", "sendbird.app_id": "other", "deployment.environment.name": "prod"}),
    ("OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES",
     {"OTEL_SERVICE_NAME": "b", "OTEL_RESOURCE_ATTRIBUTES": "service.name=a"}, [], {"service.name": "b"}),
    ("a service.instance.id the user set is kept", {"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=pod-a"}, ["app-9"],
     {"service.instance.id": "pod-a"}),
]


@pytest.mark.parametrize(("env", "apps", "expected"), [case[1:] for case in RESOURCE_CASES],
                         ids=[case[0] for case in RESOURCE_CASES])
def test_resource_precedence(monkeypatch, env, apps, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    attributes = build_resource(apps, KEY).attributes
    assert {name: attributes.get(name) for name in expected} == expected
    if "service.instance.id" not in expected:
        assert attributes["service.instance.id"] == instance_id(KEY)
        uuid.UUID(attributes["service.instance.id"])


def test_the_instance_id_is_the_same_for_the_same_key_and_only_for_it():
    assert build_resource(["a"], KEY).attributes["service.instance.id"] == \
        build_resource(["a"], KEY).attributes["service.instance.id"] == instance_id(KEY)
    assert instance_id(KEY) != instance_id(instance_key(["app-9"], "/elsewhere/state.json"))


def test_the_instance_key_holds_the_sorted_apps_and_the_state_location():
    assert instance_key(["b", "a"], "/s.json") == instance_key(["a", "b"], "/s.json")
    keys = {instance_key(["a"], "/s.json"), instance_key(["a", "b"], "/s.json"), instance_key(["a"], "/t.json")}
    assert len(keys) == 3


def test_a_shared_state_adds_the_pod_name_so_that_replicas_are_instances_of_their_own():
    state = "configmap monitoring/otel-desk-receiver-state"
    pod_a = instance_key(["a"], state, shared_state=True, env={"POD_NAME": "receiver-0"})
    pod_b = instance_key(["a"], state, shared_state=True, env={"POD_NAME": "receiver-1"})
    assert pod_a != pod_b
    assert pod_a == instance_key(["a"], state, shared_state=True, env={"POD_NAME": "receiver-0"})
    assert instance_key(["a"], state, shared_state=True, env={}).endswith(f"|{socket.gethostname()}")
    assert instance_key(["a"], state) == instance_key(["a"], state, env={"POD_NAME": "receiver-0"})
    assert names.ATTR_APP_ID == "sendbird.app_id"
