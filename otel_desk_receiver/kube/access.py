"""check_write_access: whether this service account may write one object (or create it), asked without writing.

RBAC answers only when a request is made, and a Role may grant ``get`` but not ``update`` (or, as the
chart's Role, not ``create``, which RBAC cannot limit by name). A dry run (``?dryRun=All``) goes
through authentication, authorization and validation as a real write does and stores nothing, so
``check`` and the start of ``run`` find out what the first real write would meet.
"""

from typing import Any

from otel_desk_receiver.errors import KubeError

# Another writer got there between the read and the dry run: authorization passed before that check.
ALLOWED_REASONS = ("Conflict", "AlreadyExists")


class AccessDenied(KubeError):
    """The object cannot be written or made by this service account; the message says what to grant."""


def check_write_access(client, resource: str, namespace: str, name: str, blank: dict[str, Any]) -> dict | None:
    """Read ``name``, then dry-run an update of it as read, or a create of ``blank`` when it does not exist.
    Returns what was read (None: missing). AccessDenied on a refusal (401, 403, 422); a transient
    KubeError (``.transient``) as it came: nothing is known yet."""
    kind = f"{resource[:-1]} {namespace}/{name}"
    try:
        current = client.get(resource, namespace, name)
    except KubeError as error:
        if error.reason != "NotFound":
            raise _denied(error, f"{kind} cannot be read", f"grant get on {resource} {name!r}") from None
        current = None
    try:
        if current is None:
            client.create(resource, namespace, blank, dry_run=True)
        else:
            client.replace(resource, namespace, name, current, dry_run=True)
    except KubeError as error:
        if error.reason in ALLOWED_REASONS:
            return current
        if current is None:
            raise _denied(error, f"{kind} does not exist and this service account may not create it",
                          f"make it (the Helm chart does: helm upgrade) or grant create on {resource}") from None
        raise _denied(error, f"{kind} cannot be written", f"grant update on {resource} {name!r}") from None
    return current


def _denied(error: KubeError, what: str, hint: str = "") -> KubeError:
    if error.transient:
        return error
    return AccessDenied(f"{what} ({error})" + (f": {hint}" if hint else ""), error.status_code, error.reason)
