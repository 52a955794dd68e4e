"""Command line: parses arguments, dispatches to a command, maps errors to exit codes; no logic."""

import argparse
import importlib
import os
import sys
import textwrap
from pathlib import Path

from otel_desk_receiver import __version__
from otel_desk_receiver.errors import (
    ConfigError,
    DeskAuthError,
    FencedError,
    ReceiverError,
    StateError,
    StateUnavailableError,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_INTERRUPTED = 130  # Ctrl-C before run's own handler was in place (the shell's 128 + SIGINT)

# What each exit code means, for --help (every code main returns is here).
EXIT_MEANINGS = {
    EXIT_OK: "all is well: run stopped by SIGTERM or SIGINT with the state saved; run --once delivered everything "
             "it read and its counters were accepted; check found no problem",
    EXIT_FAILURE: "Desk, the OTLP endpoint or the Kubernetes API failed or could not be reached, or another receiver "
                  "leads: the last lines logged say which",
    EXIT_CONFIG: "a setting or the state is wrong: one line per problem, naming the setting",
    EXIT_AUTH: "Desk rejected the API token (DESK_API_TOKEN or DESK_API_TOKEN_FILE)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C) before the receiver had started",
}
HELP_WIDTH = 100

# Most specific first: the first matching class decides the exit code.
EXIT_CODES: tuple[tuple[type[ReceiverError], int], ...] = (
    (ConfigError, EXIT_CONFIG),
    (StateUnavailableError, EXIT_FAILURE),  # the Kubernetes API did not answer: nothing wrong with the settings
    (FencedError, EXIT_FAILURE),  # another receiver leads now
    (StateError, EXIT_CONFIG),
    (DeskAuthError, EXIT_AUTH),
    (ReceiverError, EXIT_FAILURE),
)

# command -> (module with add_arguments(parser) and main(args) -> int, one-line help). Only the module of
# the command being run is imported: `run` and `check` load nothing of the devkit (emulator, demo).
COMMANDS = {
    "run": ("otel_desk_receiver.commands.run", "poll Desk and export over OTLP (forever, or --once)"),
    "check": ("otel_desk_receiver.commands.check", "validate settings, reach Desk and the OTLP endpoint, report"),
    "emulator": ("otel_desk_receiver.devkit.emulator.command", "serve a Desk API emulator with generated traffic"),
    "demo": ("otel_desk_receiver.devkit.demo.command", "emulator + receiver + an embedded OTLP endpoint, live"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is imported and given its options (the
    others keep their one-line help), without it every command is."""
    parser = argparse.ArgumentParser(
        prog="otel-desk-receiver",
        description="Polls Sendbird Desk bot webhook logs and exports them as OpenTelemetry logs and metrics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else next((arg for arg in argv if not arg.startswith("-")), "")
    for name, (module_name, help_text) in COMMANDS.items():
        if chosen is not None and name != chosen:
            commands.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=help_text, description=_paragraphs(module.__doc__),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """--config FILE: YAML with the DESK_* settings in lower case without DESK_ (a DESK_* variable wins) and
    OTEL_* variables under their own names (the file wins over the environment for those: config/load.py)."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE",
        help="YAML file with the DESK_* settings in lower case without the DESK_ prefix (page_size: 200; a DESK_* "
             "variable wins over its key) and OTEL_* variables under their own names (OTEL_EXPORTER_OTLP_ENDPOINT: "
             "...; the file's value wins over the environment's)",
    )


def exit_codes_help() -> str:
    """The exit codes and their meanings, for a command's --help."""
    lines = ["exit codes:"]
    for code, meaning in sorted(EXIT_MEANINGS.items()):
        lines += textwrap.wrap(meaning, HELP_WIDTH - 2, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7,
                               break_on_hyphens=False)
    return "\n".join(lines)


def _paragraphs(text: str | None) -> str | None:
    """A docstring refilled paragraph by paragraph (the help keeps the paragraphs; epilogs stay as written)."""
    if not text:
        return text
    return "\n\n".join(textwrap.fill(" ".join(p.split()), 79) for p in text.strip().split("\n\n"))


def exit_code_for(error: ReceiverError) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        for line in error.problems:
            print(f"configuration error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except ReceiverError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
