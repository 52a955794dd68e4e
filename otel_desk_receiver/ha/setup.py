"""Builds the Kubernetes parts from Settings: API client, namespace, identity, and per Desk app its elector and
ConfigMap state (a Lease and a ConfigMap per app with an apps file), spread over the replicas."""

import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opentelemetry.metrics import Meter

from otel_desk_receiver.config import Settings, StateBackendKind
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.errors import ConfigError, KubeError
from otel_desk_receiver.kube import connection
from otel_desk_receiver.kube.access import check_write_access
from otel_desk_receiver.kube.client import DEFAULT_TIMEOUT_S, KubeClient
from otel_desk_receiver.ha.elector import ElectionConfig, LeaderElector
from otel_desk_receiver.ha.leadership import Leadership, RoleSink
from otel_desk_receiver.ha.members import Members, listed, members_lease_name
from otel_desk_receiver.ha.spread import Spread
from otel_desk_receiver.kube.object_names import per_app_name
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
class AppElection:
    """One Desk app's Kubernetes parts: its elector (with leader election) and its state (kubernetes backend)."""

    label: str
    elector: LeaderElector | None
    state: RetriedState | None  # a KubernetesState, transient API failures tried again within the renew deadline


@dataclass
class KubernetesParts:
    """The API client and namespace, and per app (``apps``, by label, in the settings' order) its elector and
    state; ``spread`` shares the apps out over the replicas (several apps with leader election, else None)."""

    client: KubeClient
    namespace: str
    apps: dict[str, AppElection]
    spread: Spread | None = None

    @property
    def elector(self) -> LeaderElector | None:
        """The first app's elector: the only app's without an apps file."""
        return next(iter(self.apps.values())).elector

    @property
    def state(self) -> RetriedState | None:
        """The first app's state: the only app's without an apps file."""
        return next(iter(self.apps.values())).state

    def leadership(self, label: str, health: RoleSink, meter: Meter) -> Leadership | None:
        """App ``label``'s Leadership (None without leader election): its election, its terms, its role in
        ``health``; with several apps, spread with the others' (ha/spread.py). One per app, made once."""
        elector = self.apps[label].elector
        if elector is None:
            return None
        return Leadership(elector, health, meter, spread=self.spread, app=label if len(self.apps) > 1 else None)


def object_names(settings: Settings, label: str) -> tuple[str, str]:
    """App ``label``'s (Lease, state ConfigMap) names: per app with an apps file (kube/object_names.py), else
    the settings' names as they are."""
    lease, configmap = settings.leader_election_lease_name, settings.state_configmap
    if not settings.per_app_names:
        return lease, configmap
    return per_app_name(lease, label), per_app_name(configmap, label)


def app_identities(settings: Settings) -> dict[str, DeskIdentity]:
    """Each app's Desk, as its state names it: its label and its base URL without user info."""
    return {app.label: DeskIdentity.of(app) for app in settings.desk_apps}


def build(settings: Settings, desks: Mapping[str, DeskIdentity | None] | DeskIdentity | None = None,
          env: dict[str, str] | None = None) -> KubernetesParts:
    """The client, and per app of ``settings.desk_apps`` its elector (with leader election) and state (with
    the kubernetes backend); ``desks``: each app's identity by label (default: app_identities), or the one
    app's. ConfigError when no API can be found or no namespace is known."""
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
    if not isinstance(desks, Mapping):  # one identity: its app's (by label), the others' as app_identities
        one, desks = desks, app_identities(settings)
        if one is not None:
            desks[one.app if one.app in desks else next(iter(desks))] = one
    me = identity()
    apps = {label: _app_election(settings, client, namespace, me, label, desk, sole=len(desks) == 1)
            for label, desk in desks.items()}
    spread = None
    if election_enabled(settings) and len(apps) > 1:
        members = Members(client, namespace, members_lease_name(settings.leader_election_lease_name), me,
                          settings.leader_election_lease_duration)
        spread = Spread(members, {label: app.elector for label, app in apps.items()},
                        settings.leader_election_retry_period)
    return KubernetesParts(client, namespace, apps, spread)


