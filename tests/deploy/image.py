"""The receiver image, built without a Docker daemon: buildah runs the repository's Dockerfile,
unchanged, on a Debian bookworm base made with debootstrap; both are cached by content.

    python -m tests.deploy.image      # build (or find) the image and print its name

Why each piece (docs/testing.md#building-the-image-without-a-daemon):
- No registry is reachable, so `python:3.11-slim-bookworm` cannot be pulled. debootstrap makes a
  bookworm root with Debian's python3.11, venv and pip (plus python-is-python3: the Dockerfile calls
  `python`), and `buildah from scratch` + `add` + `commit` turns it into a local image handed to the
  Dockerfile through its own `PYTHON_IMAGE` build argument.
- `--format docker`: the OCI image format has no HEALTHCHECK; the docker format keeps it.
- `--isolation chroot`: no OCI runtime is installed; chroot isolation shares the host's network and
  PIDs, which is what lets the tests reach loopback servers and signal the process.
- TLS to PyPI is intercepted on these machines: the `pip install` in the Dockerfile's RUN needs the
  host's pip configuration files and CA bundle, mounted read-only for the build only (never baked
  into a layer). Debian's pip reads /etc/ssl/certs/ca-certificates.crt (its certifi is patched), so
  the host's bundle is mounted there, and at its own path for a pip.conf `cert =` naming it.
  PIP_* environment variables are not passed: buildah has no build-only environment.

Caching: the base is keyed by its recipe and kept as a tarball under .cache/image/ (debootstrap is
the slow part); the image is keyed by the base key, the Dockerfile, .dockerignore and every file the
build context may hold, and lives in buildah's storage as localhost/otel-desk-receiver:test-<key>.
An unchanged tree reuses it; a changed one builds again and drops older test-* tags.
"""

from __future__ import annotations

import configparser
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness.paths import REPO

CACHE_DIR = REPO / ".cache" / "image"
IMAGE_REPOSITORY = "localhost/otel-desk-receiver"
BASE_REPOSITORY = "localhost/otel-desk-receiver-base"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "python-is-python3")
BASE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Bump when the base recipe changes in a way the constants above do not show.
BASE_RECIPE_VERSION = 1

CONTAINER_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PIP_CONFIG_PATHS = ("/etc/pip.conf", "/etc/xdg/pip", "/root/.config/pip", "/root/.pip")

DEBOOTSTRAP_TIMEOUT_S = 900
BUILD_TIMEOUT_S = 900


class ImageBuildError(RuntimeError):
    """A step of the image build failed; the message carries the step's log tail."""


@dataclass(frozen=True)
class Image:
    """A built image in buildah's storage and its docker-format configuration."""

    name: str
    image_id: str
    config: dict[str, Any]  # the Docker "config" object: User, Env, Entrypoint, Cmd, Healthcheck...
    built_s: float | None  # seconds this call spent building; None when it came from the cache


def buildah(*args: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout_s)
    if check and done.returncode != 0:
        raise ImageBuildError(f"buildah {' '.join(args[:3])} ... exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


def require_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        # `make test` installs them (the deps target); a missing tool is a failure, not a skip.
        raise ImageBuildError(f"{', '.join(missing)} not found: run `make deps` "
                              "(or apt-get install -y --no-install-recommends buildah debootstrap)")


def digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()[:16]


def base_key() -> str:
    recipe = json.dumps([BASE_RECIPE_VERSION, DEBIAN_SUITE, DEBIAN_MIRROR, BASE_PACKAGES, BASE_PATH_ENV])
    return digest(recipe.encode())


def context_files() -> list[Path]:
    """Every file the build context can hold: the `!` entries of .dockerignore, which starts from `*`."""
    included = [line.strip()[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip().startswith("!")]
    files = []
    for name in included:
        path = REPO / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files.extend(p for p in candidates if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return files


def image_key(base: str) -> str:
    parts = [base.encode()]
    for path in [REPO / "Dockerfile", REPO / ".dockerignore", *context_files()]:
        parts += [str(path.relative_to(REPO)).encode(), path.read_bytes()]
    return digest(*parts)


def image_exists(name: str) -> bool:
    return buildah("inspect", "--type", "image", name, check=False).returncode == 0


def inspect_image(name: str) -> dict[str, Any]:
    return json.loads(buildah("inspect", "--type", "image", name).stdout)


def ensure_base(name: str, log_path: Path) -> None:
    """The debootstrap base as a local image: from the cached tarball, or made now."""
    if image_exists(name):
        return
    tarball = CACHE_DIR / f"base-{name.rpartition(':')[2]}.tar"
    if not tarball.is_file():
        make_base_tarball(tarball, log_path)
    container = buildah("from", "scratch").stdout.strip()
    try:
        buildah("add", "--quiet", container, str(tarball), "/", timeout_s=600)
        buildah("config", "--env", BASE_PATH_ENV, "--cmd", '["python3"]', container)
        buildah("commit", "--quiet", container, name, timeout_s=600)
    finally:
        buildah("rm", container, check=False)


def make_base_tarball(tarball: Path, log_path: Path) -> None:
    rootfs = CACHE_DIR / f"rootfs-{os.getpid()}"
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        run_logged(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                    DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR], log_path, DEBOOTSTRAP_TIMEOUT_S)
        # What the slim Python images leave out too: downloaded packages and apt lists.
        for leftover in [*rootfs.glob("var/cache/apt/archives/*.deb"), *rootfs.glob("var/lib/apt/lists/*")]:
            if leftover.is_file():
                leftover.unlink()
        partial = tarball.with_suffix(".partial")
        run_logged(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], log_path, 600)
        partial.replace(tarball)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    for stale in CACHE_DIR.glob("base-*.tar"):
        if stale != tarball:
            stale.unlink()


def run_logged(command: list[str], log_path: Path, timeout_s: float) -> None:
    with log_path.open("a") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout_s)
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise ImageBuildError(f"{command[0]} exited {done.returncode} (log {log_path}):\n{tail}")


