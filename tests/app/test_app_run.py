"""AppRun: one app's loop. A refused token stops that app alone, which asks Desk again after its backoff and
goes on once its token file holds a token Desk accepts; its lines name it."""

import logging
from datetime import UTC, datetime, timedelta

from otel_desk_receiver import names
from tests.harness.apps import SharedClock, app_of, drive_apps, virtual_apps_receiver

FROZEN_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INTERVAL_S = 30


def records_of(sink, app: str) -> int:
    return sum(1 for r in sink.log_records() if r.attributes[names.ATTR_APP_ID] == app)


def test_a_refused_app_asks_again_after_its_backoff_and_goes_on_with_a_fixed_token_file(
        make_desk_emulator, otlp_sink, otlp_env, state_path, tmp_path, caplog):
    otlp_env(otlp_sink, "http/protobuf")
    desks = {label: make_desk_emulator(frozen_at=FROZEN_AT) for label in ("eu", "ap")}
    for desk in desks.values():
        bot = desk.add_bot(name="support")
        desk.add_entry(bot["id"], status="RECEIVED", created_at=FROZEN_AT - timedelta(minutes=5))
    token_file = tmp_path / "ap-token"
    token_file.write_text("revoked\n")
    clock = SharedClock(desks.values())
    apps = [app_of(desks["eu"], app_id="eu"),
            {"app_id": "ap", "api_url": desks["ap"].url, "api_token_file": str(token_file)}]
    receiver = virtual_apps_receiver(clock, apps, state_path, backfill="1h", poll_interval=INTERVAL_S)
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
