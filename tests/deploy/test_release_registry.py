"""The release's round trip on a real registry (the CNCF distribution registry, Debian's docker-registry, on
loopback): the image built from the Dockerfile (tests/deploy/image.py, the session's cached build, not a
second one) is pushed, pulled back by digest into an empty image store and run (`run --once` delivers); the
chart is packaged, pushed as an OCI artifact, pulled back by digest and rendered from the archive pulled, and
the image it names is the one the registry serves.

Both go under the path the release workflow publishes to (tests/deploy/release.py), with the registry's
host in place of ghcr.io: <registry>/<org>/otel-desk-receiver and <registry>/<org>/charts/otel-desk-receiver.
"""

import json
import os
from dataclasses import dataclass

import helm_python
import pytest
import yaml

from tests.deploy.chart import CHART_DIR, NAMESPACE, RELEASE, documents, find, render
from tests.deploy.container import WorkingContainer
from tests.deploy.image import Image, buildah, ensure_image
from tests.deploy.image_run import STATE_DIR, UID, delivered, expected, preload, receiver_env
from tests.deploy.release import CHART_REMOTE, IMAGE, LocalRegistry

MINIMAL = {"token": {"value": "ci-token"}, "settings": {"appId": "app-1"}, "otlp": {"endpoint": "http://collector:4318"}}
CHART = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())


@dataclass(frozen=True)
class Pushed:
    reference: str  # host/path:tag
    digest: str  # what the pushing client wrote down


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    started = LocalRegistry(tmp_path_factory.mktemp("registry"))
    yield started
    started.stop()


def mirrored(registry: LocalRegistry, published: str) -> str:
    """A published name (ghcr.io/... or oci://ghcr.io/...) on the loopback registry."""
    return published.replace("ghcr.io", registry.host, 1)


@pytest.fixture(scope="module")
def pushed_image(registry, tmp_path_factory):
    image = ensure_image()
    reference = f"{mirrored(registry, IMAGE)}:{CHART['appVersion']}"
    digest_file = tmp_path_factory.mktemp("push") / "digest"
    buildah("push", "--tls-verify=false", "--digestfile", str(digest_file), image.name, f"docker://{reference}",
            timeout_s=300)
    return Pushed(reference, digest_file.read_text().strip())


@pytest.fixture(scope="module")
def pulled_chart(registry, tmp_path_factory):
    """The chart packaged, pushed as OCI, then pulled back by the digest the registry resolves: (digest, archive)."""
    directory = tmp_path_factory.mktemp("chart")
    archive = helm_python.package(CHART_DIR, destination=directory / "packaged")
    client = helm_python.RegistryClient(plain_http=True, credentials_file=directory / "registry.json")
    try:
        remote = mirrored(registry, CHART_REMOTE)
        client.push(archive, remote)
        reference = f"{remote}/{CHART['name']}"
        digest = client.resolve(f"{reference}:{CHART['version']}")["digest"]
        (directory / "pulled").mkdir()
        client.pull(f"{reference}@{digest}", destination=directory / "pulled")
    finally:
        client.close()
    (pulled,) = (directory / "pulled").glob("*.tgz")
    assert helm_python.digest(pulled) == helm_python.digest(archive)  # the bytes packaged, back
    return digest, pulled


def render_archive(archive, values) -> dict[str, str]:
    chart = helm_python.Chart.load(archive)
    try:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    finally:
        chart.close()
    return {path.removeprefix(f"{CHART['name']}/templates/"): text for path, text in rendered.items() if text.strip()}


def receiver_image(rendered: dict[str, str]) -> str:
    (deployment,) = find(documents(rendered), "Deployment", RELEASE)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["image"]


def test_the_registry_serves_the_image_under_the_digest_the_push_wrote_down(registry, pushed_image):
    repository, _, tag = pushed_image.reference.partition("/")[2].rpartition(":")
    assert pushed_image.digest.startswith("sha256:")
    assert registry.manifest_digest(repository, tag) == pushed_image.digest


def test_the_image_pulled_back_by_digest_into_an_empty_store_delivers(pushed_image, tmp_path, desk_emulator,
                                                                     otlp_sink):
    # A store of its own: every layer of the image run here came from the registry.
    storage = ("--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "runroot"))
    by_digest = f"{pushed_image.reference.rpartition(':')[0]}@{pushed_image.digest}"
    buildah(*storage, "pull", "--quiet", "--tls-verify=false", f"docker://{by_digest}", timeout_s=300)
    inspected = inspect_image_in(storage, by_digest)
    assert inspected["FromImageDigest"] == pushed_image.digest
    pulled = Image(by_digest, inspected["FromImageID"], inspected["Docker"]["config"], None)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    os.chown(state_dir, UID, UID)
    container = WorkingContainer.create(pulled, storage)
    try:
        entries = preload(desk_emulator, bots=2, per_bot=40)
        done = container.run(container.entrypoint("run", "--once"), receiver_env(desk_emulator, otlp_sink),
                             {state_dir: STATE_DIR})
    finally:
        container.remove()
        buildah(*storage, "rmi", "--all", "--force", check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    received = delivered(otlp_sink)
    assert len(received) == 80 and set(received) == expected(entries)


def inspect_image_in(storage: tuple[str, ...], name: str) -> dict:
    return json.loads(buildah(*storage, "inspect", "--type", "image", name).stdout)


def test_the_chart_pulled_back_from_the_registry_renders_as_the_repository_s(pulled_chart):
    _, archive = pulled_chart
    assert render_archive(archive, MINIMAL) == render(MINIMAL)


def test_the_published_chart_pulls_the_published_image_of_its_version(pulled_chart):
    _, archive = pulled_chart
    assert receiver_image(render_archive(archive, MINIMAL)) == f"{IMAGE}:{CHART['appVersion']}"


def test_the_image_the_pulled_chart_names_is_the_one_the_registry_serves(registry, pulled_chart, pushed_image):
    _, archive = pulled_chart
    mirror = {"image": {"repository": mirrored(registry, IMAGE)}}
    reference = receiver_image(render_archive(archive, MINIMAL | mirror))
    assert reference == pushed_image.reference
    repository, _, tag = reference.partition("/")[2].rpartition(":")
    assert registry.manifest_digest(repository, tag) == pushed_image.digest
