"""The shipped alert rules on real pipelines, every alert firing after its `for:` and resolving.

Each incident (tests/e2e/alert_incidents.py) runs on a pipeline of its own: the Desk emulator (its control
surface scripts the incident), an OTLP sink, the receiver as a real process serving /metrics
(OTEL_METRICS_EXPORTER=otlp,prometheus) and Debian's Prometheus scraping it every second, evaluating
examples/alerts/otel-desk-receiver.rules.yaml with every duration scaled by 1/20 (tests/e2e/scaled_rules.py:
`for:`, range windows, `time() - x < N`; the receiver re-reads the bot list as much sooner). The real
durations are proven in promtool's virtual time (examples/alerts/otel-desk-receiver.rules.test.yaml). One
incident runs on the file unchanged: the timeout burst, where a bot's seconds-old series meets the real
5- and 15-minute windows (increase() extrapolates a young series; see alert_incidents.py). Every
Prometheus alerts to one Debian Alertmanager, which routes to a webhook receiver on loopback. The incidents
run side by side, so the test lasts as long as the slowest: the unscaled burst, resolved 5 minutes after its
last timeout (about 6 minutes in all).

Shown for every shipped alert: it reaches the webhook firing, no sooner than its `for:` after Prometheus
found its expression true, with its labels and annotations; it reaches the webhook resolved once its
incident ends; its incident fires nothing else and leaves nothing pending but what the incident allows.
Then every PromQL expression of the Grafana dashboard, the Grafana-provisioned alerting and the rules runs
against those Prometheus servers and returns data where the incidents imply data.
"""

import json
import re
import threading
import time
from contextlib import ExitStack

import pytest
import yaml

from tests.deploy.grafana_schema import panels
from tests.e2e.alert_incidents import INCIDENTS
from tests.e2e.alert_pipeline import WebhookSink, start_alertmanager
from tests.e2e.alert_scenario import RULES, START_UP_S, WARM_UP, Pipeline, first_matching, matches
from tests.e2e.scaled_rules import scale_expr
from tests.harness.paths import REPO
from tests.harness.wait import wait_until

pytestmark = pytest.mark.alert_pipeline

DASHBOARD = REPO / "examples" / "grafana" / "dashboards" / "otel-desk-receiver.json"
GRAFANA_ALERTING = REPO / "examples" / "grafana" / "provisioning" / "alerting" / "otel-desk-receiver.yaml"
SCENARIO_DEADLINE_S = 15 * 60.0
# Panels no incident gives data: no entry is malformed here.
NO_DATA = {"panel Export failures and rejected entries B"}


def test_every_shipped_alert_fires_after_its_for_for_its_incident_only_and_resolves(tmp_path, make_desk_emulator,
                                                                                    capsys):
    started = time.time()
    with ExitStack() as stack:
        webhook = WebhookSink().start()
        stack.callback(webhook.stop)
        alertmanager = start_alertmanager(tmp_path, webhook.url)
        stack.callback(alertmanager.stop)
        pipelines = []
        for incident in INCIDENTS:
            run_dir = tmp_path / incident.name
            run_dir.mkdir()
            pipelines.append(Pipeline(incident, stack, run_dir, make_desk_emulator(control=True), alertmanager))
        stack.callback(lambda: [setattr(p, "closed", True) for p in pipelines])  # torn down first
        with capsys.disabled():  # each step's timing printed live (the alert run's log in `make test`)
            failures = play_side_by_side(pipelines, webhook)
        assert not failures, "\n\n".join(failures)
        for pipeline in pipelines:
            check_alerts(pipeline, webhook)
            assert set(pipeline.api.rules_health().values()) == {"ok"}, pipeline.name
        assert {e.alertname for p in pipelines for e in p.incident.expected} == set(RULES)
        check_every_query_returns_data(pipelines)
    with capsys.disabled():  # shown in `make test`'s output, not only on failure
        print(f"\nalert pipeline timing ({len(pipelines)} incidents side by side, {time.time() - started:.0f} s in all):")
        for pipeline in pipelines:
            for what, seconds in pipeline.timings:
                print(f"  {pipeline.name}: {what}: {seconds:.0f} s")


def play_side_by_side(pipelines: list[Pipeline], webhook: WebhookSink) -> list[str]:
    """Every incident on its own thread; what went wrong, by incident, with its receiver's log."""
    failures: list[str] = []

    def play_one(pipeline: Pipeline) -> None:
        try:
            play(pipeline, webhook)
        except Exception as error:  # noqa: BLE001 - reported with the incident's name below
            failures.append(f"{pipeline.name}: {error}\nreceiver log:\n{pipeline.receiver.output()[-3000:]}")

    threads = [threading.Thread(target=play_one, args=(p,), name=p.name, daemon=True) for p in pipelines]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: not any(thread.is_alive() for thread in threads), SCENARIO_DEADLINE_S,
                   "every incident to end", poll_s=0.5)
    except AssertionError:
        pass  # the incidents still running are named below, each with the step it waits for
    failures += [f"{p.name}: still waiting for {p.step} after {SCENARIO_DEADLINE_S:.0f} s"
                 for p, thread in zip(pipelines, threads) if thread.is_alive()]
    return failures


def play(p: Pipeline, webhook: WebhookSink) -> None:
    """Warm up, start the incident, wait until its alerts fire, end it, wait until they resolve."""
    warm_up(p)
    p.begin()
    for expected in p.incident.expected:
        p.wait_firing(webhook, expected)
    p.end()
    for expected in p.incident.expected:
        p.wait_resolved(webhook, expected)
    wait_until(lambda: not p.watcher.snapshot()[1], 120, f"{p.name}: no alert active at the end", poll_s=0.5)


