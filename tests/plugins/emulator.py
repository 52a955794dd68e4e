"""Fixtures starting the Desk API emulator (being built)."""
