"""KubeApiServer: a stand-in for the Kubernetes API server, on loopback, for tests. It is NOT Kubernetes.

It serves exactly the two resources the receiver uses, as the real API server answers them:

- ``/api/v1/namespaces/{ns}/configmaps[/{name}]`` and
  ``/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]``;
- GET (404 NotFound), POST create (201; 409 AlreadyExists), PUT replace (200; 409 Conflict when
  ``metadata.resourceVersion`` is stale, an unconditional update when it is absent; 404 when missing);
- one global resourceVersion counter, uid and creationTimestamp kept across updates;
- bearer-token authentication (401) and RBAC per token with resourceNames (403 Forbidden with the
  API's message; ``create`` is not limited by names, as in Kubernetes RBAC);
- every object received is validated against Kubernetes' own OpenAPI schema (kubernetes-validate,
  1.33, strict) plus the server-side rules for these kinds (name, annotation keys and 256 KiB, ConfigMap
  keys and 1 MiB, Lease durations, MicroTime parsing): 422 Invalid with causes, or 400 BadRequest;
- errors as Status objects (kind Status, reason, message, details, code).

- ``?dryRun=All`` on POST and PUT: authorized, validated and checked against the stored version as
  a real write, nothing stored (the answer is the object as it would be, without a new version).

What it does not do: TLS, any other resource or verb (LIST, WATCH, PATCH, DELETE over HTTP; tests
delete with ``store.delete``, as ``kubectl delete`` would), field selectors, managedFields, admission,
generation, finalizers, server-side apply, persistence across restarts.
Tests can count requests and the bytes of their bodies (``requests``, ``bytes_received``), delete an
object (``store.delete``, as ``kubectl delete``), read what was answered to whom and when (``served``),
take a verb away from a token (``store.revoke``), make the API unavailable (``set_down``: 503 for every request) and
inject faults (``inject``): error answers (500, 503, 504, 429 with Retry-After), requests that hang
until the client gives up (a timeout), and connections closed without an answer, for the next N
matching requests or for some seconds, optionally after the request was carried out (its answer lost);
and hold requests (``hold``, as the Desk emulator's Faults.hold_next): each waits, counted in ``held``
while its client waits for it, until the test releases it, then is carried out and answered normally (a
slow API, on no clock); one whose client gives up meanwhile ends there, not carried out.
"""

import json
import select
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from otel_desk_receiver.devkit.kube_api.store import KINDS, ApiStatus, Grant, ObjectStore

PREFIXES = {"configmaps": "/api/v1/namespaces/", "leases": "/apis/coordination.k8s.io/v1/namespaces/"}
VERBS = {"GET": "get", "POST": "create", "PUT": "update"}
ALL_VERBS = frozenset({"get", "create", "update"})


@dataclass(frozen=True)
class Served:
    """One request as answered, for tests that check who wrote what, and in which order."""

    at: float  # time.monotonic() when answered
    token: str | None
    method: str
    resource: str
    status: int  # 0: no answer (a fault held the request or closed the connection)
    dry_run: bool = False


# The Status the API server sends with each error code a fault may use (apimachinery's StatusReason).
FAULT_REASONS = {500: ("InternalError", "Internal error occurred: etcdserver: request timed out"),
                 503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
                 504: ("Timeout", "the server was unable to return a response in the time allotted"),
                 429: ("TooManyRequests", "the server has received too many requests and has asked us to try "
                                          "again later")}
FAULT_KINDS = ("status", "timeout", "drop", "hold")
HOLD_MAX_S = 60.0  # a held request goes on after this long whatever the test does (a failing test ends)
HOLD_POLL_S = 0.02  # how often a held request looks whether its client hung up


