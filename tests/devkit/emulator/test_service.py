"""DeskEmulator, the emulator's public face: its request log and request hooks, its lifecycle."""

import pytest
import requests

from otel_desk_receiver.devkit.emulator import DeskEmulator, EmulatorConfig
from tests.harness.clock import NOON


def test_requests_are_recorded(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    desk_session.get(f"{frozen_emulator.url}/bots/{bot['id']}/webhook_logs",
                     params=[("status", "SENT"), ("status", "ERROR")], timeout=5)
    requests.get(frozen_emulator.url + "/bots", timeout=5)
    record = frozen_emulator.requests[0]
    assert (record.method, record.path, record.status) == ("GET", f"/platform/v1/bots/{bot['id']}/webhook_logs", 200)
    assert record.query == {"status": ["SENT", "ERROR"]}
    assert frozen_emulator.requests[1].status == 401
    assert frozen_emulator.request_count("webhook_logs") == 1 and frozen_emulator.request_count() == 2
    frozen_emulator.reset_requests()
    assert frozen_emulator.request_count() == 0


def test_request_hooks_run_before_each_answer_and_can_change_what_it_serves(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    seen = []

    def add_one(path, params):
        seen.append((path, params))
        frozen_emulator.add_entry(bot["id"], status="RECEIVED")

    frozen_emulator.before_each_request(add_one)
    page = desk_session.get(f"{frozen_emulator.url}/bots/{bot['id']}/webhook_logs", params={"limit": 5},
                            timeout=5).json()
    assert page["count"] == 1  # the hook's entry is already in the answer
    assert seen == [(f"/bots/{bot['id']}/webhook_logs", [("limit", "5")])]  # the path under the API base


def test_an_unauthenticated_request_runs_no_hook(frozen_emulator):
    seen = []
    frozen_emulator.before_each_request(lambda path, params: seen.append(path))
    assert requests.get(frozen_emulator.url + "/bots", timeout=5).status_code == 401
    assert seen == []


def test_an_emulator_never_started_has_no_address_and_starts_once():
    emulator = DeskEmulator(EmulatorConfig(frozen_at=NOON))
    with pytest.raises(RuntimeError, match="never started"):
        emulator.url
    with emulator:
        assert emulator.url.startswith("http://127.0.0.1:") and emulator.url.endswith("/platform/v1")
        assert emulator.control_url == emulator.url.removesuffix("/platform/v1") + "/_emulator"
        with pytest.raises(RuntimeError, match="already started"):
            emulator.start()
    assert emulator.url.startswith("http://127.0.0.1:")  # still names where it was, after stop


def test_entries_lists_every_visible_entry_in_the_order_asked(frozen_emulator):
    bot = frozen_emulator.add_bot("alpha")
    ids = list(frozen_emulator.add_entries(bot["id"], 3, statuses=("SENT", "ERROR")))
    assert [entry["id"] for entry in frozen_emulator.entries(bot["id"])] == ids
    assert [entry["id"] for entry in frozen_emulator.entries(bot["id"], order="-id")] == ids[::-1]
    assert [entry["id"] for entry in frozen_emulator.entries(bot["id"], statuses=["ERROR"])] == [ids[1]]
