"""The Dockerfile, without a Docker engine: its stages, user, volume and entrypoint agree with the
package and the chart, everything it copies exists and survives .dockerignore, and its HEALTHCHECK
command works against a real health endpoint."""

import json
import os
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from otel_desk_receiver.cli import COMMANDS
from otel_desk_receiver.config import Settings
from tests.deploy.chart import CHART_DIR
from tests.harness.paths import REPO

DOCKERFILE = REPO / "Dockerfile"


def instructions():
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends inside a continuation"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def stages():
    result = []
    for name, args in instructions():
        if name == "FROM":
            result.append([])
        if result:
            result[-1].append((name, args))
    return result


def final(name):
    return [args for instruction, args in stages()[-1] if instruction == name]


@pytest.fixture(scope="module")
def chart_values():
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())


def test_multi_stage_with_a_slim_python_final_stage():
    assert len(stages()) >= 2
    args = dict(a.split("=", 1) for i, a in instructions() if i == "ARG" and "=" in a)
    base = final("FROM")[0].split()[0]
    base = args.get(base.strip("${}"), base)
    assert base.startswith("python:") and "slim" in base


def test_no_build_tools_in_the_final_stage():
    final_runs = " ".join(final("RUN"))
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "pip install", "make "):
        assert tool not in final_runs
    assert all("--from=" in copy for copy in final("COPY") if "/opt/" in copy)


def test_runs_as_the_charts_non_root_user(chart_values):
    (user,) = final("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert int(uid) == chart_values["securityContext"]["runAsUser"] == chart_values["podSecurityContext"]["runAsUser"]
    assert int(gid) == chart_values["podSecurityContext"]["runAsGroup"]


def test_state_directory_is_a_volume_matching_the_chart(chart_values):
    state_path = chart_values["settings"]["statePath"]
    env = " ".join(final("ENV"))
    assert f"DESK_STATE_PATH={state_path}" in env
    volumes = [v for args in final("VOLUME") for v in json.loads(args)]
    assert volumes == [state_path.rsplit("/", 1)[0]]


def test_exposes_the_health_port():
    # The receiver's own default; the chart picks 13133 in deployment mode and 13134 as a sidecar.
    assert final("EXPOSE") == [Settings.model_fields["health_addr"].default.rsplit(":", 1)[1]]


def test_entrypoint_is_the_packaged_command():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    (entrypoint,) = final("ENTRYPOINT")
    (command,) = final("CMD")
    assert json.loads(entrypoint) == ["otel-desk-receiver"]
    assert "otel-desk-receiver" in scripts
    assert json.loads(command) == ["run"] and "run" in COMMANDS


def copied_sources():
    for stage in stages():
        for instruction, args in stage:
            if instruction == "COPY" and "--from=" not in args:
                yield from args.split()[:-1]


@pytest.mark.parametrize("source", sorted(set(copied_sources())))
def test_copied_files_exist_and_survive_dockerignore(source):
    path = REPO / source
    assert path.exists(), source
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    assert f"!{source.rstrip('/')}" in [p.rstrip("/") for p in patterns]


class HealthHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's naming
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (HealthHandler,), {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def healthcheck(env):
    (args,) = final("HEALTHCHECK")
    command = json.loads(args.split("CMD", 1)[1])
    assert command[0] == "python"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")} | env
    return subprocess.run([sys.executable, *command[1:]], env=environ, capture_output=True, timeout=30).returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)], ids=["alive", "failing"])
def test_healthcheck_asks_healthz_on_the_configured_port(health_server, status, healthy):
    health_server.RequestHandlerClass.status = status
    port = health_server.server_address[1]
    assert (healthcheck({"DESK_HEALTH_ADDR": f"0.0.0.0:{port}"}) == 0) is healthy


def test_healthcheck_passes_when_health_endpoints_are_off():
    assert healthcheck({"DESK_HEALTH_ADDR": ""}) == 0