def _app_election(settings: Settings, client: KubeClient, namespace: str, me: str, label: str,
                  desk: DeskIdentity | None, *, sole: bool) -> AppElection:
    lease_name, configmap = object_names(settings, label)
    kube_state = settings.state_backend is StateBackendKind.KUBERNETES
    elector = None
    if election_enabled(settings):
        config = ElectionConfig(settings.leader_election_lease_duration, settings.leader_election_renew_deadline,
                                settings.leader_election_retry_period)
        floor = claimed_transitions(client, namespace, configmap) if kube_state else (lambda: -1)
        elector = LeaderElector(client, namespace, lease_name, me, config, transitions_floor=floor)
    state = None
    if kube_state:
        alone = Term(me, 0)  # without election: this process's own term; a newer writer still fences it out
        legacy = settings.state_configmap if settings.per_app_names else None
        state = RetriedState(
            KubernetesState(client, namespace, configmap, desk, term=elector.term if elector else (lambda: alone),
                            elected=elector is not None, legacy_name=legacy, sole=sole),
            budget_s=settings.leader_election_renew_deadline, retry_s=settings.leader_election_retry_period,
            wait=elector.pause if elector else threading.Event().wait,
            check_access=lambda: check_write_access(client, "configmaps", namespace, configmap,
                                                    blank_configmap(namespace, configmap)))
    return AppElection(label, elector, state)


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


def describe(settings: Settings, desk: Mapping[str, DeskIdentity | None] | DeskIdentity | None = None,
             env: dict[str, str] | None = None) -> tuple[bool, str]:
    """For ``check``: read each app's state ConfigMap and Lease (and, with several apps, the members Lease),
    and ask the API (dry runs: nothing is stored) whether this service account may write each, or make it
    where it does not exist yet, as ``run`` will (``run`` exits 2 at start on a ConfigMap, and is not ready
    while it cannot campaign); (ok, one line), each app's words led by ``app <label>:`` with several."""
    from otel_desk_receiver.errors import StateError

    try:
        parts = build(settings, desk, env)
    except ConfigError as error:
        return False, "; ".join(error.problems)
    words = []
    try:
        for label, app in parts.apps.items():
            said = _describe_app(parts, app)
            words += [f"app {label}: {said[0]}", *said[1:]] if len(parts.apps) > 1 and said else said
        if parts.spread is not None:
            members = parts.spread.members
            name = f"lease {parts.namespace}/{members.name}"
            lease = check_write_access(parts.client, "leases", parts.namespace, members.name,
                                       {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                        "metadata": {"name": members.name, "namespace": parts.namespace}})
            words.append(f"{name}: none yet" if lease is None else f"{name}: {len(listed(lease))} replica(s) listed")
    except KubeError as error:
        return False, str(error)
    except StateError as error:
        return False, str(error)
    finally:
        parts.client.close()
    return True, "; ".join(words)


def _describe_app(parts: KubernetesParts, app: AppElection) -> list[str]:
    from otel_desk_receiver.kube.lease import LeaseRecord
    from otel_desk_receiver.state.document import decode_state

    words = []
    if app.state is not None:
        obj = app.state.check_access()  # the same question run asks at start
        if obj is None:
            words.append(f"{app.state.path}: none yet (created at the first start)")
        else:
            text = (obj.get("data") or {}).get("state.json")
            cursors = decode_state(text, f"state {app.state.path}", app.state.desk,
                                   sole=len(parts.apps) == 1) if text else {}
            words.append(f"{app.state.path}: valid, {len(cursors)} bot cursor(s), {len(text or '') // 1024} KiB")
    if app.elector is not None:
        name = f"lease {parts.namespace}/{app.elector.name}"
        lease = app.elector.check_access()
        holder = LeaseRecord.from_lease(lease).holder if lease is not None else None
        words.append(f"{name}: none yet" if lease is None else f"{name}: held by {holder}" if holder
                     else f"{name}: free")
    return words
