"""KubernetesState: the state document in a ConfigMap, written with optimistic concurrency and fenced
by the leader's term, for pods that have no volume (or more than one replica).

Why a ConfigMap: a namespaced core object every cluster has, grantable by name in a Role, readable
with ``kubectl get configmap -o jsonpath='{.data.state\\.json}'``, and no CRD to install. A Lease has
no room for data, a Secret would add nothing but base64 (the state holds no secret), and a custom
resource needs cluster-wide rights to install. Its limit is Kubernetes' 1 MiB per object: a commit
that would pass ``max_bytes`` (800 KiB by default) gives up the oldest remembered ids of the largest bots
first (their trailing window shrinks, as pipeline/page_reader.py's own bound does) and says so; it fails
only when the bots' positions alone pass it.
"""

import logging
import time
from collections.abc import Callable, Mapping

from dataclasses import replace

from otel_desk_receiver.pipeline.cursor import BotCursor
from otel_desk_receiver.state.document import DeskIdentity, Encoded, ForeignStateError, StateDocument
from otel_desk_receiver.errors import FencedError, KubeError, StateError, StateUnavailableError
from otel_desk_receiver.kube.lease import Term

log = logging.getLogger(__name__)

DATA_KEY = "state.json"
HOLDER_ANNOTATION = "otel-desk-receiver/holder"
TRANSITIONS_ANNOTATION = "otel-desk-receiver/lease-transitions"
OBJECT_LIMIT_BYTES = 1024 * 1024  # Kubernetes refuses a ConfigMap whose data passes 1 MiB
DEFAULT_MAX_BYTES = 800 * 1024  # stop well before it: the bot that grows it is named while there is room
TRANSIENT_ATTEMPTS = 3  # a 5xx or a dropped connection is tried again this many times, fenced each time