@dataclass
class Fault:
    """Injected trouble for the requests it matches (``method`` and ``resource``, None for any): ``status``
    answers ``code`` with the API's Status (429 with Retry-After: 1); ``timeout`` holds the request without
    an answer for ``hold_s`` (longer than any client waits), then closes; ``drop`` closes the connection
    at once; ``hold`` keeps the request waiting (``held``: how many wait now, their clients still waiting
    too) until ``release`` is set (or HOLD_MAX_S, or ``clear_faults``, or ``stop``), then carries it out and
    answers as usual; a held request whose client hangs up (its timeout) is dropped. With ``applied``
    a timeout or drop comes after the request was carried out: a write lands, its answer is lost. Active for
    ``count`` matching requests and/or until ``until`` (monotonic)."""

    kind: str
    code: int = 500
    method: str | None = None
    resource: str | None = None
    count: int | None = None
    until: float | None = None
    applied: bool = False
    hold_s: float = 30.0
    hits: int = 0
    release: threading.Event = field(default_factory=threading.Event)  # hold: set to let the held ones go on
    held: int = 0  # hold: requests waiting for ``release`` now, their clients still connected

    def matches(self, method: str, resource: str, now: float) -> bool:
        if self.count is not None and self.hits >= self.count or self.until is not None and now >= self.until:
            return False
        return self.method in (None, method) and self.resource in (None, resource)


