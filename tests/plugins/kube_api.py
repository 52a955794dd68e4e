"""Fixtures starting the stand-in Kubernetes API (devkit/kube_api) on loopback: ``kube_api``, ``kube_client``
and ``kubeconfig`` (a kubeconfig file pointing at it, as a receiver outside a cluster reads it)."""

from pathlib import Path

import pytest
import yaml

from otel_desk_receiver.devkit.kube_api import KubeApiServer
from otel_desk_receiver.kube.client import KubeClient
from otel_desk_receiver.kube.connection import KubeConnection

KUBE_TOKEN = "kube-token-receiver"
NAMESPACE = "observability"


@pytest.fixture
def kube_api():
    """A started stand-in API; token KUBE_TOKEN may do everything on ConfigMaps and Leases."""
    api = KubeApiServer().start()
    api.add_service_account(KUBE_TOKEN, NAMESPACE, "otel-desk-receiver")
    yield api
    api.stop()


@pytest.fixture
def kube_client(kube_api):
    client = KubeClient(KubeConnection(server=kube_api.url, verify=True, token=lambda: KUBE_TOKEN))
    yield client
    client.close()


def write_kubeconfig(path: Path, server: str, token: str, namespace: str = NAMESPACE) -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "stand-in", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "receiver", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "stand-in", "user": "receiver", "namespace": namespace}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def kubeconfig(kube_api, tmp_path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube_api.url, KUBE_TOKEN)
