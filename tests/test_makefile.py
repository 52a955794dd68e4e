"""`make test`'s suite run (the Makefile's `suite` target): a run that collects nothing fails, the 15
slowest tests are printed, and the alert proofs are collected first so that one worker takes them while
the other runs the rest."""

import subprocess
import sys

from tests.harness.paths import REPO

QUICK_FILE = "tests/e2e/test_scaled_rules.py"  # milliseconds of tests: what is checked is the run around them


def make_suite(pytest_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "suite", f"PYTEST_ARGS=-p no:cacheprovider {pytest_args}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_run_that_collects_no_tests_fails_and_says_so():
    result = make_suite(f"-k no_test_is_named_like_this {QUICK_FILE}")
    assert result.returncode != 0, result.stdout
    assert "make test: pytest collected no tests" in result.stderr


def test_a_run_on_three_workers_prints_its_15_slowest_tests():
    """Three workers on two cores: the alert proofs spend their 5 minutes waiting on Prometheus, and with two
    workers that left a core idle while one worker ran everything else (568 s; 385 s with three)."""
    result = make_suite(QUICK_FILE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "created: 3/3 workers" in result.stdout
    assert "slowest 15 durations" in result.stdout


def test_files_are_handed_out_in_collection_order():
    """xdist's loadfile hands out the files with most tests first unless told not to: the alert proofs (one
    test) then started last, and the suite took their 5 minutes after the rest instead of beside it."""
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "suite"], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert "--dist loadfile --no-loadscope-reorder" in dry_run.stdout, dry_run.stdout


def test_the_alert_proofs_are_collected_first():
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    first = result.stdout.splitlines()[0]
    assert first.startswith("tests/e2e/test_alerts.py::"), first


def test_make_test_runs_the_oldest_sdk_after_the_suite():
    """`make test` runs the suite on the newest SDK (`make deps`), then `make sdk-oldest`: the SDK-touching tests
    in a venv of their own, installed with the oldest pins the ranges allow (tests/sdk-oldest.txt)."""
    test = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    lines = test.stdout.splitlines()
    suite = next(i for i, line in enumerate(lines) if line.lstrip("@").startswith(".venv/bin/python -m pytest"))
    oldest = next(i for i, line in enumerate(lines) if line.startswith(".venv-sdk-oldest/bin/python -m pytest"))
    assert suite < oldest and "tests/otlp" in lines[oldest], test.stdout
    install = subprocess.run(["make", "--no-print-directory", "-n", "-B", "sdk-oldest"], cwd=REPO,
                             capture_output=True, text=True, timeout=60).stdout
    assert ".venv-sdk-oldest/bin/pip install -q -c tests/sdk-oldest.txt -e ." in install, install
