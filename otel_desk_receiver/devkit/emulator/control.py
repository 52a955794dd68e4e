"""The /_emulator/ control surface: drive a running emulator over HTTP with JSON (bots, entries,
clock, faults, request stats). Served only with EmulatorConfig(control=True); no token needed,
it is a local test tool."""

import json
import re
from collections import Counter
from datetime import datetime

from otel_desk_receiver.devkit.emulator.api import Response, json_response, not_found
from otel_desk_receiver.devkit.emulator.desk import UnknownBotError

ENDPOINTS = [
    "GET /_emulator/stats", "POST /_emulator/requests/reset",
    "GET /_emulator/clock", "POST /_emulator/clock/advance {seconds}",
    "GET /_emulator/bots", "POST /_emulator/bots {name, type, timeout_seconds, is_unread_error, webhook_url, status}",
    "PATCH /_emulator/bots/{id} {fields}", "DELETE /_emulator/bots/{id}",
    "POST /_emulator/bots/{id}/entries {status, created_at, webhook_url, extra} or {count, statuses, start, spacing_s}",
    "PATCH /_emulator/bots/{id}/entries/{entry_id} {status}",
    "GET /_emulator/faults", "POST /_emulator/faults {fail_next|malformed_next|drop_next|configure: {...}}",
    "DELETE /_emulator/faults",
]
_BOT = re.compile(r"^/bots/(\d+)$")
_ENTRIES = re.compile(r"^/bots/(\d+)/entries$")
_ENTRY = re.compile(r"^/bots/(\d+)/entries/(\d+)$")


def handle(emulator, method: str, path: str, params, body: bytes) -> Response:
    """Answer one control request; 404 for everything when the surface is off."""
    if not emulator.config.control:
        return not_found()
    try:
        payload = json.loads(body) if body else {}
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        return _route(emulator, method, path[len("/_emulator"):] or "/", payload)
    except UnknownBotError:
        return not_found()
    except KeyError as error:
        return json_response(404, {"detail": f"not found: {error}"})
    except (ValueError, TypeError) as error:
        return json_response(400, {"detail": str(error)})


def _route(emulator, method: str, path: str, payload: dict) -> Response:
    simple = {
        ("GET", "/"): lambda: {"endpoints": ENDPOINTS},
        ("GET", "/stats"): lambda: _stats(emulator),
        ("POST", "/requests/reset"): lambda: emulator.reset_requests() or {"requests": 0},
        ("GET", "/clock"): lambda: _clock(emulator),
        ("POST", "/clock/advance"): lambda: _advance(emulator, payload),
        ("GET", "/bots"): lambda: {"bots": emulator.bots()},
        ("POST", "/bots"): lambda: emulator.add_bot(**payload),
        ("GET", "/faults"): emulator.faults.settings,
        ("POST", "/faults"): lambda: _set_faults(emulator, payload),
        ("DELETE", "/faults"): lambda: emulator.faults.clear() or emulator.faults.settings(),
    }
    if (method, path) in simple:
        return json_response(201 if (method, path) == ("POST", "/bots") else 200, simple[(method, path)]())
    if match := _BOT.match(path):
        bot_id = int(match[1])
        if method == "PATCH":
            return json_response(200, emulator.set_bot(bot_id, **payload))
        if method == "DELETE":
            emulator.remove_bot(bot_id)
            return json_response(200, {"deleted": bot_id})
        if method == "GET":
            return json_response(200, emulator.state.get_bot(bot_id))
    if (match := _ENTRIES.match(path)) and method == "POST":
        return json_response(201, _add_entries(emulator, int(match[1]), payload))
    if (match := _ENTRY.match(path)) and method == "PATCH":
        return json_response(200, emulator.set_status(int(match[1]), int(match[2]), payload["status"]))
    return not_found()


def _stats(emulator) -> dict:
    records = list(emulator.requests)
    return {
        "requests": len(records),
        "by_path": dict(Counter(record.path for record in records)),
        "by_status": {str(status): n for status, n in Counter(record.status for record in records).items()},
        "bots": len(emulator.state.bots),
        "entries": emulator.state.entry_count(),
        "now": emulator.clock.now().isoformat(),
        "faults": emulator.faults.settings(),
    }


def _clock(emulator) -> dict:
    return {"now": emulator.clock.now().isoformat(), "frozen": emulator.clock.frozen}


def _advance(emulator, payload: dict) -> dict:
    emulator.clock.advance(float(payload.get("seconds", 0)))
    return _clock(emulator)


def _add_entries(emulator, bot_id: int, payload: dict) -> dict:
    """One entry, or a bulk block when ``count`` is given; times are ISO 8601 with a zone."""
    for name in ("created_at", "start"):
        if payload.get(name):
            payload[name] = _aware(payload[name], name)
    if "count" in payload:
        ids = emulator.add_entries(bot_id, **payload)
        return {"count": len(ids), "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}
    return emulator.add_entry(bot_id, **payload)


def _aware(text: str, name: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a time zone (got {text!r})")
    return moment


def _set_faults(emulator, payload: dict) -> dict:
    actions = {"fail_next": emulator.faults.fail_next, "malformed_next": emulator.faults.malformed_next,
               "drop_next": emulator.faults.drop_next, "configure": emulator.faults.configure}
    unknown = set(payload) - set(actions)
    if unknown:
        raise ValueError(f"unknown fault actions: {', '.join(sorted(unknown))}; use {', '.join(actions)}")
    for name, arguments in payload.items():
        actions[name](**arguments)
    return emulator.faults.settings()
