"""Arguments for the SDK's gRPC exporters; imported only when a signal's protocol is grpc (grpc is heavy)."""

from typing import Any

import grpc

from otel_desk_receiver.otel_env import export_timeout_s, grpc_options

_COMPRESSION = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}


def grpc_arguments(signal: str) -> dict[str, Any]:
    """Compression, timeout and transport security, resolved by otel_env as the specification says."""
    compression, insecure = grpc_options(signal)
    return {
        "compression": _COMPRESSION.get(compression, grpc.Compression.NoCompression),
        "timeout": export_timeout_s(signal),
        "insecure": insecure,
    }
