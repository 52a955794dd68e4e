"""What a failed Desk read counts as (error.type), and the read-health series existing at 0 from discovery."""

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_desk_receiver import names
from otel_desk_receiver.errors import DeskAuthError, DeskError, DeskResponseError, DeskRetryableError
from otel_desk_receiver.runtime.read_health import ReadHealth, read_error_type


@pytest.mark.parametrize(("label", "error", "expected"), [
    ("401", DeskAuthError("x", 401), "auth"),
    ("403", DeskAuthError("x", 403), "auth"),
    ("404", DeskResponseError("x", 404), "not_found"),
    ("429 after the retries", DeskRetryableError("x", 429, 3.0), "rate_limited"),
    ("500", DeskRetryableError("x", 500), "server_error"),
    ("503", DeskRetryableError("x", 503), "server_error"),
    ("timeout or connection refused", DeskRetryableError("x"), "unreachable"),
    ("200 with malformed JSON", DeskRetryableError("x", 200), "bad_response"),
    ("400", DeskResponseError("x", 400), "bad_response"),
    ("redirect not followed", DeskResponseError("x", 302), "bad_response"),
    ("request could not be sent", DeskError("x"), "bad_response"),
])
def test_error_type(label, error, expected):
    assert read_error_type(error) == expected
    assert expected in names.READ_ERROR_TYPES


def points(reader):
    data = reader.get_metrics_data()
    return {(m.name, tuple(sorted(p.attributes.items()))): p.value
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics for p in m.data.data_points}


def test_every_error_type_exists_at_zero_from_discovery_and_counts_from_there():
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("t")
    health = ReadHealth(meter, "app-eu", clock_ns=lambda: 1_700_000_000 * 10**9)
    other_app = ReadHealth(meter, "app-us", clock_ns=lambda: 1_700_000_000 * 10**9)  # the same bot ids, other app
    health.discovered([7])
    health.failed(7, DeskResponseError("gone", 404))
    health.succeeded(8, "other")
    other_app.succeeded(8, "other")
    seen = points(reader)
    failures = {key: value for key, value in seen.items() if key[0] == names.READ_FAILURES.name}
    assert len(failures) == 5 * len(names.READ_ERROR_TYPES)  # each app's listing and bot 8, app-eu's bot 7
    assert {value for value in failures.values()} == {0, 1}
    assert failures[(names.READ_FAILURES.name, ((names.ATTR_ERROR_TYPE, "not_found"), (names.ATTR_APP_ID, "app-eu"),
                                                (names.ATTR_BOT_ID, 7)))] == 1
    for app in ("app-eu", "app-us"):
        assert seen[(names.LAST_READ.name, ((names.ATTR_APP_ID, app), (names.ATTR_BOT_ID, 8),
                                            (names.ATTR_BOT_NAME, "other")))] == 1_700_000_000


def scrape_failures(emulator, state_path, monkeypatch, **settings) -> dict:
    """One cycle of a receiver with a Prometheus endpoint; its read-failure series, by (bot id or None, error.type)."""
    from tests.harness.ports import free_port
    from tests.harness.receiver import make_receiver, scrape

    port = free_port()
    for name, value in {"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                        "OTEL_EXPORTER_PROMETHEUS_PORT": str(port)}.items():
        monkeypatch.setenv(name, value)
    receiver = make_receiver(emulator, state_path, **settings)
    try:
        receiver.run_once()
        samples = scrape(port)
    finally:
        receiver.close()
    return {(s.labels.get("sendbird_desk_bot_id") or None, s.labels["error_type"]): s.value
            for s in samples if s.name == "otel_desk_receiver_read_failures_total"}


def test_a_desk_bot_ids_bot_that_does_not_exist_counts_as_not_found(desk_emulator, state_path, monkeypatch):
    bot = desk_emulator.add_bot(name="real")
    failures = scrape_failures(desk_emulator, state_path, monkeypatch, bot_ids=[bot["id"], 424242])
    assert failures[("424242", "not_found")] == 1
    assert sum(failures.values()) == 1


def test_desk_unreachable_at_the_listing_counts_without_a_bot_id(desk_emulator, state_path, monkeypatch):
    desk_emulator.faults.drop_next(1000)
    failures = scrape_failures(desk_emulator, state_path, monkeypatch)
    assert failures[(None, "unreachable")] == 1
    assert sum(failures.values()) == 1
