"""Tests mirror the package: every product module has a test module of its own at the mirrored path.

otel_desk_receiver/state/cursor_json.py is tested in tests/state/test_cursor_json.py, a top-level module such as
otel_desk_receiver/cli.py in tests/test_cli.py. Package faces (``__init__.py``, ``__main__.py``) have none; a module
whose test module would be empty ceremony is listed in EXEMPT with the reason. Tests of more than one module (a
receiver run end to end, a fault across rooms) sit beside these, under other names.
"""

import re
from pathlib import Path

from tests.harness.paths import REPO

PACKAGE = REPO / "otel_desk_receiver"
TESTS = REPO / "tests"
FACES = {"__init__.py", "__main__.py"}

# Module (relative to the package) -> why it has no test module of its own.
EXEMPT: dict[str, str] = {
    "desk/limits.py": "two constants; the client's page bound and the read window's retention are tested with them",
    "devkit/sink/faults.py": "dataclasses of the sink's answers; OtlpSink's tests drive every fault mode",
    "pipeline/ports.py": "Protocols only, no behaviour; the cycle's tests run on fakes of them",
    "pipeline/records.py": "a frozen dataclass, no behaviour; mapping and export tests build and read it",
    "state/backend.py": "a Protocol only; the file and ConfigMap backends have their own tests",
}


def product_modules() -> list[str]:
    """Every module of the package, relative to it, package faces excepted."""
    return sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name not in FACES)


def mirrored_test(module: str) -> Path:
    """Where ``module``'s own test module lives."""
    path = Path(module)
    return TESTS / path.parent / f"test_{path.name}"


def has_tests(test_module: Path) -> bool:
    return test_module.is_file() and re.search(r"^(async )?def test_", test_module.read_text(), re.M) is not None


def test_every_product_module_has_its_own_test_module():
    missing = [f"{module} -> {mirrored_test(module).relative_to(REPO)}"
               for module in product_modules() if module not in EXEMPT and not has_tests(mirrored_test(module))]
    assert not missing, "product modules without a test module of their own (holding a test):\n  " + "\n  ".join(missing)


def test_exempt_modules_exist_and_have_no_test_module():
    modules = set(product_modules())
    stale = [module for module in EXEMPT if module not in modules or mirrored_test(module).is_file()]
    assert not stale, f"EXEMPT lists modules that are gone or have a test module now: {stale}"