class KubernetesState:
    """The state in ConfigMap ``namespace/name``, key ``state.json`` (the same document as the file).

    Every write is a PUT carrying the resourceVersion last read, so it applies only to the object as
    this process last saw it. A 409 Conflict is read again and resolved, never overwritten blindly: if
    the object now shows another holder or a newer lease transition, the write is refused with
    FencedError; if it still shows this process's term, the write is repeated on the new version.
    ``term()`` gives the term this process leads in (LeaderElector.term), or None when it does not
    lead: then nothing is written at all. ``load`` claims the object for the current term first (its
    annotations name holder and lease transitions), so a deposed leader's later write meets a newer
    resourceVersion, reads the new term, and is refused. ``commit`` returns only once the API stored
    the whole document: after a crash the object holds the previous state or the new one. An object
    deleted under a leader is made again, in its term, from the whole state it commits (what it holds in
    memory), never from scratch. ``writes`` and ``bytes_written`` count the documents stored.

    One object per Desk app (``desk``; several apps: a name per app, kube/object_names.py). When it does not
    exist yet or holds no state (the Helm chart makes it empty) and ``legacy_name`` (the one object of earlier
    releases) holds this app's state, in any version, ``load`` makes it from that state (written at once as
    version 4); the legacy object is only read, never changed, so a rollback to an earlier release finds it
    as it left it. ``sole``: ``desk`` is the only app configured, so a version 1 document (which names no
    app) is its; with several, refused.
    """

    def __init__(self, client, namespace: str, name: str, desk: DeskIdentity | None, *,
                 term: Callable[[], Term | None], elected: bool, max_bytes: int = DEFAULT_MAX_BYTES,
                 legacy_name: str | None = None, sole: bool = True, sleep: Callable[[float], None] = time.sleep):
        self._client = client
        self.namespace, self.name, self.desk = namespace, name, desk
        self.legacy_name = legacy_name if legacy_name != name else None
        self._sole = sole
        self._term = term
        self._elected = elected  # without election, any load takes over (a restart), only commits are fenced
        self._max_bytes = max_bytes
        self._sleep = sleep
        self._object: dict | None = None  # the ConfigMap as last read or written
        self._claimed: Term | None = None
        self._warned_size = False
        self._trimmed: set[int] = set()  # bots whose remembered ids were cut to fit (said once each)
        self._document = StateDocument([desk], sole=sole)
        self.writes = 0
        self.bytes_written = 0
        self.needs_rewrite = False  # the document loaded is not as this version writes it

    @property
    def path(self) -> str:
        return f"configmap {self.namespace}/{self.name}"

    def __repr__(self) -> str:
        return f"KubernetesState({self.path!r})"

    def load(self) -> dict[int, BotCursor]:
        """Claim the object for the current term (creating it if needed) and return its cursors. A process
        that does not lead gets {} and claims nothing (it loads again when its term starts)."""
        term = self._term()
        if term is None:
            self._object, self._claimed = None, None
            return {}
        for _ in range(TRANSIENT_ATTEMPTS + 1):
            current = self._read()
            if current is None:
                created = self._write(self._fresh_object(term, self._from_legacy()), create=True, conflict_ok=True)
                if created is None:
                    continue  # another process created it first: read theirs
                return self._adopt(created, term)
            self._refuse_newer(current, term, "load")
            # An object holding no state yet may have been made empty beforehand (the Helm chart creates the
            # objects its Role names, having no create verb): adopt the legacy state into it as into a new one.
            text = current["data"].get(DATA_KEY) or self._from_legacy()
            try:
                claimed = self._write(self._stamped(current, term, text), create=False, conflict_ok=True)
            except _Missing:
                continue  # deleted since it was read: read (and create) again
            if claimed is not None:
                return self._adopt(claimed, term)
        # Never bad settings: writes whose answers were lost, or others editing it; tried again (state_retry.py).
        raise StateUnavailableError(f"state {self.path}: could not claim it, the object keeps changing under "
                                    "this process")

    def commit(self, cursors: Mapping[int, BotCursor]) -> None:
        encoded = self._fitted(cursors)
        payload = encoded.payload
        text = payload.decode()
        for _ in range(TRANSIENT_ATTEMPTS + 1):
            term = self._current_term()
            if term != self._claimed or self._object is None:
                raise FencedError(f"state {self.path}: not written: this process no longer leads "
                                  f"(claimed in {_show(self._claimed)}, now {_show(term)})")
            try:
                written = self._write(self._stamped(self._object, term, text), create=False, conflict_ok=True)
            except _Missing:
                written = self._recreate(term, text)
            if written is not None:
                self._object = written
                self._document.keep(encoded)
                self.writes += 1
                self.bytes_written += len(payload)
                return
            current = self._read()  # 409: resolve against what is there now
            if current is None:
                continue  # deleted meanwhile: the next attempt makes it again
            if _stored_term(current) != term:
                raise FencedError(f"state {self.path}: not written: the object was claimed in "
                                  f"{_show(_stored_term(current))}, this process writes in {_show(term)}")
            self._object = current  # our own term (an earlier write whose answer was lost): write again
        raise StateUnavailableError(f"state {self.path}: not written, conflicts kept coming")

    def _recreate(self, term: Term, text: str) -> dict | None:
        """The object was deleted (kubectl delete, a namespace clean-up) while this process leads: make it
        again, in this term, holding the whole state this process commits. Starting over instead would
        read each bot from "now" on and lose what was logged in between."""
        log.warning("state %s was deleted while this process leads: made again from the state it holds", self.path)
        base = {**self._object, "metadata": {k: v for k, v in self._object["metadata"].items()
                                             if k not in ("resourceVersion", "uid", "creationTimestamp")}}
        return self._write(self._stamped(base, term, text), create=True, conflict_ok=True)

    def _current_term(self) -> Term:
        term = self._term()
        if term is None:
            raise FencedError(f"state {self.path}: not written: this process does not lead")
        return term

    def _adopt(self, obj: dict, term: Term) -> dict[int, BotCursor]:
        self._object, self._claimed = obj, term
        text = (obj.get("data") or {}).get(DATA_KEY)
        loaded = self._document.load(text or None, f"state {self.path}")
        self.needs_rewrite = self._document.needs_rewrite  # an older version, say
        if note := self._document.fresh_beside_others(self._label, f"state {self.path}"):
            log.warning("%s", note)
        return loaded.get(self._label, {})

    @property
    def _label(self) -> str:
        return self._document.labels[0]

    def _from_legacy(self) -> str | None:
        """This app's state in the legacy object, as the document the new object starts with; None when
        there is no legacy object or it holds no state of this app (another app's: that one adopts it)."""
        if self.legacy_name is None:
            return None
        obj = self._read(self.legacy_name)
        text = (obj or {}).get("data", {}).get(DATA_KEY)
        if not text:
            return None
        legacy = StateDocument([self.desk], sole=self._sole)
        try:
            loaded = legacy.load(text, f"state configmap {self.namespace}/{self.legacy_name}")
        except ForeignStateError:
            return None
        [label] = legacy.labels
        if label not in loaded:
            return None
        fresh = StateDocument([self.desk])
        adopted = fresh.encode(fresh.labels[0] if self.desk is None else label, loaded[label]).payload.decode()
        log.warning("state %s: made from this app's state in configmap %s/%s (%d bot cursors), which is left as "
                    "it was", self.path, self.namespace, self.legacy_name, len(loaded[label]))
        return adopted

    def _refuse_newer(self, current: dict, term: Term, what: str) -> None:
        stored = _stored_term(current)
        if self._elected and stored is not None and stored.transitions > term.transitions:
            raise FencedError(f"state {self.path}: {what} refused: it was claimed in {_show(stored)}, newer than "
                              f"this process's {_show(term)} (if the Lease was deleted and made again, remove the "
                              f"{TRANSITIONS_ANNOTATION} annotation)")

    def _fresh_object(self, term: Term, text: str | None = None) -> dict:
        labels = {"app.kubernetes.io/managed-by": "otel-desk-receiver"}
        base = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels}, "data": {}}
        return self._stamped(base, term, text)

    @staticmethod
    def _stamped(obj: dict, term: Term, text: str | None) -> dict:
        """A copy of ``obj`` (its labels and annotations kept, Helm's included) with the term and the data."""
        metadata = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
        metadata["annotations"] = {**(metadata.get("annotations") or {}), HOLDER_ANNOTATION: term.holder,
                                   TRANSITIONS_ANNOTATION: str(term.transitions)}
        data = {k: v for k, v in (obj.get("data") or {}).items() if k != DATA_KEY}
        if text is not None:
            data[DATA_KEY] = text
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}

    def _read(self, name: str | None = None) -> dict | None:
        try:
            obj = self._client.get("configmaps", self.namespace, name or self.name)
        except KubeError as error:
            if error.reason == "NotFound":
                return None
            raise _state_error(f"state configmap {self.namespace}/{name or self.name} cannot be read: {error}",
                               error) from None
        obj.setdefault("data", {})
        return obj

    def _write(self, obj: dict, *, create: bool, conflict_ok: bool) -> dict | None:
        """The object as stored, or None on a Conflict/AlreadyExists (the caller reads again)."""
        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                if create:
                    return self._client.create("configmaps", self.namespace, obj)
                return self._client.replace("configmaps", self.namespace, self.name, obj)
            except KubeError as error:
                if conflict_ok and error.reason in ("Conflict", "AlreadyExists"):
                    return None
                if error.reason == "NotFound" and not create:
                    raise _Missing from None
                if error.status_code is not None and error.status_code < 500 or attempt == TRANSIENT_ATTEMPTS - 1:
                    raise _state_error(f"state {self.path} cannot be written: {error}", error) from None
                self._sleep(0.2 * (attempt + 1))
                if self._term() != self._claimed and not create and self._claimed is not None:
                    raise FencedError(f"state {self.path}: not written: leadership ended during retries") from None
        raise AssertionError("unreachable")

    def _fitted(self, cursors: Mapping[int, BotCursor]) -> Encoded:
        """The document, within ``max_bytes``: past it, the largest bot's oldest remembered ids are given up
        (half of them at a time) until it fits. A bot's trailing window then starts later: an entry
        Desk makes visible in the part given up, with an id below one already read, is missed (never sent
        twice). Only when no ids are left to give up does the commit fail, naming what fills it."""
        cursors = dict(cursors)
        encoded = self._document.encode(self._label, cursors)
        payload = encoded.payload
        while len(payload) > self._max_bytes:
            bot_id = max((b for b in cursors if cursors[b].recent), key=self._share, default=None)
            if bot_id is None:
                raise StateError(f"state {self.path}: {len(payload) // 1024} KiB would pass the "
                                 f"{self._max_bytes // 1024} KiB kept under Kubernetes' 1 MiB object limit; "
                                 f"{self._largest(cursors, len(payload))}. Watch fewer bots per receiver "
                                 f"({self.desk.bot_ids_setting if self.desk else 'DESK_BOT_IDS'}) or use "
                                 "DESK_STATE_BACKEND=file")
            cursors[bot_id] = _fewer_recent(cursors[bot_id])
            if bot_id not in self._trimmed:
                self._trimmed.add(bot_id)
                log.warning("state %s: bot %s remembers too many ids for a ConfigMap; its oldest are given up "
                            "(its trailing window now starts later: an entry made visible that late is missed, "
                            "never sent twice)", self.path, bot_id)
            encoded = self._document.encode(self._label, cursors)
            payload = encoded.payload
        if len(payload) > self._max_bytes * 3 // 4 and not self._warned_size:
            self._warned_size = True
            log.warning("state %s is %d KiB, 3/4 of its %d KiB limit; %s", self.path, len(payload) // 1024,
                        self._max_bytes // 1024, self._largest(cursors, len(payload)))
        return encoded

    def _share(self, bot_id: int) -> int:
        return self._document.share(self._label, bot_id)

    def _largest(self, cursors: Mapping[int, BotCursor], size: int) -> str:
        """What fills the document: one bot, or the number of bots."""
        bot_id = max(cursors, key=self._share, default=None)
        if bot_id is None:
            return "no bot cursor in it"
        share, cursor = self._share(bot_id), cursors[bot_id]
        if share * 4 < size:
            return (f"no bot dominates: {len(cursors)} bots, {size // len(cursors)} bytes each on average "
                    f"(the largest, bot {bot_id}, {share} bytes)")
        return (f"bot {bot_id} holds the largest share ({share // 1024} KiB of {size // 1024} KiB: "
                f"{len(cursor.recent)} remembered ids, {len(cursor.pending)} pending entries)")


def _fewer_recent(cursor: BotCursor) -> BotCursor:
    """The cursor with the older half of its remembered ids given up, cut at a strict createdAt boundary
    (every id kept is newer than every id dropped, as pipeline/page_reader.py cuts at its own bound)."""
    ordered = sorted(cursor.recent.values())
    trail_start = ordered[len(ordered) // 2] + 1 if len(ordered) > 1 else ordered[-1] + 1
    return replace(cursor, recent={k: v for k, v in cursor.recent.items() if v >= trail_start},
                   trail_start_ns=max(cursor.trail_start_ns, trail_start))


class _Missing(Exception):
    """The object is gone (a PUT answered NotFound)."""


def _state_error(message: str, error: KubeError) -> StateError:
    """StateUnavailableError when the API gave no useful answer (5xx, 429, timeout, dropped connection: the
    caller's policy tries again, state/retry.py), StateError (exit 2) for a refusal."""
    return (StateUnavailableError if error.transient else StateError)(message)


def _stored_term(obj: dict) -> Term | None:
    annotations = obj["metadata"].get("annotations") or {}
    holder, transitions = annotations.get(HOLDER_ANNOTATION), annotations.get(TRANSITIONS_ANNOTATION)
    if holder is None or transitions is None or not transitions.isdecimal():
        return None
    return Term(holder, int(transitions))


def _show(term: Term | None) -> str:
    return "no term" if term is None else f"the term of {term.holder!r} (lease transition {term.transitions})"