class _NoAnswer(Exception):
    """The handler sends nothing: the connection is closed after ``hold_s``."""

    def __init__(self, hold_s: float):
        super().__init__()
        self.hold_s = hold_s


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A receiver killed with -9 mid-request is what the failover tests do; anything else is shown.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class KubeApiServer:
    """Start with ``start()``; ``url`` is the server for a kubeconfig; ``store`` holds objects and tokens."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.store = ObjectStore()
        self.requests: Counter = Counter()  # (method, resource) -> count
        self.bytes_received: Counter = Counter()  # (method, resource) -> bytes of request bodies
        self.served: list[Served] = []
        self.down = False
        self.faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._stopping = threading.Event()  # ends held (timed-out) requests at stop()
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = _QuietServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kube-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "KubeApiServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.clear_faults()  # held requests go on: no handler outlives the server
        self._server.shutdown()
        self._server.server_close()

    def add_service_account(self, token: str, namespace: str, name: str, grants: list[Grant] | None = None) -> None:
        """A token for ``system:serviceaccount:{namespace}:{name}``; by default every verb on both resources."""
        if grants is None:
            grants = [Grant(resource, ALL_VERBS) for resource in KINDS]
        self.store.add_token(token, f"system:serviceaccount:{namespace}:{name}", grants)

    def set_down(self, down: bool) -> None:
        self.down = down

    def inject(self, kind: str, *, code: int = 500, method: str | None = None, resource: str | None = None,
               count: int | None = None, seconds: float | None = None, applied: bool = False,
               hold_s: float = 30.0) -> Fault:
        """Add a Fault (see its docstring); without ``count`` or ``seconds`` it lasts until ``clear_faults``."""
        if kind not in FAULT_KINDS or kind == "status" and code not in FAULT_REASONS:
            raise ValueError(f"fault {kind!r} {code}: expected one of {FAULT_KINDS}, codes {sorted(FAULT_REASONS)}")
        fault = Fault(kind, code, method, resource, count, None if seconds is None else time.monotonic() + seconds,
                      applied, hold_s)
        with self._faults_lock:
            self.faults.append(fault)
        return fault

    def hold(self, *, method: str | None = None, resource: str | None = None, count: int | None = None) -> Fault:
        """Hold the matching requests (a ``hold`` Fault): ``fault.held`` of them wait now, until
        ``fault.release.set()``; then each is carried out and answered as usual."""
        return self.inject("hold", method=method, resource=resource, count=count)

    def clear_faults(self) -> None:
        with self._faults_lock:
            faults, self.faults = self.faults, []
        for fault in faults:  # held requests go on now
            fault.release.set()

    def _fault_for(self, method: str, resource: str) -> Fault | None:
        now = time.monotonic()
        with self._faults_lock:
            fault = next((f for f in self.faults if f.matches(method, resource, now)), None)
            if fault is not None:
                fault.hits += 1
            return fault

    def handle(self, method: str, path: str, token: str | None, body: bytes | None,
               client_gone: Callable[[], bool] = lambda: False) -> tuple[int, dict]:
        resource, namespace, name = _route(path)
        self.requests[(method, resource)] += 1
        self.bytes_received[(method, resource)] += len(body or b"")
        if self.down:
            raise ApiStatus(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        fault = self._fault_for(method, resource)
        if fault is not None and fault.kind == "hold":
            self._held(fault, client_gone)
            fault = None  # then carried out and answered as usual
        if fault is not None and fault.kind == "status":
            reason, message = FAULT_REASONS[fault.code]
            raise ApiStatus(fault.code, reason, message, {"retryAfterSeconds": 1} if fault.code == 429 else None)
        if fault is not None and not fault.applied:
            raise _NoAnswer(fault.hold_s if fault.kind == "timeout" else 0)
        answer = self._carry_out(method, path, resource, namespace, name, token, body)
        if fault is not None:
            raise _NoAnswer(fault.hold_s if fault.kind == "timeout" else 0)
        return answer

    def _held(self, fault: Fault, client_gone: Callable[[], bool]) -> None:
        """Until ``fault.release`` (or HOLD_MAX_S); _NoAnswer if the client hangs up meanwhile."""
        with self._faults_lock:
            fault.held += 1
        try:
            give_up_at = time.monotonic() + HOLD_MAX_S
            while not fault.release.wait(HOLD_POLL_S) and time.monotonic() < give_up_at:
                if client_gone():
                    raise _NoAnswer(0)
        finally:
            with self._faults_lock:
                fault.held -= 1

    def _carry_out(self, method, path, resource, namespace, name, token, body) -> tuple[int, dict]:
        if (method == "POST") == (name is not None) or method not in VERBS:
            raise ApiStatus(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
        dry_run = _dry_run(path)
        self.store.authorize(token, VERBS[method], resource, namespace, name)
        if method == "GET":
            return 200, self.store.get(resource, namespace, name)
        try:
            document = json.loads(body or b"")
        except ValueError:
            raise ApiStatus(400, "BadRequest", "the body of the request was in an unknown format") from None
        if method == "POST":
            return 201, self.store.create(resource, namespace, document, dry_run=dry_run)
        return 200, self.store.replace(resource, namespace, name, document, dry_run=dry_run)


def _dry_run(path: str) -> bool:
    """``?dryRun=All`` (the only value the API server accepts); any other value is a 400, as there."""
    values = parse_qs(path.split("?", 1)[1]).get("dryRun", []) if "?" in path else []
    if any(value != "All" for value in values):
        raise ApiStatus(400, "BadRequest", f"Invalid dryRun value {values!r}: supported values: \"All\"")
    return bool(values)


def _route(path: str) -> tuple[str, str, str | None]:
    path = path.split("?", 1)[0].rstrip("/")
    for resource, prefix in PREFIXES.items():
        if path.startswith(prefix):
            parts = path[len(prefix):].split("/")
            if len(parts) in (2, 3) and parts[1] == resource and parts[0]:
                return resource, parts[0], parts[2] if len(parts) == 3 else None
    raise ApiStatus(404, "NotFound", "the server could not find the requested resource")


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        resource = next((r for r, prefix in PREFIXES.items() if self.path.startswith(prefix)), "")
        dry_run = "dryRun=" in self.path
        try:
            code, answer = self.api.handle(self.command, self.path, token, body, self._client_gone)
        except ApiStatus as status:
            code, answer = status.code, status.body
        except _NoAnswer as silence:
            self.api.served.append(Served(time.monotonic(), token, self.command, resource, 0, dry_run))
            self.api._stopping.wait(silence.hold_s)  # the client gives up first (its timeout)
            self.close_connection = True
            return
        self.api.served.append(Served(time.monotonic(), token, self.command, resource, code, dry_run))
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if code == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(payload)

    def _client_gone(self) -> bool:
        """The client closed the connection while waiting for the answer (its timeout passed)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: the leader renews every retry period
        pass
