"""The OTLP side: resource, the entry log exporter, metric export."""
