"""Members: the replicas campaigning for several apps' Leases, seen through one shared Lease they each renew.

Spreading apps over replicas (ha/spread.py) needs the number of live replicas, including those that lead
no app yet. Each replica writes, every retry period, its identity and the time into annotation
``otel-desk-receiver/members`` (a JSON object) of Lease ``<DESK_LEADER_ELECTION_LEASE_NAME>.members``: one
named object, so the Role grants ``get`` and ``update`` on it by name (no ``list``, no ``delete``, no
object per replica left behind by a ``kill -9``). Writes carry the resourceVersion read: a Conflict is read
again and merged, never overwritten. As client-go judges a Lease, no clock of another node is compared: a
member is live while its entry was seen changing, on this process's own clock, within one lease duration
(an entry first seen counts as live until it stays unchanged that long). Entries unchanged for two lease
durations are dropped by the next writer; ``leave()`` (SIGTERM) drops this process's own at once.
"""

import json
import logging
import threading
import time
from collections.abc import Callable

from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube.lease import LeaseRecord, lease_object, micro_time

log = logging.getLogger(__name__)

MEMBERS_ANNOTATION = "otel-desk-receiver/members"
SUFFIX = ".members"  # a '.': kube/object_names.per_app_name never makes one after the base
MAX_NAME_LENGTH = 253
CONFLICT_ATTEMPTS = 3
PRUNE_AFTER_LEASES = 2


def members_lease_name(base: str) -> str:
    """``<base>.members``, the base cut (at a letter or digit) when the whole passes 253 characters."""
    return base[:MAX_NAME_LENGTH - len(SUFFIX)].rstrip("-.") + SUFFIX


class Members:
    """This replica's entry in the shared members Lease, and the members it sees live. ``live()`` always
    holds this replica itself, even while the API cannot be read or written (``problem()`` says why when
    it refuses: then this replica sees itself alone and takes its share of every app)."""

    def __init__(self, client, namespace: str, name: str, identity: str, lease_duration_s: float, *,
                 monotonic: Callable[[], float] = time.monotonic, clock_ns: Callable[[], int] = time.time_ns):
        self._client = client
        self.namespace, self.name, self.identity = namespace, name, identity
        self._lease_duration_s = lease_duration_s
        self._monotonic, self._clock_ns = monotonic, clock_ns
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, float]] = {}  # identity -> (entry, monotonic when it last changed)
        self._problem: str | None = None

    def live(self) -> tuple[str, ...]:
        now = self._monotonic()
        with self._lock:
            alive = {m for m, (_, changed) in self._seen.items() if now - changed < self._lease_duration_s}
        return tuple(sorted(alive | {self.identity}))

    def problem(self) -> str | None:
        with self._lock:
            return self._problem

    def beat(self) -> bool:
        """Read the members, renew this replica's entry, drop the long dead; True when written."""
        return self._update(lambda entries: {**entries, self.identity: micro_time(self._clock_ns())})

    def leave(self) -> bool:
        """Drop this replica's entry (on stop), so the others count one member less at once."""
        return self._update(lambda entries: {m: e for m, e in entries.items() if m != self.identity})

    def _update(self, change: Callable[[dict[str, str]], dict[str, str]]) -> bool:
        for _ in range(CONFLICT_ATTEMPTS):
            try:
                lease = self._read()
                entries = change(self._pruned(_entries(lease)))
                body = self._body(lease, entries)
                if lease is None:
                    self._client.create("leases", self.namespace, body)
                else:
                    self._client.replace("leases", self.namespace, self.name, body)
            except KubeError as error:
                if error.reason in ("Conflict", "AlreadyExists"):
                    continue  # another member wrote first: read again, merge
                self._failed(error)
                return False
            self._set_problem(None)
            return True
        log.info("lease %s/%s: members not renewed this time (%d writers in a row first)", self.namespace,
                 self.name, CONFLICT_ATTEMPTS)
        return False

    def _read(self) -> dict | None:
        """GET the Lease (None: missing) and note every entry that changed since last seen."""
        try:
            lease = self._client.get("leases", self.namespace, self.name)
        except KubeError as error:
            if error.reason != "NotFound":
                raise
            lease = None
        now = self._monotonic()
        entries = _entries(lease)
        with self._lock:
            self._seen = {m: self._seen[m] if m in self._seen and self._seen[m][0] == entry else (entry, now)
                          for m, entry in entries.items()}
        return lease

    def _pruned(self, entries: dict[str, str]) -> dict[str, str]:
        now, limit = self._monotonic(), PRUNE_AFTER_LEASES * self._lease_duration_s
        with self._lock:
            return {m: e for m, e in entries.items()
                    if m == self.identity or m not in self._seen or now - self._seen[m][1] < limit}

    def _body(self, lease: dict | None, entries: dict[str, str]) -> dict:
        record = LeaseRecord("", max(1, round(self._lease_duration_s)), None, None, 0)
        body = lease_object(self.namespace, self.name, record, lease)
        if lease is not None:
            body["spec"] = lease.get("spec") or {}
        annotations = dict(body["metadata"].get("annotations") or {})
        annotations[MEMBERS_ANNOTATION] = json.dumps(dict(sorted(entries.items())), separators=(",", ":"))
        body["metadata"]["annotations"] = annotations
        return body

    def _failed(self, error: KubeError) -> None:
        if error.transient:
            log.warning("lease %s/%s: members not renewed: %s", self.namespace, self.name, error)
            return
        what = "create" if error.reason == "Forbidden" and "cannot create" in str(error) else "get and update"
        self._set_problem(f"lease {self.namespace}/{self.name}: {error}: grant {what} on leases {self.name!r} "
                          "(or make it: the Helm chart does)")

    def _set_problem(self, problem: str | None) -> None:
        with self._lock:
            before, self._problem = self._problem, problem
        if problem and problem != before:
            log.error("apps are not spread over the replicas (this one sees itself alone): %s", problem)
        elif before and not problem:
            log.info("lease %s/%s: members renewed again", self.namespace, self.name)


def listed(lease: dict | None) -> dict[str, str]:
    """The members a members Lease lists (identity -> the time of its last renewal), live or not."""
    return _entries(lease)


def _entries(lease: dict | None) -> dict[str, str]:
    text = (((lease or {}).get("metadata") or {}).get("annotations") or {}).get(MEMBERS_ANNOTATION, "")
    try:
        entries = json.loads(text) if text else {}
    except ValueError:
        return {}  # written by hand and broken: the members write it again
    return {str(m): str(e) for m, e in entries.items()} if isinstance(entries, dict) else {}
