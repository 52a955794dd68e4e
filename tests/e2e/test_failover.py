"""Three receivers on one Desk app and one (stand-in) Kubernetes API: kill -9 the leader again and again."""

import json
import random
import signal
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from otel_desk_receiver.devkit.kube_api import Grant
from otel_desk_receiver.kube.lease import LeaseRecord
from tests.harness.fixtures.kube_api import NAMESPACE, write_kubeconfig
from tests.harness.ports import free_port
from tests.harness.receiver import uids
from tests.harness.receiver_process import ReceiverProcess, delivered_counter_total, receiver_env, run_command
from tests.harness.saved_state import app_section
from tests.harness.wait import wait_until

PAGE = 200
LEASE_S, RENEW_S, RETRY_S = 3, 2, 0.5
POLL_S = 0.5
LEASE = "otel-desk-receiver-leader"
FAILOVERS = 3


class LiveTraffic:
    """Entries arriving while the receivers run: terminal at once, so every one is due for export."""

    def __init__(self, emulator, bot_ids: list[int], per_s: float = 20):
        self._emulator, self._bots, self._gap_s = emulator, bot_ids, 1 / per_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.added = 0

    def _run(self) -> None:
        rng = random.Random(7)
        while not self._stop.wait(self._gap_s):
            self._emulator.add_entry(rng.choice(self._bots), status=rng.choice(("RECEIVED", "ERROR")))
            self.added += 1

    def __enter__(self) -> "LiveTraffic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def holder(kube_api) -> str:
    try:
        return LeaseRecord.from_lease(kube_api.store.get("leases", NAMESPACE, LEASE)).holder
    except Exception:  # noqa: BLE001 - not created yet
        return ""


def readyz(port: int) -> tuple[int, dict]:
    answer = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    return answer.status_code, answer.json()


