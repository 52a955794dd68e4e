"""The status page at the health port's /: its JSON checked against the receiver's own state, its HTML as a
person sees it in a real headless browser (Debian's chromium), and no secret on either."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import requests

from otel_desk_receiver import __version__
from otel_desk_receiver.runtime.health import BotHealth, HealthServer, HealthState
from otel_desk_receiver.runtime.selfmetrics import BotGauges
from otel_desk_receiver.units import NS_PER_S
from tests.harness.ports import free_port
from tests.harness.receiver import make_receiver

FROZEN_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOKEN = "tok-status-page-secret-7f3a"
HEADER_SECRET = "hdr-status-page-secret-91c2"
WEBHOOK_URL = "https://hooks.example.com/secret-hook-path-5d1e?key=secret-query-8b4f"
SECRETS = (TOKEN, HEADER_SECRET, "secret-hook-path-5d1e", "secret-query-8b4f")
BROWSER_TIMEOUT_S = 60


@pytest.fixture
def running_receiver(make_desk_emulator, otlp_sink, otlp_env, state_path):
    """A receiver after one cycle over two bots: 'alpha' read (3 entries delivered, 2 pending) and 'broken',
    whose webhook logs answer 500 quoting the token and the OTLP header; every secret the receiver could hold
    is set (token, OTLP headers, webhook URLs with a path and a query)."""
    emulator = make_desk_emulator(frozen_at=FROZEN_AT, token=TOKEN)
    alpha = emulator.add_bot("alpha", timeout_seconds=300, webhook_url=WEBHOOK_URL)
    broken = emulator.add_bot("broken", webhook_url=WEBHOOK_URL)
    start = FROZEN_AT - timedelta(seconds=100)
    emulator.add_entries(alpha["id"], 5, ["RECEIVED", "ERROR", "TIMEOUT", "SENT", "SENT"], start=start, spacing_s=10)
    echo = f'{{"detail": "Bearer {TOKEN} refused; your OTLP header was {HEADER_SECRET}"}}'  # an answer quoting them
    emulator.faults.fail_next(1000, status=500, path_contains=f"/bots/{broken['id']}/webhook_logs", body=echo)
    otlp_env(otlp_sink, "http/protobuf", OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer {HEADER_SECRET}")
    receiver = make_receiver(emulator, state_path, backfill_days=0, backfill="1h", health_addr=f"127.0.0.1:{free_port()}")
    receiver.start_health()
    receiver.run_once()
    try:
        yield receiver, alpha["id"], broken["id"]
    finally:
        receiver.close()


def page_url(receiver) -> str:
    return f"http://127.0.0.1:{receiver.settings.health_host_port[1]}/"


def test_the_json_is_the_receivers_state_and_holds_no_secret(running_receiver):
    receiver, alpha, broken = running_receiver
    answer = requests.get(page_url(receiver), params={"format": "json"}, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert not [secret for secret in SECRETS if secret in answer.text], answer.text
    document = answer.json()
    gauges = {gauge.bot_id: gauge for gauge in receiver.poller.gauges()}
    turns = receiver.health.snapshot()["bots"]
    assert document["version"] == __version__ and document["role"] == "single" and document["uptime_s"] >= 0
    assert document["bot_turns"] == 2 and document["records_exported"] == 3
    bots = {bot["id"]: bot for bot in document["bots"]}
    assert set(bots) == {alpha, broken} == set(gauges)
    for bot_id, bot in bots.items():
        assert bot["name"] == gauges[bot_id].bot_name
        assert bot["pending"] == gauges[bot_id].pending
        assert bot["lag_s"] == (None if gauges[bot_id].lag_s is None else round(gauges[bot_id].lag_s, 1))
        assert bot["last_error"] == turns[str(bot_id)]["last_error"]
    assert bots[alpha]["pending"] == 2 and bots[alpha]["lag_s"] == 60.0 and bots[alpha]["last_error"] is None
    assert bots[alpha]["last_read"] == FROZEN_AT.isoformat(timespec="seconds")
    assert "HTTP 500" in bots[broken]["last_error"] and "refused" in bots[broken]["last_error"]
    assert bots[broken]["last_read"] is None


def test_a_person_sees_the_page_in_a_browser_without_a_secret(running_receiver, tmp_path):
    receiver, alpha, broken = running_receiver
    page = Page(browser_dom(page_url(receiver), tmp_path))
    assert page.title == "otel-desk-receiver status"
    assert page.facts["Version"] == __version__
    assert page.facts["Role"] == "the only receiver (no leader election)"
    assert page.facts["Log records exported"] == "3"
    rows = {row[0]: row for row in page.bots}
    assert page.bots[0] == ["Bot", "Name", "Last read (UTC)", "Lag", "Pending", "Last error"]
    assert rows[str(alpha)] == [str(alpha), "alpha", "2026-06-01T12:00:00+00:00", "60.0s", "2", "-"]
    assert rows[str(broken)][:5] == [str(broken), "broken", "never", "-", "0"]
    assert "500" in rows[str(broken)][5]
    assert not [secret for secret in SECRETS if secret in page.dom], page.dom


@pytest.mark.parametrize("role, leader, shown", [
    ("standby", "receiver-b", "standby (another receiver polls)"),
    ("leader", "receiver-a", "leader (polls Desk)"),
], ids=["standby", "leader"])
def test_the_page_says_leader_or_standby_and_who_leads(role, leader, shown, tmp_path):
    health = HealthState(interval_s=30)
    health.set_role(role, leader)
    server = HealthServer(health, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{server.port}/"
        document = requests.get(url, headers={"Accept": "application/json"}, timeout=10).json()
        page = Page(browser_dom(url, tmp_path))
    finally:
        server.stop()
    assert (document["role"], document["leader"]) == (role, leader)
    assert page.facts["Role"] == shown and page.facts["Leader"] == leader
    assert page.bots[1:] == [["no bots listed yet"]]


def test_a_failed_turn_keeps_the_last_read_and_shows_its_error():
    now = [1_800_000_000 * NS_PER_S]
    health = HealthState(interval_s=30, clock_ns=lambda: now[0])
    gauges = [BotGauges(7, "seven", 4, False, 12.34)]
    server = HealthServer(health, "127.0.0.1", 0, gauges=lambda: gauges).start()
    try:
        health.record(7, BotHealth(last_poll_ns=now[0], lag_s=1.0))
        read_at = now[0]
        now[0] += 30 * NS_PER_S
        health.record(7, BotHealth(last_poll_ns=now[0], last_error="HTTP 503 from Desk", lag_s=31.0))
        bot = requests.get(f"http://127.0.0.1:{server.port}/?format=json", timeout=10).json()["bots"][0]
    finally:
        server.stop()
    assert bot["last_read"] == datetime.fromtimestamp(read_at / NS_PER_S, tz=UTC).isoformat(timespec="seconds")
    assert bot["last_poll"] != bot["last_read"]
    assert (bot["name"], bot["pending"], bot["lag_s"], bot["last_error"]) == ("seven", 4, 12.3, "HTTP 503 from Desk")


def browser_dom(url: str, tmp_path) -> str:
    """The page's DOM after Debian's chromium rendered it headless (`make deps` installs chromium)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: `make deps` installs it (apt-get install chromium)")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-3000:]
    return result.stdout


class Page(HTMLParser):
    """What a person reads on the rendered page: its title, the receiver's facts and the bots table."""

    def __init__(self, dom: str):
        super().__init__()
        self.dom, self.title, self.facts, self.bots = dom, "", {}, []
        self._table, self._row, self._cell, self._in_title = None, None, None, False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag == "table":
            self._table = dict(attrs).get("id")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table == "receiver":
                self.facts[self._row[0]] = self._row[1]
            elif self._table == "bots":
                self.bots.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self._cell is not None:
            self._cell += data
