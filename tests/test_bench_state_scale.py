"""The state scale benchmark (benchmarks/state_scale.py) at a tiny size: it completes and prints every figure.

Timing is never asserted: only the output's structure, and the counts that hold on any machine (the state
is written at most about once a sweep, whatever the number of bots).
"""

import re
import subprocess
import sys

import pytest

from tests.harness.paths import REPO

BOTS = 30
FIGURES = ("desk requests per interval", "receiver cpu per sweep", "state writes per sweep", "state size")


@pytest.fixture(scope="module")
def report() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.state_scale", "--bots", str(BOTS), "--interval", "2", "--intervals", "2",
         "--rate", "0.05"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("backend", ["file", "kubernetes"])
def test_every_figure_is_printed_for_each_backend(report, backend):
    for figure in FIGURES:
        assert f"{backend} {BOTS} bots {figure}: " in report, (figure, report)
    if backend == "kubernetes":
        assert f"kubernetes {BOTS} bots configmap puts per sweep: " in report


@pytest.mark.parametrize("backend", ["file", "kubernetes"])
def test_the_state_is_written_about_once_a_sweep_not_once_a_bot(report, backend):
    line = re.search(rf"^{backend} {BOTS} bots state writes per sweep: ([\d.]+) documents", report, re.M)
    assert line is not None and float(line[1]) <= 3, report
