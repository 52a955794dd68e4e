"""The image itself, built from the unchanged Dockerfile (tests/deploy/image.py) and run with buildah:
its user, `run --once` delivering to a real OTLP endpoint, the HEALTHCHECK read from the image
config against a running receiver, and SIGTERM saving the state on a mounted volume.

The receiver runs through its command line only (the image's ENTRYPOINT), aimed at the Desk API
emulator and the OTLP sink on the host's loopback, which chroot isolation shares.
"""

import json
import os
import signal
import time
import urllib.request

import pytest

from tests.deploy.container import WorkingContainer
from tests.deploy.image import ensure_image
from tests.deploy.image_run import STATE_DIR, UID, delivered, expected, preload, receiver_env
from tests.harness.ports import free_port
from tests.harness.saved_state import app_section
from tests.harness.wait import wait_until

WAIT_S = 30.0


@pytest.fixture(scope="session")
def image():
    return ensure_image()


@pytest.fixture(scope="module")
def container(image):
    working = WorkingContainer.create(image)
    yield working
    working.remove()


@pytest.fixture
def start_receiver(container, state_dir, tmp_path):
    """start_receiver(env): `otel-desk-receiver run` in the image, state on state_dir; killed after the test."""
    started = []

    def start(env: dict[str, str]):
        log_path = tmp_path / f"run-{len(started)}.log"
        started.append(container.start(container.entrypoint("run"), env, {state_dir: STATE_DIR}, log_path))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def state_dir(tmp_path):
    """A host directory mounted at the image's state volume, writable by the image's user."""
    directory = tmp_path / "state"
    directory.mkdir()
    os.chown(directory, UID, UID)  # as a pod's fsGroup would make it
    return directory


def healthz_status(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except OSError:
        return None


def healthcheck_command(image) -> list[str]:
    """The HEALTHCHECK test from the docker-format image config, as the engine would run it."""
    kind, *command = image.config["Healthcheck"]["Test"]
    assert kind in ("CMD", "CMD-SHELL"), kind
    return command if kind == "CMD" else ["/bin/sh", "-c", *command]


def test_image_runs_as_uid_10001(image, container):
    assert image.config["User"] == f"{UID}:{UID}"
    done = container.run(["sh", "-c", "id -u; id -g"], timeout_s=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(UID), str(UID)]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_run_once_in_the_image_delivers_every_entry(container, desk_emulator, otlp_sink, state_dir, protocol):
    entries = preload(desk_emulator, bots=2, per_bot=150)
    done = container.run(container.entrypoint("run", "--once"), receiver_env(desk_emulator, otlp_sink, protocol),
                         {state_dir: STATE_DIR})
    assert done.returncode == 0, done.stderr[-3000:]
    received = delivered(otlp_sink)
    assert len(received) == 300 and set(received) == expected(entries)
    assert set(app_section(json.loads((state_dir / "state.json").read_text()))["bots"]) == {str(bot) for bot in entries}


def test_healthcheck_from_the_image_config_passes_against_a_running_receiver(image, container, desk_emulator,
                                                                          otlp_sink, start_receiver):
    assert "Healthcheck" in image.config  # the docker format keeps it; OCI would have dropped it
    preload(desk_emulator, bots=1, per_bot=20)
    port = free_port()
    env = receiver_env(desk_emulator, otlp_sink, health_addr=f"127.0.0.1:{port}", poll_interval=1)
    receiver = start_receiver(env)
    wait_until(lambda: healthz_status(port) == 200, WAIT_S, "/healthz 200")
    assert receiver.inside.cmdline()[0].startswith("/opt/otel-desk-receiver/")  # the image's, not ours
    assert receiver.inside.uids() == (UID, UID, UID)
    # As the engine runs it: inside the container, with the container's environment.
    check = container.run(healthcheck_command(image), {"DESK_HEALTH_ADDR": env["DESK_HEALTH_ADDR"]})
    assert check.returncode == 0, check.stderr
    receiver.signal(signal.SIGTERM)
    assert receiver.wait() == 0, receiver.output()[-3000:]
    # The same check with nothing listening fails: it really asks /healthz.
    stopped = container.run(healthcheck_command(image), {"DESK_HEALTH_ADDR": env["DESK_HEALTH_ADDR"]})
    assert stopped.returncode != 0


def test_sigterm_mid_backfill_saves_the_state_on_the_volume_and_exits_0(container, desk_emulator, otlp_sink,
                                                                        state_dir, start_receiver):
    entries = preload(desk_emulator, bots=2, per_bot=1500)
    total = 3000
    # 10 requests/s of 100 entries: about 3 s for the backfill, so the signal lands in the middle.
    receiver = start_receiver(receiver_env(desk_emulator, otlp_sink, page_size=100, max_rps=10, poll_interval=1))
    assert otlp_sink.wait_for_logs(300, timeout_s=WAIT_S), receiver.output()[-3000:]
    receiver.signal(signal.SIGTERM)
    sent_at = time.monotonic()
    assert receiver.wait(timeout_s=20) == 0, receiver.output()[-3000:]
    assert time.monotonic() - sent_at < 10
    assert otlp_sink.count() < total  # stopped mid-backfill
    state_file = state_dir / "state.json"
    assert state_file.stat().st_uid == UID
    assert set(app_section(json.loads(state_file.read_text()))["bots"]) == {str(bot) for bot in entries}
    # A graceful stop saved exactly what was delivered: the next run sends the rest and nothing twice.
    finishing = container.run(container.entrypoint("run", "--once"), receiver_env(desk_emulator, otlp_sink),
                              {state_dir: STATE_DIR})
    assert finishing.returncode == 0, finishing.stderr[-3000:]
    received = delivered(otlp_sink)
    assert len(received) == total and set(received) == expected(entries)
