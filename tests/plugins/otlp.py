"""temporary: removed once the alert test uses tests.harness"""

from tests.harness.fixtures.otlp import TEST_TIMEOUT_MS
from tests.harness.ports import free_port

__all__ = ["TEST_TIMEOUT_MS", "free_port"]
