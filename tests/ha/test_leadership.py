"""Leadership: standbys healthy and saying who leads, terms that end with the Lease, the leader metrics;
and the Settings that turn it on."""

import logging
import re
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings, load_settings
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.cli import exit_code_for
from otel_desk_receiver.errors import ConfigError, FencedError, StateError, StateUnavailableError
from otel_desk_receiver.ha import setup as ha_setup
from otel_desk_receiver.runtime import app_log
from otel_desk_receiver.runtime.health import HealthState
from otel_desk_receiver.ha.elector import ElectionConfig, LeaderElector
from otel_desk_receiver.ha.leadership import Leadership
from otel_desk_receiver.devkit.kube_api import ApiStatus, Grant
from tests.harness.fixtures.kube_api import NAMESPACE, write_kubeconfig
from tests.harness.wait import wait_until

FAST = ElectionConfig(lease_duration_s=3, renew_deadline_s=1, retry_period_s=0.05)
WAIT_S = 5.0  # a leadership change here takes a few retry periods of 50 ms


def metric_values(reader) -> dict:
    values = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    values[(metric.name, tuple(sorted(point.attributes.items())))] = point.value
    return values


@pytest.fixture
def reader():
    reader = InMemoryMetricReader()
    yield reader
    reader.shutdown()


def test_standby_is_ready_names_the_leader_and_takes_over_on_release(kube_client, reader):
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    health_a, health_b = HealthState(30), HealthState(30)
    a = Leadership(LeaderElector(kube_client, NAMESPACE, "leader", "a", FAST), health_a, meter)
    b = Leadership(LeaderElector(kube_client, NAMESPACE, "leader", "b", FAST), health_b, meter)
    stop_a, stop_b = threading.Event(), threading.Event()
    a.start(stop_a)
    assert a.elector.leading_event.wait(5)
    b.start(stop_b)
    cycles = []
    terms = threading.Thread(target=b.run_terms, args=(stop_b, lambda: cycles.append("start"),
                                                       lambda: cycles.append("cycle"), 0.01))
    terms.start()
    try:
        wait_until(lambda: health_b.snapshot().get("leader") == "a", WAIT_S, "b naming a the leader", poll_s=0.01)
        assert health_b.ready() and health_b.alive() and health_b.snapshot()["role"] == "standby"
        assert cycles == []  # a standby never polls
        assert metric_values(reader)[(names.LEADER.name, ())] in (0, 1)
        stop_a.set()
        a.stop()  # SIGTERM: release, b takes over at its next retry, not after the 3 s lease
        wait_until(lambda: "cycle" in cycles, 2, "b's first cycle", poll_s=0.01)
        assert cycles[0] == "start" and health_b.snapshot()["role"] == "leader"
        changes = metric_values(reader)
        assert changes[(names.LEADER_CHANGES.name, ((names.ATTR_LEADER_CHANGE, "acquired"),))] == 2
    finally:
        stop_a.set()
        stop_b.set()
        terms.join(5)
        b.stop()


def test_a_term_ends_when_the_lease_cannot_be_renewed(kube_api, kube_client, reader):
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    leadership = Leadership(LeaderElector(kube_client, NAMESPACE, "leader", "a", FAST), HealthState(30), meter)
    stop = threading.Event()
    leadership.start(stop)
    cycles = []
    terms = threading.Thread(target=leadership.run_terms, args=(stop, lambda: None, lambda: cycles.append(1), 0.01))
    terms.start()
    try:
        wait_until(lambda: len(cycles) > 3, WAIT_S, "four cycles", poll_s=0.01)
        kube_api.set_down(True)
        wait_until(lambda: not leadership.is_leading(), 3, "the term to end", poll_s=0.01)
        ran = len(cycles)
        wait_until(lambda: (names.LEADER_CHANGES.name, ((names.ATTR_LEADER_CHANGE, "lost"),)) in metric_values(reader),
                   WAIT_S, "the lost leadership counted", poll_s=0.01)
        assert len(cycles) <= ran + 1  # at most the cycle that was running
    finally:
        stop.set()
        terms.join(5)
        kube_api.set_down(False)
        leadership.stop()


BASE = {"DESK_API_URL": "http://desk.example", "DESK_API_TOKEN": "t"}