def test_kill_9_the_leader_again_and_again(desk_emulator, otlp_sink, kube_api, kubeconfig, tmp_path):
    start = desk_emulator.clock.now() - timedelta(days=2)
    bots = [desk_emulator.add_bot(name=f"bot-{i}", timeout_seconds=30)["id"] for i in range(2)]
    for bot_id in bots:  # the backfill
        desk_emulator.add_entries(bot_id, 4000, statuses=("RECEIVED", "ERROR", "TIMEOUT"), start=start,
                                  spacing_s=86400 / 4000)
    base_env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", tmp_path / "unused.json",
                            backfill_days=3, page_size=PAGE, poll_interval=POLL_S, state_backend="kubernetes",
                            leader_election_lease_duration=LEASE_S, leader_election_renew_deadline=RENEW_S,
                            leader_election_retry_period=RETRY_S)
    base_env["KUBECONFIG"] = str(kubeconfig)
    ports: dict[str, int] = {}
    processes: dict[str, ReceiverProcess] = {}
    every_process: list[tuple[str, ReceiverProcess]] = []
    started = 0

    def start_replica() -> str:
        nonlocal started
        pod = f"receiver-{started}"
        started += 1
        ports[pod] = free_port()
        env = {**base_env, "POD_NAME": pod, "DESK_HEALTH_ADDR": f"127.0.0.1:{ports[pod]}"}
        processes[pod] = ReceiverProcess.start(env, tmp_path)
        every_process.append((pod, processes[pod]))
        return pod

    takeovers, first_deliveries, leaders = [], [], []
    try:
        with LiveTraffic(desk_emulator, bots) as traffic:
            for _ in range(3):
                start_replica()
            for round_ in range(FAILOVERS + 1):
                wait_until(lambda: holder(kube_api) != "" and holder(kube_api) not in leaders, what="a new leader")
                leader_pod = holder(kube_api).rsplit("_", 1)[0]
                leaders.append(holder(kube_api))
                if round_ == 0:
                    standby = next(pod for pod in processes if pod != leader_pod)
                    wait_until(lambda: _ready(ports[standby]) == (200, "standby", leaders[0]),
                               what="a standby, ready, naming the leader on /readyz")
                if round_ == FAILOVERS:
                    break
                # Live traffic (20/s) after the backfill: the first leader now reads the 8000 entries in about
                # a second, so a fixed 1500 more could take longer than the wait.
                threshold = otlp_sink.count() + 200
                wait_until(lambda: otlp_sink.count() >= threshold, what="the leader delivering")
                processes.pop(leader_pod).kill()
                killed_at, count_at_kill = time.monotonic(), otlp_sink.count()
                start_replica()  # as the Deployment's controller would
                wait_until(lambda: holder(kube_api) not in ("", leaders[-1]), what="takeover")
                takeovers.append(time.monotonic() - killed_at)
                wait_until(lambda: otlp_sink.count() > count_at_kill, what="the new leader delivering")
                first_deliveries.append(time.monotonic() - killed_at)
        total = sum(len(desk_emulator.entries(bot_id)) for bot_id in bots)
        wait_until(lambda: len(set(uids(otlp_sink))) >= total, timeout_s=90, what="every entry delivered")
        for process in processes.values():
            process.signal(signal.SIGTERM)
        for process in processes.values():
            assert process.wait(timeout_s=15) == 0, process.output()[-3000:]
    finally:
        for process in processes.values():
            process.kill()
    received = uids(otlp_sink)
    duplicates = len(received) - len(set(received))
    print(f"\nfailover: {FAILOVERS} kill -9 of the leader, lease {LEASE_S}s / renew {RENEW_S}s / retry {RETRY_S}s, "
          f"poll {POLL_S}s; {total} entries ({traffic.added} live), {duplicates} duplicates; "
          f"lease taken over after {', '.join(f'{t:.1f}' for t in takeovers)} s; first delivery by the new leader "
          f"after {', '.join(f'{t:.1f}' for t in first_deliveries)} s")
    # The Lease counts every change of holder: the kills, and any the loaded machine added (a renewal
    # late past the deadline is a failover too, and as safe).
    changes = record_of(kube_api).transitions
    assert changes >= FAILOVERS
    assert len(set(received)) == total
    assert duplicates <= changes * len(bots) * PAGE  # per failover, at most one batch per bot (not yet saved)
    # Desk sees one poller: only a leader lists the bots, once when it first leads; a standby reads nothing.
    listings = sum(1 for r in desk_emulator.requests if r.path.rstrip("/").endswith("/bots"))
    assert len(leaders) <= listings <= changes + 1
    leader_pods = {leader.rsplit("_", 1)[0] for leader in leaders}
    for pod, process in every_process:
        if pod not in leader_pods and "leading: lease" not in process.output():
            assert "): read " not in process.output() and "standing by" in process.output()
    state = json.loads(kube_api.store.get("configmaps", NAMESPACE, "otel-desk-receiver-state")["data"]["state.json"])
    counted = sum(sum(bot["counted"].values()) for bot in app_section(state)["bots"].values())
    assert counted == total  # counters: every entry counted once across every leader's terms
    # ... and what the metrics endpoint last got from the last leader: the totals across every term.
    assert delivered_counter_total(otlp_sink) == total


def _ready(port: int) -> tuple[int, str, str] | None:
    try:
        status, body = readyz(port)
    except (requests.RequestException, ValueError):
        return None
    return status, body.get("role"), body.get("leader")


def ha_env(emulator, otlp_sink, kubeconfig, tmp_path, pod: str, **desk) -> dict[str, str]:
    env = receiver_env(emulator, otlp_sink.http_endpoint, "http/protobuf", tmp_path / "unused.json",
                       backfill_days=3, page_size=PAGE, poll_interval=POLL_S, state_backend="kubernetes", **desk)
    return {**env, "KUBECONFIG": str(kubeconfig), "POD_NAME": pod}


