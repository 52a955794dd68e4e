"""KubeClient: GET, create (POST) and replace (PUT) of namespaced objects; the one place requests'
errors and the API's Status objects become KubeError."""

import json
from typing import Any

import requests

from otel_desk_receiver import __version__
from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube.connection import KubeConnection

USER_AGENT = f"otel-desk-receiver/{__version__}"
DEFAULT_TIMEOUT_S = 5.0

# Where each resource lives: (API prefix, plural). Only the two the receiver uses.
RESOURCES = {
    "configmaps": "/api/v1",
    "leases": "/apis/coordination.k8s.io/v1",
}


class KubeClient:
    """Talks to one API server. Each call sends the token as it is now (a rotated one is used at once)
    and raises KubeError with the HTTP status and the Status reason on any failure: callers match on
    ``reason`` (``NotFound``, ``AlreadyExists``, ``Conflict``, ``Forbidden``), never on text."""

    def __init__(self, connection: KubeConnection, *, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.connection = connection
        self._timeout_s = timeout_s
        self._session = requests.Session()
        self._session.verify = connection.verify
        if connection.client_cert:
            self._session.cert = connection.client_cert
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        return self._call("GET", self._path(resource, namespace, name))

    def create(self, resource: str, namespace: str, body: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """POST; with ``dry_run`` (``?dryRun=All``) the API authorizes and validates it and stores nothing."""
        return self._call("POST", self._path(resource, namespace) + _dry(dry_run), body)

    def replace(self, resource: str, namespace: str, name: str, body: dict[str, Any], *,
                dry_run: bool = False) -> dict[str, Any]:
        """PUT: with ``metadata.resourceVersion`` set, a stale version is refused (reason Conflict); with
        ``dry_run`` nothing is stored (RBAC, the object and the version are checked as for a write)."""
        return self._call("PUT", self._path(resource, namespace, name) + _dry(dry_run), body)

    def close(self) -> None:
        self._session.close()

    def _path(self, resource: str, namespace: str, name: str | None = None) -> str:
        path = f"{RESOURCES[resource]}/namespaces/{namespace}/{resource}"
        return f"{path}/{name}" if name else path

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {}
        token = self.connection.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":"))
        where = f"{method} {path}"
        try:
            response = self._session.request(method, self.connection.server + path, data=data, headers=headers,
                                             timeout=self._timeout_s)
        except requests.RequestException as exc:
            raise KubeError(f"Kubernetes API {where}: {type(exc).__name__} ({self.connection.server})") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400 or not isinstance(payload, dict):
            raise _status_error(where, response.status_code, payload)
        return payload


def _dry(dry_run: bool) -> str:
    return "?dryRun=All" if dry_run else ""


def _status_error(where: str, status_code: int, payload: Any) -> KubeError:
    """A KubeError from a Status object (kind Status: reason, message), or from the bare HTTP status."""
    if isinstance(payload, dict) and payload.get("kind") == "Status":
        reason, message = payload.get("reason") or "Unknown", payload.get("message") or ""
    else:
        reason, message = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(status_code, "Unknown"), ""
    return KubeError(f"Kubernetes API {where}: {status_code} {reason}: {message}".rstrip(": "), status_code, reason)
