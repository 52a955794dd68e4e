"""The demo command: headless runs as a real child process, Ctrl-C, the pure view and the environment it builds."""

import fcntl
import os
import pty
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios

import pytest

from otel_desk_receiver import cli, names
from otel_desk_receiver.devkit.demo.setup import demo_environment
from otel_desk_receiver.devkit.demo.view import (
    BotRow, RecentRecord, SinkTally, ViewData, by_hand_lines, counter_line, fit, format_lag, render,
)
from otel_desk_receiver.devkit.sink.server import SinkLogRecord, SinkMetricPoint
from tests.harness.process import ServerProcess
from tests.harness.receiver_process import run_command
from tests.harness.wait import wait_until

DEADLINE_S = 120.0  # generous: a slow 2-core CI starts Python, gRPC and the SDK in a few seconds
COLUMNS = ("RECEIVED", "ERROR", "TIMEOUT", "BY AGE", "OTHER", "TOTAL")
RECORD_LINE = re.compile(r"^  \d\d:\d\d:\d\d\s+(ERROR|TIMEOUT)\s+\S+ \(\d+\)\s+bots\.example\.com$", re.M)


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "error", "-m", "otel_desk_receiver", "demo", *args], env=demo_env(),
                          capture_output=True, text=True, timeout=DEADLINE_S)


def final_frame(stdout: str) -> str:
    assert "--- final" in stdout, stdout[-3000:]
    return stdout.split("--- final", 1)[1]


def totals(frame: str) -> dict[str, int]:
    match = re.search(r"^\s+all bots" + r"\s+(\d+)" * len(COLUMNS), frame, re.M)
    assert match, frame
    return dict(zip(COLUMNS, map(int, match.groups())))


def test_headless_demo_shows_every_status_and_the_latest_records():
    result = run_demo("--duration", "8", "--refresh", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr[-3000:]
    assert re.search(r"Desk API emulator: http://127\.0\.0\.1:\d+/platform/v1", result.stdout)
    assert " otel-desk-receiver run" in result.stdout
    frame = final_frame(result.stdout)
    counts = totals(frame)
    assert all(counts[column] > 0 for column in ("RECEIVED", "ERROR", "TIMEOUT", "BY AGE")), frame
    for name in ("flaky", "slow", "support-bot-1"):
        assert re.search(rf"^\s+\d+\s+{name}\s+\d+", frame, re.M), frame
    assert set(RECORD_LINE.findall(frame)) == {"ERROR", "TIMEOUT"}, frame
    # Logs and counts agree once the receiver has closed (contract.md, sendbird.desk.bot.webhook_logs).
    received = re.search(r"received (\d+) log records\nsettled counter: (\d+), all of them \(it goes out with the "
                         r"metrics, every 1s\)", frame)
    assert received and received.group(1) == received.group(2) == str(counts["TOTAL"]), frame
    assert result.stdout.rstrip().endswith("demo stopped: receiver, OTLP endpoint and emulator closed")


def test_the_settled_counter_goes_out_while_the_demo_runs():
    """The counters go out every metric interval while the demo runs, as with `run`, not only at its end."""
    result = run_demo("--duration", "7", "--refresh", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    running = result.stdout.split("--- final", 1)[0].split("--- after ")[1:]
    assert running, result.stdout[-3000:]
    assert re.search(r"^settled counter: [1-9]\d*(, all of them| so far) ", running[-1], re.M), running[-1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_everything_with_exit_0_and_the_printed_run_line_works(signum, tmp_path, otlp_sink):
    demo = ServerProcess("demo", [sys.executable, "-m", "otel_desk_receiver", "demo", "--duration", "600"],
                         tmp_path / "demo.out", env=demo_env())
    try:
        run_line = demo.wait_for(lambda: printed_run_line(demo.output()), DEADLINE_S, "printing its run line")
        env = demo_env() | dict(token.split("=", 1) for token in shlex.split(run_line)[:-2])
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink.http_endpoint, "DESK_STATE_PATH": str(tmp_path / "s.json"),
                "DESK_HEALTH_ADDR": ""}
        once = run_command(env, "run", "--once", timeout_s=DEADLINE_S)
        assert once.returncode == 0, once.stderr[-3000:]
        assert otlp_sink.count() > 0
        demo.signal(signum)
        assert demo.wait(timeout_s=30) == 0, demo.output()
    finally:
        demo.kill()
    output = demo.output()
    assert "--- final" in output and "demo stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def printed_run_line(output: str) -> str | None:
    """The demo's "... otel-desk-receiver run" line, once printed."""
    for line in output.splitlines():
        if line.endswith(" otel-desk-receiver run"):
            return line.strip()
    return None


def test_otlp_endpoint_flag_sends_to_that_endpoint_and_shows_the_receivers_gauges(otlp_sink):
    result = run_demo("--duration", "5", "--otlp-endpoint", otlp_sink.grpc_endpoint, "--otlp-protocol", "grpc")
    assert result.returncode == 0, result.stderr[-3000:]
    assert otlp_sink.count() > 0
    assert otlp_sink.requests("logs")[0].protocol == "grpc"
    frame = final_frame(result.stdout)
    assert f"OTLP endpoint (yours): {otlp_sink.grpc_endpoint} over grpc" in result.stdout
    assert re.search(r"receiver: \d+ bot turns, [1-9]\d* log records exported", frame), frame
    assert re.search(r"^\s+\d+\s+flaky(\s+-){6}\s+\d+\s+\d+\.\ds$", frame, re.M), frame


@pytest.mark.parametrize("args, expected", [
    (["--duration", "0"], "expected a positive number of seconds"),
    (["--refresh", "soon"], "expected a positive number of seconds"),
    (["--otlp-endpoint", "localhost:4318"], "--otlp-endpoint: expected a URL starting with http://"),
    (["--otlp-protocol", "http/json"], "invalid choice"),
], ids=["zero-duration", "word-refresh", "endpoint-without-scheme", "unknown-protocol"])
def test_bad_options_exit_2_naming_the_option(args, expected):
    result = run_demo(*args)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--duration", "--refresh", "--no-tty", "--otlp-endpoint", "--otlp-protocol", "--port", "--bots",
                   "--seed", "--rate"):
        assert option in text


@pytest.mark.parametrize("environ, embedded, kept, dropped", [
    ({"DESK_POLL_INTERVAL": "30", "PATH": "/bin"}, True, {"PATH": "/bin"}, ["DESK_POLL_INTERVAL"]),
    ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://far:4318", "OTEL_EXPORTER_OTLP_HEADERS": "a=b",
      "OTEL_SDK_DISABLED": "true", "OTEL_SERVICE_NAME": "me"}, True, {"OTEL_SERVICE_NAME": "me"},
     ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SDK_DISABLED"]),
    ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://far:4318", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc",
      "OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_METRIC_EXPORT_INTERVAL": "60000"}, False,
     {"OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_METRIC_EXPORT_INTERVAL": "60000"},
     ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"]),
], ids=["desk-variables-go", "embedded-drops-every-otlp-setting", "flag-keeps-headers-drops-per-signal-endpoint"])
def test_demo_environment(environ, embedded, kept, dropped):
    env = demo_environment(environ, endpoint="http://127.0.0.1:1", protocol="grpc", embedded=embedded)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:1"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert env.items() >= kept.items()
    assert not set(dropped) & set(env)
    assert env["OTEL_METRIC_EXPORT_INTERVAL"] == kept.get("OTEL_METRIC_EXPORT_INTERVAL", "1000")


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


