"""Suite-wide fixtures: a clean environment for every test, and the real components as plugins."""

import os

import pytest

from otel_desk_receiver import redaction

pytest_plugins = ["tests.harness.fixtures.emulator", "tests.harness.fixtures.otlp", "tests.harness.fixtures.kube_api"]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


def pytest_collection_modifyitems(items):
    """The alert proofs first. `make test` runs the suite on two workers, handing out whole files in
    collection order (pytest-xdist's --dist loadfile): the alert test, the longest by far and mostly
    waiting on Prometheus, then takes one worker while the other runs the rest, and ends no later than it.
    A stable sort: every other test keeps its place, the same in every worker (xdist requires it)."""
    items.sort(key=lambda item: item.get_closest_marker("alert_pipeline") is None)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No DESK_* or OTEL_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("DESK_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def secrets_held_by_a_test_stay_in_it(monkeypatch):
    """redaction.hold keeps a secret for the life of the process (a rotated token stays masked), and the
    tests share a worker process: a test's token ("revoked") masked that word in the next test's output.
    Each test holds into a copy of what was held before it."""
    monkeypatch.setattr(redaction, "_held", set(redaction._held))


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "state.json"
