"""The command line loads only what the command it runs needs: `run` and `check` never import the devkit,
nor gRPC unless a signal's protocol is grpc."""

import json
import re
import subprocess
import sys

import pytest

# Builds the parser for the command, then what the command builds before it reads anything.
PROBE = """
import json, sys
from otel_desk_receiver.cli import build_parser
args = build_parser(sys.argv[1:]).parse_args(sys.argv[1:])
if args.command == "run":
    from otel_desk_receiver.config import load_settings
    from otel_desk_receiver.app import Receiver
    Receiver(load_settings()).close()
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(tmp_path, argv: list[str], **env: str) -> list[str]:
    environment = {"PATH": "/usr/bin:/bin", "DESK_API_URL": "http://127.0.0.1:9/platform/v1",
                   "DESK_API_TOKEN": "token-for-import-test", "DESK_STATE_PATH": str(tmp_path / "state.json"),
                   "DESK_HEALTH_ADDR": "", **env}
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=environment, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


@pytest.mark.parametrize("argv", [["run", "--once"], ["check"]], ids=["run", "check"])
def test_run_and_check_load_no_devkit_and_no_grpc_over_http(tmp_path, argv):
    modules = loaded_modules(tmp_path, argv)
    assert [m for m in modules if m.startswith("otel_desk_receiver.devkit")] == []
    assert [m for m in modules if m == "grpc" or m.startswith(("grpc.", "opentelemetry.exporter.otlp.proto.grpc"))] == []
    assert "otel_desk_receiver.commands.run" in modules or "otel_desk_receiver.commands.check" in modules


def test_run_loads_grpc_when_a_signal_asks_for_it(tmp_path):
    modules = loaded_modules(tmp_path, ["run", "--once"], OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="grpc")
    assert "grpc" in modules
    assert [m for m in modules if m.startswith("otel_desk_receiver.devkit")] == []


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "otel_desk_receiver", "--help"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    for command in ("run", "check", "emulator", "demo"):
        assert command in out


def test_run_help_lists_every_setting_and_every_exit_code(capsys):
    """`run --help` ends with every setting of the Settings model (its variable, default and description) and
    every exit code cli.py returns, with its meaning."""
    from otel_desk_receiver import cli
    from otel_desk_receiver.config import Settings, env_name

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    settings = text.split("\nsettings ", 1)[1]
    named = [line.split()[0] for line in settings.splitlines() if line.startswith("  DESK_")]
    assert named == [env_name(field) for field in Settings.model_fields]
    poll = next(line for line in settings.splitlines() if line.startswith("  DESK_POLL_INTERVAL "))
    assert "default 30" in poll and Settings.model_fields["poll_interval"].description.split()[0] in poll, poll
    codes = text.split("\nexit codes:\n", 1)[1].splitlines()
    assert [int(m.group(1)) for m in map(re.compile(r"^  (\d+) +\S").match, codes) if m] == sorted(cli.EXIT_MEANINGS)
    assert {cli.EXIT_OK, cli.EXIT_FAILURE, cli.EXIT_CONFIG, cli.EXIT_AUTH, cli.EXIT_INTERRUPTED} == set(cli.EXIT_MEANINGS)
    assert all(len(line) <= 100 for line in text.splitlines()), text