@pytest.mark.parametrize("text, columns, rows, expected", [
    ("ab\ncd\n", 80, 24, "ab\ncd\n"),
    ("abcdef\n", 3, 24, "abc\n"),
    ("1\n2\n3\n4\n", 80, 3, "1\n2\n"),
    ("1\n2\n", 80, 0, "1\n"),
], ids=["fits", "cut-at-the-edge", "last-rows-go-one-left-for-the-cursor", "tiny-terminal"])
def test_fit(text, columns, rows, expected):
    assert fit(text, columns, rows) == expected


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


def run_demo_in_a_terminal(columns: int, rows: int) -> tuple[int, str]:
    """The demo on a pseudo-terminal of that size until its table shows gauges, then Ctrl-C; (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the demo
        os.execve(sys.executable, [sys.executable, "-m", "otel_desk_receiver", "demo"], demo_env())
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    output, interrupted, closed = b"", False, False

    def read_until_closed() -> bool:
        """Read what the demo printed (up to 0.2 s); Ctrl-C once its table shows gauges; True once it closed
        the terminal."""
        nonlocal output, interrupted, closed
        if not interrupted and re.search(rb"all bots\s+(\d+\s+){6}\d+", output):
            os.kill(pid, signal.SIGINT)
            interrupted = True
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            closed = not chunk
            output += chunk
        return closed

    try:
        # select waits up to 0.2 s for output: that is the poll interval
        wait_until(read_until_closed, DEADLINE_S, "the demo to stop and close its terminal", poll_s=0)
    except AssertionError as error:
        raise AssertionError(f"{error}:\n{output.decode(errors='replace')[-3000:]}") from None
    finally:
        if not closed:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.parametrize("columns, rows", [(80, 24), (132, 43)], ids=["80x24", "132x43"])
def test_the_terminal_view_fits_and_ctrl_c_stops_quietly(columns, rows):
    code, output = run_demo_in_a_terminal(columns, rows)
    assert code == 0, output[-3000:]
    screens = output.split("\x1b[H\x1b[2J")[1:]
    assert screens
    screens[-1], after = screens[-1].split("The same by hand once this stops", 1)  # the final screen, then the commands
    for screen in screens:
        lines = screen.split("\n")
        assert len(lines) - 1 < rows and max(map(len, lines)) < columns, screen
    table = next(s for s in reversed(screens) if "all bots" in s)
    assert re.search(r"BOT +NAME +RECEIVED +ERROR +TIMEOUT +BY AGE +OTHER +TOTAL +PENDING +LAG\n", table), table
    # LAG is a duration in the view's format: seconds once a live entry was read, minutes while only the
    # preloaded history (settled, at least 310 s old) was, which depends on when the first cycle ran.
    assert re.search(r"^\s+\d+ +flaky( +\d+){7} +(\d+\.\ds|\d+m\d\ds)$", table, re.M), table
    assert re.search(r"settled counter: .*it goes out with the metrics, every 1s", table), table
    commands = after.split("demo stopped")[0].splitlines()[1:]
    assert max(map(len, commands)) < columns and commands[-1].endswith(" otel-desk-receiver run"), after
    assert "WARNING" not in output and "shutdown requested" not in output and "Traceback" not in output, output
    assert output.rstrip().endswith("demo stopped: receiver, OTLP endpoint and emulator closed")
