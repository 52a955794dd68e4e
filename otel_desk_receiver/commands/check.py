"""Validate the settings, reach the Desk API (list the bots it would watch) and the OTLP endpoint for
logs and metrics, look at the state file and the health address, and print what was found, with a
warning for each variable that looks misspelt; with the --config file's apps, a Desk and a state
finding per app. Exit 0 only if all is well (warnings alone do not fail): 2 for bad settings, 3 when
Desk rejects a token (that app's finding says which), 1 for anything else unreachable or wrong."""

import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from otel_desk_receiver.cli import EXIT_AUTH, EXIT_FAILURE, EXIT_OK, add_config_argument
from otel_desk_receiver.config import SECRET_FIELDS, AppSettings, Settings, config_warnings, env_name, load_settings
from otel_desk_receiver.config.rules import SINGLE_APP_KEYS
from otel_desk_receiver.errors import DeskAuthError
from otel_desk_receiver.otel_env import MASK, sdk_disabled, shown_variables, timeout_unit_warnings
from otel_desk_receiver.otel_env import metrics_exporters, prometheus_address
from otel_desk_receiver.redaction import protect_output, redact_url
from otel_desk_receiver.commands.diagnostics import Finding, probe_desk, probe_otlp, probe_state, subject
from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.headers_file import HeadersFile
from otel_desk_receiver.runtime import budget



def add_arguments(parser) -> None:
    add_config_argument(parser)


def main(args) -> int:
    protect_output()  # a peer's answer quoted in the report may echo a secret: masked in every line
    settings = load_settings(args.config)
    headers_file.use(HeadersFile(settings.otlp_headers_file) if settings.otlp_headers_file else None)
    out = sys.stdout
    print_settings(settings, out)
    warnings = config_warnings(settings=settings) + timeout_unit_warnings()
    for line in warnings:
        print(f"\n[warn] {line}", file=out)
    if settings.per_app_names:
        findings, refused = [], []
        for index, app in enumerate(settings.desk_apps):
            findings += [probe_app(settings, app, f"apps[{index}].max_rps", warnings, out, refused),
                         probe_state(settings, app)]
        findings.append(probe_health(settings))
    else:  # as before the apps file: a refused token ends check (exit 3, its line on stderr)
        findings, refused = [probe_state(settings, settings.desk_apps[0]), probe_health(settings)], None
        findings.append(probe_app(settings, settings.desk_apps[0], "DESK_MAX_RPS", warnings, out, refused))
    if sdk_disabled():
        findings.append(Finding("OTLP", True, "OTEL_SDK_DISABLED=true: nothing would be exported"))
    else:
        exporters = metrics_exporters()  # OTEL_METRICS_EXPORTER: metrics pushed over OTLP, scraped, or both
        findings += [probe_otlp("logs")] + ([probe_otlp("metrics")] if "otlp" in exporters else [])
        findings += [probe_prometheus()] if "prometheus" in exporters else []
    for finding in findings:
        print(f"\n[{'ok' if finding.ok else 'FAIL'}] {finding.subject}: {finding.detail}", file=out)
        for line in finding.lines:
            print(f"    {line}", file=out)
    failed = [f.subject for f in findings if not f.ok]
    print(f"\n{verdict(failed, warnings)}", file=out)
    return EXIT_AUTH if refused else EXIT_FAILURE if failed else EXIT_OK


def probe_app(settings: Settings, app: AppSettings, rate_setting: str, warnings: list[str], out,
              refused: list[str] | None) -> Finding:
    """One app's Desk finding: its bots and its request budget. A token Desk refuses is a failed finding, the
    app added to ``refused``; with ``refused`` None (the single app) DeskAuthError is raised."""
    try:
        desk, watched = probe_desk(settings, app)
    except DeskAuthError as error:
        if refused is None:
            raise
        refused.append(app.label)
        return Finding(subject(settings, app, "Desk API"), False, f"{redact_url(app.base_url)}: {error}")
    fits, budget_line = budget.describe(len(watched), app.max_rps, settings.poll_interval, rate_setting)
    if not fits:
        warnings.append(f"{rate_setting}: {budget_line}")
        print(f"\n[warn] {rate_setting}: {budget_line}", file=out)
    desk.lines.append(budget_line)
    return desk


