"""AppRun: one app's loop. A refused token stops that app alone, which asks Desk again after its backoff and
goes on once its token file holds a token Desk accepts; its lines name it."""

import logging
from datetime import UTC, datetime, timedelta

from otel_desk_receiver import names
from tests.harness.apps import SharedClock, app_of, drive_apps, virtual_apps_receiver

FROZEN_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INTERVAL_S = 30


def asked_again_after(caplog) -> list[str]:
    """The waits the refused app announced ('30 s', '60 s', ...), in order."""
    return [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records if "asks Desk again" in r.getMessage()]


def two_apps_ap_refused(make_desk_emulator, state_path, token_file):
    """Apps eu and ap on their own Desks, each with a bot; ap's token is read from ``token_file``, which holds one
    Desk refuses. The Desks, their shared clock and the receiver."""
    desks = {label: make_desk_emulator(frozen_at=FROZEN_AT) for label in ("eu", "ap")}
    bots = {label: desk.add_bot(name="support")["id"] for label, desk in desks.items()}
    token_file.write_text("revoked\n")
    clock = SharedClock(desks.values())
    apps = [app_of(desks["eu"], app_id="eu"),
            {"app_id": "ap", "api_url": desks["ap"].url, "api_token_file": str(token_file)}]
    return desks, bots, clock, virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S)


def records_of(sink, app: str) -> int:
    return sum(1 for r in sink.log_records() if r.attributes[names.ATTR_APP_ID] == app)


def test_a_refused_app_asks_again_after_its_backoff_and_goes_on_with_a_fixed_token_file(
        make_desk_emulator, otlp_sink, otlp_env, state_path, tmp_path, caplog):
    otlp_env(otlp_sink, "http/protobuf")
    token_file = tmp_path / "ap-token"
    desks, bots, clock, receiver = two_apps_ap_refused(make_desk_emulator, state_path, token_file)
    for label, desk in desks.items():
        desk.add_entry(bots[label], status="RECEIVED", created_at=FROZEN_AT - timedelta(minutes=5))
    try:
        drive_apps(receiver, clock, virtual_s=INTERVAL_S / 2)
        assert (records_of(otlp_sink, "eu"), records_of(otlp_sink, "ap")) == (1, 0)
        assert receiver.refusals.is_refused("ap")
        token_file.write_text(desks["ap"].config.token + "\n")  # the secret is fixed
        drive_apps(receiver, clock, virtual_s=INTERVAL_S, until=lambda: records_of(otlp_sink, "ap") == 1)
    finally:
        receiver.close()
    assert records_of(otlp_sink, "ap") == 1 and not receiver.refusals.is_refused("ap")
    refused = [r.getMessage() for r in caplog.records if "asks Desk again" in r.getMessage()]
    assert len(refused) == 1 and refused[0].startswith("app ap: GET /bots: HTTP 401") and \
        refused[0].endswith("the other apps go on, this one asks Desk again in 30 s"), refused


def test_a_token_refused_again_later_starts_its_backoff_afresh(make_desk_emulator, otlp_sink, otlp_env, state_path,
                                                                tmp_path, caplog):
    # The backoff doubles while Desk keeps refusing; once Desk accepted the token again, a later refusal (the
    # token revoked days after) is a new episode: asked again after one interval, not after the last backoff.
    otlp_env(otlp_sink, "http/protobuf")
    token_file = tmp_path / "ap-token"
    desks, bots, clock, receiver = two_apps_ap_refused(make_desk_emulator, state_path, token_file)
    try:
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 1.5)  # refused at 0 s and at 30 s
        assert asked_again_after(caplog) == ["30 s", "60 s"]
        token_file.write_text(desks["ap"].config.token + "\n")
        desks["ap"].add_entry(bots["ap"], status="RECEIVED", created_at=clock.now() - timedelta(seconds=1))
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 3, until=lambda: records_of(otlp_sink, "ap") == 1)
        assert records_of(otlp_sink, "ap") == 1 and not receiver.refusals.is_refused("ap")
        token_file.write_text("revoked-again\n")
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 2, until=lambda: len(asked_again_after(caplog)) == 3)
    finally:
        receiver.close()
    assert asked_again_after(caplog)[2] == "30 s", asked_again_after(caplog)


def test_a_token_refused_for_every_bot_keeps_doubling_its_backoff_though_the_listing_is_accepted(
        make_desk_emulator, otlp_sink, otlp_env, state_path, caplog):
    # The bot listing answers 200 and every bot's webhook logs 403 (a token without that permission): the app
    # reads nothing, so its backoff doubles as when the listing itself is refused.
    otlp_env(otlp_sink, "http/protobuf")
    desks = {label: make_desk_emulator(frozen_at=FROZEN_AT) for label in ("eu", "ap")}
    for desk in desks.values():
        desk.add_bot(name="support")
    desks["ap"].faults.fail_next(1000, status=403, path_contains="webhook_logs")
    clock = SharedClock(desks.values())
    apps = [app_of(desks["eu"], app_id="eu"), app_of(desks["ap"], app_id="ap")]
    receiver = virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S)
    try:
        drive_apps(receiver, clock, virtual_s=INTERVAL_S * 3.5)  # refused at 0 s, 30 s and 90 s
    finally:
        receiver.close()
    asked = asked_again_after(caplog)
    assert asked == ["30 s", "60 s", "120 s"], asked