def host_ca_bundle() -> Path:
    """The CA bundle pip uses on this host: PIP_CERT, a pip.conf `cert`, the requests variables, certifi."""
    candidates = [os.environ.get("PIP_CERT")]
    config = configparser.ConfigParser()
    config.read([p for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", os.path.expanduser("~/.config/pip/pip.conf"))])
    candidates.append(config.get("global", "cert", fallback=None))
    candidates += [os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE")]
    try:
        import pip._vendor.certifi as certifi  # noqa: PLC0415 - pip's own choice, the last resort

        candidates.append(certifi.where())
    except ImportError:
        pass
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    raise ImageBuildError("no CA bundle found for pip (PIP_CERT, pip.conf cert, REQUESTS_CA_BUNDLE, certifi)")


def pip_mounts() -> list[str]:
    """`-v host:container:ro` arguments giving RUN the host's pip configuration and CA bundle."""
    bundle = host_ca_bundle()
    targets = {CONTAINER_CA_BUNDLE: bundle}
    for configured in {os.environ.get("PIP_CERT"), os.environ.get("REQUESTS_CA_BUNDLE")} - {None}:
        targets.setdefault(configured, bundle)
    for path in PIP_CONFIG_PATHS:
        if Path(path).exists():
            targets[path] = Path(path)
    return [arg for target, source in sorted(targets.items()) for arg in ("-v", f"{source}:{target}:ro")]


def build(base: str, name: str, log_path: Path) -> None:
    command = ["buildah", "bud", "--format", "docker", "--isolation", "chroot", "--pull=never",
               "--build-arg", f"PYTHON_IMAGE={base}", *pip_mounts(), "-t", name, "-f", str(REPO / "Dockerfile"),
               str(REPO)]
    run_logged(command, log_path, BUILD_TIMEOUT_S)
    buildah("tag", name, f"{IMAGE_REPOSITORY}:test")


def drop_older_images(*keep: str) -> None:
    """Superseded test-* images and bases: every change to the package makes a new image."""
    listing = json.loads(buildah("images", "--json").stdout or "null") or []
    for image in listing:
        for tag in image.get("names") or []:
            ours = tag.startswith((f"{IMAGE_REPOSITORY}:test-", f"{BASE_REPOSITORY}:"))
            if ours and tag not in keep:
                buildah("rmi", tag, check=False)  # still used by a leftover container: kept, harmless


def ensure_image() -> Image:
    """The image for the current tree: from buildah's storage when its key matches, else built now."""
    require_tools()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sessions building at once would both debootstrap
        started = time.monotonic()
        base = f"{BASE_REPOSITORY}:{base_key()}"
        name = f"{IMAGE_REPOSITORY}:test-{image_key(base_key())}"  # the key covers the base's
        built_s = None
        if not image_exists(name):
            log_path = CACHE_DIR / "build.log"  # the last build's, kept for a look afterwards
            log_path.write_text("")
            ensure_base(base, log_path)
            build(base, name, log_path)
            drop_older_images(name, base)
            built_s = time.monotonic() - started
        inspected = inspect_image(name)
    return Image(name, inspected["FromImageID"], inspected["Docker"]["config"], built_s)


if __name__ == "__main__":
    image = ensure_image()
    print(image.name if image.built_s is None else f"{image.name} (built in {image.built_s:.0f} s)")
    sys.exit(0)
