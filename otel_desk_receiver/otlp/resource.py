"""Our OpenTelemetry resource: service name, version and instance, the Desk app, and OTEL_RESOURCE_ATTRIBUTES."""

import uuid

from opentelemetry.sdk.resources import OTELResourceDetector, Resource

from otel_desk_receiver import __version__, names

_INSTANCE_ID = str(uuid.uuid4())  # service.instance.id: one per process, as the semantic conventions ask


def build_resource(app_id: str | None) -> Resource:
    """Our resource; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override any attribute of ours."""
    ours = {
        "service.name": names.DEFAULT_SERVICE_NAME,
        "service.version": __version__,
        "service.instance.id": _INSTANCE_ID,
    }
    if app_id:
        ours[names.ATTR_APP_ID] = app_id
    # Resource.create lets its argument win over the environment; the spec wants the user's
    # OTEL_* to win, so the environment detector is merged once more on top.
    return Resource.create(ours).merge(OTELResourceDetector().detect())


def counters_resource(resource: Resource, state_key: str) -> Resource:
    """The resource of the settled-entry counters: its service.instance.id is derived from the state the
    totals are saved in, so a restarted (or failed-over) receiver carries on the same series. With a new id
    per process, each restart would start a new series at the carried total, whose first increase
    Prometheus' increase() never sees. A service.instance.id set in OTEL_RESOURCE_ATTRIBUTES is kept."""
    if "service.instance.id" in OTELResourceDetector().detect().attributes:
        return resource
    instance = str(uuid.uuid5(uuid.NAMESPACE_URL, f"otel-desk-receiver:{state_key}"))
    return resource.merge(Resource({"service.instance.id": instance}))
