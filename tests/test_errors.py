"""The exception tree: the classes are as errors.py's docstring draws them, and what each carries."""

import inspect
import re

import pytest

from otel_desk_receiver import errors
from otel_desk_receiver.errors import ConfigError, DeskRetryableError, KubeError, ReceiverError


def drawn_parents() -> dict[str, str]:
    """class name -> parent name, read from the tree in the module docstring (indentation is depth)."""
    parents, stack = {}, []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^( *)(?:\+-- |\|? *\+-- )?(\w+Error)\b", line.replace("|", " "))
        if not match:
            continue
        depth = len(line) - len(line.lstrip(" |+-"))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[match.group(2)] = stack[-1][1]
        stack.append((depth, match.group(2)))
    return parents


def test_the_classes_are_as_the_docstring_draws_them():
    defined = {name: cls for name, cls in vars(errors).items()
               if inspect.isclass(cls) and issubclass(cls, Exception) and cls.__module__ == errors.__name__}
    drawn = drawn_parents()
    assert set(drawn) | {"ReceiverError"} == set(defined)
    for name, parent in drawn.items():
        assert defined[name].__bases__ == (defined[parent],), name


def test_a_config_error_holds_one_line_per_problem():
    error = ConfigError(["DESK_PAGE_SIZE: must be between 1 and 500 (got 900)", "DESK_API_TOKEN: required"])
    assert error.problems[1] == "DESK_API_TOKEN: required"
    assert str(error) == "DESK_PAGE_SIZE: must be between 1 and 500 (got 900)\nDESK_API_TOKEN: required"


def test_desks_hint_and_status_are_kept():
    error = DeskRetryableError("429 from Desk", status_code=429, retry_after_s=3.0)
    assert isinstance(error, ReceiverError) and (error.status_code, error.retry_after_s) == (429, 3.0)


@pytest.mark.parametrize("status_code, transient", [
    pytest.param(None, True, id="no-answer"), pytest.param(503, True, id="5xx"), pytest.param(429, True, id="429"),
    pytest.param(409, False, id="conflict"), pytest.param(403, False, id="forbidden"),
])
def test_which_kubernetes_api_errors_are_worth_trying_again(status_code, transient):
    assert KubeError("x", status_code).transient is transient
