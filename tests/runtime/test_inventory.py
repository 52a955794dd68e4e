"""runtime/inventory.py: a bot listing as each bot's state, and the changes between two listings (pure)."""

from dataclasses import replace

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import parse_bot
from otel_desk_receiver.runtime.inventory import BotChange, BotState, bot_state, diff, listing, webhook_host


def raw_bot(bot_id: int = 7, **fields) -> dict:
    return {"id": bot_id, "name": f"bot-{bot_id}", "type": "CUSTOM", "status": "ACTIVE", "timeoutSeconds": 60,
            "isUnreadError": False, "webhookUrl": "https://hooks.example.com/desk/webhook", **fields}


def state(bot_id: int = 7, **fields) -> BotState:
    return bot_state(parse_bot(raw_bot(bot_id, **fields)))


BASE = state()


@pytest.mark.parametrize("after, expected", [
    pytest.param({"status": "PAUSED"}, [(names.BOT_STATUS_CHANGED, "ACTIVE", "PAUSED")], id="status-changed"),
    pytest.param({"webhookUrl": "https://new-hooks.example.net:8443/desk/webhook"},
                 [(names.BOT_WEBHOOK_HOST_CHANGED, "hooks.example.com", "new-hooks.example.net:8443")],
                 id="webhook-host-changed"),
    pytest.param({"timeoutSeconds": 120}, [(names.BOT_TIMEOUT_CHANGED, "60", "120")], id="timeout-changed"),
    pytest.param({"isUnreadError": True}, [(names.BOT_UNREAD_ERROR_SET, None, None)], id="unread-error-set"),
    pytest.param({"status": "PENDING", "timeoutSeconds": 30},
                 [(names.BOT_STATUS_CHANGED, "ACTIVE", "PENDING"), (names.BOT_TIMEOUT_CHANGED, "60", "30")],
                 id="two-changes-two-records"),
    pytest.param({"status": "SLEEPING_FOR_MAINTENANCE"},
                 [(names.BOT_STATUS_CHANGED, "ACTIVE", "SLEEPING_FOR_MAINTENANCE")], id="unknown-status-kept-as-given"),
    pytest.param({"webhookUrl": "https://hooks.example.com/another/path?token=new"}, [],
                 id="path-and-query-change-is-no-host-change"),
    pytest.param({"name": "renamed", "updatedAt": "2026-12-07T14:02:00Z", "welcomeMessage": "hello"}, [],
                 id="other-fields-are-no-change"),
])
def test_what_changed_on_a_bot_between_two_listings(after, expected):
    changes = diff({7: BASE}, {7: state(**after)})
    assert [(c.kind, c.previous, c.current) for c in changes] == expected
    assert all(c.bot == state(**after) for c in changes)  # each change carries the bot as listed now


def test_the_unread_error_flag_cleared():
    changes = diff({7: state(isUnreadError=True)}, {7: BASE})
    assert changes == [BotChange(names.BOT_UNREAD_ERROR_CLEARED, BASE)]


def test_a_bot_added_and_one_removed_are_one_change_each_the_removed_as_last_listed():
    gone = state(3, status="PAUSED")
    changes = diff({3: gone, 7: BASE}, {7: BASE, 9: state(9)})
    assert changes == [BotChange(names.BOT_REMOVED, gone), BotChange(names.BOT_ADDED, state(9))]


def test_an_unchanged_listing_has_no_change():
    assert diff({7: BASE, 9: state(9)}, listing([parse_bot(raw_bot(9)), parse_bot(raw_bot(7))])) == []


def test_a_bot_without_status_or_webhook_is_tolerated():
    bare = bot_state(parse_bot({"id": 5, "type": "CUSTOM"}))
    assert (bare.status, bare.webhook_host, bare.timeout_s, bare.name) == (None, None, 60.0, "")
    changes = diff({5: bare}, {5: replace(bare, status="ACTIVE", webhook_host="hooks.example.com")})
    assert [(c.kind, c.previous, c.current) for c in changes] == [
        (names.BOT_STATUS_CHANGED, None, "ACTIVE"), (names.BOT_WEBHOOK_HOST_CHANGED, None, "hooks.example.com")]


@pytest.mark.parametrize("url, host", [
    pytest.param("https://hooks.example.com/desk/webhook", "hooks.example.com", id="host"),
    pytest.param("https://Hooks.Example.COM:8443/p", "hooks.example.com:8443", id="explicit-port-kept-lowercased"),
    pytest.param("https://hook-user:s3cret@bots.example.com/x/hook?token=abc&region=eu", "bots.example.com",
                 id="user-info-path-query-dropped"),
    pytest.param("http://[2001:db8::1]:8080/hook", "[2001:db8::1]:8080", id="ipv6"),
    pytest.param("https://bots.example.com:99999/hook", None, id="bad-port"),
    pytest.param("not a url", None, id="no-host"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="none"),
])
def test_the_webhook_host_is_hostname_and_port_only(url, host):
    assert webhook_host(url) == host
