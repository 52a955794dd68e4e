"""A raw OTLP/HTTP request, built and POSTed by hand, for the tests of the sink's receiving end."""

import urllib.error
import urllib.request

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

POST_TIMEOUT_S = 10.0


def raw_logs_request(body: str = "raw") -> bytes:
    """A serialized ExportLogsServiceRequest with one record: ``body`` and the attribute k=7."""
    record = LogRecord(time_unix_nano=5, body=AnyValue(string_value=body),
                       attributes=[KeyValue(key="k", value=AnyValue(int_value=7))])
    request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])])
    return request.SerializeToString()


def post(url: str, body: bytes, **headers: str) -> tuple[int, dict, bytes]:
    """POST ``body`` as protobuf (unless headers say otherwise): (status, headers, body), error answers too."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-protobuf", **headers})
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()
