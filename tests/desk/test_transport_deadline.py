"""A Desk that drips its answer is abandoned at the request's deadline; a short token echoed back is masked."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import DeskAuthError, DeskRetryableError

DRIP_INTERVAL_S = 0.2  # far below the per-read timeout: requests' own timeout never fires


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        if self.server.mode == "echo-token":
            body = json.dumps({"detail": f"invalid token {self.headers['SENDBIRDDESKAPITOKEN']}"}).encode()
            self.send_response(401)
        else:
            body = json.dumps({"id": 1, "name": "x" * 200}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for index in range(len(body)):
            if self.server.mode == "drip" and self.server.stopping.wait(DRIP_INTERVAL_S):
                return
            self.wfile.write(body[index:index + 1])
            self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def desk_server():
    """start(mode): a loopback HTTP server answering every GET as ``mode`` says (drip or echo-token)."""
    servers = []

    def start(mode: str):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.mode, server.requests, server.stopping = mode, [], threading.Event()
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/platform/v1"

    yield start
    for server in servers:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def test_a_dripping_answer_is_abandoned_at_the_total_deadline(desk_server, make_desk_client):
    server, url = desk_server("drip")  # the whole answer would take about 45 s
    client = make_desk_client(url, timeout_s=1.0, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(DeskRetryableError) as caught:
        client.get_bot(1)
    assert "no complete answer within 1 s" in str(caught.value)
    assert len(server.requests) == 1


def test_a_short_token_echoed_by_desk_is_masked(desk_server, make_desk_client):
    _, url = desk_server("echo-token")
    client = make_desk_client(url, token="k3y9")
    with pytest.raises(DeskAuthError) as caught:
        client.get_bot(1)
    assert "k3y9" not in str(caught.value) and "invalid token REDACTED" in str(caught.value)
