"""DeskEmulator: the public face of the emulator: config, virtual clock, Desk state, faults,
request log and the server's lifecycle."""

import threading
from dataclasses import dataclass
from datetime import datetime

from otel_desk_receiver.devkit.emulator.api import BASE_PATH
from otel_desk_receiver.devkit.emulator.clock import VirtualClock
from otel_desk_receiver.devkit.emulator.config import EmulatorConfig
from otel_desk_receiver.devkit.emulator.desk import DeskState
from otel_desk_receiver.devkit.emulator.faults import Faults
from otel_desk_receiver.devkit.emulator.server import EmulatorServer


@dataclass(frozen=True)
class RequestRecord:
    """One API request as served (control requests are not recorded); status 0: dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class DeskEmulator:
    """A Desk API on a loopback port, driven in-process.

    Construction creates the configured bots and history (none by default); ``start`` serves
    in a daemon thread and returns self; ``stop`` (or leaving the ``with`` block) closes the
    socket and every open connection. Every data method is thread-safe.
    """

    def __init__(self, config: EmulatorConfig | None = None):
        self.config = config or EmulatorConfig()
        self.clock = VirtualClock(self.config.frozen_at)
        self.state = DeskState(self.config, self.clock)
        self.faults = Faults(self.config.seed)
        self.faults.configure(rate_limit_rps=self.config.rate_limit_rps,
                              rate_limit_header=self.config.rate_limit_header,
                              error_ratio=self.config.fault_error_ratio, latency_s=self.config.latency_s,
                              malformed_ratio=self.config.malformed_ratio, drop_ratio=self.config.drop_ratio)
        self.requests: list[RequestRecord] = []
        self._request_hooks: list = []
        self._requests_lock = threading.Lock()
        self._server = None
        self._address = None  # kept after stop, so messages can still name where it was
        self._thread = None
        self.state.populate()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> "DeskEmulator":
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = EmulatorServer((host, port), self)
        self._address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="desk-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.faults.clear()  # held answers (Faults.hold_next) go out: no handler outlives the server
        server.shutdown()
        server.server_close()
        server.close_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> "DeskEmulator":
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("emulator never started")
        return self._address

    @property
    def url(self) -> str:
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{BASE_PATH}"

    @property
    def control_url(self) -> str:
        return self.url[: -len(BASE_PATH)] + "/_emulator"

    # -- data ---------------------------------------------------------------------------------
    def add_bot(self, name: str, type: str = "CUSTOM", timeout_seconds: int = 60, is_unread_error: bool = False,
                webhook_url: str | None = None, status: str = "ACTIVE") -> dict:
        return self.state.add_bot(name, type, timeout_seconds, is_unread_error, webhook_url, status)

    def set_bot(self, bot_id: int, **fields) -> dict:
        return self.state.set_bot(bot_id, **fields)

    def remove_bot(self, bot_id: int) -> None:
        self.state.remove_bot(bot_id)

    def bots(self) -> list[dict]:
        """Every bot as served, CUSTOM and FAQ, by id."""
        return self.state.list_bots(0, len(self.state.bots))[1]

    def add_entry(self, bot_id: int, status: str = "SENT", created_at: datetime | None = None,
                  webhook_url: str | None = None, extra: dict | None = None, entry_id: int | None = None) -> dict:
        return self.state.add_entry(bot_id, status, created_at, webhook_url, extra, entry_id)

    def add_entries(self, bot_id: int, count: int, statuses=("RECEIVED",), start: datetime | None = None,
                    spacing_s: float = 1.0) -> range:
        """Bulk fixed-status entries; returns their ids (ascending with createdAt)."""
        return self.state.add_entries(bot_id, count, statuses, start, spacing_s)

    def set_status(self, bot_id: int, entry_id: int, status: str) -> dict:
        return self.state.set_status(bot_id, entry_id, status)

    def entries(self, bot_id: int, order: str = "created_at", statuses: list[str] | None = None) -> list[dict]:
        """Every visible entry of a bot, as the API would serve them (for test assertions)."""
        return self.state.webhook_logs(bot_id, 0, 2**62, order, statuses=statuses)[1]

    # -- request log --------------------------------------------------------------------------
    def record_request(self, method: str, path: str, params: list[tuple[str, str]], status: int) -> None:
        query: dict[str, list[str]] = {}
        for key, value in params:
            query.setdefault(key, []).append(value)
        with self._requests_lock:
            self.requests.append(RequestRecord(method, path, query, status))

    def request_count(self, path_contains: str | None = None) -> int:
        with self._requests_lock:
            return sum(1 for record in self.requests if path_contains is None or path_contains in record.path)

    def before_each_request(self, hook) -> None:
        """Call ``hook(path, params)`` before answering each authenticated API request (after the token
        check, before faults): tests change the listing at an exact point of a read with it."""
        self._request_hooks.append(hook)

    def run_request_hooks(self, path: str, params: list[tuple[str, str]]) -> None:
        for hook in list(self._request_hooks):
            hook(path, params)

    def delete_entries(self, bot_id: int, entry_ids) -> None:
        """Remove entries (as Desk deleting rows, or retention pruning them out of order)."""
        self.state.delete_entries(bot_id, entry_ids)

    def reserve_entry_id(self) -> int:
        """Take the next entry id now and add the entry later with ``add_entry(entry_id=...)``: a
        database committing a lower id after a higher one was read."""
        return self.state.reserve_entry_id()

    def reset_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()
