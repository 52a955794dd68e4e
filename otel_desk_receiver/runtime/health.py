"""Health endpoints: /healthz, /readyz and the status page at / (runtime/status_page.py), served by a stdlib
thread from a state the poller publishes."""

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from otel_desk_receiver.runtime.selfmetrics import BotGauges
from otel_desk_receiver.runtime.status_page import StatusFacts, render_html, status_document, wants_json
from otel_desk_receiver.units import NS_PER_S

READY_INTERVALS = 3  # README.md, "Health": ready while the last success is at most three intervals old
NOTHING_TO_WATCH = "no bot to watch"  # /readyz and the status page: the bot list read holds no bot to read
# Alive while the loop beat within this many intervals plus ALIVE_SLACK_S: it beats after every Desk
# request and retry, every bot's turn, and at least once an interval while it waits for the next turn,
# so only a loop that is truly stuck goes quiet that long.
ALIVE_INTERVALS = 3
ALIVE_SLACK_S = 120


@dataclass
class BotHealth:
    last_poll_ns: int | None = None
    last_error: str | None = None
    lag_s: float | None = None


class HealthState:
    """What the poller last published; read by the health server, never calling into the pipeline."""

    def __init__(self, interval_s: float, clock_ns: Callable[[], int] = time.time_ns):
        self._interval_ns = int(interval_s * NS_PER_S)
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._started_ns = clock_ns()
        self._bots: dict[int, BotHealth] = {}
        self._last_read_ns: dict[int, int] = {}
        self._turns = 0
        self._exported = 0
        self._last_cycle_ns: int | None = None
        self._last_success_ns: int | None = None
        self._last_beat_ns: int | None = None
        self._export_ok = True
        self._stopped = False
        # Leader election (ha/leadership.py): None without it; a standby is healthy while its
        # election loop ticks (role_seen_ns), and says who leads.
        self._role: str | None = None
        self._leader: str | None = None
        self._role_seen_ns: int | None = None
        self._role_problem: str | None = None  # why it cannot campaign (the API refuses it): not ready
        self._listing_error: str | None = None  # why the last bot listing failed (Desk down, token refused)
        # The last listing was read and left no bot to watch (none CUSTOM, none asked for unreadable):
        # nothing to read is not a failure, so every beat of the loop counts as a successful cycle.
        self._nothing_to_watch = False

    def set_bots(self, bot_ids: list[int]) -> None:
        with self._lock:
            self._bots = {bot_id: self._bots.get(bot_id, BotHealth()) for bot_id in bot_ids}

    def listing_done(self, error: str | None) -> None:
        """The bot list was read (``error`` None), or could not be: /readyz says why. Read, with no bot to
        watch (set_bots([]) before: a bot asked for but unreadable is one to watch, failing): ready, saying so."""
        with self._lock:
            self._listing_error = error
            if error is None:
                self._nothing_to_watch = not self._bots
                if self._nothing_to_watch:
                    self._last_success_ns = self._last_beat_ns = self._clock_ns()

    def failing(self) -> list[tuple[int | None, str]]:
        """What fails now, as (bot id, or None for the bot listing, error)."""
        with self._lock:
            listing = [(None, self._listing_error)] if self._listing_error else []
            return listing + [(bot_id, health.last_error) for bot_id, health in sorted(self._bots.items())
                              if health.last_error]

    def record(self, bot_id: int, health: BotHealth) -> None:
        with self._lock:
            self._bots[bot_id] = health
            if health.last_error is None and health.last_poll_ns is not None:
                self._last_read_ns[bot_id] = health.last_poll_ns

    def cycle_done(self, *, succeeded: bool, now_ns: int | None = None) -> None:
        with self._lock:
            self._last_cycle_ns = now_ns if now_ns is not None else self._clock_ns()
            self._last_beat_ns = self._last_cycle_ns
            if succeeded:
                self._last_success_ns = self._last_cycle_ns

    def beat(self) -> None:
        """The loop is doing something (a request answered, a retry waited, a turn begun); with no bot to
        watch, a loop going round is a successful cycle."""
        with self._lock:
            self._last_beat_ns = self._clock_ns()
            if self._nothing_to_watch and self._listing_error is None:
                self._last_success_ns = self._last_beat_ns

    def turn_done(self, *, ok: bool, export_ok: bool, exported: int = 0) -> None:
        """A bot's turn ended: ``ok`` when it read (and delivered) without error; ``export_ok`` False when
        the OTLP endpoint refused its records: not ready until an export is accepted again (``exported``
        records in a later turn; a quiet turn with nothing to send proves nothing)."""
        with self._lock:
            now = self._clock_ns()
            self._last_beat_ns = self._last_cycle_ns = now
            self._turns += 1
            self._exported += exported
            if not export_ok:
                self._export_ok = False
            elif exported:
                self._export_ok = True
            if ok:
                self._last_success_ns = now

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def set_role(self, role: str, leader: str | None, problem: str | None = None) -> None:
        """``leader`` or ``standby`` (leader election); a standby calls it on every election tick. A standby
        with a ``problem`` (it cannot campaign: RBAC) is alive but not ready: it could not take over."""
        with self._lock:
            self._role, self._leader, self._role_seen_ns = role, leader, self._clock_ns()
            self._role_problem = problem

    def _standing_by(self, intervals: int) -> bool | None:
        """For a standby: whether its election loop ticked within ``intervals`` poll intervals; None otherwise."""
        if self._role != "standby":
            return None
        return self._clock_ns() - self._role_seen_ns <= intervals * self._interval_ns + 60 * NS_PER_S

    def alive(self) -> bool:
        with self._lock:
            if (standby := self._standing_by(ALIVE_INTERVALS)) is not None:
                return not self._stopped and standby
            last = self._last_beat_ns or self._started_ns
            return not self._stopped and self._clock_ns() - last <= ALIVE_INTERVALS * self._interval_ns + ALIVE_SLACK_S * NS_PER_S

    def ready(self) -> bool:
        with self._lock:
            return self._unready_reason() is None

    def _unready_reason(self) -> str | None:
        """Why not ready (/readyz says it), None when ready; called holding the lock."""
        if (standby := self._standing_by(READY_INTERVALS)) is not None:
            if self._role_problem is not None:
                return f"standby that cannot take over: {self._role_problem}"
            return None if standby else "standby whose leader election has not ticked lately"
        if not self._export_ok:
            return "the OTLP endpoint refused the last records"
        if self._listing_error is not None and not self._bots:
            return f"bot list: {self._listing_error}"
        if self._last_success_ns is None:
            return "no successful read yet"
        if self._clock_ns() - self._last_success_ns > READY_INTERVALS * self._interval_ns:
            return f"no successful read in the last {READY_INTERVALS} poll intervals"
        return None

    def status(self, gauges: Iterable[BotGauges]) -> dict:
        """The status page's document (runtime/status_page.py)."""
        return status_document(self.facts(), gauges)

    def facts(self) -> StatusFacts:
        """The loop's state for the status page and the demo, at one instant."""
        alive, ready = self.alive(), self.ready()
        with self._lock:
            bots = {bot_id: self._bots[bot_id] for bot_id in sorted(self._bots)}
            return StatusFacts(self._clock_ns(), self._started_ns, alive, ready, self._role, self._leader,
                               self._role_problem, self._turns, self._exported, bots,
                               {k: v for k, v in self._last_read_ns.items() if k in bots}, self._listing_error,
                               NOTHING_TO_WATCH if self._nothing_to_watch else None)

    def snapshot(self) -> dict:
        with self._lock:
            bots = {str(k): _bot_json(v) for k, v in sorted(self._bots.items())}
            snapshot = {"last_cycle": _iso(self._last_cycle_ns), "last_success": _iso(self._last_success_ns),
                        "bots": bots}
            if self._listing_error:
                snapshot["listing_error"] = self._listing_error
            if self._nothing_to_watch:
                snapshot["note"] = NOTHING_TO_WATCH
            if (reason := self._unready_reason()) is not None:
                snapshot["reason"] = reason
            if self._role is not None:
                snapshot |= {"role": self._role, "leader": self._leader}
                if self._role_problem:
                    snapshot["problem"] = self._role_problem
            return snapshot


