"""grpc_sender.py: RetryInfo read from the trailing metadata, and TLS towards a plain-text port an answer."""

from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo

from otel_desk_receiver.otlp.answer import Kind
from otel_desk_receiver.otlp.grpc_sender import _retry_delay_s
from otel_desk_receiver.otlp.sender import build_sender
from tests.harness.entries import logs_request as request


def test_retry_info_is_seconds_and_nanos():
    info = RetryInfo(retry_delay=Duration(seconds=1, nanos=500_000_000)).SerializeToString()
    assert _retry_delay_s(info) == 1.5
    assert _retry_delay_s(None) is None


def test_tls_towards_a_plain_text_port_is_an_answer_not_an_exception(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "grpc", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.grpc_endpoint.replace("http://", "https://"),
             OTEL_EXPORTER_OTLP_TIMEOUT="500")
    sender = build_sender("logs")
    try:
        answer = sender.send(request())
    finally:
        sender.close()
    assert answer.kind is Kind.DOWN and answer.reason.startswith("gRPC UNAVAILABLE")
    assert otlp_sink.count() == 0