@pytest.mark.parametrize(("env", "line"), [
    ({"DESK_STATE_BACKEND": "etcd"}, "DESK_STATE_BACKEND: expected file or kubernetes (got 'etcd')"),
    ({"DESK_LEADER_ELECTION_RENEW_DEADLINE": "15"},
     "DESK_LEADER_ELECTION_RENEW_DEADLINE: expected a duration less than DESK_LEADER_ELECTION_LEASE_DURATION (15s)"),
    ({"DESK_LEADER_ELECTION_RETRY_PERIOD": "9"}, "DESK_LEADER_ELECTION_RENEW_DEADLINE: expected"),
    ({"DESK_LEADER_ELECTION_LEASE_DURATION": "0"}, "DESK_LEADER_ELECTION_LEASE_DURATION: expected a duration in whole seconds such as 15s or 1m, "
                                               "from 1s to 1h"),
    ({"DESK_STATE_CONFIGMAP": "Not_A_Name"}, "DESK_STATE_CONFIGMAP: expected a ConfigMap name"),
    ({"DESK_KUBERNETES_NAMESPACE": "a.b"}, "DESK_KUBERNETES_NAMESPACE: expected a namespace name"),
], ids=["unknown backend", "deadline not below lease", "deadline not above 1.2 x retry", "lease 0", "bad name",
        "bad namespace"])
def test_invalid_settings_name_the_variable(monkeypatch, env, line):
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert any(problem.startswith(line) for problem in error.value.problems), error.value.problems


def test_file_backend_with_election_polls_only_while_leading_and_releases_on_stop(
        desk_emulator, otlp_sink, otlp_env, kube_api, kubeconfig, state_path, monkeypatch):
    from tests.harness.receiver import make_receiver, uids

    otlp_env(otlp_sink, "http/protobuf")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    bot = desk_emulator.add_bot(name="bot", timeout_seconds=30)["id"]
    desk_emulator.add_entries(bot, 50, statuses=("RECEIVED",), start=desk_emulator.clock.now() - timedelta(hours=1))
    receiver = make_receiver(desk_emulator, state_path, leader_election=True, poll_interval=0.05, backfill_days=1,
                             leader_election_lease_duration=3, leader_election_renew_deadline=1,
                             leader_election_retry_period=0.05)
    assert receiver.leadership is not None and receiver.state_location == str(state_path)
    loop = threading.Thread(target=receiver.run_forever)
    loop.start()
    try:
        wait_until(lambda: len(set(uids(otlp_sink))) == 50, WAIT_S, "50 entries delivered", poll_s=0.01)
        assert receiver.health.snapshot()["role"] == "leader"
    finally:
        receiver.stop()
        loop.join(10)
        receiver.close(5)
    lease = kube_api.store.get("leases", NAMESPACE, "otel-desk-receiver-leader")
    assert lease["spec"]["holderIdentity"] == "" and state_path.exists()  # released; the file holds the state


# --- Kubernetes API faults (issue 25, point 9): retried within the renew deadline, then stand by, never exit

DESK = DeskIdentity("app-1", "https://desk.example/platform/v1")
SHORT = dict(leader_election_lease_duration=3, leader_election_renew_deadline=1, leader_election_retry_period=0.05)


def run_in_thread(target, *args) -> tuple[threading.Thread, list]:
    errors: list = []

    def body():
        try:
            target(*args)
        except BaseException as error:  # noqa: BLE001 - the test asserts there is none
            errors.append(error)
    thread = threading.Thread(target=body)
    thread.start()
    return thread, errors


@dataclass
class CommittingLeader:
    """A process campaigning and, while it leads, committing a cursor every 50 ms (``committed``: the term of
    each commit; ``starts``: one per term started), run on a thread by ``committing_leader``."""

    parts: ha_setup.KubernetesParts
    leadership: Leadership
    committed: list = field(default_factory=list)
    starts: list = field(default_factory=list)

    def start_term(self) -> None:
        self.starts.append(self.parts.state.load())

    def cycle(self) -> None:
        self.parts.state.commit({7: BotCursor(window_start="2026-11-30", offset=len(self.committed), anchor_id=0,
                                              last_id=0, since_ns=0)})
        self.committed.append(self.parts.elector.term())


