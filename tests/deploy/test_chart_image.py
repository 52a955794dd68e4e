"""The chart's default image.repository names an image no cluster can pull: while it is set, NOTES
says how to build and push the image and set image.repository, and the chart README says so too."""

import pytest
import yaml

from tests.deploy.chart import CHART_DIR, render

MINIMAL = {"token": {"value": "ci-token"}, "settings": {"appId": "app-1"}, "otlp": {"endpoint": "http://collector:4318"}}
HINT = "image.repository is still the chart's default"
modes = pytest.mark.parametrize("mode", ["deployment", "sidecar"])


def default_repository() -> str:
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())["image"]["repository"]


@modes
def test_notes_show_how_to_build_push_and_set_the_image_while_the_repository_is_the_default(mode):
    notes = render(MINIMAL | {"mode": mode})["NOTES.txt"]
    assert HINT in notes and f'"{default_repository()}"' in notes
    version = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]
    for command in (f"docker build -t <registry>/otel-desk-receiver:{version} .",
                    f"docker push <registry>/otel-desk-receiver:{version}",
                    "--set image.repository=<registry>/otel-desk-receiver"):
        assert command in notes, command
    assert "podman" in notes and "buildah" in notes


def test_notes_hint_follows_the_image_tag():
    notes = render(MINIMAL | {"image": {"repository": default_repository(), "tag": "9.9.9", "pullPolicy": "Never"}})
    assert "docker build -t <registry>/otel-desk-receiver:9.9.9 ." in notes["NOTES.txt"]


@modes
def test_notes_quiet_about_the_image_once_a_repository_is_set(mode):
    values = MINIMAL | {"mode": mode,
                        "image": {"repository": "registry.example.com/otel-desk-receiver", "tag": "", "pullPolicy": "IfNotPresent"}}
    assert HINT not in render(values)["NOTES.txt"]


def test_chart_readme_shows_how_to_build_push_and_set_the_image():
    readme = (CHART_DIR / "README.md").read_text()
    for needle in ("docker build", "docker push", "podman build", "buildah bud", "--set image.repository="):
        assert needle in readme, needle
