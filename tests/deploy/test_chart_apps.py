"""The chart with several Desk apps (issue 21): `apps` in the values, each app's token in its own Secret mounted as
its own file, the apps list in a --config file the receiver reads (README, "Several Desk apps"), the Role naming
each app's state ConfigMap and Lease as the receiver names them (kube/object_names.py), the schema and the
templates refusing what cannot work; and every single-app scenario rendering exactly as it did before."""

import base64
import re
import signal
from datetime import timedelta
from urllib.parse import urlsplit

import helm_python
import kubernetes_validate
import pytest
import yaml

from otel_desk_receiver import names
from otel_desk_receiver.config import load_settings
from otel_desk_receiver.devkit.kube_api import Grant
from otel_desk_receiver.ha.members import members_lease_name
from otel_desk_receiver.kube.lease import Term
from otel_desk_receiver.kube.object_names import per_app_name
from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.configmap_backend import KubernetesState
from otel_desk_receiver.state.document import DeskIdentity, encode_state
from tests.deploy.chart import (
    CHART_DIR, CI_VALUES, KUBERNETES_VERSION, NAMESPACE, RELEASE, config_file, documents, find, load_values,
    receiver_containers, render, sidecar_snippet, token_secrets,
)
from tests.harness.fixtures.kube_api import write_kubeconfig
from tests.harness.paths import REPO
from tests.harness.receiver import uids
from tests.harness.receiver_process import ReceiverProcess, receiver_env
from tests.harness.wait import wait_until

GOLDEN = REPO / "tests" / "testdata" / "golden" / "chart"
APPS_CI = load_values(CHART_DIR / "ci" / "apps-values.yaml")
SINGLE_APP_CI = [p for p in CI_VALUES if "apps" not in load_values(p)]
EU = "6B0C1A2E-1111-4222-8333-944444444444"
US = "0F3D9C44-5555-4666-8777-988888888888"
TWO_APPS = {
    "apps": [
        {"appId": EU, "token": "eu-token", "botIds": [12, 14]},
        {"appId": US, "existingSecret": "desk-us", "existingSecretKey": "token", "maxRps": 1, "backfill": "18h"},
    ],
    "otlp": {"endpoint": "http://collector:4318"},
}
HA_APPS = TWO_APPS | {"replicaCount": 3, "settings": {"stateBackend": "kubernetes"}}


def stored_render(values) -> str:
    """What `helm template` prints, template by template in path order (NOTES.txt included)."""
    return "".join(f"# Source: {path}\n{text.rstrip()}\n" for path, text in sorted(render(values).items()))


@pytest.mark.parametrize("values_file", SINGLE_APP_CI, ids=lambda p: p.name.removesuffix("-values.yaml"))
def test_single_app_scenarios_render_as_stored(values_file, update_golden):
    """Without `apps`, the chart renders what it rendered before issue 21, byte for byte (NOTES included)."""
    golden = GOLDEN / f"{values_file.name.removesuffix('-values.yaml')}.yaml"
    actual = stored_render(load_values(values_file))
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual)
    assert golden.is_file(), f"{golden} is missing; write it with pytest --update-golden"
    assert actual == golden.read_text(), f"{golden} differs; a single-app release must not change on upgrade"


def receiver_pod(docs):
    """(the receiver container, its pod's volumes): the Deployment's, or the sidecar snippet's."""
    deployments = [d for d in find(docs, "Deployment") if d["metadata"]["name"] == RELEASE]
    if deployments:
        pod = deployments[0]["spec"]["template"]["spec"]
        (container,) = [c for c in pod["containers"] if "run" in c["args"]]
        return container, pod["volumes"]
    return sidecar_snippet(docs)


def apps_file(docs) -> tuple[dict, list[tuple[str, str]]]:
    """The --config file the receiver runs with, and the (Secret, key) behind each app's api_token_file."""
    container, volumes = receiver_pod(docs)
    assert container["args"][:2] == ["run", "--config"], container["args"]
    return config_file(docs, container, volumes), token_secrets(docs, container, volumes)


