"""EntryRecord: one webhook log entry as an OpenTelemetry log record, in plain values (no SDK types)."""

from collections.abc import Mapping
from dataclasses import dataclass

AttributeValue = str | int | float | bool


@dataclass(frozen=True)
class EntryRecord:
    """Everything an OTLP log record carries for one settled entry; ``export`` turns it into SDK types."""

    timestamp_ns: int
    observed_timestamp_ns: int
    severity_number: int  # opentelemetry._logs.SeverityNumber value: INFO 9, WARN 13, ERROR 17
    severity_text: str
    event_name: str
    body: str
    attributes: Mapping[str, AttributeValue]
