"""The running service: assembly, the poll loop, health endpoints, the receiver's own telemetry."""
