"""temporary: removed once the alert test uses tests.harness"""

from tests.harness.receiver_process import ReceiverProcess, receiver_env

__all__ = ["ReceiverProcess", "receiver_env"]
