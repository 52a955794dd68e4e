"""OTEL_METRICS_EXPORTER=prometheus: the SDK's Prometheus exporter serves /metrics with the names the
README gives, the committed counters and the read-health series; rules and dashboards hold for these names
and for the OTLP-to-Prometheus translation's (a Collector or an OTLP receiver in front of Prometheus)."""

import json
import re

import pytest
import yaml

from otel_desk_receiver import names
from otel_desk_receiver.otel_env import metrics_exporter_problems, metrics_exporters, prometheus_address
from tests.deploy.grafana_schema import panels
from tests.deploy.telemetry_names import SCRAPE_SERIES, collector_series, promql_names, prometheus_series
from tests.harness.paths import REPO
from tests.harness.ports import free_port
from tests.harness.receiver import make_receiver, scrape


@pytest.mark.parametrize(("label", "env", "expected"), [
    ("unset", {}, ("otlp",)),
    ("otlp", {"OTEL_METRICS_EXPORTER": "otlp"}, ("otlp",)),
    ("prometheus", {"OTEL_METRICS_EXPORTER": "prometheus"}, ("prometheus",)),
    ("both", {"OTEL_METRICS_EXPORTER": "otlp,prometheus"}, ("otlp", "prometheus")),
    ("both, spaced, other order", {"OTEL_METRICS_EXPORTER": " prometheus , otlp"}, ("otlp", "prometheus")),
])
def test_metrics_exporters(label, env, expected):
    assert metrics_exporters(env) == expected
    assert metrics_exporter_problems(env) == []


@pytest.mark.parametrize(("label", "env", "problem"), [
    ("console", {"OTEL_METRICS_EXPORTER": "console"},
     "OTEL_METRICS_EXPORTER: expected otlp, prometheus or otlp,prometheus (got 'console')"),
    ("none", {"OTEL_METRICS_EXPORTER": "none"},
     "OTEL_METRICS_EXPORTER: expected otlp, prometheus or otlp,prometheus (got 'none')"),
    ("port not a number", {"OTEL_EXPORTER_PROMETHEUS_PORT": "http"},
     "OTEL_EXPORTER_PROMETHEUS_PORT: expected a port number from 1 to 65535 (got 'http')"),
    ("port out of range", {"OTEL_EXPORTER_PROMETHEUS_PORT": "70000"},
     "OTEL_EXPORTER_PROMETHEUS_PORT: expected a port number from 1 to 65535 (got '70000')"),
])
def test_bad_values_are_one_line_naming_the_variable(label, env, problem):
    assert metrics_exporter_problems(env) == [problem]


def test_address_defaults_are_the_specification_s():
    assert prometheus_address({}) == ("localhost", 9464)
    assert prometheus_address({"OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0", "OTEL_EXPORTER_PROMETHEUS_PORT": "9999"}) \
        == ("0.0.0.0", 9999)


