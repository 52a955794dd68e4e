"""The OTLP boundary uses only the public API of its dependencies (README, "Supported OpenTelemetry SDK").

Reaching into a library's private attributes or modules pins the receiver to the one release they had that
shape in; each module under otel_desk_receiver/otlp/ is read (ast) and may touch an underscore attribute only
of itself (``self._x``, ``cls._x``) or one its own package defines, and import no underscore module or name
of another package (``opentelemetry.sdk._logs``, ``from grpc import _channel``).
"""

import ast
from pathlib import Path

import pytest

from tests.harness.paths import REPO

OTLP = REPO / "otel_desk_receiver" / "otlp"
OWN_PACKAGE = "otel_desk_receiver"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def own_private_names(trees: list[ast.Module]) -> set[str]:
    """Underscore names the checked modules define themselves: attributes they set on self or cls,
    class members, module-level names."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if _private(name)}


def violations(tree: ast.Module, own: set[str]) -> list[str]:
    """One line per private thing of another package that ``tree`` touches."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names
                      if _foreign(alias.name) and any(map(_private, alias.name.split(".")))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _foreign(node.module or ""):
            module = node.module or ""
            if any(map(_private, module.split("."))):
                found.append(f"{node.lineno}: from {module} import ...")
            found += [f"{node.lineno}: from {module} import {alias.name}" for alias in node.names
                      if _private(alias.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) \
                and _private(node.args[1].value) and node.args[1].value not in own:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _foreign(module: str) -> bool:
    return module.split(".")[0] not in (OWN_PACKAGE, "__future__")


def otlp_modules() -> dict[str, ast.Module]:
    return {path.relative_to(REPO).as_posix(): ast.parse(path.read_text(), str(path))
            for path in sorted(OTLP.rglob("*.py"))}


def test_the_otlp_modules_touch_no_private_attribute_or_module_of_another_package():
    modules = otlp_modules()
    own = own_private_names(list(modules.values()))
    found = [f"{name}:{line}" for name, tree in modules.items() for line in violations(tree, own)]
    assert found == [], "private API of a dependency used:\n" + "\n".join(found)


CASES = [
    ("an SDK exporter's private attribute", "def f(exporter):\n    return exporter._client\n", True),
    ("a private attribute set on an SDK object", "def f(client, t):\n    client._transport = t\n", True),
    ("a private attribute by name", "def f(exporter):\n    return getattr(exporter, '_stub')\n", True),
    ("a private SDK module", "from opentelemetry.sdk._logs import ReadableLogRecord\n", True),
    ("a private name of a public module", "from opentelemetry.exporter.otlp.proto.grpc import _OPTIONS\n", True),
    ("import of a private module", "import opentelemetry.exporter.otlp.proto.common._internal\n", True),
    ("our own attribute", "class A:\n    def __init__(self):\n        self._x = 1\n    def f(self, o):\n"
                          "        return self._x + o._x\n", False),
    ("a dunder", "def f(o):\n    return o.__class__, o.__dict__\n", False),
    ("public SDK names", "from opentelemetry.sdk.metrics.export import MetricExporter\n", False),
    ("our own private module", "from otel_desk_receiver.otlp import _mine\n", False),
]


@pytest.mark.parametrize(("source", "flagged"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_check_tells_private_from_own(source, flagged):
    tree = ast.parse(source)
    assert bool(violations(tree, own_private_names([tree]))) is flagged


OLDEST = REPO / "tests" / "sdk-oldest.txt"


def test_sdk_oldest_pins_the_floor_of_every_range_it_names():
    """`make sdk-oldest` proves the oldest release each range in pyproject.toml allows: its pins must be those
    floors, every OpenTelemetry dependency must be pinned there, and the 1.x ranges must reach up to 2."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = {}
    for line in OLDEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = Version(version)
    dependencies = [Requirement(text) for text in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
                    ["dependencies"]]
    floors = {r.name.lower(): Version(spec.version) for r in dependencies for spec in r.specifier if spec.operator == ">="}
    opentelemetry = {r.name.lower() for r in dependencies if r.name.startswith("opentelemetry")}
    assert opentelemetry <= set(pins), f"not pinned in {OLDEST.name}: {sorted(opentelemetry - set(pins))}"
    assert {name: pins[name] for name in floors if name in pins} == {name: floors[name] for name in floors
                                                                     if name in pins}
    capped = [str(r) for r in dependencies if r.name.startswith("opentelemetry-")
              and r.name != "opentelemetry-exporter-prometheus" and not r.specifier.contains("1.999")]
    assert capped == [], "a range that stops below 2, so another package's SDK cannot be installed beside it"
