"""The demo command: headless runs as a real child process, its options, a terminal of a given size, Ctrl-C."""

import fcntl
import http.server
import os
import pty
import re
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading

import pytest

from otel_desk_receiver import cli
from tests.harness.process import ServerProcess
from tests.harness.receiver_process import run_command
from tests.harness.wait import wait_until

DEADLINE_S = 120.0  # generous: a slow 2-core CI starts Python, gRPC and the SDK in a few seconds
# The demo closes within CLOSE_BY_S of a stop (after the page in flight, SHUTDOWN_DEADLINE_S at most); then
# the final screen. Past this, it hangs: every thread's stack is dumped (faulthandler) into the failure.
STOPPED_WITHIN_S = 45.0
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
    # Logs and counts agree once the receiver has closed (docs/delivery.md#counters).
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


class MetricsNeverAnswered(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every log record and never answers a metrics export."""

    released = threading.Event()

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/v1/metrics":
            self.released.wait()  # until the test ends
            return
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_ctrl_c_ends_the_demo_within_its_deadline_when_the_metrics_endpoint_never_answers(tmp_path):
    """As `run` does: the counters' export still waiting for an answer at the stop is cut short, whatever its
    timeout, and the demo exits 0 with its final screen."""
    endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MetricsNeverAnswered)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    env = demo_env() | {"OTEL_EXPORTER_OTLP_TIMEOUT": "600000", "PYTHONFAULTHANDLER": "1"}  # 10 minutes
    demo = ServerProcess("demo", [sys.executable, "-m", "otel_desk_receiver", "demo", "--no-tty", "--refresh", "1",
                                  "--otlp-endpoint", f"http://127.0.0.1:{endpoint.server_port}"],
                         tmp_path / "demo.out", env=env)
    try:
        # Log records accepted, so the counters have totals to send: their export waits from the first second.
        demo.wait_for(lambda: re.search(r"[1-9]\d* log records exported", demo.output()), DEADLINE_S,
                      "log records exported")
        demo.signal(signal.SIGINT)
        try:
            code = demo.process.wait(timeout=STOPPED_WITHIN_S)
        except subprocess.TimeoutExpired:
            demo.signal(signal.SIGABRT)  # every thread's stack, into its output
            demo.wait(timeout_s=30)
            raise AssertionError(f"the demo did not stop within {STOPPED_WITHIN_S:g} s of Ctrl-C:\n"
                                 f"{demo.tail(8000)}") from None
        assert code == 0, demo.tail()
    finally:
        demo.kill()
        MetricsNeverAnswered.released.set()
        endpoint.shutdown()
        endpoint.server_close()
    output = demo.output()
    assert "--- final" in output and output.rstrip().endswith("emulator closed"), output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def printed_run_line(output: str) -> str | None:
    """The demo's "... otel-desk-receiver run" line, once printed."""
    for line in output.splitlines():
        if line.endswith(" otel-desk-receiver run"):
            return line.strip()
    return None


def test_otlp_endpoint_flag_sends_to_that_endpoint_with_the_shells_headers_and_shows_the_receivers_gauges(otlp_sink):
    """With --otlp-endpoint the shell's OTEL_EXPORTER_OTLP_* settings (headers, TLS, timeout) still apply."""
    result = subprocess.run([sys.executable, "-W", "error", "-m", "otel_desk_receiver", "demo", "--duration", "5",
                             "--otlp-endpoint", otlp_sink.grpc_endpoint, "--otlp-protocol", "grpc"],
                            env=demo_env() | {"OTEL_EXPORTER_OTLP_HEADERS": "x-demo-probe=from-the-shell"},
                            capture_output=True, text=True, timeout=DEADLINE_S)
    assert result.returncode == 0, result.stderr[-3000:]
    assert otlp_sink.count() > 0
    assert otlp_sink.requests("logs")[0].protocol == "grpc"
    assert otlp_sink.requests("logs")[0].headers.get("x-demo-probe") == "from-the-shell"
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


def run_demo_in_a_terminal(columns: int, rows: int) -> tuple[int, str]:
    """The demo on a pseudo-terminal of that size until its table shows gauges, then Ctrl-C; (exit code, output).
    If it does not stop, SIGABRT makes it dump every thread's stack (PYTHONFAULTHANDLER), shown in the failure."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the demo
        os.execve(sys.executable, [sys.executable, "-m", "otel_desk_receiver", "demo"],
                  demo_env() | {"PYTHONFAULTHANDLER": "1"})
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
        wait_until(lambda: interrupted or read_until_closed(), DEADLINE_S, "the demo's table to show gauges",
                   poll_s=0)
        wait_until(read_until_closed, STOPPED_WITHIN_S, "the demo to stop after Ctrl-C and close its terminal",
                   poll_s=0)
    except AssertionError as error:
        shown = output.decode(errors="replace")[-3000:]
        raise AssertionError(f"{error}:\n{shown}\n--- its threads:\n{thread_dump(pid, fd)}") from None
    finally:
        if not closed:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace").replace("\r\n", "\n")


def thread_dump(pid: int, fd: int) -> str:
    """SIGABRT to a child run with PYTHONFAULTHANDLER=1: what it writes to the terminal then (every thread's stack)."""
    os.kill(pid, signal.SIGABRT)
    dump = b""
    while select.select([fd], [], [], 5.0)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal: it died
            break
        if not chunk:
            break
        dump += chunk
    text = dump.decode(errors="replace")
    return text[text.find("Fatal Python error"):] if "Fatal Python error" in text else text[-6000:]


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
