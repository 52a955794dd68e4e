"""OTLP over gRPC: one Export call through opentelemetry-proto's service stub, retried as the SDK's exporter
retries, the response (and its partial_success) or the status classified (answer.py). Imported only for a
signal whose protocol is grpc: grpc is heavy."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import grpc
from google.rpc.error_details_pb2 import RetryInfo

from otel_desk_receiver.otlp import answer as answers
from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.answer import Answer, Kind
from otel_desk_receiver.otlp.retry import Attempts
from otel_desk_receiver.otlp.target import USER_AGENT, OtlpTarget

log = logging.getLogger(__name__)

RETRY_INFO_KEY = "google.rpc.retryinfo-bin"
# The codes the SDK's gRPC exporter retries (answer.py classifies them; RESOURCE_EXHAUSTED is retried too).
RETRYABLE = frozenset({"CANCELLED", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "OUT_OF_RANGE",
                       "UNAVAILABLE", "DATA_LOSS"})
_COMPRESSION = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}


class GrpcSender:
    """Sends Export*ServiceRequest messages to ``target`` with ``stub_type`` (e.g. LogsServiceStub)."""

    def __init__(self, target: OtlpTarget, stub_type):
        self.target = target
        self._stub_type = stub_type
        self._metadata = tuple(target.headers.items())
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._channel, self._stub = self._connect()

    def _connect(self):
        options = [("grpc.primary_user_agent", USER_AGENT)]
        compression = _COMPRESSION.get(self.target.compression, grpc.Compression.NoCompression)
        if self.target.insecure:
            channel = grpc.insecure_channel(self.target.endpoint, options=options, compression=compression)
        else:
            channel = grpc.secure_channel(self.target.endpoint, _credentials(self.target), options=options,
                                          compression=compression)
        return channel, self._stub_type(channel)

    def send(self, request) -> Answer:
        if self._closed.is_set():
            return Answer(Kind.FAILED, "the exporter is shut down")
        attempts = Attempts(self.target.timeout_s, self._closed)
        answer = Answer(Kind.DOWN, "no answer")
        for attempt in attempts:
            try:
                return answers.from_grpc_response(self._stub.Export(request, metadata=self._with_file_headers(),
                                                                    timeout=attempts.remaining_s()))
            except grpc.RpcError as error:
                code = error.code()
                trailing = dict(error.trailing_metadata() or ()) if hasattr(error, "trailing_metadata") else {}
                answer = answers.from_grpc_error(code.name, error.details() or "", RETRY_INFO_KEY in trailing)
                if code is grpc.StatusCode.UNAVAILABLE and attempt == 0:
                    self._reconnect()  # as the SDK does: a fresh channel, in case the old one is stuck
                if not attempts.wait(attempt, code.name in RETRYABLE, _retry_delay_s(trailing.get(RETRY_INFO_KEY))):
                    break
                log.debug("OTLP %s export: %s, trying again", self.target.signal, answer.reason)
        return answer

    def _with_file_headers(self) -> tuple[tuple[str, str], ...]:
        """DESK_OTLP_HEADERS_FILE's headers win over the variable's; gRPC metadata keys are lower case."""
        extra = tuple((key.lower(), value) for key, value in headers_file.current().items())
        if not extra:
            return self._metadata
        names = {key for key, _ in extra}
        return tuple(item for item in self._metadata if item[0] not in names) + extra

    def _reconnect(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            old = self._channel
            self._channel, self._stub = self._connect()
        old.close()

    def close(self) -> None:
        """Cancel the call in flight and any retry; later sends fail at once."""
        self._closed.set()
        with self._lock:
            self._channel.close()


def _credentials(target: OtlpTarget) -> grpc.ChannelCredentials:
    """TLS towards the endpoint: the system's roots unless a certificate is given, and a client pair if set."""
    def read(path: str) -> bytes | None:
        return Path(path).read_bytes() if path else None

    return grpc.ssl_channel_credentials(root_certificates=read(target.certificate),
                                        private_key=read(target.client_key),
                                        certificate_chain=read(target.client_certificate))


def _retry_delay_s(retry_info: bytes | None) -> float | None:
    if retry_info is None:
        return None
    delay = RetryInfo.FromString(retry_info).retry_delay
    return delay.seconds + delay.nanos / 1e9
