"""The saved state as a document: versioned JSON holding, per Desk app, which Desk it is and every bot's cursor.

Pure: no I/O, so every backend (the file, the Kubernetes object) stores the same document.

    {"version": 4, "apps": {"<app label>": {"desk": {"app": "...", "url": "..."}, "bots": {"12": {...cursor...}}}}}

One section per app, keyed by its label (DESK_APP_ID, or the API host): cursors are positions in one app's
listings, so each app's are kept apart. A section of an app that is not configured now is carried, as it
was, on every write: an app left out of the settings for a while loses nothing. Fields this version does not
know, at the top or in a section, are tolerated and written back as they were.

Versions 1-3 held one app and migrate into its section (written as version 4 at the first save). Version 1
(0.1.0) named no Desk: it is adopted when exactly one app is configured, and refused otherwise (whose
cursors would they be?). Versions 2 and 3 name their Desk: refused when that app is not configured (its
cursors would skip entries in another app). Version 2 saved each bot's ``recent`` ids as an object of
id -> createdAt (about 33 bytes an id: a burst of 25,000 ids filled a ConfigMap); versions 3 and 4 save them
compactly (state/id_codec.py).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.cursor_json import CursorFormatError, cursor_from_json, cursor_to_json, json_type
from otel_desk_receiver.errors import StateError
from otel_desk_receiver.redaction import without_user_info

STATE_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
RESET_HINT = "move it aside to start over (README, 'Resetting the state')"
_COMPACT = (",", ":")


@dataclass(frozen=True)
class DeskIdentity:
    """Which Desk a state belongs to: the app part of log.record.uid (DESK_APP_ID or the API host), and
    the base URL it was read from. Cursors are positions in one app's listings: in another app they
    point nowhere, so loading them there would skip entries silently."""

    app: str
    url: str
    # How messages name where the app's ID, backfill and bot ids are set: an apps file's item keys
    # (AppSettings.setting) or the single app's variables; not part of the identity.
    app_id_setting: str = field(default="DESK_APP_ID", compare=False)
    backfill_setting: str = field(default="DESK_BACKFILL", compare=False)
    bot_ids_setting: str = field(default="DESK_BOT_IDS", compare=False)

    @classmethod
    def of(cls, app) -> "DeskIdentity":
        """An app's (config/apps.py AppSettings): its label, its base URL without user info, its settings' names."""
        return cls(app.label, without_user_info(app.base_url), app.setting("app_id", "DESK_APP_ID"),
                   app.setting("backfill", "DESK_BACKFILL"), app.setting("bot_ids", "DESK_BOT_IDS"))


class ForeignStateError(StateError):
    """A version 2 or 3 document saved for a Desk app that is not configured here."""


class SectionEncoder:
    """Encodes one app's section, each bot's cursor only when it changed since the last ``encode``: cursors
    are replaced, never changed in place, so an unchanged one is the same object and its bytes are reused
    (with a thousand bots, encoding every cursor for every write cost more than the write itself).
    ``extras``: the section's fields this version does not know, as loaded, written back as they were."""

    def __init__(self, desk: DeskIdentity | None, extras: Mapping[str, object] | None = None):
        head = {"desk": None if desk is None else {"app": desk.app, "url": desk.url}, **(extras or {})}
        self._head = json.dumps(head, separators=_COMPACT)[:-1].encode() + b',"bots":{'
        self._parts: dict[int, tuple[BotCursor, bytes]] = {}

    def encode(self, cursors: Mapping[int, BotCursor]) -> bytes:
        parts = {}
        for bot_id in sorted(cursors):
            cursor = cursors[bot_id]
            cached = self._parts.get(bot_id)
            if cached is None or cached[0] is not cursor:
                saved = json.dumps(cursor_to_json(cursor), separators=_COMPACT)
                cached = (cursor, f'"{bot_id}":{saved}'.encode())
            parts[bot_id] = cached
        self._parts = parts
        return b"".join((self._head, b",".join([part for _, part in parts.values()]), b"}}"))

    def share(self, bot_id: int) -> int:
        """Bytes of the bot's cursor in the last section encoded (0 if it was not in it)."""
        cached = self._parts.get(bot_id)
        return len(cached[1]) if cached else 0


