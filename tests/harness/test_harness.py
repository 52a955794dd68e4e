"""The harness itself: the rules every test module outside tests/harness keeps (waits, processes and ports
go through the harness; no test imports another test module or a conftest), and the harness's own pieces
(wait_until, stop_process, ServerProcess.wait_for, start_on_free_port) doing what they say."""

import re
import socket
import subprocess
import sys
import time

import pytest

from tests.harness.paths import REPO
from tests.harness.ports import bindable, ephemeral_low, free_port, worker_index, worker_ports
from tests.harness.process import ServerProcess, start_on_free_port, stop_process
from tests.harness.wait import wait_until

TESTS = REPO / "tests"
HARNESS = TESTS / "harness"

# Tests that need a raw subprocess.Popen, not a ServerProcess: path -> why. None does today.
RAW_POPEN_ALLOWED: dict[str, str] = {}

# (pattern, what to do instead), checked on every line.
RULES = [
    (re.compile(r"time\.monotonic\(\) \+"), "a deadline loop: use tests.harness.wait.wait_until"),
    (re.compile(r"\.terminate\(\)"), "terminate-wait-kill: use ServerProcess.stop or tests.harness.process.stop_process"),
    (re.compile(r"\bdef free_port\b"), "a free_port of its own: use tests.harness.ports.free_port"),
    (re.compile(r"\bfrom tests\.(\w+\.)*test_\w*|\bimport tests\.(\w+\.)*test_"),
     "an import from a test module: move what is shared into tests/harness"),
    (re.compile(r"\bfrom tests\.(\w+\.)*conftest\b|\bimport tests\.(\w+\.)*conftest\b"),
     "an import from a conftest: move what is shared into tests/harness"),
]
RAW_POPEN = (re.compile(r"subprocess\.Popen\("), "a raw child process: use tests.harness.process.ServerProcess")


def checked_files() -> list[str]:
    """Every Python file under tests/ the rules apply to, relative to the repository."""
    files = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if path.is_relative_to(HARNESS) or "node_modules" in path.parts:
            continue
        files.append(relative)
    return files


def broken_rules(relative: str, text: str) -> list[str]:
    """One "file:line: text (what to do instead)" for every line of the file that breaks a rule."""
    rules = RULES if relative in RAW_POPEN_ALLOWED else [*RULES, RAW_POPEN]
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, instead in rules:
            if pattern.search(line):
                found.append(f"{relative}:{number}: {line.strip()}\n    ({instead})")
    return found


@pytest.mark.parametrize("relative", checked_files())
def test_the_file_uses_the_harness(relative):
    found = broken_rules(relative, (REPO / relative).read_text())
    assert not found, "\n".join(found)


def test_the_rules_report_each_forbidden_line_with_file_and_line():
    lines = ["deadline = time.monotonic() + 5", "process.terminate()", "p = subprocess.Popen(['x'])",
             "from tests.otlp.test_log_export import entry", "from tests.desk.conftest import FROZEN_AT",
             "import tests.e2e.test_process", "def free_port():", "from tests.harness.wait import wait_until",
             "from tests.deploy.chart import CHART_DIR"]
    found = broken_rules("tests/e2e/sample.py", "\n".join(lines))
    assert [entry.split("\n")[0] for entry in found] == [f"tests/e2e/sample.py:{n}: {lines[n - 1]}" for n in range(1, 8)]


def test_wait_until_returns_the_first_truthy_result():
    answers = iter([None, 0, "", "ready", "later"])
    assert wait_until(lambda: next(answers), 5, "an answer", poll_s=0) == "ready"


def test_wait_until_fails_naming_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"timed out after 0\.1 s waiting for the kettle to boil"):
        wait_until(lambda: False, 0.1, "the kettle to boil")
    assert time.monotonic() - started < 2


def test_stop_process_ends_a_child_within_the_grace():
    child = subprocess.Popen(["sleep", "30"])
    started = time.monotonic()
    assert stop_process(child, grace_s=5) == -15  # SIGTERM was enough
    assert time.monotonic() - started < 5


