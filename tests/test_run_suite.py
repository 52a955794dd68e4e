"""`make test`'s runner (tests/run_suite.sh): a run that collects nothing fails, the two pytest runs it
starts side by side split the suite between them (nothing run twice, nothing left out), it passes only when
both pass, and an alert run over its time or a stopped suite leaves no process behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.chart import REPO

RUNNER = REPO / "tests" / "run_suite.sh"


def _run(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)


def _collected(*marker: str) -> set[str]:
    result = _run(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *marker)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_a_run_that_collects_no_tests_fails():
    result = _run(str(RUNNER), "-p", "no:cacheprovider", "-k", "no_test_is_named_like_this", "tests/test_cli.py")
    assert result.returncode == 1
    assert "collected no tests" in result.stderr


def test_the_side_by_side_runs_split_the_suite():
    alerts = _collected("-m", "alert_pipeline")
    rest = _collected("-m", "not alert_pipeline")
    everything = _collected()
    assert alerts and all(test.startswith("tests/e2e/test_alerts.py::") for test in alerts)
    assert not alerts & rest and alerts | rest == everything


# A stand-in for the interpreter: `make test`'s two pytest runs, told apart by their marker, each ending as
# the test says; the alert run leaves a child process behind, as its Prometheus servers would be.
STUB_PYTHON = """#!/usr/bin/env bash
if [ "$4" = alert_pipeline ]; then
  echo "the alert run's log"
  sleep "${STUB_ALERTS_SLEEP:-0}" & echo $! > alerts-child.pid
  wait
  exit "${STUB_ALERTS_RC:-0}"
fi
sleep "${STUB_REST_SLEEP:-0}"
exit "${STUB_REST_RC:-0}"
"""


def _side_by_side(tmp_path, **env: str) -> subprocess.Popen:
    stub = tmp_path / "python"
    stub.write_text(STUB_PYTHON)
    stub.chmod(0o755)
    return subprocess.Popen([str(RUNNER)], cwd=tmp_path, env={**os.environ, "PYTHON": str(stub), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("rest_rc, alerts_rc, code, says", [
    ("0", "0", 0, ""),
    ("1", "0", 1, ""),
    ("0", "1", 1, ""),
    ("5", "0", 1, "pytest collected no tests (the suite)"),
    ("0", "5", 1, "pytest collected no tests (the alert pipeline)"),
], ids=["both-pass", "rest-fails", "alerts-fail", "rest-collects-nothing", "alerts-collect-nothing"])
def test_side_by_side_passes_only_when_both_runs_pass(tmp_path, rest_rc, alerts_rc, code, says):
    runner = _side_by_side(tmp_path, STUB_REST_RC=rest_rc, STUB_ALERTS_RC=alerts_rc)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == code, (out, err)
    assert "the alert run's log" in out and says in err


def test_an_alert_run_over_its_time_fails_and_says_so(tmp_path):
    runner = _side_by_side(tmp_path, ALERT_TIMEOUT="1s", STUB_ALERTS_SLEEP="60")
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 1 and "the alert pipeline did not end within 1s" in err, (out, err)
    _assert_gone(int((tmp_path / "alerts-child.pid").read_text()))


def test_stopping_the_suite_stops_the_alert_runs_processes(tmp_path):
    runner = _side_by_side(tmp_path, STUB_ALERTS_SLEEP="300", STUB_REST_SLEEP="2")
    child = tmp_path / "alerts-child.pid"
    deadline = time.monotonic() + 30
    while not child.exists() or not child.read_text().strip():
        assert time.monotonic() < deadline, "the alert run never started"
        time.sleep(0.05)
    runner.send_signal(signal.SIGTERM)
    runner.communicate(timeout=60)
    assert runner.returncode == 143
    _assert_gone(int(child.read_text()))


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(") ", 1)[1][0] == "Z":  # dead, not yet reaped by its parent
            return
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.1)
