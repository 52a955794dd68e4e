"""The bot inventory end to end (issue #24 point 2): a receiver polls the Desk emulator while a bot is paused, moved to
a new webhook host and deleted through the emulator's control surface; each change is exactly one change record at a
real OTLP endpoint, and the bot's state gauge, scraped from the receiver's /metrics, follows each step."""

import os

import pytest
import requests

from otel_desk_receiver import names
from tests.harness.ports import free_port
from tests.harness.receiver import drive, scrape, virtual_receiver

OLD_URL = "https://hook-user:s3cret-user@old-hooks.example.com/desk/t0ken-path/hook?sig=q5ecret&v=1"
NEW_URL = "https://new-hooks.example.net:8443/desk/n3w-path?sig=n3w-secret"
SECRETS = ("s3cret-user", "hook-user", "t0ken-path", "q5ecret", "n3w-path", "n3w-secret", "/desk")
LISTING_S = 60  # DESK_BOT_LIST_INTERVAL of the test: each step waits one listing and a bit


@pytest.fixture
def receiver(make_desk_emulator, otlp_sink, otlp_env, state_path, monkeypatch):
    otlp_env(otlp_sink, "http/protobuf")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp,prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(free_port()))
    emulator = make_desk_emulator(control=True)
    emulator.add_bot("shop", webhook_url=OLD_URL, timeout_seconds=30)
    emulator.add_bot("steady")
    receiver = virtual_receiver(emulator, state_path, app_id="app-eu", bot_list_interval=LISTING_S)
    yield receiver, emulator
    receiver.close()


def change_records(sink) -> list:
    return [r for r in sink.log_records() if r.event_name == names.BOT_CHANGE_EVENT_NAME]


def state_points(port: int) -> dict[str, dict]:
    """bot name -> the labels of its sendbird_desk_bot_state sample (value 1)."""
    samples = [s for s in scrape(port) if s.name == names.BOT_STATE.prometheus_name]
    assert all(s.value == 1 for s in samples)
    return {s.labels[names.prometheus_label(names.ATTR_BOT_NAME)]: s.labels for s in samples}


def label(attribute: str) -> str:
    return names.prometheus_label(attribute)


def test_a_bot_paused_moved_and_deleted_is_one_change_record_each_and_the_gauge_follows(receiver, otlp_sink):
    receiver, emulator = receiver
    port = int(os.environ["OTEL_EXPORTER_PROMETHEUS_PORT"])
    shop = next(bot for bot in emulator.bots() if bot["name"] == "shop")
    control = f"{emulator.control_url}/bots/{shop['id']}"

    def step(change) -> list:
        """Change the bot through the control surface, let one listing see it; the change records it made."""
        before = len(change_records(otlp_sink))
        change()
        drive(receiver, emulator, LISTING_S + 1)
        return [(r.attributes[names.ATTR_BOT_ID], r.attributes[names.ATTR_BOT_CHANGE],
                 r.attributes.get(names.ATTR_BOT_CHANGE_FROM), r.attributes.get(names.ATTR_BOT_CHANGE_TO))
                for r in change_records(otlp_sink)[before:]]

    assert step(lambda: None) == []  # the first listing is the baseline
    shop_state = state_points(port)["shop"]
    assert (shop_state[label(names.ATTR_BOT_STATUS)], shop_state[label(names.ATTR_BOT_WEBHOOK_HOST)],
            shop_state[label(names.ATTR_BOT_TIMEOUT)], shop_state[label(names.ATTR_BOT_TYPE)],
            shop_state[label(names.ATTR_APP_ID)]) == ("ACTIVE", "old-hooks.example.com", "30", "CUSTOM", "app-eu")

    paused = step(lambda: requests.patch(control, json={"status": "PAUSED"}, timeout=5).raise_for_status())
    assert paused == [(shop["id"], names.BOT_STATUS_CHANGED, "ACTIVE", "PAUSED")]
    assert state_points(port)["shop"][label(names.ATTR_BOT_STATUS)] == "PAUSED"

    moved = step(lambda: requests.patch(control, json={"webhook_url": NEW_URL}, timeout=5).raise_for_status())
    assert moved == [(shop["id"], names.BOT_WEBHOOK_HOST_CHANGED, "old-hooks.example.com", "new-hooks.example.net:8443")]
    assert state_points(port)["shop"][label(names.ATTR_BOT_WEBHOOK_HOST)] == "new-hooks.example.net:8443"

    deleted = step(lambda: requests.delete(control, timeout=5).raise_for_status())
    assert deleted == [(shop["id"], names.BOT_REMOVED, None, None)]
    assert set(state_points(port)) == {"steady"}

    assert step(lambda: None) == []  # nothing changed: nothing more
    records = change_records(otlp_sink)
    assert len(records) == 3 and len({r.attributes[names.ATTR_LOG_RECORD_UID] for r in records}) == 3
    assert all(r.attributes[names.ATTR_APP_ID] == "app-eu" for r in records)
    shown = repr([(r.body, r.attributes) for r in otlp_sink.log_records()]) + repr(scrape(port))
    assert not [secret for secret in SECRETS if secret in shown]
