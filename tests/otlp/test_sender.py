"""The OTLP senders (sender.py, http_sender.py, grpc_sender.py, retry.py): the SDK's retry policy kept, the
endpoint's hint honoured, a permanent refusal sent once, close() cutting a retry short, compression and
DESK_OTLP_HEADERS_FILE on the wire, over both protocols."""

import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc

from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.answer import Kind
from otel_desk_receiver.otlp.headers_file import HeadersFile
from otel_desk_receiver.otlp.log_encoding import LogEncoder
from otel_desk_receiver.otlp.resource import build_resource
from otel_desk_receiver.otlp.sender import build_sender
from tests.harness.entries import entry, logs_request as request
from tests.harness.fixtures.otlp import PROTOCOLS
from tests.harness.wait import wait_until

# Below the first backoff (0.8 to 1.2 s): an answer is retried within it only when the endpoint says how soon.
SHORT_TIMEOUT_MS = "500"
JOIN_S = 10.0


class _Refusing:
    """A minimal OTLP endpoint over either protocol: the first ``refusals`` requests are refused (503 or
    UNAVAILABLE), with a retry hint of 0 s if ``hint``; later ones are accepted."""

    def __init__(self, refusals: int, hint: bool):
        self.refusals, self.hint, self.requests = refusals, hint, 0
        self._lock = threading.Lock()

    def refuse(self) -> bool:
        with self._lock:
            self.requests += 1
            return self.requests <= self.refusals


@pytest.fixture
def refusing_endpoint(monkeypatch):
    """refusing_endpoint(protocol, refusals, hint) -> the endpoint, its URL set in OTEL_EXPORTER_OTLP_ENDPOINT."""
    stops = []

    def start(protocol: str, refusals: int, hint: bool) -> _Refusing:
        endpoint = _Refusing(refusals, hint)
        if protocol == "grpc":
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            logs_grpc.add_LogsServiceServicer_to_server(_Servicer(endpoint), server)
            port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            stops.append(lambda: server.stop(None))
        else:
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            port = httpd.server_address[1]
            stops.append(lambda: (httpd.shutdown(), httpd.server_close()))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", SHORT_TIMEOUT_MS)
        return endpoint

    yield start
    for stop in stops:
        stop()


class _Servicer(logs_grpc.LogsServiceServicer):
    def __init__(self, endpoint: _Refusing):
        self.endpoint = endpoint

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        if self.endpoint.refuse():
            if self.endpoint.hint:
                info = RetryInfo(retry_delay=Duration(seconds=0)).SerializeToString()
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", info),))
            context.abort(grpc.StatusCode.UNAVAILABLE, "busy")
        return logs_pb.ExportLogsServiceResponse()


def _handler(endpoint: _Refusing):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            refused = endpoint.refuse()
            self.send_response(503 if refused else 200)
            if refused and endpoint.hint:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_retry_hint_shorter_than_the_timeout_is_honoured(refusing_endpoint, protocol):
    endpoint = refusing_endpoint(protocol, refusals=2, hint=True)
    sender = build_sender("logs")
    try:
        assert sender.send(request()).kind is Kind.ACCEPTED
    finally:
        sender.close()
    assert endpoint.requests == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_without_a_hint_no_backoff_passes_the_timeout(refusing_endpoint, protocol):
    endpoint = refusing_endpoint(protocol, refusals=1, hint=False)
    sender = build_sender("logs")
    try:
        answer = sender.send(request())
    finally:
        sender.close()
    assert answer.kind is Kind.DOWN and endpoint.requests == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_transient_refusal_is_retried_after_the_backoff(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_TIMEOUT="5000")
    otlp_sink.fail_next(1)  # 503 / UNAVAILABLE once: the next attempt comes after 0.8 to 1.2 s
    sender = build_sender("logs")
    try:
        assert sender.send(request(3)).kind is Kind.ACCEPTED
    finally:
        sender.close()
    assert otlp_sink.count() == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_permanent_refusal_is_sent_once(otlp_sink, otlp_env, protocol):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_TIMEOUT="5000")
    otlp_sink.fail_next(2, http_status=401, grpc_code=grpc.StatusCode.UNAUTHENTICATED, message="who are you")
    sender = build_sender("logs")
    try:
        answer = sender.send(request())
    finally:
        sender.close()
    assert answer.kind is Kind.FAILED and "who are you" in answer.reason
    assert sum(p["refused"] for p in otlp_sink.stats["logs"].values()) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_close_cuts_a_retrying_send_short_and_later_sends_fail_at_once(otlp_sink, otlp_env, protocol):
    """What abort_export does at a shutdown deadline: the send retrying towards a dead endpoint returns now."""
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_TIMEOUT="60000")
    otlp_sink.set_down(True)
    sender = build_sender("logs")
    answers = []
    worker = threading.Thread(target=lambda: answers.append(sender.send(request())), daemon=True)
    worker.start()
    wait_until(lambda: sum(p["refused"] for p in otlp_sink.stats["logs"].values()) >= 1, what="the first attempt")
    sender.close()
    worker.join(JOIN_S)
    assert not worker.is_alive() and answers[0].kind is Kind.DOWN
    assert sender.send(request()).kind is Kind.FAILED


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_compressed_requests_arrive_whole(otlp_sink, otlp_env, protocol, compression):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=compression)
    sender = build_sender("logs")
    try:
        assert sender.send(request(4)).kind is Kind.ACCEPTED
    finally:
        sender.close()
    assert otlp_sink.count() == 4


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_headers_file_wins_over_the_variable(otlp_sink, otlp_env, protocol, tmp_path):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_HEADERS="x-tenant=from-variable,x-other=kept")
    path = tmp_path / "headers"
    path.write_text("X-Tenant=from-file\n")
    headers_file.use(HeadersFile(path))
    sender = build_sender("logs")
    try:
        assert sender.send(request()).kind is Kind.ACCEPTED
    finally:
        sender.close()
        headers_file.use(None)
    headers = otlp_sink.requests("logs")[0].headers
    assert (headers["x-tenant"], headers["x-other"]) == ("from-file", "kept")
