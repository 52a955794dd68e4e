"""The package's rooms and the one direction imports may run between them (docs/architecture.md#layout).

Each product module belongs to a room (a folder, or a module at the top); a room imports only rooms on a
lower layer or its own. Imports are read from the source, inside functions and TYPE_CHECKING blocks too,
so a late import cannot hide an arrow; a cycle between modules fails too.
"""

import ast
from pathlib import Path

import pytest

from tests.harness.paths import REPO

PACKAGE = "otel_desk_receiver"

# Lowest first. A room may import its own modules and those of any room on an earlier line.
LAYERS: list[tuple[str, ...]] = [
    ("units", "names", "errors", "__init__"),  # words and numbers every room shares
    ("redaction",),  # secrets held and masked
    ("otel_env", "config_file", "cli"),  # the SDK's environment, the config file, the command line's shape
    ("desk", "kube"),  # clients of the two outside APIs: Sendbird Desk, Kubernetes
    ("config",),  # the receiver's settings
    ("pipeline",),  # pure: a bot's cycle, and the ports it needs (pipeline/ports.py)
    ("state",),  # cursors kept: the store, their saved form, the file and ConfigMap backends
    ("otlp",),  # delivery over OTLP and what its answers mean
    ("runtime",),  # the poll loop: scheduler, budget, health, the receiver's own metrics
    ("ha",),  # high availability: Lease election, leadership of the loop, its setup
    ("app",),  # the composition root: builds a receiver from settings
    ("commands",),  # run, check
    ("devkit", "__main__"),  # the emulator, the sink, the demo: may use everything
]
LAYER_OF = {room: index for index, rooms in enumerate(LAYERS) for room in rooms}


def product_modules() -> dict[str, Path]:
    root = REPO / PACKAGE
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        modules[".".join((PACKAGE, *parts))] = path
    return modules


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The product modules ``module`` imports (``from package import module`` counts as that module)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == PACKAGE and name != PACKAGE or name == PACKAGE)
    return {name for name in found if name in known}


MODULES = product_modules()
GRAPH = {module: imports_of(module, path, set(MODULES)) for module, path in MODULES.items()}


def test_every_room_has_a_layer():
    rooms = {room_of(module) for module in MODULES}
    assert rooms - set(LAYER_OF) == set(), "a new room: give it a line in LAYERS (and in docs/architecture.md's Layout)"
    assert set(LAYER_OF) - rooms == set(), "LAYERS names a room that is gone"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up(module):
    here = LAYER_OF[room_of(module)]
    upward = sorted(target for target in GRAPH[module]
                    if room_of(target) != room_of(module) and LAYER_OF[room_of(target)] > here)
    assert upward == [], f"{module} (layer {room_of(module)}) imports from a higher layer: {upward}"


def test_no_cycle_between_modules():
    cycles, state = [], {}

    def visit(module, trail):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if target == module:
                continue
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_check_sees_arrows(tmp_path):
    """The reader finds an upward import inside a function and under TYPE_CHECKING, and a relative one."""
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from otel_desk_receiver.app import Receiver\n"
                      "def f():\n    from otel_desk_receiver.otlp import sender\n    from ..state import store\n")
    found = imports_of("otel_desk_receiver.pipeline.m", source, set(MODULES))
    assert found == {"otel_desk_receiver.app", "otel_desk_receiver.otlp.sender", "otel_desk_receiver.state.store"}
