"""Our OpenTelemetry resource: service name, version and instance, the Desk app; OTEL_* variables win over ours;
the counters' instance id follows the state, so a restart carries on the same series."""

from otel_desk_receiver import __version__, names
from otel_desk_receiver.otlp.resource import build_resource, counters_resource


def test_our_attributes_and_the_desk_app():
    attributes = build_resource("app-1").attributes
    assert attributes["service.name"] == names.DEFAULT_SERVICE_NAME
    assert attributes["service.version"] == __version__ and attributes[names.ATTR_APP_ID] == "app-1"
    assert attributes["service.instance.id"] == build_resource(None).attributes["service.instance.id"]  # per process
    assert names.ATTR_APP_ID not in build_resource(None).attributes


def test_the_users_otel_variables_win(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "desk-prod")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,service.version=pinned")
    attributes = build_resource("app-1").attributes
    assert attributes["service.name"] == "desk-prod" and attributes["service.version"] == "pinned"
    assert attributes["deployment.environment.name"] == "prod"


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