def test_sigterm_releases_the_lease_and_a_standby_takes_over_at_once(desk_emulator, otlp_sink, kube_api,
                                                                      kubeconfig, tmp_path):
    bot = desk_emulator.add_bot(name="bot", timeout_seconds=30)["id"]
    desk_emulator.add_entries(bot, 500, statuses=("RECEIVED",), start=desk_emulator.clock.now() - timedelta(days=1),
                              spacing_s=60)
    # A 60 s lease: without the release the standby would wait a full minute.
    slow = dict(leader_election_lease_duration=60, leader_election_renew_deadline=30, leader_election_retry_period=0.5)
    first = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "first", **slow), tmp_path)
    second = None
    try:
        wait_until(lambda: holder(kube_api).startswith("first_"), what="first leading")
        second = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "second", **slow),
                                       tmp_path)
        wait_until(lambda: otlp_sink.count() >= 500, what="the backfill delivered")
        wait_until(lambda: "standing by" in second.output(), what="second standing by")
        first.signal(signal.SIGTERM)
        assert first.wait(timeout_s=15) == 0, first.output()[-3000:]
        assert "lease observability/otel-desk-receiver-leader released" in first.output()
        wait_until(lambda: holder(kube_api).startswith("second_"), timeout_s=10, what="second taking over")
        assert record_of(kube_api).transitions == 1
    finally:
        first.kill()
        if second is not None:
            second.signal(signal.SIGTERM)
            second.wait(timeout_s=15)
    assert len(set(uids(otlp_sink))) == 500


def test_run_once_does_nothing_while_another_receiver_leads(desk_emulator, otlp_sink, kube_api, kubeconfig, tmp_path):
    bot = desk_emulator.add_bot(name="bot", timeout_seconds=30)["id"]
    desk_emulator.add_entries(bot, 300, statuses=("ERROR",), start=desk_emulator.clock.now() - timedelta(days=1),
                              spacing_s=60)
    fast = dict(leader_election_lease_duration=LEASE_S, leader_election_renew_deadline=RENEW_S,
                leader_election_retry_period=RETRY_S)
    once = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "once", **fast), tmp_path,
                                 "--once")
    assert once.wait() == 0, once.output()[-3000:]  # nobody led: it took the lease, caught up, released it
    assert len(set(uids(otlp_sink))) == 300 and holder(kube_api) == ""
    leader = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "leader", **fast), tmp_path)
    try:
        wait_until(lambda: holder(kube_api).startswith("leader_"), what="a leader")
        desk_emulator.reset_requests()
        again = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "again", **fast),
                                      tmp_path, "--once")
        assert again.wait() == 1
        assert "holds the lease otel-desk-receiver-leader: it polls, so this run does nothing" in again.output()
    finally:
        leader.signal(signal.SIGTERM)
        leader.wait(timeout_s=15)
    assert len(uids(otlp_sink)) == 300  # nothing sent twice


def record_of(kube_api) -> LeaseRecord:
    return LeaseRecord.from_lease(kube_api.store.get("leases", NAMESPACE, LEASE))