@contextmanager
def committing_leader(settings: Settings, kubeconfig, kube_api, reader):
    """A CommittingLeader on the stand-in API until the block ends; then stopped, the API's faults cleared,
    and no error raised on its thread."""
    parts = ha_setup.build(settings, DESK, {"KUBECONFIG": str(kubeconfig)})
    leader = CommittingLeader(parts, Leadership(parts.elector, HealthState(30),
                                                MeterProvider(metric_readers=[reader]).get_meter("test")))
    stop = threading.Event()
    leader.leadership.start(stop)
    terms, errors = run_in_thread(leader.leadership.run_terms, stop, leader.start_term, leader.cycle, 0.05)
    try:
        yield leader
        assert not errors and terms.is_alive()
    finally:
        stop.set()
        terms.join(10)
        kube_api.clear_faults()
        leader.leadership.stop()
        parts.client.close()
    assert not errors, errors


@pytest.mark.parametrize("fault", [
    dict(kind="status", code=500, seconds=3),
    dict(kind="timeout", method="PUT", resource="configmaps", seconds=3),
    dict(kind="drop", method="PUT", resource="configmaps", seconds=3, applied=True),
], ids=["every request 500", "configmap PUTs time out", "configmap PUTs dropped after landing"])
def test_a_leader_rides_out_api_faults_longer_than_the_renew_deadline(kube_api, kubeconfig, reader, fault):
    """Past the renew deadline the term ends (the Lease not renewed, or given up because the state does not
    answer); the process stands by, campaigns again and commits once the API answers: it never exits."""
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes", **SHORT)
    with committing_leader(settings, kubeconfig, kube_api, reader) as leader:
        committed = leader.committed
        wait_until(lambda: len(committed) >= 3, WAIT_S, "three commits", poll_s=0.01)
        kube_api.inject(**fault)
        before = len(committed)
        wait_until(lambda: ((names.LEADER_CHANGES.name, ((names.ATTR_LEADER_CHANGE, "lost"),))
                            in metric_values(reader)), WAIT_S, "the term to end", poll_s=0.01)
        wait_until(lambda: len(committed) >= before + 3, 10, "commits after the fault", poll_s=0.01)
        assert leader.leadership.is_leading()


@pytest.mark.parametrize(("error", "code"), [
    (StateUnavailableError("the API did not answer"), 1),
    (FencedError("another receiver leads"), 1),
    (StateError("corrupt"), 2),
], ids=["API unavailable", "fenced", "corrupt state"])
def test_exit_2_stays_for_bad_settings_and_corrupt_state(error, code):
    assert exit_code_for(error) == code


# --- What the Role allows (issue 25, point 11): check and run agree; a replica that cannot campaign is not ready

CHART_TOKEN = "chart-role"
STATE_CM, LEASE_NAME = "otel-desk-receiver-state", "otel-desk-receiver-leader"


def chart_role(kube_api, tmp_path, lease_verbs=("get", "update")):
    """The chart's Role (templates/rbac.yaml): get and update on its ConfigMap and its Lease, by name; no create."""
    kube_api.add_service_account(CHART_TOKEN, NAMESPACE, "otel-desk-receiver", [
        Grant("configmaps", frozenset({"get", "update"}), frozenset({STATE_CM})),
        Grant("leases", frozenset(lease_verbs), frozenset({LEASE_NAME}))])
    return {"KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig-chart", kube_api.url, CHART_TOKEN))}


def chart_objects(kube_api, configmap=True, lease=True):
    """As the chart makes them (templates/state-objects.yaml): empty, Helm's."""
    if configmap:
        kube_api.store.create("configmaps", NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": STATE_CM}})
    if lease:
        kube_api.store.create("leases", NAMESPACE, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                                   "metadata": {"name": LEASE_NAME}, "spec": {}})


KUBE_SETTINGS = dict(api_url="http://desk.example", api_token="t", state_backend="kubernetes")