def test_a_bad_exporter_stops_the_receiver_with_exit_2(tmp_path):
    import subprocess
    import sys
    env = {"PATH": "/usr/bin:/bin", "DESK_API_URL": "http://127.0.0.1:9/platform/v1", "DESK_API_TOKEN": "t0ken-123456",
           "DESK_STATE_PATH": str(tmp_path / "s.json"), "OTEL_METRICS_EXPORTER": "console"}
    result = subprocess.run([sys.executable, "-m", "otel_desk_receiver", "run", "--once"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "OTEL_METRICS_EXPORTER: expected otlp, prometheus or otlp,prometheus (got 'console')" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def scraped(desk_emulator, otlp_sink, otlp_env, state_path, monkeypatch):
    """One cycle of a receiver exporting to a sink and to a Prometheus endpoint; the samples of its /metrics."""
    otlp_env(otlp_sink, "http/protobuf")
    port = free_port()
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp,prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
    bot = desk_emulator.add_bot(name="order-helper", is_unread_error=True)
    gone = desk_emulator.add_bot(name="gone")
    receiver = make_receiver(desk_emulator, state_path)
    try:
        receiver.run_once()
        desk_emulator.add_entries(bot["id"], 3, statuses=("RECEIVED", "TIMEOUT", "RECEIVED"))
        desk_emulator.faults.fail_next(10, status=404, path_contains=f"/bots/{gone['id']}/")
        receiver.run_once()
        samples = scrape(port)
    finally:
        receiver.close()
    return samples, bot["id"], gone["id"]


def test_metrics_carry_the_readme_s_names_and_the_committed_counts(scraped):
    samples, bot_id, gone_id = scraped
    series = {s.name for s in samples}
    # What this scenario exports (nothing was rejected, no export failed, no leader election).
    for spec in (names.WEBHOOK_LOGS, names.WEBHOOK_LOGS_PENDING, names.UNREAD_ERROR, names.HTTP_CLIENT_DURATION,
                 names.LAG, names.POLL_DURATION, names.READ_FAILURES, names.LAST_READ):
        wanted = spec.prometheus_name + ("_count" if spec.instrument == "histogram" else "")
        assert wanted in series, wanted
    counted = {s.labels["sendbird_desk_webhook_log_status"]: s.value for s in samples
               if s.name == "sendbird_desk_bot_webhook_logs_total" and s.labels["sendbird_desk_bot_id"] == str(bot_id)}
    assert counted == {"INITIALIZED": 0, "SENT": 0, "RECEIVED": 2, "ERROR": 0, "TIMEOUT": 1}


def test_the_sdk_exporter_adds_no_ratio_suffix_and_labels_the_scope(scraped):
    samples, _, _ = scraped
    series = {s.name for s in samples}
    assert "sendbird_desk_bot_unread_error" in series and "sendbird_desk_bot_unread_error_ratio" not in series
    for sample in samples:
        if sample.name != "target_info":
            assert sample.labels.get("otel_scope_name") == names.SCOPE_NAME, sample


def test_read_health_counts_each_failure_type_from_zero(scraped):
    samples, bot_id, gone_id = scraped
    # The listing has no bot id: the exporter writes the label empty, which Prometheus reads as absent.
    failures = {(s.labels.get("sendbird_desk_bot_id") or None, s.labels["error_type"]): s.value for s in samples
                if s.name == "otel_desk_receiver_read_failures_total"}
    for who in (None, str(bot_id), str(gone_id)):
        assert {error_type for bot, error_type in failures if bot == who} == set(names.READ_ERROR_TYPES)
    assert failures[(str(gone_id), "not_found")] == 1
    assert sum(failures.values()) == 1
    last = {s.labels["sendbird_desk_bot_id"] for s in samples if s.name == "otel_desk_receiver_read_last_success_seconds"}
    assert str(bot_id) in last


def shipped_queries() -> list[str]:
    rules = yaml.safe_load((REPO / "examples" / "alerts" / "otel-desk-receiver.rules.yaml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json").read_text())
    exprs += [t["expr"] for p in panels(dashboard) for t in p.get("targets", []) if t["datasource"]["type"] == "prometheus"]
    alerting = yaml.safe_load((REPO / "examples" / "grafana" / "provisioning" / "alerting" / "otel-desk-receiver.yaml").read_text())
    exprs += [d["model"]["expr"] for g in alerting["groups"] for r in g["rules"] for d in r["data"] if "expr" in d["model"]]
    return exprs


def translated_series() -> set[str]:
    """The translation's names (OTLP -> Prometheus, as the Collector and Prometheus' OTLP receiver give them):
    the documented rules (names.MetricSpec.prometheus_name) plus _ratio on unit-1 gauges."""
    return (prometheus_series() - {s.prometheus_name for s in names.METRICS if s.instrument == "gauge" and s.unit == "1"}) \
        | collector_series()


@pytest.mark.parametrize("path", ["sdk exporter", "translation"])
def test_rules_and_dashboards_find_their_series_on_both_paths(path, scraped):
    samples, _, _ = scraped
    # On the SDK path, the scrape of one receiver without election lacks what only comes later (a counter's
    # first increment) or with leader election (the leader gauge): those are added by name.
    available = {s.name for s in samples} | {"sendbird_desk_bot_webhook_logs_total", "otel_desk_receiver_entries_rejected_total",
                                                   "otel_desk_receiver_export_failures_total", "otel_desk_receiver_leader"} \
        if path == "sdk exporter" else translated_series()
    available |= SCRAPE_SERIES  # Prometheus writes `up` for every target itself, on either path
    for expr in shipped_queries():
        metrics, _, patterns = promql_names(expr)
        assert metrics <= available, (expr, metrics - available)
        for pattern in patterns:
            assert any(re.fullmatch(pattern, name) for name in available), (expr, pattern)


@pytest.fixture
def check_env(desk_emulator, otlp_sink, state_path):
    from tests.harness.receiver_process import receiver_env
    desk_emulator.add_bot(name="order-helper")
    values = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path)
    values.update({"OTEL_EXPORTER_OTLP_TIMEOUT": "700", "OTEL_METRICS_EXPORTER": "prometheus",
                   "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1"})
    return values


def test_check_reports_the_prometheus_endpoint_instead_of_otlp_metrics(check_env):
    from tests.harness.receiver_process import run_command
    check_env["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(free_port())
    done = run_command(check_env, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    port = check_env["OTEL_EXPORTER_PROMETHEUS_PORT"]
    assert f"[ok] Prometheus: metrics would be served for a scrape at http://127.0.0.1:{port}/metrics" in done.stdout
    assert "[ok] OTLP logs" in done.stdout and "OTLP metrics" not in done.stdout
    assert "OTEL_METRICS_EXPORTER        prometheus" in done.stdout


def test_check_fails_on_a_prometheus_port_in_use(check_env):
    import socket

    from tests.harness.receiver_process import run_command
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        check_env["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(taken.getsockname()[1])
        done = run_command(check_env, "check")
    assert done.returncode == 1, done.stdout
    assert "[FAIL] Prometheus: OTEL_EXPORTER_PROMETHEUS_HOST/PORT: cannot listen on 127.0.0.1:" in done.stdout
    assert done.stdout.rstrip().endswith("problems: Prometheus")


def test_run_exits_2_naming_the_variables_when_the_port_is_taken(check_env):
    import socket

    from tests.harness.receiver_process import run_command
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        check_env["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(taken.getsockname()[1])
        done = run_command(check_env, "run", "--once")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "OTEL_EXPORTER_PROMETHEUS_HOST/OTEL_EXPORTER_PROMETHEUS_PORT: cannot listen on 127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_endpoint_serves_every_apps_committed_totals_each_series_labelled_with_its_app(tmp_path):
    from otel_desk_receiver.otlp.counter_export import KNOWN_STATUSES, CounterSource
    from otel_desk_receiver.otlp.prometheus_endpoint import PrometheusEndpoint, committed_totals
    from otel_desk_receiver.pipeline.cursor import BotCursor
    from otel_desk_receiver.state.file_backend import StateFile
    from otel_desk_receiver.state.store import CursorStore

    sources = []
    for app, counted in (("app-eu", {"RECEIVED": 3}), ("app-us", {"RECEIVED": 5})):
        state = StateFile(tmp_path / f"{app}.json")
        state.commit({7: BotCursor("2026-11-24", 0, None, 0, 0, counted=counted, counted_since_ns=1)})
        sources.append(CounterSource(app, CursorStore(state), lambda: [(7, "same-name")]))
    endpoint = PrometheusEndpoint("127.0.0.1", 0, totals=committed_totals(sources)).start()
    try:
        samples = scrape(endpoint.port)
    finally:
        endpoint.stop()
    received = {s.labels["sendbird_app_id"]: s.value for s in samples
                if s.name == "sendbird_desk_bot_webhook_logs_total" and s.labels["sendbird_desk_webhook_log_status"]
                == "RECEIVED"}
    assert received == {"app-eu": 3, "app-us": 5}
    series = [s for s in samples if s.name == "sendbird_desk_bot_webhook_logs_total"]
    assert len(series) == 2 * len(KNOWN_STATUSES)  # every known status of each app's bot 7, none merged
