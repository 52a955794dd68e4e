"""The stand-in API's objects: resourceVersion semantics, RBAC per token, validation, Status errors."""

import copy
import functools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import kubernetes_validate
import kubernetes_validate.utils

SCHEMA_VERSION = "1.33"
# kubernetes_validate.validate parses its multi-megabyte definitions file on every call (70 ms here);
# the stand-in validates every renew, so the parsed schema files are kept (they are never changed).
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(
        kubernetes_validate.utils.schema_contents)
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")  # DNS-1123 subdomain
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
CONFIGMAP_MAX_BYTES = 1024 * 1024
ANNOTATIONS_MAX_BYTES = 256 * 1024  # apimachinery's TotalAnnotationSizeLimitB
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUALIFIED_NAME_MAX = 63
QUALIFIED_WORDS = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                   "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
                   "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
SUBDOMAIN_WORDS = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                   "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")

# resource -> (apiVersion, kind, API group as RBAC and Status name it)
KINDS = {"configmaps": ("v1", "ConfigMap", ""), "leases": ("coordination.k8s.io/v1", "Lease", "coordination.k8s.io")}


class ApiStatus(Exception):
    """An error answer: ``body`` is the Status object the API server returns."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None, causes=None):
        super().__init__(message)
        self.code = code
        self.body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": message, "reason": reason, "code": code}
        if details is not None:
            self.body["details"] = {**details, **({"causes": causes} if causes else {})}


@dataclass(frozen=True)
class Grant:
    """One Role rule for one token: verbs on a resource, optionally only on the named objects."""

    resource: str
    verbs: frozenset[str]
    names: frozenset[str] = frozenset()  # empty: every object (as in RBAC, create ignores names)


@dataclass
class Subject:
    user: str  # e.g. system:serviceaccount:ns:sa
    grants: list[Grant] = field(default_factory=list)


class ObjectStore:
    """Namespaced ConfigMaps and Leases, one global resourceVersion counter (as etcd's revision)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._revision = 0
        self.subjects: dict[str, Subject] = {}

    # --- RBAC ---
    def add_token(self, token: str, user: str, grants: list[Grant]) -> None:
        self.subjects[token] = Subject(user, list(grants))

    def revoke(self, token: str, resource: str, verb: str) -> None:
        """Take ``verb`` on ``resource`` away from ``token`` (a Role edited under a running receiver)."""
        subject = self.subjects[token]
        subject.grants = [Grant(g.resource, g.verbs - {verb}, g.names) if g.resource == resource else g
                          for g in subject.grants]

    def authorize(self, token: str | None, verb: str, resource: str, namespace: str, name: str | None) -> None:
        subject = self.subjects.get(token or "")
        if subject is None:
            raise ApiStatus(401, "Unauthorized", "Unauthorized")
        for grant in subject.grants:
            if grant.resource == resource and verb in grant.verbs and (
                    verb == "create" or not grant.names or name in grant.names):
                return
        group = KINDS[resource][2]
        target = f'{resource} "{name}"' if name else resource
        raise ApiStatus(403, "Forbidden", f'{target} is forbidden: User "{subject.user}" cannot {verb} resource '
                        f'"{resource}" in API group "{group}" in the namespace "{namespace}"',
                        {"name": name, "group": group or None, "kind": resource})

    # --- objects ---
    def get(self, resource: str, namespace: str, name: str) -> dict:
        with self._lock:
            obj = self._objects.get((resource, namespace, name))
            if obj is None:
                raise _not_found(resource, name)
            return copy.deepcopy(obj)

    def delete(self, resource: str, namespace: str, name: str) -> None:
        """What ``kubectl delete`` does to the object (the receiver itself never deletes); 404 if absent."""
        with self._lock:
            if self._objects.pop((resource, namespace, name), None) is None:
                raise _not_found(resource, name)
            self._revision += 1

    def create(self, resource: str, namespace: str, body: dict, *, dry_run: bool = False) -> dict:
        name = self._validate(resource, namespace, body, None)
        with self._lock:
            if (resource, namespace, name) in self._objects:
                raise ApiStatus(409, "AlreadyExists", f'{resource}{_group_suffix(resource)} "{name}" already exists',
                                _details(resource, name))
            metadata = body["metadata"]
            if metadata.get("resourceVersion"):
                raise ApiStatus(500, "InternalError", "resourceVersion should not be set on objects to be created")
            metadata.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=_now())
            return body if dry_run else self._store(resource, namespace, name, body)

    def replace(self, resource: str, namespace: str, name: str, body: dict, *, dry_run: bool = False) -> dict:
        self._check_shape(resource, namespace, body, name)
        with self._lock:
            current = self._objects.get((resource, namespace, name))
            if current is None:
                raise _not_found(resource, name)  # PUT does not create these kinds (AllowCreateOnUpdate false)
            version = body["metadata"].get("resourceVersion")
            if version and version != current["metadata"]["resourceVersion"]:
                raise ApiStatus(409, "Conflict", f'Operation cannot be fulfilled on {resource}{_group_suffix(resource)} '
                                f'"{name}": the object has been modified; please apply your changes to the latest '
                                "version and try again", _details(resource, name))
            self._check_valid(resource, body)  # as the API server: the version is checked first, then the object
            for kept in ("uid", "creationTimestamp"):
                body["metadata"][kept] = current["metadata"][kept]
            if dry_run:  # as the API server: the answer keeps the stored version, nothing is written
                body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                return body
            return self._store(resource, namespace, name, body)

    def _store(self, resource: str, namespace: str, name: str, body: dict) -> dict:
        self._revision += 1
        body["metadata"]["resourceVersion"] = str(self._revision)
        self._objects[(resource, namespace, name)] = copy.deepcopy(body)
        return body

    def _validate(self, resource: str, namespace: str, body: dict, name: str | None) -> str:
        self._check_shape(resource, namespace, body, name)
        self._check_valid(resource, body)
        return body["metadata"]["name"]

    @staticmethod
    def _check_shape(resource: str, namespace: str, body: dict, name: str | None) -> None:
        api_version, kind, _ = KINDS[resource]
        if not isinstance(body, dict) or body.get("kind") != kind or body.get("apiVersion") != api_version:
            raise ApiStatus(400, "BadRequest", f"the body must be a {kind} of {api_version}")
        metadata = body.setdefault("metadata", {})
        if metadata.get("namespace", namespace) != namespace:
            raise ApiStatus(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                            "sent on the request")
        if name is not None and metadata.get("name") != name:
            raise ApiStatus(400, "BadRequest", "the name of the object does not match the name on the URL")

    @staticmethod
    def _check_valid(resource: str, body: dict) -> None:
        kind, metadata = KINDS[resource][1], body["metadata"]
        causes = _schema_causes(body) or _semantic_causes(resource, body)  # the rules assume the schema holds
        if causes:
            shown = metadata.get("name", "")
            raise ApiStatus(422, "Invalid", f'{kind} "{shown}" is invalid: ' + ", ".join(
                f"{c['field']}: {c['message']}" for c in causes), _details(resource, shown), causes)


