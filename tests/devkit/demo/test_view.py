"""The demo's view: the bot table, the latest ERROR and TIMEOUT records and the counter line rendered from what the
sink received (SinkTally), within the terminal's width and height; the same by hand as lines that paste."""

import re
import shlex

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.devkit.demo.view import (
    BotRow, RecentRecord, SinkTally, ViewData, by_hand_lines, counter_line, format_lag, render,
)
from otel_desk_receiver.devkit.sink.server import SinkLogRecord, SinkMetricPoint


NOON_NS = 1_767_268_800 * 10**9  # 2026-01-01T12:00:00Z


@pytest.mark.parametrize("data, expected", [
    (ViewData(), ["(no bots seen yet)", "Latest ERROR and TIMEOUT records:", "  (none yet)"]),
    (ViewData(header=["title"], bots=[BotRow(7, "alpha", {"RECEIVED": 5, "ERROR": 2}, 3, 1.25)]), [
        "title",
        "  BOT  NAME      RECEIVED     ERROR   TIMEOUT    BY AGE     OTHER     TOTAL  PENDING      LAG",
        "    7  alpha            5         2         0         0         0         7        3     1.2s",
        "       all bots         5         2         0         0         0         7        3        -",
    ]),
    (ViewData(bots=[BotRow(1, "a", {"TIMEOUT": 1}, None, None), BotRow(2, "b", {"BY AGE": 4, "OTHER": 1}, 2, 130)]),
     ["       all bots         0         0         1         4         1         6        2        -",
      "    2  b                0         0         0         4         1         5        2    2m10s"]),
    (ViewData(bots=[BotRow(1, "gauges-only", None, 4, 7200.0)], recent=None),
     ["    1  gauges-only         -         -         -         -         -         -        4    2h00m"]),
    (ViewData(recent=[RecentRecord(NOON_NS, 4, "flaky", "ERROR", "bots.example.com"),
                      RecentRecord(NOON_NS + 61 * 10**9, 5, "slow", "TIMEOUT", "hooks.example.org")]),
     ["  TIME (UTC)  STATUS   BOT        SERVER.ADDRESS",
      "  12:00:00    ERROR    flaky (4)  bots.example.com",
      "  12:01:01    TIMEOUT  slow (5)   hooks.example.org"]),
    (ViewData(footer=["Ctrl-C stops it."]), ["", "Ctrl-C stops it."]),
], ids=["empty", "one-bot", "totals-and-minutes", "gauges-only-no-records", "records", "footer"])
def test_render(data, expected):
    lines = render(data).splitlines()
    for line in expected:
        assert line in lines, "\n".join(lines)


def test_render_leaves_out_totals_and_records_when_only_gauges_are_known():
    text = render(ViewData(bots=[BotRow(1, "a", None, 0, 1.0)], recent=None))
    assert "all bots" not in text and "Latest ERROR" not in text


@pytest.mark.parametrize("lag_s, shown", [
    (None, "-"), (0.04, "0.0s"), (99.94, "99.9s"), (100, "1m40s"), (3599, "59m59s"), (3600, "1h00m"), (90061, "25h01m"),
])
def test_format_lag(lag_s, shown):
    assert format_lag(lag_s) == shown


def test_by_hand_lines_quote_for_the_shell():
    lines = by_hand_lines(["otel-desk-receiver", "emulator", "--time-zone", "Asia/Seoul"],
                          {"DESK_API_TOKEN": "a b", "DESK_API_URL": "http://h/p"})
    assert lines[1] == "  otel-desk-receiver emulator --time-zone Asia/Seoul"
    assert lines[2] == "  DESK_API_TOKEN='a b' DESK_API_URL=http://h/p otel-desk-receiver run"


def log_record(bot_id: int, status: str, settled_by: str = "status", time_ns: int = NOON_NS) -> SinkLogRecord:
    attributes = {names.ATTR_BOT_ID: bot_id, names.ATTR_BOT_NAME: f"bot-{bot_id}",
                  names.ATTR_WEBHOOK_LOG_STATUS: status, names.ATTR_SETTLED_BY: settled_by,
                  names.ATTR_SERVER_ADDRESS: "bots.example.com"}
    return SinkLogRecord({}, names.SCOPE_NAME, "0", time_ns, time_ns, 9, "INFO", names.EVENT_NAME, "body", attributes)


def metric_point(name: str, attributes: dict, value: float, temporality: str | None = None) -> SinkMetricPoint:
    kind = "gauge" if temporality is None else "sum"
    return SinkMetricPoint(name, "", kind, temporality, attributes, value, None, None, (), (), 0, {})