def test_check_and_run_agree_on_a_missing_configmap_the_role_cannot_create(kube_api, tmp_path):
    env = chart_role(kube_api, tmp_path)
    chart_objects(kube_api, configmap=False)  # deleted, say: the chart's Role cannot make it again
    settings = Settings(**KUBE_SETTINGS)
    ok, line = ha_setup.describe(settings, DESK, env)
    expected = (f"configmap {NAMESPACE}/{STATE_CM} does not exist and this service account may not create it "
                "(Kubernetes API POST")
    assert not ok and expected in line and "grant create on configmaps" in line
    parts = ha_setup.build(settings, DESK, env)
    with pytest.raises(StateError, match=re.escape(expected)) as refused:  # run: exit 2 at start, same line
        parts.state.check_writable()
    assert not isinstance(refused.value, StateUnavailableError)
    parts.client.close()
    with pytest.raises(ApiStatus):  # nothing written: the dry runs stored nothing
        kube_api.store.get("configmaps", NAMESPACE, STATE_CM)


def test_check_fails_where_the_role_forbids_writing_the_lease(kube_api, tmp_path):
    env = chart_role(kube_api, tmp_path, lease_verbs=("get",))
    chart_objects(kube_api)
    ok, line = ha_setup.describe(Settings(**KUBE_SETTINGS), DESK, env)
    assert not ok and f"lease {NAMESPACE}/{LEASE_NAME} cannot be written" in line and "403 Forbidden" in line


def test_a_replica_the_role_forbids_to_campaign_is_not_ready_until_it_may(kube_api, tmp_path, reader):
    env = chart_role(kube_api, tmp_path, lease_verbs=("get",))
    chart_objects(kube_api)
    parts = ha_setup.build(Settings(**KUBE_SETTINGS, **SHORT), DESK, env)
    health = HealthState(30)
    leadership = Leadership(parts.elector, health, MeterProvider(metric_readers=[reader]).get_meter("test"))
    stop = threading.Event()
    leadership.start(stop)
    try:
        wait_until(lambda: "problem" in health.snapshot(), WAIT_S, "the refusal seen", poll_s=0.01)
        assert not health.ready() and health.alive() and not leadership.is_leading()
        assert f"lease {NAMESPACE}/{LEASE_NAME}" in health.snapshot()["problem"]
        chart_role(kube_api, tmp_path)  # the Role fixed: update granted
        wait_until(leadership.is_leading, WAIT_S, "leading once it may", poll_s=0.01)
        wait_until(lambda: health.snapshot()["role"] == "leader", WAIT_S, "the leader role", poll_s=0.01)
        assert "problem" not in health.snapshot()  # ready once its first cycle succeeds, as any leader
    finally:
        stop.set()
        leadership.stop()
        parts.client.close()


def test_a_standby_the_role_forbids_to_campaign_is_not_ready_while_another_leads(kube_api, kubeconfig, tmp_path,
                                                                                 reader):
    chart_objects(kube_api)
    leader = ha_setup.build(Settings(**KUBE_SETTINGS, **SHORT), DESK, {"KUBECONFIG": str(kubeconfig)})
    assert leader.elector.try_acquire_or_renew()
    env = chart_role(kube_api, tmp_path, lease_verbs=("get",))
    parts = ha_setup.build(Settings(**KUBE_SETTINGS, **SHORT), DESK, env)
    health = HealthState(30)
    leadership = Leadership(parts.elector, health, MeterProvider(metric_readers=[reader]).get_meter("test"))
    stop = threading.Event()
    leadership.start(stop)
    try:
        wait_until(lambda: "problem" in health.snapshot(), WAIT_S, "the refusal seen", poll_s=0.01)
        assert not health.ready() and health.snapshot()["leader"] == leader.elector.identity
    finally:
        stop.set()
        leadership.stop()
        parts.client.close()
        leader.client.close()


def test_a_fault_shorter_than_the_renew_deadline_costs_nothing_not_even_the_term(kube_api, kubeconfig, reader):
    """As five seconds of 500s under the default 10 s renew deadline: the renewals and the state's writes
    are tried again, the term goes on, nothing is sent twice (the commit in flight lands once it answers)."""
    settings = Settings(api_url="http://desk.example", api_token="t", state_backend="kubernetes",
                        leader_election_lease_duration=5, leader_election_renew_deadline=3,
                        leader_election_retry_period=0.1)
    with committing_leader(settings, kubeconfig, kube_api, reader) as leader:
        committed = leader.committed
        wait_until(lambda: len(committed) >= 3, WAIT_S, "three commits", poll_s=0.01)
        injected = kube_api.inject("status", code=500, seconds=1.5)
        wait_until(lambda: injected.hits > 3, WAIT_S, "the fault hitting", poll_s=0.01)
        before = len(committed)
        wait_until(lambda: len(committed) >= before + 3, 10, "commits after the fault", poll_s=0.01)
        assert len(leader.starts) == 1 and set(committed) == {committed[0]}  # one term throughout
        assert (names.LEADER_CHANGES.name, ((names.ATTR_LEADER_CHANGE, "lost"),)) not in metric_values(reader)


