"""Running the receiver image against the Desk emulator and the OTLP sink: the image's user and state volume,
the environment README documents, bots preloaded with history, and what the sink received, by uid. Shared by
tests/deploy/test_image.py and tests/deploy/test_release_registry.py."""

from datetime import timedelta

from tests.harness.fixtures.otlp import TEST_TIMEOUT_MS, endpoint_for

UID = 10001
STATE_DIR = "/var/lib/otel-desk-receiver"  # the image's VOLUME, where its DESK_STATE_PATH points
ATTR_UID = "log.record.uid"  # README: `{app}:{bot_id}:{entry_id}`


def preload(emulator, bots: int, per_bot: int) -> dict[int, list[int]]:
    """Bots with settled history from the last two days: bot id -> entry ids."""
    start = emulator.clock.now() - timedelta(days=2)
    entries = {}
    for index in range(bots):
        bot = emulator.add_bot(name=f"bot-{index}", timeout_seconds=30)
        entries[bot["id"]] = emulator.add_entries(bot["id"], per_bot, statuses=("RECEIVED", "ERROR", "TIMEOUT"),
                                                  start=start, spacing_s=86400 / per_bot)
    return entries


def receiver_env(emulator, sink, protocol: str = "http/protobuf", **desk) -> dict[str, str]:
    """The variables README documents; DESK_STATE_PATH stays the image's own."""
    env = {
        "DESK_API_URL": emulator.url,
        "DESK_API_TOKEN": emulator.config.token,
        "DESK_HEALTH_ADDR": "",  # the image's default 0.0.0.0:13133 is the host's port too
        "DESK_BACKFILL_DAYS": "3",
        "DESK_MAX_RPS": "1000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint_for(sink, protocol),
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS,
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
    }
    env.update({f"DESK_{key.upper()}": str(value) for key, value in desk.items()})
    return env


def delivered(sink) -> list[tuple[int, int]]:
    """(bot id, entry id) of every log record received, from its uid."""
    return [tuple(int(part) for part in r.attributes[ATTR_UID].split(":")[-2:]) for r in sink.log_records()]


def expected(entries: dict[int, list[int]]) -> set[tuple[int, int]]:
    return {(bot, entry) for bot, ids in entries.items() for entry in ids}
