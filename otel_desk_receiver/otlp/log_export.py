"""Entry records to the OTLP endpoint: the SDK's log exporter called directly, its answer acted on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from opentelemetry._logs import LogRecord, SeverityNumber
# The logs SDK is still underscored (test-infra.md): every import of it stays in this module.
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_desk_receiver import __version__, names
from otel_desk_receiver.core.records import EntryRecord
from otel_desk_receiver.otel_env import export_timeout_s, exporter_protocol
__all__ = ["EntryExporter", "NullEntryExporter", "build_log_exporter"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 512  # measured: ~60,000 records/s through exporter.export() at this size (test-infra.md)


def build_log_exporter(environ: Mapping[str, str] | None = None) -> LogRecordExporter:
    """The SDK's gRPC or HTTP log exporter; endpoint, headers, timeout, compression and TLS come from
    OTEL_* as the SDK reads them (environ only picks the protocol). Opens no connection yet."""
    if exporter_protocol("logs", environ) == "grpc":
        from otel_desk_receiver.otlp.grpc_options import grpc_arguments
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
        return GrpcLogExporter(**grpc_arguments("logs"))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
    # No endpoint argument: only the environment variable gets /v1/logs appended (test-infra.md).
    return HttpLogExporter(timeout=export_timeout_s("logs"))


class EntryExporter:
    """Hands entry records straight to an OTLP log exporter and reports whether the endpoint accepted them.

    ``export`` returns True only if every batch got SUCCESS; it stops at the first failed batch
    (earlier batches of the same call were delivered, and are sent again if the caller retries).
    No BatchLogRecordProcessor: its queue silently dropped half of a large backlog (test-infra.md).
    """

    def __init__(self, exporter: LogRecordExporter, resource: Resource, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 on_failure: Callable[[int], None] | None = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._exporter = exporter
        self._resource = _HashOnceResource(resource.attributes, resource.schema_url)
        self._batch_size = batch_size
        self._on_failure = on_failure
        self._scope = InstrumentationScope(names.SCOPE_NAME, __version__)

    def export(self, records: Sequence[EntryRecord]) -> bool:
        for start in range(0, len(records), self._batch_size):
            batch = [self._to_readable(record) for record in records[start:start + self._batch_size]]
            if not self._export_batch(batch):
                if self._on_failure is not None:
                    self._on_failure(len(batch))
                return False
        return True

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def probe(self) -> bool:
        """Whether the endpoint accepts an export request that carries no record (for `check`)."""
        return self._export_batch([])

    def _export_batch(self, batch: list[ReadableLogRecord]) -> bool:
        try:
            result = self._exporter.export(batch)
        except Exception as exc:  # noqa: BLE001 - an endpoint failure is an answer, never a crash
            # The type only: an exception's text may quote the endpoint URL with its user info.
            logger.warning("OTLP log export of %d records raised %s", len(batch), type(exc).__name__)
            return False
        if result is not LogRecordExportResult.SUCCESS:
            logger.warning("OTLP log export of %d records failed", len(batch))
            return False
        return True

    def _to_readable(self, record: EntryRecord) -> ReadableLogRecord:
        log_record = LogRecord(
            timestamp=record.timestamp_ns,
            observed_timestamp=record.observed_timestamp_ns,
            severity_number=_SEVERITY_NUMBERS[record.severity_number],
            severity_text=record.severity_text,
            body=record.body,
            attributes=dict(record.attributes),
            # The OTLP event_name field: an event.name attribute is deprecated (contract.md).
            event_name=record.event_name,
        )
        return ReadableLogRecord(log_record, resource=self._resource, instrumentation_scope=self._scope)


_SEVERITY_NUMBERS = {number.value: number for number in SeverityNumber}


class _HashOnceResource(Resource):
    """The same resource, hashed once. The SDK's log encoder groups a batch by resource, hashing it for
    every record, and Resource.__hash__ JSON-encodes all its attributes each time: a tenth of the
    receiver's CPU per entry in the profile (benchmarks/RESULTS.md). Equality is Resource's own."""

    def __init__(self, attributes, schema_url: str | None = None):
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


class NullEntryExporter:
    """For OTEL_SDK_DISABLED=true, if the caller chooses it: accepts every record and sends nothing.

    Using it means entries count as delivered although they went nowhere; the caller decides
    whether that is what "SDK disabled" should mean.
    """

    def export(self, records: Sequence[EntryRecord]) -> bool:
        return True

    def shutdown(self) -> None:
        pass