def _bot_json(health: BotHealth) -> dict:
    data = asdict(health)
    data["last_poll"] = _iso(data.pop("last_poll_ns"))
    return data


def _iso(ns: int | None) -> str | None:
    return None if ns is None else datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).isoformat()


class HealthServer:
    """GET /healthz (200 while the loop is alive) and GET /readyz (200 once ready), both JSON; GET / the status
    page (runtime/status_page.py), with the per-bot ``gauges`` the poller exports (pending, lag). ``state``: one
    app's HealthState, or several apps' (runtime/apps_health.py, which holds each app's gauges)."""

    def __init__(self, state, host: str, port: int,
                 gauges: Callable[[], Iterable[BotGauges]] = tuple):
        handler = type("Handler", (_Handler,), {"health": state, "gauges": staticmethod(gauges)})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "HealthServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    health: "HealthState"
    gauges: Callable[[], Iterable[BotGauges]]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path, _, query = self.path.partition("?")
        path = path.rstrip("/")
        if path == "":
            self._status_page(query)
            return
        checks = {"/healthz": self.health.alive, "/readyz": self.health.ready}
        if path not in checks:
            self._send(404, {"error": "not found"})
            return
        ok = checks[path]()
        self._send(200 if ok else 503, {"status": "ok" if ok else "unavailable", **self.health.snapshot()})

    def _status_page(self, query: str) -> None:
        document = self.health.status(self.gauges())
        if wants_json(query, self.headers.get("Accept")):
            self._send(200, document)
        else:
            self._send(200, render_html(document).encode(), "text/html; charset=utf-8")

    def _send(self, status: int, body: dict | bytes, content_type: str = "application/json") -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - probes every few seconds; stay quiet
        pass
