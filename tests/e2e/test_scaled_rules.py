"""The time-scaled copy of the shipped rules the alert proofs run on: every duration scaled, nothing else
touched, and a rule with a duration the scaling would miss caught."""

import subprocess

import pytest
import yaml

from tests.e2e.scaled_rules import (
    DATA_CONSTANTS,
    FACTOR,
    RULE_FILE,
    duration_s,
    format_duration,
    rules_by_alert,
    scaled_rules,
    unscaled_numbers,
    write_scaled_rules,
)
from tests.harness.paths import REPO

SHIPPED = yaml.safe_load(RULE_FILE.read_text())


def test_every_duration_of_the_shipped_rules_is_scaled():
    assert unscaled_numbers(SHIPPED, scaled_rules()) == []


def test_only_durations_change():
    shipped, scaled = rules_by_alert(SHIPPED), rules_by_alert(scaled_rules())
    assert set(DATA_CONSTANTS) == set(shipped), "every alert says which of its numbers are not durations"
    for name, rule in shipped.items():
        assert {k: v for k, v in scaled[name].items() if k not in ("expr", "for")} == \
            {k: v for k, v in rule.items() if k not in ("expr", "for")}, name
        if "for" in rule:
            assert duration_s(scaled[name]["for"]) == pytest.approx(duration_s(rule["for"]) * FACTOR), name


@pytest.mark.parametrize("expr, scaled", [
    pytest.param("increase(x[15m]) > 0", "increase(x[45s]) > 0", id="range"),
    pytest.param("max_over_time(x[1h30m:1m]) > 0", "max_over_time(x[270s:1m]) > 0", id="subquery-range"),
    pytest.param("time() - x < 300", "time() - x < 15", id="since-a-timestamp"),
    pytest.param("(time() - max(x) < 120)", "(time() - max(x) < 6)", id="since-the-newest-timestamp"),
    pytest.param("(time() - max by (a, b) (x) < 120)", "(time() - max by (a, b) (x) < 6)",
                 id="since-the-newest-timestamp-by-label"),
    pytest.param('x{a="5m"} > 900', 'x{a="5m"} > 900', id="data-and-labels-untouched"),
])
def test_expressions_scale(expr, scaled):
    from tests.e2e.scaled_rules import scale_expr

    assert scale_expr(expr, FACTOR) == scaled


@pytest.mark.parametrize("expr, caught", [
    pytest.param("time() - x > 600", "600", id="since-compared-the-other-way"),
    pytest.param("x offset 10m > 0", "10", id="offset"),
    pytest.param("increase(x[5m]) > 3", "3", id="a-new-constant"),
])
def test_a_new_rule_the_scaling_misses_fails(tmp_path, expr, caught):
    source = tmp_path / "rules.yaml"
    source.write_text(yaml.safe_dump({"groups": [{"name": "new", "rules": [
        {"alert": "New", "expr": expr, "for": "5m", "labels": {"severity": "info"}}]}]}))
    problems = unscaled_numbers(yaml.safe_load(source.read_text()), scaled_rules(source=source))
    assert any(f": {caught} left as it is" in line for line in problems), problems


def test_a_for_left_unscaled_fails():
    scaled = scaled_rules()
    rules_by_alert(scaled)["DeskReceiverDown"]["for"] = rules_by_alert(SHIPPED)["DeskReceiverDown"]["for"]
    assert unscaled_numbers(SHIPPED, scaled) == ["DeskReceiverDown: for: 10m not scaled"]


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("500ms", 0.5)])
def test_durations_read_and_written(text, seconds):
    assert duration_s(text) == seconds
    assert duration_s(format_duration(seconds)) == seconds


def test_the_scaled_file_is_valid_for_promtool(tmp_path):
    path = write_scaled_rules(tmp_path / "scaled.rules.yaml")
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
