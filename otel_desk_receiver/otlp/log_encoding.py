"""Entry records to an OTLP ExportLogsServiceRequest, with opentelemetry-proto's public messages.

Not the SDK's encode_logs: the logs SDK and its encoder are still underscored (opentelemetry.sdk._logs,
…proto.common._log_encoder) and their record types changed between releases. The bytes are those
encode_logs made for the same records (tests/otlp/test_golden_otlp.py): one ResourceLogs, one ScopeLogs,
attributes in their order. The resource and scope are encoded once per exporter, not once per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource

from otel_desk_receiver.pipeline.records import EntryRecord


class LogEncoder:
    """Encodes batches of entry records under one resource (an SDK Resource) and one instrumentation scope."""

    def __init__(self, resource, scope_name: str, scope_version: str):
        self._resource = ProtoResource(attributes=encode_attributes(resource.attributes))
        self._resource_schema_url = resource.schema_url
        self._scope = InstrumentationScope(name=scope_name, version=scope_version)

    def encode(self, records: Sequence[EntryRecord]) -> ExportLogsServiceRequest:
        """The request carrying ``records``; with none, an empty request (the probe `check` sends)."""
        if not records:
            return ExportLogsServiceRequest()
        scope_logs = ScopeLogs(scope=self._scope, log_records=[encode_record(record) for record in records])
        return ExportLogsServiceRequest(resource_logs=[
            ResourceLogs(resource=self._resource, scope_logs=[scope_logs], schema_url=self._resource_schema_url)])


def encode_record(record: EntryRecord) -> LogRecord:
    return LogRecord(
        time_unix_nano=record.timestamp_ns,
        observed_time_unix_nano=record.observed_timestamp_ns,
        severity_number=record.severity_number,
        severity_text=record.severity_text,
        body=encode_value(record.body),
        attributes=encode_attributes(record.attributes),
        # OTLP's LogRecord.event_name field (OTLP 1.5): the semantic conventions deprecate an event.name attribute.
        event_name=record.event_name,
    )


def encode_attributes(attributes: Mapping[str, Any] | None) -> list[KeyValue]:
    return [KeyValue(key=key, value=encode_value(value)) for key, value in (attributes or {}).items()]


def encode_value(value: Any) -> AnyValue:
    """An attribute or body value as OTLP's AnyValue (bool before int: a bool is an int in Python)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Mapping):
        return AnyValue(kvlist_value=KeyValueList(values=encode_attributes({str(k): v for k, v in value.items()})))
    if isinstance(value, Sequence):
        return AnyValue(array_value=ArrayValue(values=[encode_value(item) for item in value]))
    raise TypeError(f"cannot encode a {type(value).__name__} as an OTLP value")
