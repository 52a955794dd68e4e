"""otel-desk-receiver: Sendbird Desk bot webhook logs as OpenTelemetry logs and metrics."""

__version__ = "0.2.0"