def test_a_leader_cut_off_from_the_api_stops_before_its_lease_expires_and_is_fenced(
        desk_emulator, otlp_sink, kube_api, tmp_path):
    start = desk_emulator.clock.now() - timedelta(days=2)
    bots = [desk_emulator.add_bot(name=f"bot-{i}", timeout_seconds=30)["id"] for i in range(2)]
    for bot_id in bots:
        desk_emulator.add_entries(bot_id, 3000, statuses=("RECEIVED", "ERROR"), start=start, spacing_s=40)
    fast = dict(leader_election_lease_duration=LEASE_S, leader_election_renew_deadline=RENEW_S,
                leader_election_retry_period=RETRY_S)
    processes, tokens = {}, {}
    for pod in ("pod-a", "pod-b"):  # a token each, so the test can cut one of them off
        tokens[pod] = f"token-{pod}"
        kube_api.add_service_account(tokens[pod], NAMESPACE, pod)
        config = write_kubeconfig(tmp_path / f"kubeconfig-{pod}", kube_api.url, tokens[pod])
        env = {**ha_env(desk_emulator, otlp_sink, config, tmp_path, pod, **fast), "KUBECONFIG": str(config)}
        processes[pod] = ReceiverProcess.start(env, tmp_path)
    try:
        with LiveTraffic(desk_emulator, bots, per_s=10):
            wait_until(lambda: holder(kube_api) != "", what="a leader")
            old = holder(kube_api).rsplit("_", 1)[0]
            new = next(pod for pod in processes if pod != old)
            wait_until(lambda: otlp_sink.count() >= 1000, what="progress")
            kube_api.store.revoke(tokens[old], "leases", "update")  # it can no longer renew: a partition
            wait_until(lambda: holder(kube_api).startswith(f"{new}_"), what="the other taking over")
            wait_until(lambda: otlp_sink.count() >= 4000, what="the new leader delivering")
            kube_api.add_service_account(tokens[old], NAMESPACE, old)  # the partition heals
        total = sum(len(desk_emulator.entries(bot_id)) for bot_id in bots)
        wait_until(lambda: len(set(uids(otlp_sink))) >= total, timeout_s=90, what="every entry delivered")
        wait_until(lambda: "standing by" in processes[old].output(), what="the old leader standing by")
        for process in processes.values():
            process.signal(signal.SIGTERM)
        for process in processes.values():
            assert process.wait(timeout_s=15) == 0, process.output()[-3000:]
    finally:
        for process in processes.values():
            process.kill()
    received = uids(otlp_sink)
    assert len(set(received)) == total
    # The guarantee (README, Delivery guarantees): at most the batch each bot had in flight, per failover; with
    # DESK_CONCURRENCY the two bots' batches can be in flight at once.
    assert len(received) - total <= record_of(kube_api).transitions * PAGE * len(bots)
    assert "not renewed within 2.0s: polling stops" in processes[old].output()

    def served(pod, method, resource):  # what was stored: a dry run (the start-up access check) stores nothing
        return [r.at for r in kube_api.served if r.token == tokens[pod] and r.method == method
                and r.resource == resource and r.status < 300 and not r.dry_run]
    old_writes, new_writes = served(old, "PUT", "configmaps"), served(new, "PUT", "configmaps")
    takeover = min(new_writes)
    last_renewal = max(t for t in served(old, "PUT", "leases") + served(old, "POST", "leases") if t < takeover)
    writes_in_the_term = [t for t in old_writes if t < takeover]
    # Every checkpoint of the old leader was written while its lease was still valid, none after the
    # new leader claimed the state (once healed, the old one only stood by: no checkpoint at all).
    assert writes_in_the_term and max(writes_in_the_term) < last_renewal + LEASE_S
    if record_of(kube_api).transitions == 1:  # unless a loaded machine handed the Lease back to it later
        assert all(t < takeover for t in old_writes)


def test_no_kubernetes_api_to_be_found_is_exit_2_naming_it(desk_emulator, otlp_sink, tmp_path):
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", tmp_path / "unused.json",
                       state_backend="kubernetes")
    env = {k: v for k, v in env.items() if not k.startswith("KUBERNETES_")}
    env.update(KUBECONFIG=str(tmp_path / "no-such-kubeconfig"), HOME=str(tmp_path))
    done = run_command(env, "run", "--once")
    assert done.returncode == 2, done.stderr
    assert "DESK_STATE_BACKEND / DESK_LEADER_ELECTION: no Kubernetes API found" in done.stderr
    assert "Traceback" not in done.stderr


FAST = dict(leader_election_lease_duration=LEASE_S, leader_election_renew_deadline=RENEW_S,
            leader_election_retry_period=RETRY_S)


def backlog(emulator, bots: int = 2, entries: int = 1500) -> list[int]:
    start = emulator.clock.now() - timedelta(days=2)
    ids = [emulator.add_bot(name=f"bot-{i}", timeout_seconds=30)["id"] for i in range(bots)]
    for bot_id in ids:
        emulator.add_entries(bot_id, entries, statuses=("RECEIVED", "ERROR"), start=start, spacing_s=60)
    return ids


