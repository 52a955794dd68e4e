"""What `check` looks at: per Desk app, Desk (the bots it would watch) and its state; the OTLP endpoint per
signal."""

import logging
from dataclasses import dataclass, field

from otel_desk_receiver.config import AppSettings, Settings, token_source
from otel_desk_receiver.state.document import DeskIdentity
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import DeskAuthError, DeskError, StateError
from otel_desk_receiver.otel_env import export_endpoint, export_timeout_s, otlp_protocol
from otel_desk_receiver.redaction import escape_controls, redact_url
from otel_desk_receiver.otlp.endpoint_hints import endpoint_hints
from otel_desk_receiver.otlp.log_export import EntryExporter, build_log_exporter
from otel_desk_receiver.otlp.metric_export import build_metric_exporter, probe_metrics
from otel_desk_receiver.otlp.resource import build_resource, instance_key

PROBE_TIMEOUT_S = 2.0  # the whole probe, the SDK's retries included
CHECK_RETRY = RetryPolicy(max_attempts=2, base_s=0.5, cap_s=1.0, max_hint_s=5.0)  # a check reports, it does not wait


@dataclass
class Finding:
    """One line of the report: what was looked at, whether it is fine, and what was seen."""

    subject: str
    ok: bool
    detail: str
    lines: list[str] = field(default_factory=list)


def subject(settings: Settings, app: AppSettings, what: str) -> str:
    """A finding's subject: 'Desk API', or 'Desk API (app 6B0C1A2E)' with the --config file's apps."""
    return f"{what} ({app.where})" if settings.per_app_names else what


def probe_desk(settings: Settings, app: AppSettings) -> tuple[Finding, list[Bot]]:
    """List the app's bots (or read its bot IDs one by one) and say which would be watched. DeskAuthError
    when Desk refuses the token (its line names the setting the token came from)."""
    name = subject(settings, app, "Desk API")
    ids = "bot_ids" if settings.per_app_names else "DESK_BOT_IDS"
    with DeskClient(app.base_url, token_source(app), max_rps=app.max_rps, retry=CHECK_RETRY,
                    timeout_s=10.0) as client:
        try:
            if app.bot_ids is None:
                bots = client.list_bots()
            else:
                bots = [client.get_bot(bot_id) for bot_id in app.bot_ids]
        except DeskAuthError:
            raise
        except DeskError as error:
            return Finding(name, False, f"{redact_url(app.base_url)}: {error}"), []
        watched = [bot for bot in bots if bot.is_custom]
        unreadable = _unreadable_logs(client, watched)
    finding = Finding(name, (bool(watched) or app.bot_ids is None) and not unreadable,
                      f"{redact_url(app.base_url)}: reachable, token accepted; {len(watched)} CUSTOM bot(s) "
                      "to watch"
                      f" of {len(bots)} listed", [describe_bot(bot) for bot in bots])
    if unreadable:
        finding.detail += f"; the webhook logs of {len(unreadable)} bot(s) cannot be read"
        finding.lines += [f"bot {bot_id}: webhook_logs: {error}" for bot_id, error in unreadable]
    if app.bot_ids is not None and len(watched) < len(bots):
        finding.ok = False
        finding.detail += f"; {ids} names bots that are not CUSTOM (they have no webhook logs)"
    return finding, watched


def _unreadable_logs(client: DeskClient, bots: list[Bot]) -> list[tuple[int, str]]:
    """One row of each bot's webhook logs, as `run` reads them: a token that may list the bots but not
    read one bot's logs (403) fails here, not later in `run`."""
    failed = []
    for bot in bots:
        try:
            client.get_webhook_logs_page(bot.id, offset=0, limit=1, order="-id")
        except DeskError as error:
            failed.append((bot.id, str(error)))
    return failed


def describe_bot(bot: Bot) -> str:
    watched = "watch" if bot.is_custom else "skip (not CUSTOM)"
    return (f"{bot.id:>8}  {escape_controls(bot.name)[:28]:<28} {bot.type:<7} {bot.status or '-':<9} "
            f"timeout {bot.timeout_s:>5.0f}s  unread error: {'yes' if bot.is_unread_error else 'no':<3}  {watched}")


def probe_otlp(signal: str) -> Finding:
    """Send one empty export request for the signal (a valid OTLP request that carries no data) and say
    what the endpoint answered: accepted, or why not (connection refused, HTTP status and an excerpt of
    the body, TLS error, an HTTP request to a gRPC port, a redirect, a 200 that is not OTLP), and on a
    failure what is likely wrong with the endpoint's settings (otlp/endpoint_hints.py). Answers
    within about PROBE_TIMEOUT_S: a report, not an export, so no long retries."""
    protocol = otlp_protocol(signal)
    where = f"{redact_url(export_endpoint(signal))} ({protocol})"
    timeout_s = min(PROBE_TIMEOUT_S, export_timeout_s(signal))
    quiet = logging.getLogger("opentelemetry")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # the SDK logs each retry, and may quote a header; the report says why once
    try:
        if signal == "logs":
            resource = build_resource([], instance_key([], "check"))  # an empty export: no app, no record
            answer = EntryExporter(build_log_exporter(timeout_s=timeout_s), resource).probe()
        else:
            answer = probe_metrics(build_metric_exporter(timeout_s=timeout_s))
    finally:
        quiet.setLevel(level)
    if answer.accepted:
        return Finding(f"OTLP {signal}", True, f"{where}: accepted an empty export")
    return Finding(f"OTLP {signal}", False, f"{where}: did not accept an export: {answer.reason}",
                   [f"likely: {hint}" for hint in endpoint_hints(signal)])


def probe_state(settings: Settings, app: AppSettings) -> Finding:
    """The app's saved state: readable and for this app, its bot cursors and pending entries, or none yet."""
    from otel_desk_receiver.ha import setup as ha_setup

    name = subject(settings, app, "State")
    if ha_setup.needs_kubernetes(settings):  # the ConfigMap state and/or the Lease (issue 13)
        ok, detail = ha_setup.describe(settings, {app.label: DeskIdentity.of(app)})  # this app's ConfigMap, Lease
        if settings.state_backend.value == "kubernetes" or not ok:
            return Finding(name, ok, detail)
    if settings.per_app_names:  # one file, a section per app (state/file_backend.py)
        file = StateFile(settings.state_path, [DeskIdentity.of(each) for each in settings.desk_apps])
        store = file.section(app.label)
    else:
        file = store = StateFile(settings.state_path, DeskIdentity.of(app))
    try:
        store.check_writable()
        cursors = store.load()
    except StateError as error:
        return Finding(name, False, str(error))
    try:
        holder = file.holder()  # asked without taking the lock: no .lock file left behind
    except StateError as error:
        return Finding(name, False, str(error))
    if holder is not None:  # a receiver is running on it: fine for it, a problem for a second one
        return Finding(name, True, f"{settings.state_path}: valid, in use by a running receiver ({holder})")
    if not settings.state_path.exists():
        return Finding(name, True, f"{settings.state_path}: none yet; each bot starts "
                       + (f"{app.backfill_as_given} back" if app.backfill_s else "from now"))
    if not cursors and settings.per_app_names:
        return Finding(name, True, f"{settings.state_path}: valid, nothing saved for {app.where} yet; each bot "
                       "starts " + (f"{app.backfill_as_given} back" if app.backfill_s else "from now"))
    pending = sum(len(c.pending) for c in cursors.values())
    return Finding(name, True, f"{settings.state_path}: valid, {len(cursors)} bot cursor(s), "
                   f"{pending} entr{'y' if pending == 1 else 'ies'} pending")
