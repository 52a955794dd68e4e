"""The suite's shared machinery, written once and used by every test.

- ``wait``: ``wait_until``, the one poll-until-deadline loop;
- ``ports``: free loopback ports and whether one accepts connections;
- ``process``: ``ServerProcess``, a child process with its log, started and stopped one way;
- ``paths``: where the repository and its test data are;
- ``fixtures``: the pytest fixtures starting real components (Desk emulator, OTLP sink, rotel, the
  Kubernetes API stand-in), loaded by tests/conftest.py;
- ``receiver``: an in-process Receiver aimed at the emulator, and what the sink or /metrics got from it;
- ``receiver_process``: the receiver as a child process (``ReceiverProcess``, ``run_command``, its environment);
- ``clock``: the instants tests freeze the emulator's clock at;
- ``entries``: an EntryRecord builder for the export tests;
- ``otlp_http``: a raw OTLP/HTTP logs request and a POST of it, for the sink's tests;
- ``sample_payload``: the sample Desk payload, settled and mapped, for the golden tests;
- ``secret_volume``: a Kubernetes Secret volume on disk, rotated as the kubelet does;
- ``yaml_bomb``: a YAML alias bomb, for the bounded reading of ``--config``;
- ``test_harness``: the rules every other test module keeps, and tests of the pieces above.

Constants a test shares with another live here, never in a test module or a conftest.
"""
