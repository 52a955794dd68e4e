"""The suite's shared machinery, written once and used by every test.

- ``wait``: ``wait_until``, the one poll-until-deadline loop;
- ``ports``: free loopback ports and whether one accepts connections;
- ``process``: ``ServerProcess``, a child process with its log, started and stopped one way;
- ``paths``: where the repository and its test data are;
- ``fixtures``: the pytest fixtures starting real components (Desk emulator, OTLP sink, rotel, the
  Kubernetes API stand-in), loaded by tests/conftest.py.

Constants a test shares with another live here, never in a test module or a conftest.
"""