def stop_all(processes) -> None:
    for process in processes:
        process.signal(signal.SIGTERM)
    for process in processes:
        assert process.wait(timeout_s=15) == 0, process.output()[-3000:]


@pytest.mark.parametrize("fault", [
    dict(kind="status", code=500),
    dict(kind="timeout", method="PUT", resource="configmaps"),
    dict(kind="drop", method="PUT", resource="configmaps"),
], ids=["every request 500", "configmap PUTs time out", "connections dropped"])
def test_a_lone_replica_rides_out_five_seconds_of_api_faults(desk_emulator, otlp_sink, kube_api, kubeconfig, tmp_path,
                                                             fault):
    """Issue 25 point 9: it exited 2 ("cannot be written: 500") and stayed dead. Now the API's faults are
    tried again within the renew deadline, then it stands by and campaigns again: nothing lost, and no
    more sent twice than the batch in flight per term given up."""
    bots = backlog(desk_emulator)
    lone = ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, "lone", **FAST), tmp_path)
    try:
        with LiveTraffic(desk_emulator, bots, per_s=10):
            wait_until(lambda: holder(kube_api).startswith("lone_"), what="leading")
            wait_until(lambda: otlp_sink.count() >= 500, what="delivering")
            injected = kube_api.inject(**fault, seconds=5)
            wait_until(lambda: time.monotonic() > injected.until, timeout_s=10, what="five seconds of faults")
            assert injected.hits > 0 and lone.alive(), lone.output()[-3000:]
            at_recovery, recovered = otlp_sink.count(), time.monotonic()
            wait_until(lambda: otlp_sink.count() > at_recovery, what="delivering again")
            delivering_again_s = time.monotonic() - recovered
        total = sum(len(desk_emulator.entries(bot_id)) for bot_id in bots)
        wait_until(lambda: len(set(uids(otlp_sink))) >= total, timeout_s=90, what="every entry delivered")
        stop_all([lone])
    finally:
        lone.kill()
    received = uids(otlp_sink)
    print(f"\napi fault {fault} for 5 s, lease {LEASE_S}s / renew {RENEW_S}s / retry {RETRY_S}s: {injected.hits} "
          f"requests hit, lease transitions {record_of(kube_api).transitions}, delivering again "
          f"{delivering_again_s:.1f} s after it ended; {total} entries, {len(received) - total} sent twice")
    assert len(set(received)) == total
    # A term that ends loses the deliveries not yet saved: at most the last page per bot, sent again.
    terms_ended = lone.output().count("no longer leading")
    assert len(received) - total <= max(1, terms_ended) * PAGE * len(bots)
    assert "Traceback" not in lone.output()


def test_a_lease_deleted_after_a_failover_is_made_again_and_polling_goes_on(desk_emulator, otlp_sink, kube_api,
                                                                          kubeconfig, tmp_path):
    """Issue 25 point 10: after a failover the state was claimed in lease transition 1; a Lease deleted then
    was made again from 0 and every term was refused as older, for ever. Now it counts on from the state."""
    bots = backlog(desk_emulator)
    processes = {pod: ReceiverProcess.start(ha_env(desk_emulator, otlp_sink, kubeconfig, tmp_path, pod, **FAST),
                                            tmp_path) for pod in ("pod-a", "pod-b")}
    try:
        with LiveTraffic(desk_emulator, bots, per_s=10):
            wait_until(lambda: holder(kube_api) != "", what="a leader")
            first = holder(kube_api).rsplit("_", 1)[0]
            wait_until(lambda: otlp_sink.count() >= 500, what="delivering")
            processes[first].kill()
            wait_until(lambda: holder(kube_api) not in ("", ) and not holder(kube_api).startswith(f"{first}_"),
                       what="the failover")
            at_takeover = otlp_sink.count()
            wait_until(lambda: otlp_sink.count() > at_takeover, what="the new leader delivering")
            kube_api.store.delete("leases", NAMESPACE, LEASE)
            wait_until(lambda: holder(kube_api) != "", what="the lease made again")
            at_delete = otlp_sink.count()
            wait_until(lambda: otlp_sink.count() > at_delete, what="polling after the lease was made again")
        total = sum(len(desk_emulator.entries(bot_id)) for bot_id in bots)
        wait_until(lambda: len(set(uids(otlp_sink))) >= total, timeout_s=90, what="every entry delivered")
        survivor = next(pod for pod in processes if pod != first)
        stop_all([processes[survivor]])
    finally:
        for process in processes.values():
            process.kill()
    assert "refused" not in processes[survivor].output()
    assert len(set(uids(otlp_sink))) == total


