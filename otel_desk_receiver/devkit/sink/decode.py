"""Decoding of OTLP export requests into plain Python records and data points (for OtlpSink)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LOGS, METRICS = "logs", "metrics"
_TEMPORALITY = {1: "delta", 2: "cumulative"}


@dataclass(frozen=True)
class SinkLogRecord:
    """One OTLP log record as it arrived, in Python values."""

    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    time_unix_nano: int
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    event_name: str
    body: Any
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SinkMetricPoint:
    """One OTLP data point as it arrived; kind is sum, gauge, histogram, exponential_histogram or summary."""

    name: str
    unit: str
    kind: str
    temporality: str | None  # delta | cumulative | None (gauges)
    attributes: dict[str, Any]
    value: float | int | None  # sum and gauge points
    count: int | None  # histogram points
    sum: float | None
    bucket_counts: tuple[int, ...]
    explicit_bounds: tuple[float, ...]
    time_unix_nano: int
    resource: dict[str, Any]
    start_time_unix_nano: int = 0  # a cumulative series restarts when this changes


@dataclass(frozen=True)
class SinkRequest:
    """One accepted export request: its signal, protocol, request headers (lower-case names) and size."""

    signal: str
    protocol: str
    headers: dict[str, str]
    size_bytes: int
    items: int


def _value(any_value) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(item) for item in any_value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def _attrs(key_values) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


def decode_log_records(request) -> Iterator[SinkLogRecord]:
    """The records of an ExportLogsServiceRequest, in order."""
    for resource_logs in request.resource_logs:
        resource = _attrs(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for r in scope_logs.log_records:
                yield SinkLogRecord(
                    resource, scope.name, scope.version, r.time_unix_nano, r.observed_time_unix_nano,
                    r.severity_number, r.severity_text, r.event_name, _value(r.body), _attrs(r.attributes),
                )


def decode_metric_points(request) -> Iterator[SinkMetricPoint]:
    """The data points of an ExportMetricsServiceRequest, in order."""
    for resource_metrics in request.resource_metrics:
        resource = _attrs(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                temporality = _TEMPORALITY.get(getattr(data, "aggregation_temporality", 0))
                for p in data.data_points:
                    number = kind in ("sum", "gauge")
                    yield SinkMetricPoint(
                        metric.name, metric.unit, kind, temporality, _attrs(p.attributes),
                        _number(p) if number else None,
                        None if number else p.count, None if number else p.sum,
                        tuple(getattr(p, "bucket_counts", ())), tuple(getattr(p, "explicit_bounds", ())),
                        p.time_unix_nano, resource, getattr(p, "start_time_unix_nano", 0),
                    )


def _number(point) -> float | int | None:
    kind = point.WhichOneof("value")
    return getattr(point, kind) if kind else None


def without_records(request, rejected) -> int:
    """Remove from an ExportLogsServiceRequest, in place, every record for which rejected(SinkLogRecord)
    is true; how many were removed."""
    removed = 0
    for resource_logs in request.resource_logs:
        resource = _attrs(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for index in reversed(range(len(scope_logs.log_records))):
                r = scope_logs.log_records[index]
                record = SinkLogRecord(resource, scope.name, scope.version, r.time_unix_nano,
                                       r.observed_time_unix_nano, r.severity_number, r.severity_text, r.event_name,
                                       _value(r.body), _attrs(r.attributes))
                if rejected(record):
                    del scope_logs.log_records[index]
                    removed += 1
    return removed


def count_items(signal: str, request) -> int:
    if signal == LOGS:
        return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    return sum(len(getattr(m, m.WhichOneof("data")).data_points)
               for r in request.resource_metrics for s in r.scope_metrics for m in s.metrics)
