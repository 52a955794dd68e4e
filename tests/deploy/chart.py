"""Render the chart with Helm's own engine (helm-python-sdk) and read what comes out."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import yaml

from tests.harness.paths import REPO

CHART_DIR = REPO / "helm" / "otel-desk-receiver"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
EXAMPLE_VALUES = sorted((CHART_DIR / "examples").glob("*/values.yaml"))
RELEASE = "otel-desk-receiver"
NAMESPACE = "observability"
KUBERNETES_VERSION = "1.33"

helm_python.disable_logging()  # the Go side logs every fail() call to stdout otherwise


def load_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def render(values: dict[str, Any], release: str = RELEASE) -> dict[str, str]:
    """Template path (relative to templates/) -> rendered text, for non-empty templates only: what `helm template
    <release> helm/otel-desk-receiver -n observability -f values` prints."""
    chart = helm_python.Chart.load(CHART_DIR)
    try:
        rendered = chart.render(values, name=release, namespace=NAMESPACE)
    finally:
        chart.close()
    prefix = f"{CHART_DIR.name}/templates/"
    return {path.removeprefix(prefix): text for path, text in rendered.items() if text.strip()}


def documents(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object in a rendering (NOTES.txt excluded)."""
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def sidecar_configmap(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """ConfigMap <fullname>-sidecar, which sidecar mode renders (templates/sidecar.yaml)."""
    (configmap,) = [d for d in find(docs, "ConfigMap") if d["metadata"]["name"].endswith("-sidecar")]
    return configmap


def sidecar_snippet(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The container and volumes that sidecar mode publishes in ConfigMap <fullname>-sidecar."""
    configmap = sidecar_configmap(docs)
    return yaml.safe_load(configmap["data"]["container.yaml"]), yaml.safe_load(configmap["data"]["volumes.yaml"])


def receiver_containers(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The receiver container wherever it is rendered: the Deployment, or the sidecar snippet."""
    for deployment in find(docs, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if "run" in container.get("args", []):
                yield container
    for configmap in find(docs, "ConfigMap"):
        if "container.yaml" in configmap.get("data", {}):
            yield yaml.safe_load(configmap["data"]["container.yaml"])


def all_containers(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (c for d in find(docs, "Deployment") for c in d["spec"]["template"]["spec"]["containers"])
    yield from (yaml.safe_load(c["data"]["container.yaml"]) for c in find(docs, "ConfigMap")
                if "container.yaml" in c.get("data", {}))


def mounted_file(container: dict[str, Any], volumes: list[dict[str, Any]], path: str) -> tuple[dict[str, Any], str]:
    """The volume a file path of the container lies in, and the file's path inside that volume."""
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mount.get("readOnly") is True and "subPath" not in mount  # a subPath mount never sees a rotation
    (volume,) = [v for v in volumes if v["name"] == mount["name"]]
    return volume, path.removeprefix(mount["mountPath"].rstrip("/") + "/")


def config_file(docs: list[dict[str, Any]], container: dict[str, Any], volumes: list[dict[str, Any]]) -> dict | None:
    """The --config file the receiver runs with (the apps list), read from the ConfigMap it is mounted from; None
    when it runs without one."""
    args = container["args"]
    if "--config" not in args:
        return None
    volume, file_name = mounted_file(container, volumes, args[args.index("--config") + 1])
    (item,) = [i for i in volume["configMap"]["items"] if i["path"] == file_name]
    (configmap,) = find(docs, "ConfigMap", volume["configMap"]["name"])
    return yaml.safe_load(configmap["data"][item["key"]])


def token_secrets(docs: list[dict[str, Any]], container: dict[str, Any],
                  volumes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(Secret, key) behind every token file the receiver reads: DESK_API_TOKEN_FILE, or each app's api_token_file."""
    config = config_file(docs, container, volumes)
    if config is None:
        env = {entry["name"]: entry for entry in container.get("env") or []}
        paths = [env["DESK_API_TOKEN_FILE"]["value"]]
    else:
        paths = [app["api_token_file"] for app in config["apps"]]
    secrets = []
    for path in paths:
        volume, file_name = mounted_file(container, volumes, path)
        (item,) = [i for i in volume["secret"]["items"] if i["path"] == file_name]
        secrets.append((volume["secret"]["secretName"], item["key"]))
    return secrets