def chart_role_env(kube_api, emulator, otlp_sink, tmp_path, pod: str, lease_verbs=("get", "update")) -> dict:
    """A receiver whose token has the chart's Role (templates/rbac.yaml): get and update by name, no create."""
    token = f"chart-role-{pod}"
    kube_api.add_service_account(token, NAMESPACE, pod, [
        Grant("configmaps", frozenset({"get", "update"}), frozenset({"otel-desk-receiver-state"})),
        Grant("leases", frozenset(lease_verbs), frozenset({LEASE}))])
    config = write_kubeconfig(tmp_path / f"kubeconfig-{pod}", kube_api.url, token)
    return ha_env(emulator, otlp_sink, config, tmp_path, pod, **FAST)


def test_check_and_run_agree_when_the_role_cannot_create_the_missing_configmap(desk_emulator, otlp_sink, kube_api,
                                                                               tmp_path):
    """Issue 25 point 11: check said ok, run exited 2 at its first term. Both now say why, at once."""
    desk_emulator.add_bot(name="bot", timeout_seconds=30)
    env = chart_role_env(kube_api, desk_emulator, otlp_sink, tmp_path, "pod")
    line = (f"configmap {NAMESPACE}/otel-desk-receiver-state does not exist and this service account may not "
            "create it")
    checked = run_command(env, "check")
    assert checked.returncode == 1 and f"[FAIL] State: {line}" in checked.stdout, checked.stdout
    ran = run_command(env, "run")
    assert ran.returncode == 2 and f"error: state {line}" in ran.stderr and "Traceback" not in ran.stderr


def test_a_replica_that_cannot_campaign_is_not_ready_and_polls_once_it_may(desk_emulator, otlp_sink, kube_api,
                                                                          tmp_path):
    """Issue 25 point 11: with a 403 on the Lease every replica stood by, ready, polling nothing, for ever."""
    bots = backlog(desk_emulator, bots=1, entries=300)
    kube_api.store.create("configmaps", NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "otel-desk-receiver-state"}})
    kube_api.store.create("leases", NAMESPACE, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                               "metadata": {"name": LEASE}, "spec": {}})
    port = free_port()
    env = {**chart_role_env(kube_api, desk_emulator, otlp_sink, tmp_path, "pod", lease_verbs=("get",)),
           "DESK_HEALTH_ADDR": f"127.0.0.1:{port}"}
    replica = ReceiverProcess.start(env, tmp_path)
    try:
        wait_until(lambda: _readyz_problem(port) is not None, what="/readyz saying why it cannot campaign")
        status, body = readyz(port)
        assert status == 503 and body["role"] == "standby" and f"lease {NAMESPACE}/{LEASE}" in body["problem"]
        assert "403 Forbidden" in body["problem"] and otlp_sink.count() == 0
        assert not [r for r in desk_emulator.requests if r.path.rstrip("/").endswith("/bots")]  # nothing polled
        kube_api.store.subjects["chart-role-pod"].grants[1] = Grant("leases", frozenset({"get", "update"}),
                                                                    frozenset({LEASE}))  # the Role fixed
        wait_until(lambda: len(set(uids(otlp_sink))) >= len(desk_emulator.entries(bots[0])), what="delivering")
        wait_until(lambda: readyz(port)[0] == 200, what="ready")
        stop_all([replica])
    finally:
        replica.kill()


