"""The OTLP/HTTP receiving end of OtlpSink: binary protobuf on /v1/logs and /v1/metrics, with its fault modes."""

from __future__ import annotations

import gzip
import socket
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

from otel_desk_receiver.devkit.sink import faults
from otel_desk_receiver.devkit.sink.decode import LOGS, METRICS
from otel_desk_receiver.devkit.sink.faults import Reply

HTTP = "http"
_REQUEST_TYPES = {LOGS: logs_pb.ExportLogsServiceRequest, METRICS: metrics_pb.ExportMetricsServiceRequest}
_HTTP_PATHS = {"/v1/logs": LOGS, "/v1/metrics": METRICS}
_PROTOBUF = "application/x-protobuf"


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sink):
        self.sink = sink
        self.connections: set[socket.socket] = set()
        super().__init__(address, _OtlpHttpHandler)

    def handle_error(self, request, client_address) -> None:
        # A client that vanishes mid-request (kill -9 tests, a stopped exporter) is normal here;
        # anything else still gets socketserver's traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        # Keep-alive connections outlive server_close() in daemon threads: cut them, or a stopped
        # sink would go on answering the exporter's pooled connection.
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def with_partial(response, reply: Reply):
    if reply.rejected:
        field = "rejected_log_records" if hasattr(response.partial_success, "rejected_log_records") \
            else "rejected_data_points"
        setattr(response.partial_success, field, reply.rejected)
        response.partial_success.error_message = reply.message
    return response


_GRPC_TO_RPC_CODE = {grpc.StatusCode.UNAVAILABLE: code_pb2.UNAVAILABLE,
                     grpc.StatusCode.INVALID_ARGUMENT: code_pb2.INVALID_ARGUMENT,
                     grpc.StatusCode.RESOURCE_EXHAUSTED: code_pb2.RESOURCE_EXHAUSTED}


def _status_body(code: int, message: str) -> bytes:
    return status_pb2.Status(code=code, message=message).SerializeToString()


class _OtlpHttpHandler(BaseHTTPRequestHandler):
    """OTLP/HTTP binary protobuf, as the spec's "OTLP/HTTP" section describes: 200 with an empty
    Export*ServiceResponse, or an error status with a google.rpc.Status body."""

    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's requests session reuses its connection
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        signal = _HTTP_PATHS.get(self.path.split("?", 1)[0])
        if signal is None:
            return self._reply(404, _status_body(code_pb2.NOT_FOUND, f"no OTLP signal at {self.path}"))
        if self.headers.get("Content-Type", _PROTOBUF).split(";")[0].strip() != _PROTOBUF:
            return self._reply(415, _status_body(code_pb2.INVALID_ARGUMENT, "only application/x-protobuf"))
        try:
            raw = _decompress(body, self.headers.get("Content-Encoding", ""))
            request = _REQUEST_TYPES[signal].FromString(raw)
        except (OSError, EOFError, zlib.error, DecodeError, ValueError) as exc:
            return self._reply(400, _status_body(code_pb2.INVALID_ARGUMENT, f"undecodable body: {type(exc).__name__}"))
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.sink._receive(signal, HTTP, request, headers, len(raw))
        if reply.kind == "redirect":
            return self._reply(reply.http_status, b"", extra=(("Location", reply.location),))
        if reply.kind == "html":
            return self._reply(200, faults.HTML_PAGE, content_type="text/html; charset=utf-8")
        if reply.kind == "error":
            code = _GRPC_TO_RPC_CODE.get(reply.grpc_code, code_pb2.UNKNOWN)
            return self._reply(reply.http_status, _status_body(code, reply.message))
        response = logs_pb.ExportLogsServiceResponse() if signal == LOGS else metrics_pb.ExportMetricsServiceResponse()
        self._reply(200, with_partial(response, reply).SerializeToString())

    def _reply(self, status: int, body: bytes, *, content_type: str = _PROTOBUF, extra=()) -> None:
        drip_s = self.server.sink.drip_s
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if not drip_s else len(body) + 64))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not drip_s:
            self.wfile.write(body)
            return
        # A dripping answer: each byte within any read timeout, the whole far beyond any deadline.
        for byte in body + b"\0" * 64:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.sink.stopped.wait(drip_s) or self.server.sink.drip_s == 0:
                break

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        """Silent: one line per request would drown the demo and the benchmark."""


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")
