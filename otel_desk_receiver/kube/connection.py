"""Where the Kubernetes API is and how to authenticate to it: in-cluster service account, or KUBECONFIG.

In a pod (``KUBERNETES_SERVICE_HOST`` set and the service account mounted) the API is
``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, verified with the mounted ``ca.crt``,
and the bearer token is read again from the mounted file before every request: bound service
account tokens are rotated by the kubelet (about hourly), and a token read once at start stops
working. Outside a cluster, ``KUBECONFIG`` (or ``~/.kube/config``) names the server, the CA (or
``insecure-skip-tls-verify``) and the credentials of the current context: a token, a token file,
or a client certificate and key.
"""

import base64
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from otel_desk_receiver.errors import KubeError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class KubeConnection:
    """How to reach one API server. ``token()`` is asked before each request (it may re-read a file)."""

    server: str  # https://host:port, no trailing slash
    verify: bool | str  # True (system CAs), False (insecure), or a CA bundle path
    token: Callable[[], str | None] = lambda: None
    client_cert: tuple[str, str] | None = None  # (cert path, key path)
    namespace: str | None = None  # the pod's (service account) or the context's namespace
    source: str = ""  # "in-cluster" or the kubeconfig path, for messages
    _tempfiles: list = field(default_factory=list, repr=False, compare=False)


def file_token(path: Path) -> Callable[[], str]:
    """A token source re-reading ``path`` on every call (a rotated token is used at once)."""

    def read() -> str:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KubeError(f"Kubernetes token file {path} cannot be read: {exc.strerror}") from None
    return read


def resolve(env: dict[str, str] | None = None, sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
    """The in-cluster connection when running in a pod, else the KUBECONFIG one; KubeError if neither."""
    env = dict(os.environ) if env is None else env
    if env.get("KUBERNETES_SERVICE_HOST") and (sa_dir / "token").is_file():
        return in_cluster(env, sa_dir)
    path = Path(env.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config")
    if path.is_file():
        return from_kubeconfig(path)
    raise KubeError("no Kubernetes API found: not in a pod (KUBERNETES_SERVICE_HOST and the service account "
                    f"token in {sa_dir}) and no kubeconfig at {path} (KUBECONFIG)")


def in_cluster(env: dict[str, str], sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
    host = env["KUBERNETES_SERVICE_HOST"]
    port = env.get("KUBERNETES_SERVICE_PORT", "443")
    host = f"[{host}]" if ":" in host else host  # an IPv6 service address
    ca = sa_dir / "ca.crt"
    namespace_file = sa_dir / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
    return KubeConnection(server=f"https://{host}:{port}", verify=str(ca) if ca.is_file() else True,
                          token=file_token(sa_dir / "token"), namespace=namespace, source="in-cluster")


def from_kubeconfig(path: Path) -> KubeConnection:
    """The current context's cluster and user; supports token, tokenFile, client cert/key (file or
    inline data), certificate-authority(-data) and insecure-skip-tls-verify. Exec and auth-provider
    plugins are not supported: such a config is refused with a clear message."""
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeError(f"kubeconfig {path} cannot be read ({type(exc).__name__})") from None
    context_name = config.get("current-context")
    context = _named(config, "contexts", context_name, path).get("context", {})
    cluster = _named(config, "clusters", context.get("cluster"), path).get("cluster", {})
    user = _named(config, "users", context.get("user"), path).get("user", {}) if context.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        raise KubeError(f"kubeconfig {path}: user {context.get('user')!r} uses an exec or auth-provider plugin, "
                        "which this receiver does not run; use a token, a token file or a client certificate")
    temps: list = []
    base = path.parent
    verify: bool | str = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    elif cluster.get("certificate-authority-data") or cluster.get("certificate-authority"):
        verify = _file_or_data(cluster, "certificate-authority", base, temps)
    token: Callable[[], str | None] = lambda: None
    if user.get("token"):
        token = (lambda value: lambda: value)(str(user["token"]))
    elif user.get("tokenFile"):
        token = file_token(_relative(base, user["tokenFile"]))
    cert = None
    if user.get("client-certificate") or user.get("client-certificate-data"):
        cert = (_file_or_data(user, "client-certificate", base, temps), _file_or_data(user, "client-key", base, temps))
    server = str(cluster.get("server", "")).rstrip("/")
    if not server:
        raise KubeError(f"kubeconfig {path}: cluster {context.get('cluster')!r} has no server")
    return KubeConnection(server=server, verify=verify, token=token, client_cert=cert,
                          namespace=context.get("namespace"), source=str(path), _tempfiles=temps)


def _named(config: dict, section: str, name: str | None, path: Path) -> dict:
    for item in config.get(section) or []:
        if item.get("name") == name:
            return item
    raise KubeError(f"kubeconfig {path}: no {section[:-1]} named {name!r} (current-context)")


def _relative(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _file_or_data(section: dict, key: str, base: Path, temps: list) -> str:
    """A path for requests: the named file, or the inline ``<key>-data`` written to a private temp file."""
    if section.get(f"{key}-data"):
        handle = tempfile.NamedTemporaryFile(prefix="kube-", suffix=".pem", delete=True)  # removed at exit
        handle.write(base64.b64decode(section[f"{key}-data"]))
        handle.flush()
        temps.append(handle)
        return handle.name
    return str(_relative(base, section[key]))