def _readyz_problem(port: int) -> str | None:
    try:
        return readyz(port)[1].get("problem")
    except (requests.RequestException, ValueError):
        return None


# --- Several apps (issue 21 point 4): a Lease per app, the apps spread over the replicas

APPS = 6
APP_PAGE = 100


class AppsWatch:
    """Samples every app Lease's holder from the stand-in's store every 20 ms while the test runs: which pod
    held which app, when, for the spread and the failover checks."""

    def __init__(self, kube_api, leases: dict[str, str]):
        self._kube_api, self._leases = kube_api, leases
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples: list[tuple[float, dict[str, str]]] = []

    def now(self) -> dict[str, str]:
        """label -> the holder's pod ("" while free, expired holders included)."""
        held = {}
        for label, lease in self._leases.items():
            try:
                record = LeaseRecord.from_lease(self._kube_api.store.get("leases", NAMESPACE, lease))
            except Exception:  # noqa: BLE001 - not created yet
                held[label] = ""
                continue
            held[label] = record.holder.rsplit("_", 1)[0]
        return held

    def per_pod(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pod in self.now().values():
            if pod:
                counts[pod] = counts.get(pod, 0) + 1
        return counts

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.samples.append((time.monotonic(), self.now()))

    def __enter__(self) -> "AppsWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def while_running(processes: dict, condition):
    """``condition`` for wait_until, failing at once with its output when a replica has exited."""
    def check():
        for pod, process in processes.items():
            if not process.alive():
                raise AssertionError(f"{pod} exited with {process.returncode}:\n{process.tail()}")
        return condition()
    return check


def runs_by_instance(records) -> int:
    """How many times the instance sending this app's records changed, plus one (records in arrival order)."""
    instances = [r.resource.get("service.instance.id") for r in records]
    return sum(1 for i, instance in enumerate(instances) if i == 0 or instance != instances[i - 1])


def test_six_apps_spread_over_three_replicas_and_a_killed_ones_move_to_the_others(
        make_desk_emulator, otlp_sink, kube_api, kubeconfig, tmp_path):
    from otel_desk_receiver import names
    from otel_desk_receiver.kube.object_names import per_app_name

    emulators = [make_desk_emulator() for _ in range(APPS)]
    labels = [urlsplit(emulator.url).netloc for emulator in emulators]
    bots = {}
    for label, emulator in zip(labels, emulators):
        bots[label] = emulator.add_bot(name=f"bot-{label}", timeout_seconds=30)["id"]
        emulator.add_entries(bots[label], 600, statuses=("RECEIVED", "ERROR", "TIMEOUT"),
                             start=emulator.clock.now() - timedelta(days=1), spacing_s=86400 / 600)
    config = tmp_path / "apps.yaml"
    config.write_text(yaml.safe_dump({"apps": [{"api_url": emulator.url, "api_token": emulator.config.token}
                                               for emulator in emulators]}))
    env = receiver_env(emulators[0], otlp_sink.http_endpoint, "http/protobuf", tmp_path / "unused.json",
                       backfill_days=3, page_size=APP_PAGE, poll_interval=POLL_S, state_backend="kubernetes",
                       leader_election_lease_duration=LEASE_S, leader_election_renew_deadline=RENEW_S,
                       leader_election_retry_period=RETRY_S)
    for only_one_app in ("DESK_API_URL", "DESK_API_TOKEN"):
        env.pop(only_one_app)
    env["KUBECONFIG"] = str(kubeconfig)
    leases = {label: per_app_name(LEASE, label) for label in labels}
    processes: dict[str, ReceiverProcess] = {}
    traffic = [LiveTraffic(emulator, [bots[label]], per_s=5) for label, emulator in zip(labels, emulators)]
    try:
        with AppsWatch(kube_api, leases) as watch:
            for live in traffic:
                live.__enter__()
            for i in range(3):
                processes[f"receiver-{i}"] = ReceiverProcess.start({**env, "POD_NAME": f"receiver-{i}"}, tmp_path,
                                                                   "--config", str(config))
            spread = wait_until(while_running(processes, lambda: watch.per_pod() if sorted(
                watch.per_pod().values()) == [2, 2, 2] else None), what="six apps spread two a replica")
            spread_at = time.monotonic()
            wait_until(while_running(processes, lambda: {r.attributes.get(names.ATTR_APP_ID)
                                                         for r in otlp_sink.log_records()} >= set(labels)),
                       what="every app delivering")
            killed = "receiver-1"
            killed_apps = {label for label, pod in watch.now().items() if pod == killed}
            processes.pop(killed).kill()
            killed_at = time.monotonic()
            moved = wait_until(while_running(processes, lambda: watch.per_pod() if sorted(
                watch.per_pod().values()) == [3, 3] else None), what="the killed replica's apps taken by the other two")
            moved_after_s = time.monotonic() - killed_at
            processes["receiver-3"] = ReceiverProcess.start({**env, "POD_NAME": "receiver-3"}, tmp_path, "--config",
                                                            str(config))  # as the Deployment's controller would
            rebalanced = wait_until(while_running(processes, lambda: watch.per_pod() if sorted(
                watch.per_pod().values()) == [2, 2, 2] else None), what="one app of each survivor handed over")
            for live in traffic:
                live.__exit__()
            total = {label: len(emulator.entries(bots[label])) for label, emulator in zip(labels, emulators)}
            wait_until(lambda: len(set(uids(otlp_sink))) >= sum(total.values()), timeout_s=90,
                       what="every entry of every app delivered")
        for process in processes.values():
            process.signal(signal.SIGTERM)
        for process in processes.values():
            assert process.wait(timeout_s=15) == 0, process.output()[-3000:]
    finally:
        for live in traffic:
            live.__exit__()
        for process in processes.values():
            process.kill()
    records = otlp_sink.log_records()
    by_app = {label: [r for r in records if r.attributes.get(names.ATTR_APP_ID) == label] for label in labels}
    transitions = {label: LeaseRecord.from_lease(kube_api.store.get("leases", NAMESPACE, lease)).transitions
                   for label, lease in leases.items()}
    repeated = {label: len(rs) - len({r.attributes[names.ATTR_LOG_RECORD_UID] for r in rs})
                for label, rs in by_app.items()}
    print(f"\nspread: {spread}; after kill -9 of {killed} (apps {sorted(killed_apps)}): {moved}, "
          f"{moved_after_s:.1f} s; a new replica: {rebalanced}; lease transitions {transitions}; repeated {repeated}")
    assert len(killed_apps) == 2 and set(moved) == {"receiver-0", "receiver-2"} and rebalanced["receiver-3"] == 2
    assert len({r.resource.get("service.instance.id") for r in records}) == 4  # one a replica: who sent what
    assert moved_after_s <= LEASE_S + 4 * RETRY_S + 2  # the lease duration, a jittered retry, a loaded machine
    for label in labels:
        sent = {r.attributes[names.ATTR_LOG_RECORD_UID] for r in by_app[label]}
        assert len(sent) == total[label], (label, len(sent), total[label])  # nothing lost
        # At most one batch, after the kill (a hand-over saves before it gives the Lease up: none; so does a
        # renewal the loaded machine made too late, a failover too, and as safe).
        assert repeated[label] <= APP_PAGE, (label, repeated)
        # One leader at a time: each term's records come from one process, in one run.
        assert runs_by_instance(by_app[label]) <= transitions[label] + 1, (label, transitions)
    for sample_at, held in watch.samples:  # once spread, no replica ever led more than its share after the kill
        if sample_at >= spread_at:
            assert max(list(held.values()).count(pod) for pod in set(held.values()) - {""}) <= 3, (sample_at, held)