def warm_up(p: Pipeline) -> None:
    """Entries delivered for the warm-up bots, after their zero series reached Prometheus (so increase()
    sees the first ones); the start-up alerts inactive again."""
    fed = tuple(p.bots) if p.incident.warm_up is None else p.incident.warm_up
    p.step = "the warm-up"
    for name in fed:
        wait_until(lambda: p.api.query(f'sendbird_desk_bot_webhook_logs_total{{sendbird_desk_bot_id="{p.bots[name]}"}}'),
                   60, f"{p.name}: bot {name}'s zero series in Prometheus", poll_s=0.25)
        p.control.entries(p.bots[name], 2, "RECEIVED")
    for name in fed:
        wait_until(lambda: p.api.query(f'increase(sendbird_desk_bot_webhook_logs_total{{sendbird_desk_bot_id="{p.bots[name]}"}}[2h]) > 0'),
                   60, f"{p.name}: bot {name}'s first entries counted", poll_s=0.25)
    if fed:
        for alertname in WARM_UP:
            wait_until(lambda: not any(key[0] == alertname for key in p.watcher.snapshot()[1]), 60,
                       f"{p.name}: {alertname} inactive after the warm-up", poll_s=0.25)
        p.timing("warm-up (first entries delivered and counted)", p.started_s)


def check_alerts(p: Pipeline, webhook: WebhookSink) -> None:
    seen, active = p.watcher.snapshot()
    fired = webhook.alerts("firing", p.name)
    for expected in p.incident.expected:
        labels = p.labels(expected)
        alert = first_matching(fired, expected.alertname, labels)
        assert alert, (p.name, expected, fired)
        check_labels_and_annotations(alert)
        (item,) = [item for key, item in seen.items() if matches(key, expected.alertname, **labels)]
        # The expression held from its latest activation before the notification for at least `for:`, and
        # that was no sooner than the incident's onset.
        active_at = max(a for a in item.active_ats if a <= alert["received_s"])
        assert alert["received_s"] - active_at >= p.for_s(expected.alertname) - 1, (p.name, expected, active_at, alert)
        onset_s = p.onset_s(expected)
        assert alert["received_s"] >= onset_s + p.for_s(expected.alertname) - 1, (p.name, expected, onset_s, alert)
    unexpected = [a["labels"] for a in fired
                  if not any(first_matching([a], e.alertname, p.labels(e)) for e in p.incident.expected)]
    assert not unexpected, f"{p.name} fired alerts not meant for it: {unexpected}"
    for key, item in seen.items():
        if any(matches(key, e.alertname, **p.labels(e)) for e in p.incident.expected):
            continue
        warm_up_over_s = max(p.began_s, p.started_s + START_UP_S)
        allowed = key[0] in p.incident.allowed or (key[0] in WARM_UP and item.last_s < warm_up_over_s)
        assert allowed, f"{p.name} made {key} {item.states} (not meant for it)"
    assert not active, f"{p.name}: still active at the end: {active}"


def check_labels_and_annotations(alert: dict) -> None:
    rule = RULES[alert["labels"]["alertname"]]
    assert alert["labels"]["severity"] == rule["labels"]["severity"]
    assert set(alert["annotations"]) == set(rule["annotations"])
    assert alert["annotations"]["runbook_url"] == rule["annotations"]["runbook_url"]
    summary = alert["annotations"]["summary"]
    assert "{{" not in summary and "<no value>" not in summary, alert["annotations"]
    for label in re.findall(r"\$labels\.(\w+)", rule["annotations"]["summary"]):
        assert alert["labels"][label] in summary, (label, summary)


def shipped_expressions() -> dict[str, str]:
    """Every PromQL expression shipped, by where it comes from; Grafana's variables as Grafana fills them."""
    exprs = {f"rule {name}": rule["expr"] for name, rule in RULES.items()}
    for panel in panels(json.loads(DASHBOARD.read_text())):
        for target in panel.get("targets", []):
            if target["datasource"]["type"] == "prometheus":
                exprs[f"panel {panel['title']} {target['refId']}"] = target["expr"]
    for group in yaml.safe_load(GRAFANA_ALERTING.read_text())["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if "expr" in query["model"]:
                    exprs[f"grafana alert {rule['uid']} {query['refId']}"] = query["model"]["expr"]
    variables = {"$__rate_interval": "1m", "$service": ".+", "$app": ".*", "$bot": ".*"}
    for name, value in variables.items():
        exprs = {where: expr.replace(name, value) for where, expr in exprs.items()}
    return exprs


def check_every_query_returns_data(pipelines: list[Pipeline]) -> None:
    """Each expression runs on every pipeline's Prometheus (so each is valid PromQL), its durations scaled as
    that pipeline's rules are; each returns a value other than 0 on at least one. A rule's own expression is
    already proven by the alert Prometheus raised from it (it may hold for a few seconds only)."""
    end = time.time()
    for where, expr in shipped_expressions().items():
        results = [p.api.query_range(scale_expr(expr, p.factor), p.started_s, end, step_s=1) for p in pipelines]
        if where in NO_DATA or where.startswith("rule "):
            continue
        values = [float(value) for result in results for series in result for _, value in series["values"]]
        assert any(values), f"{where}: no data other than 0 on any pipeline: {expr}"
