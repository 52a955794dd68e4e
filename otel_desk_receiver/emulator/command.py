"""Placeholder for the 'emulator' command (being built)."""


def add_arguments(parser):
    pass


def main(args):
    raise SystemExit("'emulator' is not built yet")
