"""Desk API emulator (being built)."""