@dataclass(frozen=True)
class Encoded:
    """A whole document with one app's section replaced: ``payload`` to store, then StateDocument.keep."""

    payload: bytes
    label: str
    section: bytes


class StateDocument:
    """The document of one state (a file, a ConfigMap) as last loaded or stored, for the apps ``desks``.

    ``load`` reads a document of any readable version and returns the cursors of each configured app it
    holds; ``encode(label, cursors)`` gives the whole document with that app's section replaced and every
    other section as last kept (committed, loaded, or carried for an app not configured): never another
    app's uncommitted cursors. ``keep`` makes an encoded document the one the next encodes build on, once
    it is stored. Not thread-safe: its backend serialises the calls.

    ``desks`` names each configured app; a single ``None`` (tests, tools) takes whichever one app the
    document holds. ``sole``: this is the only app configured (by default when ``desks`` has one), so a
    version 1 document, which names no app, is its.
    """

    def __init__(self, desks: Sequence[DeskIdentity | None], *, sole: bool | None = None):
        self._any = list(desks) == [None]  # no identity given: no check, the one app the document holds
        if None in desks and not self._any:
            raise ValueError("a desk of None only alone")
        self._desks: dict[str, DeskIdentity | None] = {"": None} if self._any else {d.app: d for d in desks}
        self._sole = len(self._desks) == 1 if sole is None else sole
        self._encoders = {label: SectionEncoder(desk) for label, desk in self._desks.items()}
        self._sections: dict[str, bytes] = {}  # label -> its section's bytes, as last kept
        self._extras = b""  # the document's top-level fields this version does not know, as loaded
        self.needs_rewrite = False  # the document loaded is not as this version writes it

    @property
    def labels(self) -> tuple[str, ...]:
        """The configured apps' labels (with no identity given: the label of the app the document held)."""
        return tuple(self._desks)

    def load(self, text: str | None, where: str) -> dict[str, dict[int, BotCursor]]:
        """Every configured app's cursors that the document holds, by label (an app it does not hold is
        absent: a fresh start for it); None: no document yet. StateError naming ``where`` and the field on
        anything wrong; ForeignStateError for a version 2 or 3 document of an app not configured."""
        before = (self._desks, self._encoders, self._sections, self._extras)
        self._sections, self._extras, self.needs_rewrite = {}, b"", False
        try:
            return self._load(text, where)
        except BaseException:
            self._desks, self._encoders, self._sections, self._extras = before  # as it was: others commit on it
            raise

    def _load(self, text: str | None, where: str) -> dict[str, dict[int, BotCursor]]:
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise StateError(f"{where} is not valid JSON (corrupt?); {RESET_HINT}") from None
        if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS \
                or isinstance(data.get("version"), bool):
            found = data.get("version") if isinstance(data, dict) else None
            raise StateError(f"{where} has version {found!r}, expected one of {READABLE_VERSIONS}; {RESET_HINT}")
        loaded = self._load_apps(data, where) if data["version"] == 4 else self._load_one(data, where)
        self.needs_rewrite = self._assemble(self._sections) != text.encode()
        return loaded

    def fresh_beside_others(self, label: str, where: str) -> str | None:
        """For a warning at load: app ``label`` has no section, while the document holds apps not configured
        (perhaps this very app under its former label: its app ID set or changed); None otherwise."""
        carried = sorted(set(self._sections) - set(self._desks))
        if label in self._sections or not carried:
            return None
        desk = self._desks[label] or DeskIdentity(label, "")
        return (f"{where} holds no cursors of app {label!r}: it starts afresh ({desk.backfill_setting} back); it "
                f"holds those of {', '.join(map(repr, carried))}, not configured, kept as they are. If one of them "
                f"is this app under its former label ({desk.app_id_setting} set or changed), entries already sent "
                "are sent again")

    def encode(self, label: str, cursors: Mapping[int, BotCursor]) -> Encoded:
        section = self._encoders[label].encode(cursors)
        return Encoded(self._assemble({**self._sections, label: section}), label, section)

    def keep(self, encoded: Encoded) -> None:
        self._sections[encoded.label] = encoded.section

    def share(self, label: str, bot_id: int) -> int:
        """Bytes of the bot's cursor in the app's section last encoded (0 if it was not in it)."""
        return self._encoders[label].share(bot_id)

    def _assemble(self, sections: Mapping[str, bytes]) -> bytes:
        # One join: a section of a thousand bots is hundreds of KiB, and each concatenation would copy it.
        pieces = [b'{"version":4,"apps":{']
        for label in sorted(sections):
            pieces += (b"," if len(pieces) > 1 else b"", json.dumps(label).encode(), b":", sections[label])
        pieces += (b"}", self._extras, b"}")
        return b"".join(pieces)

    def _load_one(self, data: dict, where: str) -> dict[str, dict[int, BotCursor]]:
        """A version 1-3 document: one app's, migrated into its section."""
        version, saved = data["version"], data.get("desk")
        if version == 1 or saved is None:
            if not self._sole:
                raise StateError(
                    f"{where} is a version {version} state, which names no Desk app: with {len(self._desks)} apps "
                    f"configured ({', '.join(map(repr, self._desks))}) its cursors cannot be given to one; run "
                    f"once with only its app configured to migrate it, or {RESET_HINT}")
            label = next(iter(self._desks))
        else:
            if not isinstance(saved, dict) or not isinstance(saved.get("app"), str):
                raise StateError(f"{where}: desk: expected an object with app and url; {RESET_HINT}")
            # Releases up to 0.2.0 saved the API host with the URL's user info as the app: the same app.
            app, url = without_user_info(saved["app"]), without_user_info(str(saved.get("url")))
            if self._any:
                label = self._take_any(app, DeskIdentity(app, url))
            elif app in self._desks:
                label = app
            else:
                raise ForeignStateError(f"{where} belongs to Desk app {app!r} ({url}), not to {self._named()}: its "
                                        "cursors would skip entries there; point DESK_STATE_PATH at another file, "
                                        f"or {RESET_HINT}")
        cursors = _bots(data.get("bots", {}), version, where, "bots")
        self._sections = {label: self._encoders[label].encode(cursors)}
        return {label: cursors}

    def _load_apps(self, data: dict, where: str) -> dict[str, dict[int, BotCursor]]:
        apps = data.get("apps", {})
        if not isinstance(apps, dict):
            raise StateError(f"{where}: apps: expected an object, got {json_type(apps)}; {RESET_HINT}")
        if self._any:
            self._take_only(apps, where)
        elif apps and not set(apps) & set(self._desks):
            # No configured app in it: another app's state, or this one's under a former label (DESK_APP_ID set
            # or changed), which a fresh start would send again. Refused as versions 2 and 3 are.
            saved = " and ".join(f"{label!r}{_url_of(section)}" for label, section in apps.items())
            app_ids = " or ".join(dict.fromkeys(desk.app_id_setting for desk in self._desks.values()))
            raise ForeignStateError(f"{where} holds the state of Desk app {saved}, not of {self._named()}: if it "
                                    f"is the same app under another label ({app_ids} set or changed), a fresh "
                                    "start would send again what was delivered; point DESK_STATE_PATH at another "
                                    f"file, or {RESET_HINT}")
        extras = [json.dumps({k: v}, separators=_COMPACT)[1:-1] for k, v in data.items()
                  if k not in ("version", "apps")]
        self._extras = "".join("," + extra for extra in extras).encode()
        loaded = {}
        for label, section in apps.items():
            if label not in self._desks:
                self._sections[label] = json.dumps(section, separators=_COMPACT).encode()  # carried as it was
                continue
            if not isinstance(section, dict):
                raise StateError(f"{where}: apps.{label}: expected an object, got {json_type(section)}; "
                                 f"{RESET_HINT}")
            cursors = _bots(section.get("bots", {}), data["version"], where, f"apps.{label}.bots")
            unknown = {k: v for k, v in section.items() if k not in ("desk", "bots")}
            self._encoders[label] = SectionEncoder(self._desks[label], unknown)
            self._sections[label] = self._encoders[label].encode(cursors)
            loaded[label] = cursors
        return loaded

    def _take_only(self, apps: dict, where: str) -> None:
        """With no identity given: the document's one app (and its saved identity) is the one it writes."""
        if len(apps) > 1:
            raise StateError(f"{where} holds the state of {len(apps)} Desk apps ({', '.join(map(repr, apps))}): "
                             "name the one to read")
        for label, section in apps.items():
            desk = section.get("desk") if isinstance(section, dict) else None
            known = isinstance(desk, dict) and all(isinstance(desk.get(k), str) for k in ("app", "url"))
            self._take_any(label, DeskIdentity(desk["app"], desk["url"]) if known else None)

    def _named(self) -> str:
        return " nor ".join(f"{d.app!r} ({d.url})" for d in self._desks.values() if d is not None)

    def _take_any(self, label: str, desk: DeskIdentity | None) -> str:
        """With no identity given: the document's one app becomes the one this document writes."""
        self._desks = {label: desk}
        self._encoders = {label: SectionEncoder(desk)}
        return label