def test_tally_counts_records_by_column_and_keeps_the_latest_errors():
    tally = SinkTally(recent_per_status=1)
    tally.add_records([log_record(1, "RECEIVED"), log_record(1, "ERROR", time_ns=NOON_NS + 1),
                       log_record(2, "SENT", "age"), log_record(2, "TIMEOUT", time_ns=NOON_NS + 2),
                       log_record(2, "DELIVERED"), log_record(1, "TIMEOUT", time_ns=NOON_NS + 3)])
    bot = {names.ATTR_BOT_ID: 2, names.ATTR_BOT_NAME: "bot-2"}
    tally.add_metric_points([
        metric_point(names.WEBHOOK_LOGS_PENDING.name, bot, 5), metric_point(names.WEBHOOK_LOGS_PENDING.name, bot, 3),
        metric_point(names.LAG.name, bot, 1.5),
        metric_point(names.WEBHOOK_LOGS.name, bot | {names.ATTR_WEBHOOK_LOG_STATUS: "TIMEOUT"}, 1, "cumulative"),
        metric_point(names.WEBHOOK_LOGS.name, bot | {names.ATTR_WEBHOOK_LOG_STATUS: "TIMEOUT"}, 4, "cumulative"),
        metric_point(names.WEBHOOK_LOGS.name, bot | {names.ATTR_WEBHOOK_LOG_STATUS: "SENT"}, 2, "delta"),
        metric_point(names.WEBHOOK_LOGS.name, bot | {names.ATTR_WEBHOOK_LOG_STATUS: "SENT"}, 3, "delta"),
    ])
    assert tally.rows() == [
        BotRow(1, "bot-1", {"RECEIVED": 1, "ERROR": 1, "TIMEOUT": 1}),
        BotRow(2, "bot-2", {"BY AGE": 1, "TIMEOUT": 1, "OTHER": 1}, pending=3, lag_s=1.5),
    ]
    assert tally.record_count == 6
    assert tally.counter_total == 4 + 5
    assert [(r.bot_id, r.status) for r in tally.recent()] == [(1, "TIMEOUT"), (1, "ERROR")]


FIVE_BOTS = ViewData(
    header=["a header line that is long enough to need wrapping on a narrow terminal, as the intro does at times"],
    bots=[BotRow(i, name, {"RECEIVED": 1234, "ERROR": 56, "TIMEOUT": 78, "BY AGE": 9}, 12, lag)
          for i, (name, lag) in enumerate([("support-bot-1", 1.5), ("support-bot-2", 130.0),
                                           ("a-rather-long-bot-name", 7200.0), ("flaky", 0.2), ("slow", 99.9)],
                                          start=4021)],
    recent=[RecentRecord(NOON_NS + i * 10**9, 4024, "flaky", "ERROR", "bots.example.com") for i in range(6)],
    footer=["Ctrl-C stops the demo; the same by hand, in two commands, is printed then."])


@pytest.mark.parametrize("columns", [80, 100])
def test_render_fits_the_width_with_every_column(columns):
    lines = render(FIVE_BOTS, columns).splitlines()
    assert max(map(len, lines)) < columns, "\n".join(lines)
    head = next(line for line in lines if line.lstrip().startswith("BOT"))
    assert head.split()[-2:] == ["PENDING", "LAG"]
    assert re.search(r"^4022 support-bot-2\s+1234\s+56\s+78\s+9\s+0\s+1377\s+12\s+2m10s$", "\n".join(lines), re.M)
    name = re.search(r"^4023 (a-rather-long-bot\S*)\s", "\n".join(lines), re.M).group(1)
    assert name == "a-rather-long-bot-name"[:len(name)] and (columns < 100) == (len(name) < 22)  # cut only if it must


def test_render_keeps_the_wide_layout_when_it_fits():
    assert render(FIVE_BOTS, 200) == render(FIVE_BOTS)


def test_render_shortens_the_records_to_keep_the_footer_on_screen():
    lines = render(FIVE_BOTS, 80, 18).splitlines()
    assert len(lines) == 17 and lines[-1] == FIVE_BOTS.footer[0]
    assert re.search(r"^  \.\.\. \d more, in a taller terminal$", "\n".join(lines), re.M)


def test_by_hand_lines_within_a_width_still_paste():
    argv = ["otel-desk-receiver", "emulator", "--port", "41234", "--token", "emulator-token", "--rate", "1.0",
            "--history-days", "0.05"]
    env = {"DESK_API_URL": "http://127.0.0.1:41234/platform/v1", "DESK_API_TOKEN": "a b",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    wrapped = by_hand_lines(argv, env, 60)
    assert max(map(len, wrapped)) < 60
    commands = wrapped[next(i for i, line in enumerate(wrapped) if line.startswith("  otel-desk-receiver emulator")):]
    pasted = "\n".join(commands).replace(" \\\n", " ")  # what a shell makes of the continuations
    assert [shlex.split(line) for line in pasted.splitlines()] == [shlex.split(line) for line in
                                                                     by_hand_lines(argv, env)[1:]]


@pytest.mark.parametrize("total, records, seen, line", [
    (0, 303, False, "settled counter: not exported yet (it goes out with the metrics, every 1s)"),
    (240, 303, True, "settled counter: 240 so far (it goes out with the metrics, every 1s)"),
    (303, 303, True, "settled counter: 303, all of them (it goes out with the metrics, every 1s)"),
], ids=["before-the-first-export", "trailing", "caught-up"])
def test_counter_line_says_why_it_trails_the_records(total, records, seen, line):
    assert counter_line(total, records, seen, 1.0) == line
