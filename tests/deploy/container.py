"""Run the built image with `buildah run --isolation chroot`: commands to completion, and a
long-running process the tests can find and signal.

What chroot isolation means here (measured with buildah 1.28): the host's network and PID namespace
are shared, so loopback servers in the test are reachable from inside and the process inside has a
host PID; the image's User and Env apply, the host environment does not leak in. `buildah run`
does not forward signals: SIGTERM to it kills the command. A stop therefore goes to the process
inside (as `docker stop` sends it to the container's main process), whose exit code `buildah run`
returns as its own.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.deploy.image import Image, buildah
from tests.harness.process import ServerProcess

START_DEADLINE_S = 20.0
NAME_PREFIX = "otel-desk-receiver-test-"
_names = itertools.count()


@dataclass
class WorkingContainer:
    """A buildah working container of the image; every run in it gets its own -e and -v. ``storage``: buildah's
    global options for another image store (--root, --runroot), such as one holding only a pulled image."""

    name: str
    image: Image
    storage: tuple[str, ...] = ()

    @classmethod
    def create(cls, image: Image, storage: tuple[str, ...] = ()) -> WorkingContainer:
        remove_leftovers()
        name = f"{NAME_PREFIX}{os.getpid()}-{next(_names)}"
        buildah(*storage, "from", "--pull=never", "--name", name, image.name)
        return cls(name, image, storage)

    def remove(self) -> None:
        buildah(*self.storage, "rm", self.name, check=False)

    def command(self, args: list[str], env: dict[str, str], volumes: dict[Path, str]) -> list[str]:
        options = [f"--env={k}={v}" for k, v in env.items()]
        options += [f"--volume={host}:{inside}" for host, inside in volumes.items()]
        return ["buildah", *self.storage, "run", "--isolation", "chroot", *options, self.name, "--", *args]

    def entrypoint(self, *args: str) -> list[str]:
        """The image's ENTRYPOINT followed by args (`buildah run` runs a command, not the entrypoint)."""
        return [*self.image.config["Entrypoint"], *args]

    def run(self, args: list[str], env: dict[str, str] | None = None, volumes: dict[Path, str] | None = None,
            timeout_s: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(args, env or {}, volumes or {}), capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)

    def start(self, args: list[str], env: dict[str, str], volumes: dict[Path, str], log_path: Path) -> ContainerProcess:
        runner = ServerProcess("buildah run", self.command(args, env, volumes), log_path)
        process = ContainerProcess(runner)
        process.inside = process.find_inside(args[0])
        return process


@dataclass
class ContainerProcess:
    """`buildah run` in the background (runner) and the command it runs inside the image (inside)."""

    runner: ServerProcess
    inside: psutil.Process | None = None

    def output(self) -> str:
        return self.runner.output()

    def find_inside(self, program: str) -> psutil.Process:
        """The command's own process: the descendant of `buildah run` that is not one of buildah's
        helpers (buildah-chroot-runtime, buildah-chroot-exec) and whose arguments name the program."""
        try:
            return self.runner.wait_for(lambda: self._descendant_running(program), START_DEADLINE_S,
                                        f"running {program} in the container")
        except AssertionError:
            self.stop()
            raise

    def _descendant_running(self, program: str) -> psutil.Process | None:
        try:
            for child in psutil.Process(self.runner.pid).children(recursive=True):
                argv = child.cmdline()
                if argv and not argv[0].startswith("buildah") and any(program in arg for arg in argv):
                    return child
        except psutil.Error:
            pass  # a helper exited between listing and reading: look again
        return None

    def signal(self, signum: int) -> None:
        self.inside.send_signal(signum)

    def wait(self, timeout_s: float = 60) -> int:
        try:
            return self.runner.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"not finished within {timeout_s} s:\n{self.runner.tail()}") from None

    def stop(self) -> None:
        """Kill what is still running, by PID: the process inside first, then `buildah run`. No SIGTERM to
        `buildah run`: it does not forward it, and ends by itself once the process inside is gone."""
        if self.inside is not None and self.inside.is_running():
            self.inside.send_signal(signal.SIGKILL)
        if self.runner.alive():
            try:
                self.runner.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.runner.kill()


def remove_leftovers() -> None:
    """Working containers an interrupted session left behind (its PID is gone): they would keep
    superseded images in storage."""
    for container in json.loads(buildah("containers", "--json").stdout or "null") or []:
        name = container.get("containername", "")
        pid = name.removeprefix(NAME_PREFIX).split("-")[0]
        if name.startswith(NAME_PREFIX) and pid.isdigit() and not psutil.pid_exists(int(pid)):
            buildah("rm", name, check=False)
