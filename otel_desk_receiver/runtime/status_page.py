"""The status page at the health port's /: version, uptime, role and per bot its last read, lag, pending
entries and last error; HTML for a person, JSON for a script (the Collector's zPages in small). Read-only,
and it shows no secret: the settings are not on it, and every text that comes from outside (an error, a bot
name) goes through redaction.py as the log lines do."""

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from otel_desk_receiver import __version__
from otel_desk_receiver.redaction import escape_controls, held_secrets, redact_text
from otel_desk_receiver.runtime.selfmetrics import BotGauges
from otel_desk_receiver.units import NS_PER_S

NO_ELECTION = "single"  # the role shown without leader election: the one receiver polls


class BotTurn(Protocol):
    """A bot's last turn as the poller published it (runtime/health.py BotHealth)."""

    last_poll_ns: int | None
    last_error: str | None
    lag_s: float | None


@dataclass(frozen=True)
class StatusFacts:
    """What the status page shows of the loop, read at one instant (HealthState.facts)."""

    now_ns: int
    started_ns: int
    alive: bool
    ready: bool
    role: str | None  # leader or standby with leader election; None without it
    leader: str | None
    role_problem: str | None
    turns: int  # bot turns since the start
    exported: int  # log records accepted by the OTLP endpoint since the start
    bots: Mapping[int, BotTurn] = field(default_factory=dict)
    last_read_ns: dict[int, int] = field(default_factory=dict)  # bot -> its last turn that read without error
    listing_error: str | None = None  # why the last bot listing failed (shown per app with several apps)
    note: str | None = None  # health.NOTHING_TO_WATCH: the bot list read holds no bot to read (why nothing flows)


def status_document(facts: StatusFacts, gauges: Iterable[BotGauges]) -> dict:
    """The page's content as JSON-ready data. Per bot: the lag and pending count of the poller's gauges (as
    exported), the times and last error of its turns (as /readyz reports them)."""
    secrets = held_secrets()
    shown = {gauge.bot_id: gauge for gauge in gauges}
    bots = []
    for bot_id in sorted(set(facts.bots) | set(shown)):
        gauge, health = shown.get(bot_id), facts.bots.get(bot_id)
        lag_s = gauge.lag_s if gauge is not None else health and health.lag_s
        error = health and health.last_error
        bots.append({
            "id": bot_id,
            "name": _clean(gauge.bot_name, secrets) if gauge is not None else None,
            "last_read": _iso(facts.last_read_ns.get(bot_id)),
            "last_poll": _iso(health and health.last_poll_ns),
            "lag_s": None if lag_s is None else round(lag_s, 1),
            "pending": gauge.pending if gauge is not None else None,
            "last_error": None if error is None else _clean(error, secrets),
        })
    return {
        "version": __version__,
        "started": _iso(facts.started_ns),
        "uptime_s": round((facts.now_ns - facts.started_ns) / NS_PER_S, 1),
        "role": facts.role or NO_ELECTION,
        "leader": None if facts.leader is None else _clean(facts.leader, secrets),
        "role_problem": None if facts.role_problem is None else _clean(facts.role_problem, secrets),
        "alive": facts.alive,
        "ready": facts.ready,
        "bot_turns": facts.turns,
        "records_exported": facts.exported,
        "note": facts.note,
        "bots": bots,
    }


def apps_document(facts: StatusFacts, parts: Iterable[tuple[str, StatusFacts, Iterable[BotGauges]]]) -> dict:
    """Several apps' page: the receiver's facts, each app's (ready, role), and every bot's row naming its app."""
    document = status_document(facts, ())
    apps, bots = [], []
    for label, part, gauges in parts:
        own = status_document(part, gauges)
        listing_error = None if part.listing_error is None else _clean(part.listing_error, held_secrets())
        apps.append({"app": label, **{key: own[key] for key in ("alive", "ready", "role", "leader", "role_problem",
                                                                 "bot_turns", "records_exported", "note")},
                     "listing_error": listing_error})
        bots += [{"app": label, **bot} for bot in own["bots"]]
    return document | {"apps": apps, "bots": bots}


def render_html(document: dict) -> str:
    """The page a person reads; refreshes itself every 10 s."""
    e = html.escape
    role = {"leader": "leader (polls Desk)", "standby": "standby (another receiver polls)",
            NO_ELECTION: "the only receiver (no leader election)"}.get(document["role"], document["role"])
    facts = [("Version", document["version"]), ("Uptime", _duration(document["uptime_s"])),
             ("Started", document["started"]), ("Role", role),
             ("Live", "yes" if document["alive"] else "no"), ("Ready", "yes" if document["ready"] else "no"),
             ("Bot turns", document["bot_turns"]), ("Log records exported", document["records_exported"])]
    if document["leader"]:
        facts.insert(4, ("Leader", document["leader"]))
    if document["role_problem"]:
        facts.insert(4, ("Problem", document["role_problem"]))
    apps = "apps" in document  # several Desk apps: each bot's row names its app
    rows = "".join(
        "<tr>" + (f"<td>{e(bot['app'])}</td>" if apps else "") +
        f"<td>{bot['id']}</td><td>{e(bot['name'] or '-')}</td><td>{e(bot['last_read'] or 'never')}</td>"
        f"<td>{'-' if bot['lag_s'] is None else _duration(bot['lag_s'])}</td>"
        f"<td>{'-' if bot['pending'] is None else bot['pending']}</td><td>{e(bot['last_error'] or '-')}</td></tr>"
        for bot in document["bots"]
    ) or f'<tr><td colspan="{6 + apps}">{e(document["note"] or "no bots listed yet")}</td></tr>'
    listed = "".join(f"<tr><th>{e(name)}</th><td>{e(str(value))}</td></tr>" for name, value in facts)
    if apps:
        listed += "".join(f"<tr><th>App {e(app['app'])}</th><td>{'ready' if app['ready'] else 'not ready'}"
                          f"{'' if app['alive'] else ', not live'}, {e(app['role'])}"
                          f"{'; bot list: ' + e(app['listing_error']) if app['listing_error'] else ''}"
                          f"{'; ' + e(app['note']) if app['note'] else ''}</td></tr>"
                          for app in document["apps"])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"refresh\" content=\"10\"><title>otel-desk-receiver status</title>"
            "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
            "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}</style></head><body>"
            f"<h1>otel-desk-receiver</h1><table id=\"receiver\">{listed}</table>"
            f"<h2>Bots</h2><table id=\"bots\"><thead><tr>{'<th>App</th>' if apps else ''}<th>Bot</th><th>Name</th>"
            "<th>Last read (UTC)</th>"
            f"<th>Lag</th><th>Pending</th><th>Last error</th></tr></thead><tbody>{rows}</tbody></table>"
            "<p>The same as JSON: <a href=\"/?format=json\">/?format=json</a>; "
            "probes: <a href=\"/healthz\">/healthz</a>, <a href=\"/readyz\">/readyz</a></p></body></html>\n")


def wants_json(query: str, accept: str | None) -> bool:
    """JSON for ``?format=json``, or when the client asks for application/json before text/html."""
    if "format=json" in query.split("&"):
        return True
    first = (accept or "").split(",", 1)[0].split(";", 1)[0].strip()
    return first == "application/json"


def _clean(text: str, secrets: list[str]) -> str:
    return escape_controls(redact_text(text, secrets))


def _iso(ns: int | None) -> str | None:
    return None if not ns else datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).isoformat(timespec="seconds")


def _duration(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