def test_stop_process_kills_a_child_ignoring_sigterm_after_the_grace():
    ignoring = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True); "
                "time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", ignoring], stdout=subprocess.PIPE, text=True)
    with child.stdout:
        assert child.stdout.readline() == "ignoring\n"  # SIGTERM is ignored from here on
        started = time.monotonic()
        assert stop_process(child, grace_s=0.5) == -9
    assert 0.5 <= time.monotonic() - started < 5


def test_wait_for_returns_the_condition_and_fails_naming_an_early_exit(tmp_path):
    talker = ServerProcess("talker", [sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(30)"],
                           tmp_path / "talker.log")
    try:
        assert talker.wait_for(lambda: "hello" in talker.output() and "greeted", 30, "greeting") == "greeted"
    finally:
        talker.stop()
    quitter = ServerProcess("quitter", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"],
                            tmp_path / "quitter.log")
    with pytest.raises(AssertionError, match=r"quitter exited with 3:\nbye"):
        quitter.wait_ready(lambda: False, 30)


class TakenPort:
    """A stand-in for ``start``: its first ``taken`` calls fail as a server finding its port taken does."""

    def __init__(self, taken: int, error: str = "rotel exited with 1:\nAddress already in use (os error 98)"):
        self.taken, self.error, self.ports = taken, error, []

    def __call__(self, port: int) -> str:
        self.ports.append(port)
        if len(self.ports) <= self.taken:
            raise AssertionError(self.error)
        return f"started on {port}"


def test_start_on_free_port_tries_another_port_when_the_port_was_taken():
    start = TakenPort(taken=2)
    assert start_on_free_port(start) == f"started on {start.ports[-1]}"
    assert len(start.ports) == 3 and all(port > 0 for port in start.ports)


def test_start_on_free_port_gives_up_after_its_attempts_and_on_other_failures():
    always_taken = TakenPort(taken=10)
    with pytest.raises(AssertionError, match="Address already in use"):
        start_on_free_port(always_taken, attempts=3)
    assert len(always_taken.ports) == 3
    broken = TakenPort(taken=1, error="rotel exited with 2:\nunknown option")
    with pytest.raises(AssertionError, match="unknown option"):
        start_on_free_port(broken)
    assert len(broken.ports) == 1


def test_workers_get_disjoint_blocks_below_the_ephemeral_range():
    blocks = [set(worker_ports(index, 32_768)) for index in range(4)]
    assert all(max(block) < 32_768 for block in blocks)
    assert all(not a & b for i, a in enumerate(blocks) for b in blocks[i + 1:])


def test_free_ports_come_in_turn_from_this_workers_block_and_skip_a_taken_one():
    first, second = free_port(), free_port()
    assert first != second and {first, second} <= set(worker_ports(worker_index(), ephemeral_low()))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", second))
        holder.listen()
        assert not bindable(second)
        assert bindable(first)


def test_virtual_time_moves_only_when_every_loop_waits(make_desk_emulator):
    """tests/harness/apps.py: two loops share one clock; a busy loop holds it still, and once both wait it moves
    to the earliest wake-up, which goes on while the other waits on."""
    import threading
    from datetime import UTC, datetime

    from tests.harness.apps import SharedClock, VirtualTime

    start = datetime(2026, 6, 1, tzinfo=UTC)
    clock = SharedClock([make_desk_emulator(frozen_at=start), make_desk_emulator(frozen_at=start)])
    busy, done, woke = threading.Event(), threading.Event(), []
    time_ = VirtualTime(clock, loops=2, stop=done.is_set)

    def short_waiter():
        time_.wait(10)
        woke.append(("short", (clock.now() - start).total_seconds(), busy.is_set()))
        busy.set()  # now busy (not waiting): the long waiter's time holds still until it ends
        time_.wait(100)

    thread = threading.Thread(target=short_waiter, daemon=True)
    thread.start()
    assert (clock.now() - start).total_seconds() == 0  # one loop waits, the other has not yet: time holds
    time_.wait(30)
    woke.append(("long", (clock.now() - start).total_seconds(), busy.is_set()))
    done.set()  # the test stops: the other loop's wait returns
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert woke == [("short", 10.0, False), ("long", 30.0, True)]
