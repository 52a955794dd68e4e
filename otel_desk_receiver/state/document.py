"""The saved state as a document: versioned JSON naming the Desk it belongs to and every bot's cursor.

Pure: no I/O, so every backend (the file, the Kubernetes object) stores the same document.

    {"version": 3, "desk": {"app": "...", "url": "..."}, "bots": {"12": {...cursor...}}}

Version 1 (0.1.0) had no ``desk``: it loads, and adopts the Desk of the settings it is loaded with.
Version 2 saved each bot's ``recent`` ids as an object of id -> createdAt (about 33 bytes an id: a burst of
25,000 ids filled a ConfigMap); version 3 saves them compactly (state/id_codec.py). Both load, and are
written as version 3.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.cursor_json import CursorFormatError, cursor_from_json, cursor_to_json, json_type
from otel_desk_receiver.errors import StateError
from otel_desk_receiver.redaction import without_user_info

STATE_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
RESET_HINT = "move it aside to start over (README, 'Resetting the state')"


@dataclass(frozen=True)
class DeskIdentity:
    """Which Desk a state belongs to: the app part of log.record.uid (DESK_APP_ID or the API host), and
    the base URL it was read from. Cursors are positions in one app's listings: in another app they
    point nowhere, so loading them there would skip entries silently."""

    app: str
    url: str


def encode_state(cursors: Mapping[int, BotCursor], desk: DeskIdentity | None) -> bytes:
    return StateEncoder(desk).encode(cursors)


class StateEncoder:
    """Encodes the document, each bot's cursor only when it changed since the last ``encode``: cursors
    are replaced, never changed in place, so an unchanged one is the same object and its bytes are reused
    (with a thousand bots, encoding every cursor for every write cost more than the write itself)."""

    def __init__(self, desk: DeskIdentity | None):
        self._head = json.dumps({"version": STATE_VERSION,
                                 "desk": None if desk is None else {"app": desk.app, "url": desk.url}},
                                separators=(",", ":"))[:-1].encode() + b',"bots":{'
        self._parts: dict[int, tuple[BotCursor, bytes]] = {}

    def encode(self, cursors: Mapping[int, BotCursor]) -> bytes:
        parts = {}
        for bot_id in sorted(cursors):
            cursor = cursors[bot_id]
            cached = self._parts.get(bot_id)
            if cached is None or cached[0] is not cursor:
                cached = (cursor, f'"{bot_id}":'.encode() + json.dumps(cursor_to_json(cursor), separators=(",", ":")).encode())
            parts[bot_id] = cached
        self._parts = parts
        return self._head + b",".join(part for _, part in parts.values()) + b"}}"

    def share(self, bot_id: int) -> int:
        """Bytes of the bot's cursor in the last document encoded (0 if it was not in it)."""
        cached = self._parts.get(bot_id)
        return len(cached[1]) if cached else 0


def decode_state(text: str, where: str, desk: DeskIdentity | None) -> dict[int, BotCursor]:
    """Every bot's cursor from a document; StateError naming ``where`` and the field on anything wrong,
    and on a document saved for another Desk than ``desk`` (None: no check)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise StateError(f"{where} is not valid JSON (corrupt?); {RESET_HINT}") from None
    if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
        found = data.get("version") if isinstance(data, dict) else None
        raise StateError(f"{where} has version {found!r}, expected one of {READABLE_VERSIONS}; {RESET_HINT}")
    _check_desk(data, where, desk)
    bots = data.get("bots", {})
    if not isinstance(bots, dict):
        raise StateError(f"{where}: bots: expected an object, got {json_type(bots)}; {RESET_HINT}")
    cursors = {}
    for key, saved in bots.items():
        if not key.isdecimal():
            raise StateError(f"{where}: bots: {key!r} is not a bot id; {RESET_HINT}")
        try:
            cursors[int(key)] = cursor_from_json(saved, data["version"])
        except CursorFormatError as error:
            raise StateError(f"{where}: bots.{key}.{error}; {RESET_HINT}") from None
    return cursors


def _check_desk(data: dict, where: str, desk: DeskIdentity | None) -> None:
    saved = data.get("desk")
    if data["version"] == 1 or saved is None or desk is None:
        return
    if not isinstance(saved, dict) or not isinstance(saved.get("app"), str):
        raise StateError(f"{where}: desk: expected an object with app and url; {RESET_HINT}")
    # Releases up to 0.2.0 saved the API host with the URL's user info as the app: the same app.
    app, url = without_user_info(saved["app"]), without_user_info(str(saved.get("url")))
    if app != desk.app:
        raise StateError(f"{where} belongs to Desk app {app!r} ({url}), not to "
                         f"{desk.app!r} ({desk.url}): its cursors would skip entries there; point "
                         f"DESK_STATE_PATH at another file, or {RESET_HINT}")
