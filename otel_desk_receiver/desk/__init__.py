"""The receiver's only door to the Desk API."""
