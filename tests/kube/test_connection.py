"""Finding the API as pods do (service account, rotated token, CA) and as kubectl does outside (KUBECONFIG)."""

import base64
from pathlib import Path

import pytest
import yaml

from otel_desk_receiver.errors import KubeError
from otel_desk_receiver.kube import connection
from otel_desk_receiver.kube.client import KubeClient
from otel_desk_receiver.kube.connection import KubeConnection
from tests.harness.fixtures.kube_api import NAMESPACE, write_kubeconfig


def service_account(tmp_path: Path, token: str = "sa-token-1") -> Path:
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(token + "\n")
    (sa / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (sa / "namespace").write_text("observability")
    return sa


@pytest.mark.parametrize(("host", "port", "server"), [
    ("10.96.0.1", "443", "https://10.96.0.1:443"),
    ("fd00::1", "6443", "https://[fd00::1]:6443"),
], ids=["ipv4", "ipv6"])
def test_in_cluster_uses_the_service_host_the_ca_and_the_namespace_file(tmp_path, host, port, server):
    sa = service_account(tmp_path)
    conn = connection.resolve({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}, sa)
    assert (conn.server, conn.verify, conn.namespace, conn.source) == (server, str(sa / "ca.crt"), "observability",
                                                                       "in-cluster")


def test_in_cluster_token_is_read_again_for_every_request(tmp_path):
    sa = service_account(tmp_path, "sa-token-1")
    conn = connection.resolve({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, sa)
    assert conn.token() == "sa-token-1"
    (sa / "token").write_text("sa-token-2")  # the kubelet rotates a bound token in place
    assert conn.token() == "sa-token-2"


def test_a_rotated_token_is_used_at_once_against_the_api(kube_api, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("old-token")
    kube_api.add_service_account("old-token", NAMESPACE, "receiver")
    client = KubeClient(KubeConnection(server=kube_api.url, verify=True, token=connection.file_token(token_file)))
    with pytest.raises(KubeError) as missing:
        client.get("configmaps", NAMESPACE, "absent")
    assert missing.value.reason == "NotFound"
    kube_api.store.subjects.pop("old-token")  # the old token expired
    kube_api.add_service_account("new-token", NAMESPACE, "receiver")
    token_file.write_text("new-token")
    with pytest.raises(KubeError) as missing_again:
        client.get("configmaps", NAMESPACE, "absent")
    assert missing_again.value.reason == "NotFound"  # not Unauthorized: the new token was sent
    client.close()


def test_outside_a_cluster_kubeconfig_token_and_insecure(tmp_path):
    path = write_kubeconfig(tmp_path / "config", "https://api.example:6443", "kc-token", namespace="team-a")
    conn = connection.resolve({"KUBECONFIG": str(path)}, tmp_path / "no-sa")
    assert (conn.server, conn.verify, conn.token(), conn.namespace) == ("https://api.example:6443", False, "kc-token",
                                                                       "team-a")


def kubeconfig_with(tmp_path: Path, cluster: dict, user: dict) -> Path:
    config = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
              "clusters": [{"name": "k", "cluster": {"server": "https://k:6443", **cluster}}],
              "users": [{"name": "u", "user": user}]}
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    return path


def test_kubeconfig_ca_data_token_file_and_client_certificate(tmp_path):
    (tmp_path / "token").write_text("from-file")
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nabc\n").decode()
    path = kubeconfig_with(tmp_path, {"certificate-authority-data": pem},
                           {"tokenFile": "token", "client-certificate-data": pem, "client-key": "key.pem"})
    conn = connection.from_kubeconfig(path)
    assert Path(conn.verify).read_bytes() == base64.b64decode(pem)
    assert conn.token() == "from-file"
    cert, key = conn.client_cert
    assert Path(cert).read_bytes() == base64.b64decode(pem) and key == str(tmp_path / "key.pem")


@pytest.mark.parametrize(("env", "user", "needle"), [
    ({}, None, "no Kubernetes API found"),
    (None, {"exec": {"command": "aws"}}, "exec or auth-provider plugin"),
], ids=["nothing to connect to", "exec plugin"])
def test_what_cannot_be_used_is_said(tmp_path, env, user, needle):
    if env is None:
        env = {"KUBECONFIG": str(kubeconfig_with(tmp_path, {}, user))}
    else:
        env = {"KUBECONFIG": str(tmp_path / "missing"), **env}
    with pytest.raises(KubeError, match=needle):
        connection.resolve(env, tmp_path / "no-sa")
