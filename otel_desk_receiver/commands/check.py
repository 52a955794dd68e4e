"""Validate the settings, reach the Desk API (list the bots it would watch) and the OTLP endpoint for
logs and metrics, look at the state file, and print what was found. Exit 0 only if all is well:
2 for bad settings, 3 when Desk rejects the token, 1 for anything else unreachable or wrong."""

import sys

from otel_desk_receiver.cli import EXIT_FAILURE, EXIT_OK, add_config_argument
from otel_desk_receiver.config import SECRET_FIELDS, Settings, env_name, load_settings
from otel_desk_receiver.otel_env import MASK, sdk_disabled, shown_variables
from otel_desk_receiver.commands.diagnostics import Finding, probe_desk, probe_otlp, probe_state



def add_arguments(parser) -> None:
    add_config_argument(parser)


def main(args) -> int:
    settings = load_settings(args.config)
    out = sys.stdout
    print_settings(settings, out)
    findings = [probe_state(settings)]
    desk, _watched = probe_desk(settings)
    findings.append(desk)
    if sdk_disabled():
        findings.append(Finding("OTLP", True, "OTEL_SDK_DISABLED=true: nothing would be exported"))
    else:
        findings += [probe_otlp("logs"), probe_otlp("metrics")]
    for finding in findings:
        print(f"\n[{'ok' if finding.ok else 'FAIL'}] {finding.subject}: {finding.detail}", file=out)
        for line in finding.lines:
            print(f"    {line}", file=out)
    failed = [f.subject for f in findings if not f.ok]
    print(f"\n{'all checks passed' if not failed else 'problems: ' + ', '.join(failed)}", file=out)
    return EXIT_FAILURE if failed else EXIT_OK


def print_settings(settings: Settings, out) -> None:
    print("Settings (secrets masked):", file=out)
    for field in Settings.model_fields:
        value = getattr(settings, field)
        shown = (MASK if value else "(not set)") if field in SECRET_FIELDS else _plain(value)
        print(f"  {env_name(field):<28} {shown}", file=out)
    for name, shown in shown_variables():
        print(f"  {name:<28} {shown}", file=out)


def _plain(value) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(empty)"
    return str(getattr(value, "value", value))
