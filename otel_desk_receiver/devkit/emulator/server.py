"""HTTP plumbing: a threaded HTTP/1.1 keep-alive server that hands API requests to ``api`` and
control requests to ``control``, and can close its idle connections on stop."""

import socket
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from otel_desk_receiver.devkit.emulator import api, control
from otel_desk_receiver.devkit.emulator.faults import HOLD_MAX_S


class EmulatorServer(ThreadingHTTPServer):
    """Serves one DeskEmulator; tracks open connections so ``stop`` can cut keep-alive clients
    (otherwise a pooled connection would keep being answered after stop)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator):
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, DeskHandler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def handle_error(self, request, client_address) -> None:
        # A client that vanishes mid-request (a receiver killed with -9, a client timing out) is normal
        # for a test double; anything else still gets socketserver's traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer


class DeskHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length on every answer, so clients such as requests.Session reuse
    # connections the way they would with Desk.
    protocol_version = "HTTP/1.1"
    server_version = "DeskEmulator/1.0"
    timeout = 120  # idle keep-alive connections end, so handler threads do not pile up

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle plus the client's delayed
        # ACK adds ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def date_time_string(self, timestamp=None):
        """The Date header every answer carries (send_response adds it, as a real server does), from the
        emulator's virtual clock: the receiver reads Desk's clock from it."""
        if timestamp is None:
            timestamp = self.server.emulator.clock.now().timestamp()
        return formatdate(timestamp, usegmt=True)

    def log_message(self, format, *args):
        if self.server.emulator.config.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        params = parse_qsl(url.query, keep_blank_values=True)
        if path == "/_emulator" or path.startswith("/_emulator/"):
            self._write(control.handle(self.server.emulator, self.command, path, params, body))
        elif path == api.BASE_PATH or path.startswith(api.BASE_PATH + "/"):
            self._serve_api(path[len(api.BASE_PATH):], url.path, params)
        else:
            self._write(api.not_found())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve_api(self, path: str, full_path: str, params: list[tuple[str, str]]) -> None:
        emulator = self.server.emulator
        request = api.ApiRequest(self.command, path or "/", full_path, params,
                                 self.headers.get(api.TOKEN_HEADER), self._origin())
        # Auth first, then faults: a bad token is always a 401, whatever faults are planned.
        response = api.check_token(request, emulator.config.token)
        fault = None
        if response is None:
            emulator.run_request_hooks(path or "/", params)
            fault = emulator.faults.decide(full_path)
            if fault is not None and fault.release is not None:
                fault.release.wait(HOLD_MAX_S)  # a held answer: until the test releases it
            if fault is not None and fault.delay_s:
                time.sleep(fault.delay_s)  # emulated latency, not a wait for correctness
            response = api.fault_response(fault) if fault else None
        if response is None:
            response = api.route(emulator.state, request, fault.rows if fault is not None else 0)
        emulator.record_request(self.command, full_path, params, response.status)
        self._write(response)

    def _origin(self) -> str:
        public = self.server.emulator.config.public_url
        if public:
            return public.rstrip("/")
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"http://{host}"

    def _write(self, response: api.Response) -> None:
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
