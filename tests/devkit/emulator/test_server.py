"""The emulator's HTTP plumbing: kept-alive connections, closed on stop, every answer dated by the virtual clock."""

from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.harness.clock import NOON


def test_connections_are_kept_alive(frozen_emulator, desk_session):
    frozen_emulator.add_bot("alpha")
    responses = [desk_session.get(frozen_emulator.url + "/bots", timeout=5) for _ in range(3)]
    assert all(r.headers["Content-Length"] == str(len(r.content)) for r in responses)
    assert "close" not in responses[-1].headers.get("Connection", "").lower()


def test_stop_closes_kept_alive_connections(make_desk_emulator, desk_session):
    emulator = make_desk_emulator()
    assert desk_session.get(emulator.url + "/bots", timeout=5).status_code == 200
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        desk_session.get(emulator.url + "/bots", timeout=5)


def test_every_answer_is_dated_by_the_virtual_clock(frozen_emulator, desk_session):
    # A real HTTP server sends Date (RFC 9110, 6.6.1); the receiver reads Desk's clock from it.
    frozen_emulator.clock.advance(90.7)
    for response in (desk_session.get(frozen_emulator.url + "/bots", timeout=5),
                     requests.get(frozen_emulator.url + "/bots", timeout=5),  # a 401 too
                     requests.get(frozen_emulator.control_url + "/clock", timeout=5)):
        assert parsedate_to_datetime(response.headers["Date"]) == NOON.replace(minute=1, second=30)