def app_label(app: dict) -> str:
    """The receiver's label for an app of the values: its appId, else its API host[:port] without user info."""
    return app.get("appId") or urlsplit(app["apiUrl"]).netloc.rpartition("@")[2]


def test_two_apps_render_two_secrets_mounted_as_two_files_and_an_apps_list():
    docs = documents(render(TWO_APPS))
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    config, secrets = apps_file(docs)
    assert [{k: v for k, v in app.items() if k != "api_token_file"} for app in config["apps"]] == [
        {"app_id": EU, "bot_ids": [12, 14]},
        {"app_id": US, "max_rps": 1, "backfill": "18h"},
    ]
    token_files = [app["api_token_file"] for app in config["apps"]]
    assert len(set(token_files)) == 2
    (eu_secret_name, eu_key), us_secret = secrets
    assert us_secret == ("desk-us", "token")
    (eu_secret,) = find(docs, "Secret", eu_secret_name)
    assert base64.b64decode(eu_secret["data"][eu_key]).decode() == "eu-token"


def test_each_inline_token_gets_its_own_secret():
    values = TWO_APPS | {"apps": [{"appId": EU, "token": "eu-token"}, {"appId": US, "token": "us-token"}]}
    docs = documents(render(values))
    _config, secrets = apps_file(docs)
    assert len({name for name, _key in secrets}) == 2
    tokens = []
    for name, key in secrets:
        (secret,) = find(docs, "Secret", name)
        assert list(secret["data"]) == [key]  # one token per Secret: access to one app's Secret is not the other's
        tokens.append(base64.b64decode(secret["data"][key]).decode())
    assert tokens == ["eu-token", "us-token"]
    assert len(find(docs, "Secret")) == 2  # no Secret of the single-app token


def test_with_apps_no_token_travels_by_environment_or_configmap_and_the_single_app_variables_are_unset():
    values = TWO_APPS | {"apps": [{"appId": EU, "token": "eu-token"}, {"appId": US, "token": "us-token"}]}
    rendered = render(values)
    docs = documents(rendered)
    container, _volumes = receiver_pod(docs)
    names = {entry["name"] for entry in container.get("env", [])}
    assert not names & {"DESK_API_TOKEN", "DESK_API_TOKEN_FILE"}
    (settings,) = find(docs, "ConfigMap", RELEASE)
    # The receiver refuses these beside an apps file: they are given per app.
    assert not set(settings["data"]) & {"DESK_APP_ID", "DESK_API_URL", "DESK_BOT_IDS", "DESK_API_TOKEN_FILE"}
    for path, text in rendered.items():
        if path != "secret.yaml":
            assert "eu-token" not in text and "us-token" not in text, path


def test_the_receiver_reads_the_rendered_apps_file(tmp_path):
    """The file the chart writes is one the receiver accepts, with the apps the values give, in their order."""
    (configmap,) = find(documents(render(TWO_APPS)), "ConfigMap", f"{RELEASE}-apps")
    (text,) = configmap["data"].values()
    token_dir = yaml.safe_load(text)["apps"][0]["api_token_file"].split("/app-")[0]
    for app in yaml.safe_load(text)["apps"]:  # the Secret volumes' files, here
        token_file = tmp_path / app["api_token_file"].removeprefix(token_dir + "/")
        token_file.parent.mkdir()
        token_file.write_text("token\n")
    config = tmp_path / "apps.yaml"
    config.write_text(text.replace(token_dir, str(tmp_path)))
    settings = load_settings(config)
    assert [app.label for app in settings.desk_apps] == [EU, US]
    assert settings.per_app_names is True
    assert [app.bot_ids for app in settings.desk_apps] == [[12, 14], None]


def test_apps_scenario_covers_an_api_url_and_an_existing_secret():
    apps = APPS_CI["apps"]
    assert len(apps) >= 2 and any("apiUrl" in a for a in apps) and any("existingSecret" in a for a in apps)


