"""Placeholder for the 'check' command (being built)."""


def add_arguments(parser):
    pass


def main(args):
    raise SystemExit("'check' is not built yet")