def _url_of(section) -> str:
    desk = section.get("desk") if isinstance(section, dict) else None
    url = desk.get("url") if isinstance(desk, dict) else None
    return f" ({without_user_info(url)})" if isinstance(url, str) else ""


def _bots(bots, version: int, where: str, name: str) -> dict[int, BotCursor]:
    if not isinstance(bots, dict):
        raise StateError(f"{where}: {name}: expected an object, got {json_type(bots)}; {RESET_HINT}")
    cursors = {}
    for key, saved in bots.items():
        if not key.isdecimal():
            raise StateError(f"{where}: {name}: {key!r} is not a bot id; {RESET_HINT}")
        try:
            cursors[int(key)] = cursor_from_json(saved, version)
        except CursorFormatError as error:
            raise StateError(f"{where}: {name}.{key}.{error}; {RESET_HINT}") from None
    return cursors


class StateEncoder:
    """The document of one app alone (the StateDocument of ``desk``): its bytes, and each bot's share."""

    def __init__(self, desk: DeskIdentity | None):
        self._document = StateDocument([desk])

    def encode(self, cursors: Mapping[int, BotCursor]) -> bytes:
        [label] = self._document.labels
        return self._document.encode(label, cursors).payload

    def share(self, bot_id: int) -> int:
        """Bytes of the bot's cursor in the last document encoded (0 if it was not in it)."""
        [label] = self._document.labels
        return self._document.share(label, bot_id)


def encode_state(cursors: Mapping[int, BotCursor], desk: DeskIdentity | None) -> bytes:
    return StateEncoder(desk).encode(cursors)


def decode_state(text: str, where: str, desk: DeskIdentity | None, *, sole: bool = True) -> dict[int, BotCursor]:
    """The cursors ``desk``'s app has in a document of any readable version ({} when it holds none);
    StateError naming ``where`` and the field on anything wrong, and on a version 2 or 3 document saved
    for another app (``desk`` None: no check, the one app the document holds). ``sole``: ``desk``'s app is
    the only one configured (a version 1 document, which names none, is then its)."""
    document = StateDocument([desk], sole=sole)
    loaded = document.load(text, where)
    [label] = document.labels
    return loaded.get(label, {})
