"""The composition root: build.py builds the receiver's parts from Settings in named steps, receiver.py runs them."""

from otel_desk_receiver.app.receiver import Receiver

__all__ = ["Receiver"]
