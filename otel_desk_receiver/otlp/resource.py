"""Our OpenTelemetry resource: service name, version and instance, the Desk app, and OTEL_RESOURCE_ATTRIBUTES.

One resource per process, on every signal: the entry log records, the settled-entry counters and the SDK's
instruments carry the same ``service.instance.id``, so joins by instance see one instance per receiver.
That id is derived from a stable key (``instance_key``: the process's apps and where its state lives), not
drawn at random: a restarted receiver carries on the same cumulative counter series (with a new id per
process, each restart would start a new series at the carried total, whose first increase Prometheus'
increase() never sees).

Which app a record or a point is of is said on the record or point itself (``sendbird.app_id``, names.py),
since one process may serve several apps; the resource says it too only when the process has exactly one.
"""

import os
import socket
import uuid
from collections.abc import Mapping, Sequence

from opentelemetry.sdk.resources import OTELResourceDetector, Resource

from otel_desk_receiver import __version__, names

INSTANCE_ID = "service.instance.id"


def instance_key(app_labels: Sequence[str], state_location: str, *, shared_state: bool = False,
                 env: Mapping[str, str] | None = None) -> str:
    """What identifies this receiver across restarts: its apps (sorted labels) and where its state lives (the
    file's resolved path, or the Kubernetes object). ``shared_state`` (the kubernetes backend, where the
    replicas of one Deployment share the state): the pod name (POD_NAME, else the hostname, which is the pod
    name in a pod) too, so that two replicas running at once are two instances."""
    key = f"{','.join(sorted(app_labels))}|{state_location}"
    if shared_state:
        env = os.environ if env is None else env
        key += f"|{env.get('POD_NAME') or socket.gethostname()}"
    return key


def instance_id(key: str) -> str:
    """The service.instance.id of an ``instance_key``: a UUID (version 5) of it, the same for the same key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"otel-desk-receiver:{key}"))


def build_resource(app_labels: Sequence[str], key: str) -> Resource:
    """Our resource; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override any attribute of ours (a
    service.instance.id set there is kept). ``app_labels``: the process's apps (sendbird.app_id on the resource
    when there is exactly one); ``key``: its instance_key."""
    ours = {
        "service.name": names.DEFAULT_SERVICE_NAME,
        "service.version": __version__,
        INSTANCE_ID: instance_id(key),
    }
    if len(app_labels) == 1:
        ours[names.ATTR_APP_ID] = app_labels[0]
    # Resource.create lets its argument win over the environment; the spec wants the user's
    # OTEL_* to win, so the environment detector is merged once more on top.
    return Resource.create(ours).merge(OTELResourceDetector().detect())