@pytest.mark.parametrize("api_url", [
    "https://desk-api.eu.example.com/platform/v1",
    "http://User:Secret@Desk.Example.com:8443/platform/v1",
    "https://desk-0a1b2c3d/platform/v1",  # ends as a hash does: hashed too (kube/object_names.py)
], ids=["host", "user-info-and-port", "hash-shaped-host"])
def test_the_role_names_each_app_s_configmap_and_lease_as_the_receiver_names_them(api_url):
    values = HA_APPS | {"apps": [TWO_APPS["apps"][0], {"apiUrl": api_url, "existingSecret": "desk-b"}]}
    docs = documents(render(values))
    labels = [app_label(app) for app in values["apps"]]
    configmaps = [per_app_name(f"{RELEASE}-state", label) for label in labels]
    leases = [per_app_name(f"{RELEASE}-leader", label) for label in labels]
    (role,) = find(docs, "Role")
    assert role["rules"] == [
        # get on the single-app ConfigMap: an app's state kept there before it had its own is adopted from it.
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [f"{RELEASE}-state"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": configmaps, "verbs": ["get", "update"]},
        # Each app's Lease, and the one every replica renews to say it is live (the apps spread over them).
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "resourceNames": [*leases, members_lease_name(f"{RELEASE}-leader")], "verbs": ["get", "update"]},
    ]
    # The chart creates every object the Role names (no create verb), kept on uninstall.
    for kind, names in (("ConfigMap", configmaps), ("Lease", [*leases, members_lease_name(f"{RELEASE}-leader")])):
        for name in names:
            (obj,) = find(docs, kind, name)
            assert obj["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    (settings,) = find(docs, "ConfigMap", RELEASE)
    assert settings["data"]["DESK_STATE_CONFIGMAP"] == f"{RELEASE}-state"  # the base the receiver adds each slug to
    assert settings["data"]["DESK_LEADER_ELECTION_LEASE_NAME"] == f"{RELEASE}-leader"
    (deployment,) = find(docs, "Deployment", RELEASE)
    assert deployment["spec"]["replicas"] == 3 and deployment["spec"]["strategy"] == {"type": "RollingUpdate"}


@pytest.mark.parametrize(("change", "messages"), [
    ({"botIds": [1], "token": "t"}, ["at '/apps/0'", "missing property 'appId'", "missing property 'apiUrl'"]),
    ({"appId": "a"}, ["at '/apps/0'", "missing property 'token'", "missing property 'existingSecret'"]),
    ({"appId": "a", "token": "t", "app_id": "b"}, ["at '/apps/0'", "additional properties 'app_id'"]),
    ({"appId": "a", "token": "t", "botIds": ["12"]}, ["at '/apps/0/botIds/0'"]),
    ({"appId": "a", "token": "t", "maxRps": 0}, ["at '/apps/0/maxRps'"]),
    ({"apiUrl": "desk.example.com", "token": "t"}, ["at '/apps/0/apiUrl'"]),
    ({"appId": "a", "token": "t", "backfill": "2 days"}, ["at '/apps/0/backfill'"]),
], ids=["no-app", "no-token", "unknown-key", "bot-id-text", "max-rps-zero", "url-scheme", "backfill-text"])
def test_schema_refuses_an_app_it_cannot_run(change, messages):
    with pytest.raises(helm_python.HelmValuesError) as raised:
        render({"apps": [change], "otlp": {"endpoint": "http://c:4318"}})
    for message in messages:
        assert message in str(raised.value)


@pytest.mark.parametrize(("values", "message"), [
    (TWO_APPS | {"settings": {"appId": EU}}, "settings.appId"),
    (TWO_APPS | {"settings": {"botIds": [3]}}, "settings.botIds"),
    (TWO_APPS | {"token": {"existingSecret": "desk-api"}}, "token.existingSecret"),
    (TWO_APPS | {"apps": [{"appId": EU, "token": "a"}, {"appId": EU, "existingSecret": "b"}]},
     f"apps[1] is app {EU} again"),
    (TWO_APPS | {"apps": [{"apiUrl": "https://u:p@desk.example.com/v1", "token": "a"},
                          {"apiUrl": "http://desk.example.com/platform/v1", "token": "b"}]},
     "apps[1] is app desk.example.com again"),
    (TWO_APPS | {"apps": [{"appId": EU, "token": "a"}, {"appId": EU.lower(), "existingSecret": "b"}]},
     f"apps[1] is app {EU.lower()} again"),
    (TWO_APPS | {"apps": [{"appId": EU, "token": "a", "existingSecret": "b"}]},
     "apps[0] (app " + EU + "): give token or existingSecret, not both"),
    (TWO_APPS | {"emulator": {"enabled": True}}, "emulator.enabled"),
], ids=["app-id-beside-apps", "bot-ids-beside-apps", "token-beside-apps", "same-app-twice", "same-host-twice",
        "same-app-in-another-case", "two-token-sources", "emulator"])
def test_render_fails_on_apps_it_cannot_run(values, message):
    with pytest.raises(helm_python.HelmRenderError, match=re.escape(message)):
        render(values)


def test_notes_list_each_app_its_secret_and_the_check_command():
    notes = render(TWO_APPS)["NOTES.txt"]
    assert f"App {EU}:" in notes and f"App {US}:" in notes
    assert "Secret desk-us, key token" in notes
    assert "otel-desk-receiver check --config /etc/otel-desk-receiver/apps.yaml" in notes


def test_the_sidecar_snippet_carries_both_apps():
    docs = documents(render(load_values(CHART_DIR / "examples" / "sidecar-two-apps" / "values.yaml")))
    config, secrets = apps_file(docs)
    assert len(config["apps"]) == 2 and len({name for name, _ in secrets}) == 2
    (container,) = receiver_containers(docs)
    assert container["args"][:2] == ["run", "--config"]
    notes = render(load_values(CHART_DIR / "examples" / "sidecar-two-apps" / "values.yaml"))["NOTES.txt"]
    assert "ConfigMap otel-desk-receiver-apps (apps), Secrets " in notes
    assert "- /etc/otel-desk-receiver/apps.yaml" in notes  # the container to add, with its --config


def test_a_changed_apps_list_rolls_the_pod():
    def checksum(values):
        (deployment,) = find(documents(render(values)), "Deployment", RELEASE)
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    more = TWO_APPS | {"apps": [*TWO_APPS["apps"], {"appId": "third", "token": "t3"}]}
    assert checksum(TWO_APPS) != checksum(more)



def test_an_app_s_state_kept_by_a_single_app_release_is_adopted_into_the_configmap_the_chart_made(kube_api, kube_client):
    """Upgrading a single-app release to `apps` with the kubernetes backend: the chart has made the app's
    ConfigMap, empty, before the receiver starts (no create verb); the receiver still carries on from the state
    the single-app release kept in <fullname>-state, which it only reads."""
    app = {"apiUrl": "https://desk.example/platform/v1", "existingSecret": "desk-a"}
    docs = documents(render(HA_APPS | {"apps": [app]}))
    (legacy_rule, per_app_rule, _leases) = find(docs, "Role")[0]["rules"]
    (name,) = per_app_rule["resourceNames"]
    (legacy_name,) = legacy_rule["resourceNames"]
    (made,) = find(docs, "ConfigMap", name)
    kube_api.store.create("configmaps", NAMESPACE, {**made, "metadata": {"name": name}})
    desk = DeskIdentity("desk.example", "https://desk.example/platform/v1")
    kept = encode_state({7: BotCursor(window_start="2026-11-30", offset=10, anchor_id=9, last_id=110, since_ns=0)},
                        desk).decode()
    kube_api.store.create("configmaps", NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap",
                                                          "metadata": {"name": legacy_name},
                                                          "data": {"state.json": kept}})
    backend = KubernetesState(kube_client, NAMESPACE, name, desk, term=lambda: Term("pod-a", 1), elected=True,
                              legacy_name=legacy_name, sole=True)
    assert list(backend.load()) == [7]
    assert kube_api.store.get("configmaps", NAMESPACE, legacy_name)["data"] == {"state.json": kept}


