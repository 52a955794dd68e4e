"""LeaseRecord: a coordination.k8s.io/v1 Lease's spec as client-go's leader election reads and writes it."""

from dataclasses import dataclass
from datetime import UTC, datetime

from otel_desk_receiver.units import NS_PER_S

API_VERSION = "coordination.k8s.io/v1"


@dataclass(frozen=True)
class Term:
    """One tenure: who holds the Lease and its leaseTransitions then. Checkpoints are fenced by it."""

    holder: str
    transitions: int


def micro_time(ns: int) -> str:
    """metav1.MicroTime as the API writes it: RFC 3339, microseconds, UTC ("2026-12-01T23:59:01.123456Z")."""
    instant = datetime.fromtimestamp(ns // NS_PER_S, tz=UTC).replace(microsecond=ns // 1000 % 1_000_000)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> int | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(value.timestamp()) * NS_PER_S + value.microsecond * 1000


@dataclass(frozen=True)
class LeaseRecord:
    """client-go's LeaderElectionRecord over a Lease spec. ``holder`` "" means released."""

    holder: str
    lease_duration_s: int
    acquire_time_ns: int | None
    renew_time_ns: int | None
    transitions: int

    @classmethod
    def from_lease(cls, lease: dict) -> "LeaseRecord":
        spec = lease.get("spec") or {}
        return cls(holder=spec.get("holderIdentity") or "", lease_duration_s=int(spec.get("leaseDurationSeconds") or 0),
                   acquire_time_ns=parse_micro_time(spec.get("acquireTime")),
                   renew_time_ns=parse_micro_time(spec.get("renewTime")),
                   transitions=int(spec.get("leaseTransitions") or 0))

    def spec(self) -> dict:
        spec = {"holderIdentity": self.holder, "leaseDurationSeconds": self.lease_duration_s,
                "leaseTransitions": self.transitions}
        if self.acquire_time_ns is not None:
            spec["acquireTime"] = micro_time(self.acquire_time_ns)
        if self.renew_time_ns is not None:
            spec["renewTime"] = micro_time(self.renew_time_ns)
        return spec


def lease_object(namespace: str, name: str, record: LeaseRecord, read: dict | None = None) -> dict:
    """The Lease to create (``read`` None) or to PUT over ``read``, the object as last read: its metadata
    (resourceVersion, and labels and annotations such as Helm's, which an upgrade checks) is kept, as
    client-go's LeaseLock keeps it; only the spec is ours."""
    metadata = {"name": name, "namespace": namespace}
    if read is not None:
        metadata = {k: v for k, v in read["metadata"].items() if k != "managedFields"}
    return {"apiVersion": API_VERSION, "kind": "Lease", "metadata": metadata, "spec": record.spec()}
