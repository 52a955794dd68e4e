"""The chart commands the README gives (the sidecar in its Quick start, the standalone install) render with the
chart as written: their -f files exist, their --set keys are values the schema takes, and sidecar mode yields the
container snippet. A README command that drifted from the chart fails here, not on a newcomer's cluster."""

import shlex

import pytest
import yaml

from tests.deploy.chart import CHART_DIR, documents, find, render, sidecar_configmap
from tests.harness.paths import REPO

README = REPO / "README.md"
CHART = f"./{CHART_DIR.relative_to(REPO).as_posix()}"  # as the README's commands name it


def readme_chart_installs() -> list[list[str]]:
    """Every `helm install <release> ./helm/otel-desk-receiver ...` of the README's shell blocks, as words."""
    commands, block, inside = [], [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            block.append(line)
    joined = "\n".join(block).replace("\\\n", " ")
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words[:2] == ["helm", "install"] and len(words) > 3 and words[3] == CHART:
            commands.append(words)
    return commands


def values_of(words: list[str]) -> dict:
    """The values a helm install's -f files and --set pairs give, --set last (as helm merges them)."""
    values: dict = {}
    files = [words[i + 1] for i, word in enumerate(words) if word == "-f"]
    pairs = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
    for path in files:
        merge(values, yaml.safe_load((REPO / path).read_text()) or {})
    for pair in pairs:
        key, value = pair.split("=", 1)
        *parents, leaf = key.split(".")
        node = values
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return values


def merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def test_the_readme_gives_a_sidecar_and_a_standalone_install():
    modes = [values_of(words).get("mode", "deployment") for words in readme_chart_installs()]
    assert sorted(set(modes)) == ["deployment", "sidecar"]


@pytest.mark.parametrize("words", readme_chart_installs(), ids=lambda words: " ".join(words[4:]))
def test_a_readme_chart_install_renders(words):
    values = values_of(words)
    docs = documents(render(values, release=words[2]))
    if values.get("mode") == "sidecar":
        assert sidecar_configmap(docs)["data"]["container.yaml"]
    else:
        assert find(docs, "Deployment")
