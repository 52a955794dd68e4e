"""The sink's OTLP/HTTP receiving end: answers as OTLP/HTTP specifies (protobuf, gzip, status bodies, 404, 415,
400), and a client vanishing mid-request is no error."""

import gzip
import socket
import struct
import threading

from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from tests.harness.otlp_http import POST_TIMEOUT_S, post, raw_logs_request
from tests.harness.wait import wait_until


def test_http_answers_as_otlp_http_specifies(otlp_sink):
    status, headers, body = post(otlp_sink.http_endpoint + "/v1/logs", gzip.compress(raw_logs_request()),
                                 **{"Content-Encoding": "gzip"})
    assert (status, headers["Content-Type"]) == (200, "application/x-protobuf")
    assert ExportLogsServiceResponse.FromString(body) == ExportLogsServiceResponse()
    assert otlp_sink.log_records()[0].attributes == {"k": 7}

    otlp_sink.fail_next(1)
    status, headers, body = post(otlp_sink.http_endpoint + "/v1/logs", raw_logs_request())
    assert (status, headers["Content-Type"]) == (503, "application/x-protobuf")
    assert status_pb2.Status.FromString(body).message == "refused by OtlpSink"

    assert post(otlp_sink.http_endpoint + "/v1/logs", b"\xff\xff\xff")[0] == 400
    assert post(otlp_sink.http_endpoint + "/v1/traces", raw_logs_request())[0] == 404
    assert post(otlp_sink.http_endpoint + "/v1/logs", b"{}", **{"Content-Type": "application/json"})[0] == 415
    assert len(otlp_sink.log_records()) == 1


def test_a_vanishing_client_prints_nothing(otlp_sink, capfd):
    with socket.create_connection(("127.0.0.1", otlp_sink.http_port)) as client:
        client.sendall(b"POST /v1/logs HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    wait_until(lambda: not any("process_request_thread" in t.name for t in threading.enumerate()), POST_TIMEOUT_S,
               "its handler to be done", poll_s=0.01)
    assert post(otlp_sink.http_endpoint + "/v1/logs", raw_logs_request())[0] == 200
    assert capfd.readouterr().err == ""
