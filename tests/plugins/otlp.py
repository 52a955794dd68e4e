"""Fixtures starting real OTLP receiving ends (being built)."""
