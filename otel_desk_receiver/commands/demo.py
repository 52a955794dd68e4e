"""Placeholder for the 'demo' command (being built)."""


def add_arguments(parser):
    pass


def main(args):
    raise SystemExit("'demo' is not built yet")