def role_grants(role: dict) -> list[Grant]:
    """The rendered Role as the Kubernetes API stand-in enforces it: its verbs on its resources, by name."""
    return [Grant(rule["resources"][0], frozenset(rule["verbs"]), frozenset(rule["resourceNames"]))
            for rule in role["rules"]]


@pytest.mark.parametrize("apps", [1, 2], ids=["one-app", "two-apps"])
def test_a_receiver_of_apps_runs_on_what_the_chart_renders_and_nothing_more(apps, make_desk_emulator, otlp_sink,
                                                                             kube_api, tmp_path):
    """The chart's apps file, its Role (no create, names only) and the objects it creates are all a receiver of
    apps with the kubernetes backend needs: every app delivered, each into its own ConfigMap, every request to
    the Kubernetes API allowed (each app's Lease, the members Lease, the single-app ConfigMap read)."""
    emulators = [make_desk_emulator(token=f"token-{i}") for i in range(apps)]
    for emulator in emulators:
        bot = emulator.add_bot(name="bot", timeout_seconds=30)["id"]
        emulator.add_entries(bot, 20, statuses=("RECEIVED",), start=emulator.clock.now() - timedelta(hours=1),
                             spacing_s=60)
    values = HA_APPS | {"replicaCount": 2, "apps": [
        {"apiUrl": emulator.url, "existingSecret": f"desk-{i}"} for i, emulator in enumerate(emulators)]}
    docs = documents(render(values))
    for doc in documents({"state-objects.yaml": render(values)["state-objects.yaml"]}):
        kube_api.store.create(f"{doc['kind'].lower()}s", NAMESPACE, doc)
    (role,) = find(docs, "Role")
    kube_api.add_service_account("chart-role", NAMESPACE, RELEASE, role_grants(role))
    (settings,) = find(docs, "ConfigMap", RELEASE)
    config, secrets = apps_file(docs)
    for app, emulator, (secret, _key) in zip(config["apps"], emulators, secrets):  # each Secret volume's file
        app["api_token_file"] = str(tmp_path / secret)
        (tmp_path / secret).write_text(emulator.config.token)
    (tmp_path / "apps.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in receiver_env(emulators[0], otlp_sink.http_endpoint, "http/protobuf",
                                         tmp_path / "unused.json").items() if k not in ("DESK_API_URL", "DESK_API_TOKEN")}
    env |= {k: v for k, v in settings["data"].items() if k.startswith("DESK_") and k not in ("DESK_HEALTH_ADDR",
                                                                                             "DESK_STATE_PATH")}
    env |= {"DESK_POLL_INTERVAL": "1", "DESK_MAX_RPS": "1000", "DESK_BACKFILL_DAYS": "1", "POD_NAME": "receiver-0",
            "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", kube_api.url, "chart-role"))}
    receiver = ReceiverProcess.start(env, tmp_path, "--config", str(tmp_path / "apps.yaml"))
    def delivered() -> bool:
        if not receiver.alive():
            raise AssertionError(f"the receiver exited with {receiver.returncode}:\n{receiver.tail()}")
        return len(set(uids(otlp_sink))) >= 20 * apps

    try:
        wait_until(delivered, what="every app's entries delivered")
        receiver.signal(signal.SIGTERM)
        assert receiver.wait(timeout_s=15) == 0, receiver.output()[-3000:]
    finally:
        receiver.kill()
    assert {r.attributes[names.ATTR_APP_ID] for r in otlp_sink.log_records()} == {
        urlsplit(emulator.url).netloc for emulator in emulators}
    refused = [(s.method, s.resource, s.status) for s in kube_api.served if s.status in (401, 403)]
    assert refused == [], receiver.output()[-3000:]
    for name in per_app_rule_names(role):
        assert "state.json" in kube_api.store.get("configmaps", NAMESPACE, name)["data"]


def per_app_rule_names(role: dict) -> list[str]:
    """The ConfigMaps the Role lets the receiver update: one per app."""
    (rule,) = [r for r in role["rules"] if r["resources"] == ["configmaps"] and "update" in r["verbs"]]
    return rule["resourceNames"]
