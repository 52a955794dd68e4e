"""Desk's request budget against the poll interval: one line saying whether a sweep fits, logged once per bot count,
and the sweep time as a gauge."""

import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_desk_receiver import names
from otel_desk_receiver.runtime.budget import SweepBudget, describe
from otel_desk_receiver.runtime.selfmetrics import SelfTelemetry


def test_a_sweep_that_fits_is_said_plainly():
    assert describe(100, 10.0, 30.0) == (
        True, "100 bot(s) at DESK_MAX_RPS=10: one sweep takes at least 10.0 s against DESK_POLL_INTERVAL=30 s")


def test_a_sweep_past_the_interval_says_what_waits_and_the_rate_that_would_fit():
    fits, line = describe(1000, 10.0, 30.0)
    assert not fits
    assert line.endswith(": the budget cannot meet the interval; entries wait up to about 130 s and idle bots are "
                         "polled less often (raise DESK_MAX_RPS to 33.4 if Desk allows, or the interval)")


def test_an_apps_budget_names_its_key():
    fits, line = describe(1000, 10.0, 30.0, setting="apps[1].max_rps")
    assert line.startswith("1000 bot(s) at apps[1].max_rps=10: ") and "(raise apps[1].max_rps to 33.4 " in line


@pytest.fixture
def reader():
    reader = InMemoryMetricReader()
    yield reader
    reader.shutdown()


def gauge(reader) -> list[float]:
    data = reader.get_metrics_data()
    return [point.value for resource in (data.resource_metrics if data else []) for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == names.SWEEP_DURATION.name
            for point in metric.data.data_points]


def test_the_gauge_and_the_log_follow_the_bot_count(reader, caplog):
    budget = SweepBudget(max_rps=10.0, interval_s=30.0)
    telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test")).for_app("eu")
    telemetry.observe(names.SWEEP_DURATION, budget.points)
    assert gauge(reader) == []  # no bot list yet: no point
    caplog.set_level(logging.INFO, logger="otel_desk_receiver.runtime.budget")
    assert budget.update(100) and budget.update(100)
    assert not budget.update(1000)
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("INFO", "100 bot(s) at DESK_MAX_RPS=10"), ("WARNING", "1000 bot(s) at DESK_MAX_RPS=10")]  # once per count
    assert gauge(reader) == [100.0]


def test_the_budget_line_names_the_apps_own_setting(caplog):
    caplog.set_level("INFO")
    budget = SweepBudget(max_rps=0.5, interval_s=30, setting="apps[1].max_rps")
    assert budget.update(60) is False
    assert "60 bot(s) at apps[1].max_rps=0.5" in caplog.text and "raise apps[1].max_rps to 2" in caplog.text


def points(reader) -> dict[str, float]:
    data = reader.get_metrics_data()
    return {point.attributes.get(names.ATTR_APP_ID): point.value
            for resource in (data.resource_metrics if data else []) for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == names.SWEEP_DURATION.name
            for point in metric.data.data_points}


def test_each_apps_budget_is_its_own_point_on_one_gauge(reader):
    """Several apps on one meter: an observable gauge made twice under one name keeps only the first one's
    callback, so the second app's sweep went unseen; each app's budget is its own point, named by its app."""
    telemetry = SelfTelemetry(MeterProvider(metric_readers=[reader]).get_meter("test"))
    budgets = {"eu": SweepBudget(max_rps=10.0, interval_s=30.0), "us": SweepBudget(max_rps=1.0, interval_s=30.0)}
    for app, budget in budgets.items():
        telemetry.for_app(app).observe(names.SWEEP_DURATION, budget.points)
    budgets["eu"].update(100)
    budgets["us"].update(100)
    assert points(reader) == {"eu": 10.0, "us": 100.0}
