"""The devkit: what tests, demos and docs use to exercise the receiver; never imported by `run` or `check`."""
