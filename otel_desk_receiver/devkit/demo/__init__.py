"""The demo command: emulator + receiver + embedded OTLP endpoint, with a live terminal view."""
