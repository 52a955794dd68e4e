"""Every file generated from the bots' SLO source, and the command that writes them (`make slo`).

`python -m otel_desk_receiver.devkit.slo` rewrites them from examples/slo/bots.openslo.yaml; with `--check` it
writes nothing and exits 1 naming each file that differs from what the source gives (the drift test runs the
same comparison). Of the receiver's Grafana dashboard it writes the SLO row only (grafana.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from otel_desk_receiver.devkit.slo import datadog, grafana, prometheus
from otel_desk_receiver.devkit.slo.source import SloSource, SloSourceError, load

SOURCE = Path("examples/slo/bots.openslo.yaml")
# Path (from the repository's root) -> what writes it.
OUTPUTS: dict[Path, Callable[[SloSource], str]] = {
    Path("examples/alerts/otel-desk-receiver.slo.rules.yaml"): prometheus.render,
    Path("examples/datadog/slo.json"): datadog.render_slos,
    Path("examples/datadog/slo-monitors.json"): datadog.render_monitors,
}
# The receiver's Grafana dashboard: the generator writes its SLO row only, the rest of the file is read as it is.
DASHBOARD = Path("examples/grafana/dashboards/otel-desk-receiver.json")
PARTS: dict[Path, Callable[[str, SloSource], str]] = {DASHBOARD: grafana.render_into}
GENERATED = (*OUTPUTS, *PARTS)


class GenerateError(ValueError):
    """A file the generator writes part of is missing or cannot take its part; the message is one line."""


def generated(root: Path, source: Path = SOURCE) -> dict[Path, str]:
    """Each generated file's text as the source under ``root`` gives it now."""
    slos = load(root / source)
    texts = {path: render(slos) for path, render in OUTPUTS.items()}
    for path, render_into in PARTS.items():
        if not (root / path).is_file():
            raise GenerateError(f"{path} missing: the SLO row is written into it")
        try:
            texts[path] = render_into((root / path).read_text(), slos)
        except grafana.DashboardError as error:
            raise GenerateError(f"{path}: {error}") from None
    return texts


def drifted(root: Path, source: Path = SOURCE) -> list[Path]:
    """The generated files whose committed text differs from what the source gives (missing ones included)."""
    return [path for path, text in generated(root, source).items()
            if not (root / path).is_file() or (root / path).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otel_desk_receiver.devkit.slo", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's root (default: .)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = drifted(args.root)
            for path in stale:
                print(f"{path}: differs from {SOURCE}: run `make slo`", file=sys.stderr)
            return 1 if stale else 0
        for path, text in generated(args.root).items():
            (args.root / path).write_text(text)
            print(f"wrote {path}")
        return 0
    except (SloSourceError, GenerateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
