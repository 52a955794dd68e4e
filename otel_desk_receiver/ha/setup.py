"""Builds the Kubernetes parts from Settings: API client, namespace, identity, elector, ConfigMap state."""

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from otel_desk_receiver.config import Settings, StateBackendKind
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.errors import ConfigError, KubeError
from otel_desk_receiver.kube import connection
from otel_desk_receiver.kube.access import check_write_access
from otel_desk_receiver.kube.client import DEFAULT_TIMEOUT_S, KubeClient
from otel_desk_receiver.ha.elector import ElectionConfig, LeaderElector
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.state.configmap_backend import TRANSITIONS_ANNOTATION, KubernetesState
from otel_desk_receiver.state.retry import RetriedState


def election_enabled(settings: Settings) -> bool:
    if settings.leader_election is not None:
        return settings.leader_election
    return settings.state_backend is StateBackendKind.KUBERNETES


def needs_kubernetes(settings: Settings) -> bool:
    return election_enabled(settings) or settings.state_backend is StateBackendKind.KUBERNETES


def identity() -> str:
    """client-go's usual identity: the pod name (the hostname in a pod), then a unique suffix, so a
    restarted container is a new candidate and its first term counts as a leadership transition."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass
class KubernetesParts:
    client: KubeClient
    namespace: str
    elector: LeaderElector | None
    state: RetriedState | None  # a KubernetesState, transient API failures tried again within the renew deadline


def build(settings: Settings, desk: DeskIdentity | None, env: dict[str, str] | None = None) -> KubernetesParts:
    """The client, elector (with leader election) and state (with the kubernetes backend); ConfigError when
    no API can be found or no namespace is known."""
    env = dict(os.environ) if env is None else env
    try:
        conn = connection.resolve(env)
    except KubeError as error:
        raise ConfigError([f"DESK_STATE_BACKEND / DESK_LEADER_ELECTION: {error}"]) from None
    namespace = settings.kubernetes_namespace or env.get("POD_NAMESPACE") or conn.namespace
    if not namespace:
        raise ConfigError(["DESK_KUBERNETES_NAMESPACE: required here (no POD_NAMESPACE, no service account "
                           "namespace file, no namespace in the kubeconfig context)"])
    # One API call never outlasts half the renew deadline: the election loop must get its next try in.
    client = KubeClient(conn, timeout_s=min(DEFAULT_TIMEOUT_S, max(0.5, settings.leader_election_renew_deadline / 2)))
    me = identity()
    elector = None
    if election_enabled(settings):
        config = ElectionConfig(settings.leader_election_lease_duration, settings.leader_election_renew_deadline,
                                settings.leader_election_retry_period)
        floor = (claimed_transitions(client, namespace, settings.state_configmap)
                 if settings.state_backend is StateBackendKind.KUBERNETES else (lambda: -1))
        elector = LeaderElector(client, namespace, settings.leader_election_lease_name, me, config,
                                transitions_floor=floor)
    state = None
    if settings.state_backend is StateBackendKind.KUBERNETES:
        alone = Term(me, 0)  # without election: this process's own term; a newer writer still fences it out
        state = RetriedState(
            KubernetesState(client, namespace, settings.state_configmap, desk,
                            term=elector.term if elector else (lambda: alone), elected=elector is not None),
            budget_s=settings.leader_election_renew_deadline, retry_s=settings.leader_election_retry_period,
            wait=elector.pause if elector else threading.Event().wait,
            check_access=lambda: check_write_access(client, "configmaps", namespace, settings.state_configmap,
                                                    blank_configmap(namespace, settings.state_configmap)))
    return KubernetesParts(client, namespace, elector, state)


def blank_configmap(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}


def claimed_transitions(client: KubeClient, namespace: str, name: str) -> Callable[[], int]:
    """The lease transition the state ConfigMap was last claimed in (-1: no object, no claim yet). A Lease
    made again counts on from it (LeaderElector's transitions_floor): a term numbered below the state's
    is refused by its fencing, for ever."""

    def read() -> int:
        try:
            obj = client.get("configmaps", namespace, name)
        except KubeError as error:
            if error.reason == "NotFound":
                return -1
            raise
        value = ((obj.get("metadata") or {}).get("annotations") or {}).get(TRANSITIONS_ANNOTATION, "")
        return int(value) if value.isdecimal() else -1
    return read


def describe(settings: Settings, desk: DeskIdentity | None, env: dict[str, str] | None = None) -> tuple[bool, str]:
    """For ``check``: read the state ConfigMap and the Lease, and ask the API (dry runs: nothing is stored)
    whether this service account may write each, or make it where it does not exist yet, as ``run`` will
    (``run`` exits 2 at start on the ConfigMap, and is not ready while it cannot campaign); (ok, one line)."""
    from otel_desk_receiver.state.document import decode_state
    from otel_desk_receiver.errors import StateError
    from otel_desk_receiver.kube.lease import LeaseRecord

    try:
        parts = build(settings, desk, env)
    except ConfigError as error:
        return False, "; ".join(error.problems)
    words = []
    try:
        if parts.state is not None:
            obj = parts.state.check_access()  # the same question run asks at start
            if obj is None:
                words.append(f"{parts.state.path}: none yet (created at the first start)")
            else:
                text = (obj.get("data") or {}).get("state.json")
                cursors = decode_state(text, f"state {parts.state.path}", desk) if text else {}
                words.append(f"{parts.state.path}: valid, {len(cursors)} bot cursor(s), {len(text or '') // 1024} KiB")
        if parts.elector is not None:
            name = f"lease {parts.namespace}/{settings.leader_election_lease_name}"
            lease = parts.elector.check_access()
            holder = LeaseRecord.from_lease(lease).holder if lease is not None else None
            words.append(f"{name}: none yet" if lease is None else f"{name}: held by {holder}" if holder
                         else f"{name}: free")
    except KubeError as error:
        return False, str(error)
    except StateError as error:
        return False, str(error)
    finally:
        parts.client.close()
    return True, "; ".join(words)
