"""The /_emulator/ control surface over real HTTP: off by default, then bots, entries, clock,
faults and stats as JSON."""

import pytest
import requests

from tests.harness.clock import NOON


@pytest.fixture
def controlled(make_desk_emulator):
    emulator = make_desk_emulator(frozen_at=NOON, control=True)
    return emulator, emulator.control_url


@pytest.mark.parametrize("path", ["/stats", "/clock", "/bots", "/"])
def test_control_surface_is_404_unless_enabled(desk_emulator, path):
    assert requests.get(desk_emulator.control_url + path, timeout=5).status_code == 404


def test_bots_and_entries_through_the_control_surface(controlled, desk_session):
    emulator, control = controlled
    bot = requests.post(control + "/bots", json={"name": "alpha", "timeout_seconds": 30}, timeout=5)
    assert bot.status_code == 201 and bot.json()["timeoutSeconds"] == 30
    bot_id = bot.json()["id"]
    entry = requests.post(f"{control}/bots/{bot_id}/entries",
                          json={"status": "SENT", "created_at": "2026-03-10T11:59:00Z"}, timeout=5).json()
    block = requests.post(f"{control}/bots/{bot_id}/entries",
                          json={"count": 5, "statuses": ["ERROR"], "start": "2026-03-10T11:00:00+00:00"}, timeout=5)
    assert block.json()["count"] == 5
    changed = requests.patch(f"{control}/bots/{bot_id}/entries/{entry['id']}", json={"status": "RECEIVED"}, timeout=5)
    assert changed.json()["status"] == "RECEIVED"
    requests.patch(f"{control}/bots/{bot_id}", json={"is_unread_error": True}, timeout=5)
    served = desk_session.get(f"{emulator.url}/bots/{bot_id}/webhook_logs", timeout=5).json()
    assert served["count"] == 6 and served["results"][0]["id"] == entry["id"]
    assert desk_session.get(f"{emulator.url}/bots/{bot_id}", timeout=5).json()["isUnreadError"] is True
    assert requests.delete(f"{control}/bots/{bot_id}", timeout=5).json() == {"deleted": bot_id}
    assert requests.get(control + "/bots", timeout=5).json() == {"bots": []}


def test_clock_advance(controlled):
    emulator, control = controlled
    assert requests.get(control + "/clock", timeout=5).json() == {"now": NOON.isoformat(), "frozen": True}
    advanced = requests.post(control + "/clock/advance", json={"seconds": 90}, timeout=5).json()
    assert advanced["now"] == "2026-03-10T12:01:30+00:00" and emulator.clock.now().minute == 1


def test_faults_through_the_control_surface(controlled, desk_session):
    emulator, control = controlled
    answer = requests.post(control + "/faults", json={"fail_next": {"n": 1, "status": 429, "retry_after": 4,
                                                                     "header": "X-RateLimit-RetryAfter"}}, timeout=5)
    assert answer.json()["pending_one_shot"] == 1
    limited = desk_session.get(emulator.url + "/bots", timeout=5)
    assert limited.status_code == 429 and limited.headers["X-RateLimit-RetryAfter"] == "4"
    requests.post(control + "/faults", json={"configure": {"error_ratio": 1.0}}, timeout=5)
    assert desk_session.get(emulator.url + "/bots", timeout=5).status_code >= 500
    assert requests.get(control + "/stats", timeout=5).status_code == 200  # control is never faulted
    requests.delete(control + "/faults", timeout=5)
    assert desk_session.get(emulator.url + "/bots", timeout=5).status_code == 200


def test_stats_count_api_requests_only(controlled, desk_session):
    emulator, control = controlled
    desk_session.get(emulator.url + "/bots", timeout=5)
    desk_session.get(emulator.url + "/bots/7", timeout=5)
    stats = requests.get(control + "/stats", timeout=5).json()
    assert stats["requests"] == 2
    assert stats["by_path"] == {"/platform/v1/bots": 1, "/platform/v1/bots/7": 1}
    assert stats["by_status"] == {"200": 1, "404": 1}
    requests.post(control + "/requests/reset", timeout=5)
    assert requests.get(control + "/stats", timeout=5).json()["requests"] == 0


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        pytest.param("POST", "/bots", {"name": "x", "timeout_seconds": 999}, 400, id="bad-bot-value"),
        pytest.param("POST", "/bots", {"nom": "x"}, 400, id="unknown-argument"),
        pytest.param("PATCH", "/bots/99", {"name": "x"}, 404, id="unknown-bot"),
        pytest.param("PATCH", "/bots/1", {"status": "NAPPING"}, 400, id="status-desk-cannot-hold"),
        pytest.param("PATCH", "/bots/1", {"webhook_url": 42}, 400, id="webhook-url-not-text"),
        pytest.param("PATCH", "/bots/1", {"webhook_url": "ftp://hooks.example.com/x"}, 400, id="webhook-url-not-http"),
        pytest.param("DELETE", "/bots/99", None, 404, id="delete-unknown-bot"),
        pytest.param("POST", "/faults", {"explode": {}}, 400, id="unknown-fault"),
        pytest.param("POST", "/bots/1/entries", {"created_at": "2026-03-10T10:00:00"}, 400, id="naive-time"),
        pytest.param("GET", "/nothing", None, 404, id="unknown-path"),
    ],
)
def test_control_errors(controlled, method, path, body, status):
    emulator, control = controlled
    emulator.add_bot("alpha")
    response = requests.request(method, control + path, json=body, timeout=5)
    assert response.status_code == status and "detail" in response.json()


def test_a_bot_paused_moved_to_a_new_webhook_host_and_deleted_as_desk_serves_it(controlled, desk_session):
    """The bot inventory's scenario (docs/bot-inventory.md): each step through the control surface, then what the
    API serves: the status and updatedAt at once, the new webhookUrl on the bot and on entries posted after the
    move only (an entry's webhookUrl is where that event went), and after the delete a 404 for the bot and its logs."""
    emulator, control = controlled
    bot = requests.post(control + "/bots", json={"name": "alpha", "webhook_url": "https://old.example.com/hook"},
                        timeout=5).json()
    before = emulator.add_entry(bot["id"], status="RECEIVED")
    emulator.clock.advance(60)
    paused = requests.patch(f"{control}/bots/{bot['id']}", json={"status": "PAUSED"}, timeout=5).json()
    assert paused["status"] == "PAUSED" and paused["updatedAt"] == "2026-03-10T12:01:00Z"
    moved = requests.patch(f"{control}/bots/{bot['id']}", json={"webhook_url": "https://new.example.net:8443/hook"},
                           timeout=5).json()
    emulator.clock.advance(1)
    after = emulator.add_entry(bot["id"], status="ERROR")
    served = desk_session.get(f"{emulator.url}/bots/{bot['id']}", timeout=5).json()
    assert served == moved and served["webhookUrl"] == "https://new.example.net:8443/hook"
    logs = desk_session.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs", params={"order": "id"}, timeout=5).json()
    assert [(e["id"], e["webhookUrl"]) for e in logs["results"]] == [
        (before["id"], "https://old.example.com/hook"), (after["id"], "https://new.example.net:8443/hook")]
    assert requests.delete(f"{control}/bots/{bot['id']}", timeout=5).json() == {"deleted": bot["id"]}
    assert desk_session.get(f"{emulator.url}/bots", timeout=5).json()["results"] == []
    assert desk_session.get(f"{emulator.url}/bots/{bot['id']}", timeout=5).status_code == 404
    assert desk_session.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs", timeout=5).status_code == 404
