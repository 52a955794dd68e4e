"""A stand-in Kubernetes API server for tests: ConfigMaps and Leases only (see server.py's docstring)."""

from otel_desk_receiver.devkit.kube_api.server import KubeApiServer
from otel_desk_receiver.devkit.kube_api.store import ApiStatus, Grant, ObjectStore

__all__ = ["ApiStatus", "Grant", "KubeApiServer", "ObjectStore"]
