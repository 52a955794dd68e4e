"""The emulated endpoints over real HTTP: auth, routing, bots, envelope and pagination links."""

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.harness.clock import NOON


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize(
    "headers, detail",
    [
        pytest.param({}, "Authentication credentials were not provided.", id="missing"),
        pytest.param({"SENDBIRDDESKAPITOKEN": "wrong"}, "Invalid token.", id="wrong"),
        pytest.param({"Authorization": "Bearer emulator-token"}, "Authentication credentials were not provided.",
                     id="bearer-scheme-is-not-desk"),
    ],
)
def test_token_is_checked_on_every_endpoint(desk_emulator, headers, detail):
    bot = desk_emulator.add_bot("alpha")
    for path in ("/bots", f"/bots/{bot['id']}", f"/bots/{bot['id']}/webhook_logs"):
        response = requests.get(desk_emulator.url + path, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == {"detail": detail}


def test_auth_comes_before_faults(desk_emulator):
    desk_emulator.faults.fail_next(1, status=503)
    assert requests.get(desk_emulator.url + "/bots", timeout=5).status_code == 401
    assert requests.get(desk_emulator.url + "/bots", headers={"SENDBIRDDESKAPITOKEN": "emulator-token"},
                        timeout=5).status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/bots/999", id="unknown-bot"),
        pytest.param("/bots/999/webhook_logs", id="logs-of-unknown-bot"),
        pytest.param("/bots/abc", id="non-numeric-id"),
        pytest.param("/tickets", id="unknown-resource"),
    ],
)
def test_unknown_resources_are_404(desk_emulator, desk_session, path):
    response = desk_session.get(desk_emulator.url + path, timeout=5)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_faq_bot_has_no_webhook_logs(desk_emulator, desk_session):
    faq = desk_emulator.add_bot("faq", type="FAQ")
    response = desk_session.get(f"{desk_emulator.url}/bots/{faq['id']}/webhook_logs", timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["code"].startswith("desk400") and "FAQ" in body["message"]


def test_bot_fields_are_camel_case_as_desk_serves_them(desk_emulator, desk_session):
    custom = desk_emulator.add_bot("alpha", timeout_seconds=30, is_unread_error=True)
    faq = desk_emulator.add_bot("faq", type="FAQ")
    served = desk_session.get(f"{desk_emulator.url}/bots/{custom['id']}", timeout=5).json()
    assert served == custom
    assert set(served) == {"id", "name", "type", "project", "key", "status", "photoUrl", "webhookUrl",
                           "createdAt", "updatedAt", "isUnreadError", "welcomeMessage", "timeoutSeconds"}
    assert (served["type"], served["timeoutSeconds"], served["isUnreadError"]) == ("CUSTOM", 30, True)
    assert faq["webhookUrl"] is None


def test_bot_list_pages_through_custom_and_faq_bots(desk_emulator, desk_session):
    for name in ("a", "b", "c"):
        desk_emulator.add_bot(name)
    desk_emulator.add_bot("faq", type="FAQ")
    first = desk_session.get(desk_emulator.url + "/bots", params={"limit": 3}, timeout=5).json()
    assert first["count"] == 4 and [bot["name"] for bot in first["results"]] == ["a", "b", "c"]
    second = desk_session.get(first["next"], timeout=5).json()
    assert [bot["type"] for bot in second["results"]] == ["FAQ"]
    assert second["next"] is None and second["previous"] == desk_emulator.url + "/bots?limit=3"


def test_set_bot_and_remove_bot_are_served(desk_emulator, desk_session):
    bot = desk_emulator.add_bot("alpha")
    desk_emulator.set_bot(bot["id"], name="renamed", is_unread_error=True, timeout_seconds=5)
    served = desk_session.get(f"{desk_emulator.url}/bots/{bot['id']}", timeout=5).json()
    assert (served["name"], served["isUnreadError"], served["timeoutSeconds"]) == ("renamed", True, 5)
    desk_emulator.remove_bot(bot["id"])
    assert desk_session.get(f"{desk_emulator.url}/bots/{bot['id']}", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"timeout_seconds": 301}, id="timeout-above-300"),
        pytest.param({"type": "OTHER"}, id="unknown-type"),
        pytest.param({"status": "DELETED"}, id="unknown-status"),
    ],
)
def test_add_bot_rejects_values_desk_cannot_hold(desk_emulator, fields):
    with pytest.raises(ValueError):
        desk_emulator.add_bot("bad", **fields)


def test_trailing_slash_is_accepted(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    frozen_emulator.add_entry(bot["id"], status="RECEIVED")
    for path in ("/bots/", f"/bots/{bot['id']}/", f"/bots/{bot['id']}/webhook_logs/"):
        assert desk_session.get(frozen_emulator.url + path, timeout=5).status_code == 200


def test_envelope_links_keep_every_parameter_and_change_only_offset(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    frozen_emulator.add_entries(bot["id"], 7, statuses=("SENT", "ERROR", "RECEIVED"))
    url = f"{frozen_emulator.url}/bots/{bot['id']}/webhook_logs"
    params = [("status", "SENT"), ("limit", "2"), ("status", "ERROR"), ("order", "id")]
    first = desk_session.get(url, params=params, timeout=5).json()
    assert first["count"] == 5 and first["previous"] is None
    assert first["next"].startswith(url + "?")
    assert query_of(first["next"]) == params + [("offset", "2")]
    second = desk_session.get(first["next"], timeout=5).json()
    assert query_of(second["next"]) == params + [("offset", "4")]
    assert query_of(second["previous"]) == params  # offset 0 drops out, as DRF does
    last = desk_session.get(second["next"], timeout=5).json()
    assert last["next"] is None and len(last["results"]) == 1
    ids = [entry["id"] for page in (first, second, last) for entry in page["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_public_url_sets_the_origin_of_links(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, public_url="https://desk-api-app.example.com/")
    bot = emulator.add_bot("alpha")
    emulator.add_entries(bot["id"], 3)
    page = desk_session.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs", params={"limit": 1, "offset": 1},
                            timeout=5).json()
    base = f"https://desk-api-app.example.com/platform/v1/bots/{bot['id']}/webhook_logs"
    assert page["next"] == f"{base}?limit=1&offset=2"
    assert page["previous"] == f"{base}?limit=1"
