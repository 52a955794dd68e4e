"""What a release publishes and where: names derived from the project's repository URL (pyproject.toml's
project.urls), the release workflow read as YAML, and a CNCF distribution registry on loopback (Debian's
docker-registry package) to push the image and the chart to and pull them back from.

    ghcr.io/<org>/otel-desk-receiver:<version>                   the image (linux/amd64, linux/arm64)
    oci://ghcr.io/<org>/charts/otel-desk-receiver:<version>      the chart
    https://pypi.org/project/otel-desk-receiver/                 the wheel and the sdist
"""

from __future__ import annotations

import re
import shutil
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.harness.paths import REPO
from tests.harness.process import ServerProcess, start_on_free_port

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
ORG, NAME = re.fullmatch(r"https://github\.com/([\w-]+)/([\w-]+)", PROJECT["urls"]["Source"]).groups()
IMAGE = f"ghcr.io/{ORG}/{NAME}"
CHART_REMOTE = f"oci://ghcr.io/{ORG}/charts"


def release_workflow() -> dict[str, Any]:
    return yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())


def workflow_steps(workflow: dict[str, Any], job: str | None = None) -> list[dict[str, Any]]:
    """Every step of one job, or of all of them."""
    jobs = [workflow["jobs"][job]] if job else workflow["jobs"].values()
    return [step for each in jobs for step in each.get("steps", [])]


class LocalRegistry:
    """`docker-registry serve` on a loopback port, storage and configuration in ``directory``, plain HTTP
    (TLS off on loopback: clients pass --tls-verify=false or plain_http)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.server = start_on_free_port(self._start)
        self.host = f"127.0.0.1:{self.port}"

    def _start(self, port: int) -> ServerProcess:
        self.port = port
        config = self.directory / "config.yml"
        config.write_text(yaml.safe_dump({
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(self.directory / "storage")}},
            "http": {"addr": f"127.0.0.1:{port}"},
        }))
        server = ServerProcess("docker-registry", [registry_binary(), "serve", str(config)],
                               self.directory / "registry.log")
        return server.wait_ready(lambda: self.answers(port))

    @staticmethod
    def answers(port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The digest the registry itself gives a manifest (Docker-Content-Digest)."""
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}", method="HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def stop(self) -> None:
        self.server.stop()


MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.oci.image.index.v1+json")


def registry_binary() -> str:
    path = shutil.which("docker-registry")
    # `make deps` installs Debian's docker-registry; a missing one is a failure, not a skip.
    assert path, "docker-registry not found: run `make deps` (or apt-get install -y --no-install-recommends docker-registry)"
    return path