def verdict(failed: list[str], warnings: list[str]) -> str:
    """The last line: what failed, and the warnings by variable name, never a bare "all passed" over them."""
    named = [line.split(":", 1)[0] for line in warnings]
    noted = f"{len(named)} warning{'s' if len(named) != 1 else ''} ({', '.join(named)})" if named else ""
    if failed:
        return f"problems: {', '.join(failed)}" + (f"; {noted}" if noted else "")
    return f"all checks passed, with {noted}: see [warn] above" if noted else "all checks passed"


def probe_health(settings: Settings) -> Finding:
    """Bind DESK_HEALTH_ADDR as `run` would (same server class), then let it go at once."""
    address = settings.health_host_port
    if address is None:
        return Finding("Health", True, "DESK_HEALTH_ADDR is empty: health endpoints off")
    try:
        ThreadingHTTPServer(address, BaseHTTPRequestHandler).server_close()
    except OSError as error:
        running = "; a receiver already answers /healthz there" if _answers_healthz(address[1]) else ""
        return Finding("Health", False, f"DESK_HEALTH_ADDR: cannot listen on {settings.health_addr} "
                       f"({error.strerror or error}){running}; pick a free port, or empty to turn health off")
    return Finding("Health", True, f"DESK_HEALTH_ADDR {settings.health_addr}: free, /healthz, /readyz and the "
                   "status page (/) can listen")


def probe_prometheus() -> Finding:
    """Bind the Prometheus endpoint's address as `run` would, then let it go at once."""
    host, port = prometheus_address()
    try:
        ThreadingHTTPServer((host, port), BaseHTTPRequestHandler).server_close()
    except OSError as error:
        return Finding("Prometheus", False, f"OTEL_EXPORTER_PROMETHEUS_HOST/PORT: cannot listen on {host}:{port} "
                       f"({error.strerror or error}); pick a free port")
    return Finding("Prometheus", True, f"metrics would be served for a scrape at http://{host}:{port}/metrics")


def print_settings(settings: Settings, out) -> None:
    print("Settings (secrets masked):", file=out)
    for field in Settings.model_fields:
        if settings.per_app_names and field in SINGLE_APP_KEYS:
            continue  # set per app: listed below
        value = settings.as_given(field) or getattr(settings, field)  # a duration as written: 10m
        shown = (MASK if value else "(not set)") if field in SECRET_FIELDS else _plain(value)
        print(f"  {env_name(field):<28} {shown}", file=out)
    for name, shown in shown_variables():
        print(f"  {name:<28} {shown}", file=out)
    if settings.per_app_names:
        print("Apps (--config apps):", file=out)
        for app in settings.desk_apps:
            print(f"  {describe_app(app)}", file=out)


def describe_app(app: AppSettings) -> str:
    """'app eu: https://...; token file /var/run/...; bots 12,14; max_rps 4; backfill 2h', the token masked."""
    token = f"token file {app.api_token_file}" if app.api_token_file is not None else f"token {MASK}"
    bots = f"bots {_plain(app.bot_ids)}" if app.bot_ids is not None else "every CUSTOM bot"
    backfill = app.backfill_as_given if app.backfill_s else "none (from now)"
    return f"{app.where}: {redact_url(app.base_url)}; {token}; {bots}; max_rps {app.max_rps:g}; backfill {backfill}"


def _plain(value) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(empty)"
    return redact_url(str(getattr(value, "value", value)))  # DESK_API_URL may carry user:password@


def _answers_healthz(port: int) -> bool:
    """Whether the port taken is a running receiver's (check run inside its container, say)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1.0) as answer:
            return "bots" in json.loads(answer.read() or b"{}")
    except (OSError, ValueError):
        return False
