"""The chart's default image is the published one (tests/deploy/release.py: ghcr.io/<org>/otel-desk-receiver,
what the release workflow pushes), tagged with the chart's appVersion, in both modes; NOTES names the image
the pod pulls, and the chart README says where the image and the chart are published and how to build your own."""

import pytest
import yaml

from tests.deploy.chart import CHART_DIR, documents, receiver_containers, render
from tests.deploy.release import CHART_REMOTE, IMAGE

MINIMAL = {"token": {"value": "ci-token"}, "settings": {"appId": "app-1"}, "otlp": {"endpoint": "http://collector:4318"}}
APP_VERSION = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]
modes = pytest.mark.parametrize("mode", ["deployment", "sidecar"])


@modes
def test_the_default_image_is_the_published_one_at_the_chart_s_app_version(mode):
    (container,) = receiver_containers(documents(render(MINIMAL | {"mode": mode})))
    assert container["image"] == f"{IMAGE}:{APP_VERSION}"


def test_an_image_tag_overrides_the_app_version():
    (container,) = receiver_containers(documents(render(MINIMAL | {"image": {"tag": "9.9.9"}})))
    assert container["image"] == f"{IMAGE}:9.9.9"


@modes
def test_notes_name_the_image_the_pod_pulls(mode):
    notes = render(MINIMAL | {"mode": mode})["NOTES.txt"]
    assert f"{IMAGE}:{APP_VERSION}" in notes
    assert "docker build" not in notes  # nothing to build: the image is published


def test_chart_readme_says_where_the_image_and_the_chart_are_published_and_how_to_build_your_own():
    readme = (CHART_DIR / "README.md").read_text()
    for needle in (IMAGE, f"{CHART_REMOTE}/otel-desk-receiver", "linux/arm64", "docker build", "--set image.repository="):
        assert needle in readme, needle
