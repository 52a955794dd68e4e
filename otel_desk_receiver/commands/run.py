"""Placeholder for the 'run' command (being built)."""


def add_arguments(parser):
    pass


def main(args):
    raise SystemExit("'run' is not built yet")
