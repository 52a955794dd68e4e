"""names.py, the single source of telemetry names: each name once, and the names Prometheus shows for them."""

import re

import pytest

from otel_desk_receiver import names

ATTRIBUTES = {value for key, value in vars(names).items()
              if key.startswith("ATTR_") and key != "ATTR_EXTRA_FIELD_PREFIX"}  # a prefix, not a name
SPECS = [value for value in vars(names).values() if isinstance(value, names.MetricSpec)]


@pytest.mark.parametrize("spec, shown", [
    pytest.param(names.WEBHOOK_LOGS, "sendbird_desk_bot_webhook_logs_total", id="counter"),
    pytest.param(names.HTTP_CLIENT_DURATION, "http_client_request_duration_seconds", id="histogram-in-seconds"),
    pytest.param(names.LAG, "otel_desk_receiver_lag_seconds", id="gauge-in-seconds"),
    pytest.param(names.UNREAD_ERROR, "sendbird_desk_bot_unread_error", id="unit-1-gauge-no-ratio"),
])
def test_the_name_prometheus_shows(spec, shown):
    assert spec.prometheus_name == shown


def test_an_attribute_becomes_a_label_with_underscores():
    assert names.prometheus_label(names.ATTR_BOT_ID) == "sendbird_desk_bot_id"


def test_every_metric_defined_is_exported_once_under_its_own_name():
    assert sorted(spec.name for spec in names.METRICS) == sorted(spec.name for spec in SPECS)
    assert len({spec.prometheus_name for spec in names.METRICS}) == len(names.METRICS)


def test_metrics_use_only_defined_attributes_and_known_instruments():
    for spec in names.METRICS:
        assert spec.instrument in ("counter", "gauge", "histogram"), spec.name
        assert set(spec.attributes) <= ATTRIBUTES, spec.name
        assert spec.description and spec.unit, spec.name


def test_names_are_dotted_lowercase():
    for name in ATTRIBUTES | {spec.name for spec in names.METRICS}:
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", name), name
    assert set(names.LOG_ATTRIBUTES) <= ATTRIBUTES
    assert names.ATTR_EXTRA_FIELD_PREFIX == names.ATTR_WEBHOOK_LOG_ID.removesuffix("id")
