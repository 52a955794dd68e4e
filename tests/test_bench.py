"""The benchmark (make bench) at a tiny size: it completes and prints every figure, consistently.

Timing is never asserted: only the output's structure and the counts that must hold on any machine.
"""

import math
import re
import subprocess
import sys

import pytest

from tests.harness.paths import REPO

ENTRIES, BOTS, PAGE_SIZE = 3000, 3, 500
LABELS = ("machine", "setup", "entries delivered", "end to end", "receiver cpu", "receiver peak rss",
          "desk requests", "otlp requests", "ceiling", "ratio", "quiet cycle", "emulator cpu", "sink cpu")


@pytest.fixture(scope="module")
def report() -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--entries", str(ENTRIES), "--bots", str(BOTS),
         "--page-size", str(PAGE_SIZE)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return lines


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))]


def test_every_figure_is_printed(report):
    assert [label for label in LABELS if label not in report] == []


def test_every_entry_is_delivered(report):
    assert report["entries delivered"] == f"{ENTRIES} of {ENTRIES}"
    assert "receiver exit 0" in report["end to end"]


def test_desk_requests_are_at_the_floor(report):
    requests, floor, pages, bots, bot_lists = numbers(report["desk requests"])
    assert (pages, bots) == (BOTS * math.ceil(ENTRIES / BOTS / PAGE_SIZE), BOTS)
    assert floor == pages + bots
    assert bot_lists == 1
    assert pages <= requests - bot_lists <= floor


def test_otlp_requests_carry_the_entries(report):
    requests, payload_bytes = numbers(report["otlp requests"])
    assert requests >= math.ceil(ENTRIES / 512)
    assert payload_bytes > ENTRIES * 100  # every record carries its uid, bot, status and URL


def test_quiet_cycle_reads_one_page_per_bot(report):
    requests, bots, bot_lists, exported, exit_code = numbers(report["quiet cycle"])
    assert (requests, bots, bot_lists, exported, exit_code) == (BOTS + 1, BOTS, 1, 0, 0)


def test_ratio_is_end_to_end_over_ceiling(report):
    end_to_end, ceiling, ratio = numbers(report["end to end"])[0], numbers(report["ceiling"])[0], \
        numbers(report["ratio"])[0]
    assert end_to_end > 0 and ceiling > 0
    assert ratio == pytest.approx(end_to_end / ceiling, abs=0.01)


def test_resource_figures_are_positive(report):
    assert numbers(report["receiver cpu"])[0] > 0
    assert numbers(report["receiver peak rss"])[0] > 0


def test_the_freshness_benchmark_prints_every_figure():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.freshness", "--bots", "5", "--backlog", "3000", "--max-rps", "50",
         "--interval", "2", "--extra-s", "4", "--max-s", "120"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    for label in ("machine", "load", "best achievable lag for this budget (one sweep + one interval)",
                  "other bots", "backlogged bot (its live entries)", "Desk requests",
                  "live p99 against 1.5 x the best achievable", "backlog against 0.25 of the budget's page capacity"):
        assert label in lines, result.stdout
    assert "backlog drained in" in result.stdout  # 3000 entries at 50 requests/s drain well within 120 s
    assert numbers(lines["best achievable lag for this budget (one sweep + one interval)"]) == [2.1]


def test_the_startup_benchmark_prints_the_process_and_its_floor():
    result = subprocess.run([sys.executable, "-m", "benchmarks.startup", "--runs", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert numbers(lines["run start to first Desk request (median of 1)"])[0] > 0
    (process_mb,) = numbers(lines["run RSS at first Desk request (median of 1)"])
    floor_mb, without_mb = numbers(lines["its libraries alone, peak RSS"])
    assert 0 < without_mb < floor_mb < process_mb, result.stdout