# --- several apps (issue 21 point 4): one Leadership per app, handed over to spread the apps

def test_a_hand_over_stops_at_a_cycle_boundary_saves_in_the_term_then_gives_the_lease_up(kube_api, kube_client,
                                                                                          reader):
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    health = HealthState(30)
    leadership = Leadership(LeaderElector(kube_client, NAMESPACE, "leader-eu1", "a", FAST), health, meter, app="eu1")
    stop = threading.Event()
    events: list[str] = []

    def end_term():  # the save: made while the Lease is still this process's
        holder = kube_api.store.get("leases", NAMESPACE, "leader-eu1")["spec"]["holderIdentity"]
        events.append(f"saved while {holder} holds it")

    leadership.start(stop)
    terms = threading.Thread(target=leadership.run_terms, args=(
        stop, lambda: events.append("start"), lambda: events.append("cycle"), 0.01, end_term))
    terms.start()
    try:
        wait_until(lambda: events.count("cycle") > 2, WAIT_S, "cycles", poll_s=0.01)
        leadership.elector.claim = lambda: nullcontext(False)  # as the spread says to a replica at its share
        leadership.elector.request_hand_over()
        assert not leadership.is_leading()  # the loop's stop condition, between pages, at once
        wait_until(lambda: "saved while a holds it" in events, WAIT_S, "the save", poll_s=0.01)
        wait_until(lambda: kube_api.store.get("leases", NAMESPACE, "leader-eu1")["spec"]["holderIdentity"] == "",
                   WAIT_S, "the Lease given up", poll_s=0.01)
        saved = events.index("saved while a holds it")
        assert "cycle" not in events[saved:] and events.count("saved while a holds it") == 1
        wait_until(lambda: health.snapshot()["role"] == "standby", WAIT_S, "standing by", poll_s=0.01)
        lost = (names.LEADER_CHANGES.name, ((names.ATTR_LEADER_CHANGE, "lost"),))
        assert metric_values(reader)[lost] == 1
    finally:
        stop.set()
        terms.join(5)
        leadership.stop()


def test_one_leader_gauge_and_counter_for_every_app_the_gauge_counts_the_apps_led(kube_client, reader):
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    leaderships = [Leadership(LeaderElector(kube_client, NAMESPACE, f"leader-{label}", "a", FAST), HealthState(30),
                              meter, app=label) for label in ("eu1", "eu2", "us1")]
    for leadership in leaderships[:2]:
        assert leadership.elector.try_acquire_or_renew()
    values = metric_values(reader)
    assert values[(names.LEADER.name, ())] == 2
    for leadership in leaderships:
        leadership.stop()


def test_an_apps_election_thread_lines_name_the_app_as_its_other_lines_do(kube_client, reader, caplog):
    # With an apps file every line about an app starts "app <label>: ", the election thread's too (it is started
    # in the app's context, runtime/app_log.py); a line of another thread started meanwhile does not.
    app_log.install()
    caplog.set_level(logging.INFO, logger="otel_desk_receiver")
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    leadership = Leadership(LeaderElector(kube_client, NAMESPACE, "leader-eu", "a", FAST), HealthState(30), meter,
                            app="eu")
    stop = threading.Event()
    with app_log.about("app eu"):
        leadership.start(stop)
    try:
        assert leadership.elector.leading_event.wait(WAIT_S)
        wait_until(lambda: any("acquired" in line for line in caplog.messages), WAIT_S, "the acquired line",
                   poll_s=0.01)
    finally:
        stop.set()
        leadership.stop()
    acquired = [line for line in caplog.messages if "acquired" in line]
    assert acquired and all(line.startswith("app eu: leading: lease ") for line in acquired), caplog.messages
