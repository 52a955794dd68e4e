"""Our OpenTelemetry resource: service name, version and instance, the Desk app; OTEL_* variables win over ours;
the counters' instance id follows the state, so a restart carries on the same series."""

import uuid

import pytest

from otel_desk_receiver import __version__, names
from otel_desk_receiver.otlp.resource import build_resource, counters_resource

RESOURCE_CASES = [
    ("defaults", {}, None, {"service.name": "otel-desk-receiver", "service.version": __version__}),
    ("app id known", {}, "app-9", {"sendbird.app_id": "app-9"}),
    ("OTEL_SERVICE_NAME wins", {"OTEL_SERVICE_NAME": "desk-eu"}, None, {"service.name": "desk-eu"}),
    ("OTEL_RESOURCE_ATTRIBUTES win",
     {"OTEL_RESOURCE_ATTRIBUTES": "service.name=a,service.version=9,sendbird.app_id=other,deployment.environment.name=prod"},
     "app-9",
     {"service.name": "a", "service.version": "9", "sendbird.app_id": "other", "deployment.environment.name": "prod"}),
    ("OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES",
     {"OTEL_SERVICE_NAME": "b", "OTEL_RESOURCE_ATTRIBUTES": "service.name=a"}, None, {"service.name": "b"}),
]


@pytest.mark.parametrize(("env", "app_id", "expected"), [case[1:] for case in RESOURCE_CASES],
                         ids=[case[0] for case in RESOURCE_CASES])
def test_resource_precedence(monkeypatch, env, app_id, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    attributes = build_resource(app_id).attributes
    assert {name: attributes.get(name) for name in expected} == expected
    uuid.UUID(attributes["service.instance.id"])
    if app_id is None and "sendbird.app_id" not in expected:
        assert "sendbird.app_id" not in attributes


def test_instance_id_is_one_per_process():
    assert build_resource(None).attributes["service.instance.id"] == build_resource("x").attributes["service.instance.id"]


def test_the_counters_instance_id_is_derived_from_the_state_it_is_saved_in():
    resource = build_resource("app-1")
    one, again = counters_resource(resource, "file:/var/lib/state.json"), counters_resource(resource, "file:/var/lib/state.json")
    other = counters_resource(resource, "configmap:ns/state")
    assert one.attributes["service.instance.id"] == again.attributes["service.instance.id"]
    assert one.attributes["service.instance.id"] not in (other.attributes["service.instance.id"],
                                                        resource.attributes["service.instance.id"])
    assert one.attributes[names.ATTR_APP_ID] == "app-1"


def test_an_instance_id_the_user_set_is_kept_for_the_counters(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-a")
    resource = build_resource(None)
    assert counters_resource(resource, "file:/x").attributes["service.instance.id"] == "pod-a"
