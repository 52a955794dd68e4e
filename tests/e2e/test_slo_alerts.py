"""The shipped SLO rules (examples/alerts/otel-desk-receiver.slo.rules.yaml, unchanged) on Debian's real
Prometheus, over days of history: a bot burning its budget at 15x pages and does not ticket yet, the same burn
hours later tickets too, a slow burn tickets only, a bot with 3 calls and 1 failure fires nothing.

Days cannot be waited for, and the time-scaled copies the other alert proofs use (tests/e2e/scaled_rules.py)
cannot reach them either: scaling 3 days down to minutes makes the 5-minute window shorter than a scrape. So
the history is written instead: each bot's counters, one sample a minute for the last 3 days and a few hours,
are turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics` (Prometheus' own backfill) and
Prometheus starts on them, evaluating the rules every second at the wall clock's now, which is where the
history ends. The rules' windows are the real ones. That the receiver's counter reaches Prometheus under these
names is proven with the receiver in the loop by tests/e2e/test_alerts.py; every window's edge cases, in
virtual time, by examples/alerts/otel-desk-receiver.slo.rules.test.yaml.
"""

import subprocess
import time
from dataclasses import dataclass

import pytest
import requests
import yaml

from tests.e2e.alert_pipeline import PrometheusApi, binary
from tests.harness.paths import REPO
from tests.harness.process import ServerProcess, start_on_free_port
from tests.harness.wait import wait_until

RULES = REPO / "examples" / "alerts" / "otel-desk-receiver.slo.rules.yaml"
METRIC = "sendbird_desk_bot_webhook_logs_total"
HISTORY_MIN = 3 * 24 * 60 + 6 * 60  # more than the longest alert window (3 days)
CALLS_PER_MIN = 20
MINUTE_S = 60


@dataclass(frozen=True)
class Bot:
    """A bot's calls: CALLS_PER_MIN a minute (``busy``) or ``calls_at`` only (minutes before now, the bad ones in
    ``bad_at``); in the last ``burn_min`` minutes a share ``bad_share`` of them fail."""

    bot_id: str
    burn_min: int = 0
    bad_share: float = 0.0
    busy: bool = True
    calls_at: tuple[int, ...] = ()
    bad_at: tuple[int, ...] = ()

    def counts(self, minutes_ago: int) -> tuple[float, float]:
        """(good, bad) calls in the minute ending ``minutes_ago`` minutes before now."""
        if not self.busy:
            return (float(minutes_ago in self.calls_at and minutes_ago not in self.bad_at),
                    float(minutes_ago in self.bad_at))
        bad = CALLS_PER_MIN * self.bad_share if minutes_ago < self.burn_min else 0.0
        return CALLS_PER_MIN - bad, bad


# Objective 99 %: a burn rate of 15x is 15 % of calls failing.
BOTS = {
    "fast-for-65-minutes": Bot("1", burn_min=65, bad_share=0.15),  # 1h: 15x; 6h: 2.7x; 1d: 0.68x; 3d: 0.23x
    "fast-for-5-hours": Bot("2", burn_min=330, bad_share=0.15),  # 1h, 6h: 15x, 13.75x; 1d: 3.4x; 3d: 1.15x
    "slow-for-26-hours": Bot("3", burn_min=26 * 60, bad_share=0.04),  # 4x everywhere but 3d: 1.44x
    "three-calls-one-failing": Bot("4", busy=False, calls_at=(40, 25, 10), bad_at=(10,)),  # 33x, 3 calls
    "healthy": Bot("5", bad_share=0.005, burn_min=HISTORY_MIN),  # 0.5x
}
EXPECTED_FIRING = {
    ("DeskBotSLOFastBurn", "1", "1h"),
    ("DeskBotSLOFastBurn", "2", "1h"), ("DeskBotSLOFastBurn", "2", "6h"),
    ("DeskBotSLOSlowBurn", "2", "1d"), ("DeskBotSLOSlowBurn", "2", "3d"),
    ("DeskBotSLOSlowBurn", "3", "1d"), ("DeskBotSLOSlowBurn", "3", "3d"),
}


def openmetrics(now_s: int) -> str:
    """Every bot's RECEIVED and ERROR counters, a sample a minute, the newest at ``now_s``."""
    lines = [f"# TYPE {METRIC.removesuffix('_total')} counter"]
    for name, bot in BOTS.items():
        for status, column in (("RECEIVED", 0), ("ERROR", 1)):
            labels = (f'sendbird_app_id="app-a",sendbird_desk_bot_id="{bot.bot_id}",sendbird_desk_bot_name="{name}",'
                      f'sendbird_desk_webhook_log_status="{status}"')
            total = 0.0
            for minutes_ago in range(HISTORY_MIN, -1, -1):
                if minutes_ago < HISTORY_MIN:
                    total += bot.counts(minutes_ago)[column]
                lines.append(f"{METRIC}{{{labels}}} {total:g} {now_s - minutes_ago * MINUTE_S}")
    return "\n".join(lines + ["# EOF"]) + "\n"


def start_prometheus(run_dir, data_dir) -> ServerProcess:
    config = run_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1s"}, "rule_files": [str(RULES)]}))

    def start(port: int) -> ServerProcess:
        command = [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
                   f"--web.listen-address=127.0.0.1:{port}"]
        server = ServerProcess("prometheus", command, run_dir / "prometheus.log", cwd=run_dir)
        server.url = f"http://127.0.0.1:{port}"
        return server.wait_ready(lambda: ready(server.url), 30)

    return start_on_free_port(start)


def ready(url: str) -> bool:
    try:
        return requests.get(url + "/-/ready", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def evaluations(url: str) -> tuple[str, ...]:
    """When each rule group was last evaluated (Go's zero time before the first)."""
    groups = requests.get(url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
    return tuple(group["lastEvaluation"] for group in groups if not group["lastEvaluation"].startswith("0001-"))


def firing(api: PrometheusApi) -> set[tuple[str, str, str]]:
    return {(a["labels"]["alertname"], a["labels"]["sendbird_desk_bot_id"], a["labels"]["long_window"])
            for a in api.alerts() if a["state"] == "firing"}


def test_days_of_history_fire_the_page_before_the_ticket_and_nothing_for_a_quiet_bot(tmp_path):
    now_s = int(time.time())
    source = tmp_path / "history.om"
    source.write_text(openmetrics(now_s))
    data_dir = tmp_path / "data"
    backfill = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
                              capture_output=True, text=True, timeout=120)
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    prometheus = start_prometheus(tmp_path, data_dir)
    try:
        api = PrometheusApi(prometheus.url)
        first = wait_until(lambda: evaluations(prometheus.url), 30, "the SLO rules evaluated")
        wait_until(lambda: (now := evaluations(prometheus.url)) and now != first, 30, "a second evaluation")
        assert set(api.rules_health().values()) == {"ok"}, api.rules_health()
        # The history reached Prometheus: 3 days of the busy bots' calls in the 3d window.
        calls = {s["metric"]["sendbird_desk_bot_id"]: float(s["value"][1])
                 for s in api.query("sendbird_desk_bot:webhook_slo_events:increase3d")}
        assert calls["1"] > 0.95 * 3 * 24 * 60 * CALLS_PER_MIN and calls["4"] == pytest.approx(3, rel=0.01), calls
        assert firing(api) == EXPECTED_FIRING
        # The quiet bot burns at 33x: only the guard keeps it from paging.
        (burn,) = api.query('sendbird_desk_bot:webhook_slo_burn_rate:1h{sendbird_desk_bot_id="4"}')
        assert float(burn["value"][1]) > 30
    finally:
        prometheus.stop()
