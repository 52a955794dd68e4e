"""The SLO files are generated: what is committed is what the source gives (regenerated in memory here), and
`python -m otel_desk_receiver.devkit.slo` (`make slo`) writes them, or with --check names the stale ones. The
receiver's Grafana dashboard is generated in part: its SLO row (tests/devkit/slo/test_grafana.py)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from otel_desk_receiver.devkit.slo.generate import DASHBOARD, GENERATED, SOURCE, drifted, generated, main
from tests.devkit.slo.sources import APP_B
from tests.harness.paths import REPO


@pytest.mark.parametrize("path", sorted(GENERATED), ids=str)
def test_the_committed_file_is_what_the_source_gives(path):
    assert (REPO / path).is_file(), f"{path} missing: run `make slo`"
    assert (REPO / path).read_text() == generated(REPO)[path], f"{path} differs from {SOURCE}: run `make slo`"


def copy_of_the_repository_files(tmp_path):
    for path in (SOURCE, *GENERATED):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / path).is_file():
            shutil.copy(REPO / path, tmp_path / path)
    return tmp_path


def test_an_edited_source_makes_every_output_stale_until_regenerated(tmp_path, capsys):
    root = copy_of_the_repository_files(tmp_path)
    source = root / SOURCE
    source.write_text(source.read_text() + "---\n" + yaml.safe_dump(APP_B))  # an override: one more SLO everywhere
    assert sorted(drifted(root)) == sorted(GENERATED)
    assert main(["--root", str(root), "--check"]) == 1
    assert "run `make slo`" in capsys.readouterr().err
    assert main(["--root", str(root)]) == 0
    assert drifted(root) == [] and main(["--root", str(root), "--check"]) == 0
    assert 'sendbird_app_id="APP-B"' in (root / "examples/alerts/otel-desk-receiver.slo.rules.yaml").read_text()


def test_a_bad_source_is_one_line_and_exit_2(tmp_path, capsys):
    root = copy_of_the_repository_files(tmp_path)
    source = root / SOURCE
    source.write_text(source.read_text().replace("budgetingMethod: Occurrences", "budgetingMethod: Timeslices"))
    assert main(["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "spec.budgetingMethod must be Occurrences" in err, err


def test_the_receiver_s_dashboard_is_among_the_generated_files():
    assert DASHBOARD in GENERATED and not (REPO / "examples/grafana/dashboards/otel-desk-receiver.slo.json").exists()


def test_every_file_docs_slo_md_says_is_generated_is_among_the_generated_files():
    """docs/slo.md's table of generated files (the Datadog burn-rate monitors, whose runbook links point into
    docs/runbook.md, among them) is what `make slo` writes and the drift test compares."""
    text = (REPO / "docs" / "slo.md").read_text()
    table = text.split("| generated file |", 1)[1].split("\n\n", 1)[0]
    listed = {Path(link) for link in re.findall(r"\]\(\.\./(examples/[^)]+)\)", table)}
    assert Path("examples/datadog/slo-monitors.json") in listed
    assert listed == set(GENERATED)


def test_a_missing_or_broken_dashboard_is_one_line_and_exit_2(tmp_path, capsys):
    root = copy_of_the_repository_files(tmp_path)
    (root / DASHBOARD).write_text('{"panels": [')
    assert main(["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{DASHBOARD}: not JSON" in err, err
    (root / DASHBOARD).unlink()
    assert main(["--root", str(root), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{DASHBOARD} missing" in err, err


def test_make_slo_runs_the_generator():
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "slo"], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "-m otel_desk_receiver.devkit.slo" in dry_run.stdout, dry_run.stdout


def test_the_module_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "otel_desk_receiver.devkit.slo", "--check"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