def _schema_causes(body: dict) -> list[dict]:
    """Kubernetes' own OpenAPI schema (kubernetes-validate, strict: unknown fields are errors too)."""
    try:
        kubernetes_validate.validate(body, SCHEMA_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path) or "<root>"
        return [{"reason": "FieldValueInvalid", "message": error.message, "field": where}]
    return []


def _semantic_causes(resource: str, body: dict) -> list[dict]:
    """What the API server's validation adds to the schema, for these two kinds."""
    causes = []
    name = body["metadata"].get("name")
    if not name or not NAME.match(name) or len(name) > 253:
        causes.append(_cause("metadata.name", "a lowercase RFC 1123 subdomain is required"))
    causes += _annotation_causes(body["metadata"].get("annotations") or {})
    if resource == "configmaps":
        data = body.get("data") or {}
        for key in data:
            if not CONFIGMAP_KEY.match(key):
                causes.append(_cause(f"data[{key}]", "a valid config key must consist of alphanumeric characters, "
                                     "'-', '_' or '.'"))
        size = sum(len(k) + len(str(v).encode()) for k, v in data.items())
        if size > CONFIGMAP_MAX_BYTES:
            causes.append(_cause("data", f"Too long: must have at most {CONFIGMAP_MAX_BYTES} bytes", "FieldValueTooLong"))
    else:
        spec = body.get("spec") or {}
        if spec.get("leaseDurationSeconds") is not None and spec["leaseDurationSeconds"] <= 0:
            causes.append(_cause("spec.leaseDurationSeconds", "must be greater than 0"))
        if spec.get("leaseTransitions") is not None and spec["leaseTransitions"] < 0:
            causes.append(_cause("spec.leaseTransitions", "must be greater than or equal to 0"))
        for time_field in ("acquireTime", "renewTime"):
            if spec.get(time_field) is not None and not MICRO_TIME.match(str(spec[time_field])):
                raise ApiStatus(400, "BadRequest", f"spec.{time_field}: parsing time {spec[time_field]!r} as RFC 3339")
    return causes


def _annotation_causes(annotations: dict) -> list[dict]:
    """apimachinery's ValidateAnnotations: each key a qualified name (checked in lower case), 256 KiB in all."""
    causes = []
    for key in annotations:
        problem = _qualified_name_problem(str(key).lower())
        if problem:
            causes.append(_cause("metadata.annotations", f'Invalid value: "{key}": {problem}'))
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        causes.append(_cause("metadata.annotations", f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes",
                             "FieldValueTooLong"))
    return causes


def _qualified_name_problem(value: str) -> str | None:
    """apimachinery's IsQualifiedName: ``[prefix/]name``, the prefix a DNS-1123 subdomain, the name 63 at most."""
    parts = value.split("/")
    if len(parts) > 2:
        return f"a qualified name {QUALIFIED_WORDS} with an optional DNS subdomain prefix and '/' (e.g. " \
               "'example.com/MyName')"
    if len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return "prefix part must be non-empty"
        if not NAME.match(prefix) or len(prefix) > 253:
            return f"prefix part {SUBDOMAIN_WORDS}"
    else:
        name = parts[0]
    if not name:
        return "name part must be non-empty"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"name part must be no more than {QUALIFIED_NAME_MAX} characters"
    if not QUALIFIED_NAME.match(name):
        return f"name part {QUALIFIED_WORDS}"
    return None


def _cause(field_name: str, message: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field_name}


def _group_suffix(resource: str) -> str:
    group = KINDS[resource][2]
    return f".{group}" if group else ""


def _details(resource: str, name: str) -> dict:
    details = {"name": name, "kind": resource}
    if KINDS[resource][2]:
        details["group"] = KINDS[resource][2]
    return details


def _not_found(resource: str, name: str) -> ApiStatus:
    return ApiStatus(404, "NotFound", f'{resource}{_group_suffix(resource)} "{name}" not found', _details(resource, name))


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
