"""The state file as a guard, with real processes: one receiver per state (a second one exits 2 naming the
first), the state belongs to one Desk (another app's state stops the receiver, naming both), and a
hand-edited state is exit 2 naming the file and the field, never a traceback."""

import json

from tests.harness.receiver import uids
from tests.harness.receiver_process import ReceiverProcess, receiver_env, run_command
from tests.harness.saved_state import app_section
from tests.harness.wait import wait_until


def test_a_second_receiver_on_the_same_state_exits_2_naming_the_first(desk_emulator, otlp_sink, state_path,
                                                                      tmp_path):
    bot = desk_emulator.add_bot(name="shared")
    desk_emulator.add_entries(bot["id"], 50, statuses=("RECEIVED",))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=1,
                       poll_interval=1)
    first = ReceiverProcess.start(env, tmp_path)
    try:
        wait_until(lambda: len(otlp_sink.log_records()) >= 50, what="the first receiver's backfill")
        second = run_command(env, "run")
        assert second.returncode == 2
        assert f'"pid": {first.process.pid}' in second.stderr and str(state_path) in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.kill()
    assert len(uids(otlp_sink)) == len(set(uids(otlp_sink))) == 50  # nothing sent twice
    again = run_command(env, "run", "--once")  # kill -9 released the lock with the process
    assert again.returncode == 0, again.stderr


def test_a_state_saved_for_another_desk_app_stops_with_exit_2_naming_both(desk_emulator, otlp_sink, state_path):
    desk_emulator.add_bot(name="one")
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, app_id="app-one")
    assert run_command(env, "run", "--once").returncode == 0
    moved = {**env, "DESK_APP_ID": "app-two"}
    done = run_command(moved, "run", "--once")
    assert done.returncode == 2
    assert "'app-one'" in done.stderr and "'app-two'" in done.stderr and str(state_path) in done.stderr
    check = run_command(moved, "check")
    assert check.returncode != 0 and "'app-one'" in check.stdout


HAND_EDITS = [
    ("offset", "seven"),
    ("pending", ["13"]),
    ("anchor_id", {"id": 3}),
]


def test_hand_edited_states_are_exit_2_naming_file_and_field(desk_emulator, otlp_sink, state_path):
    bot = desk_emulator.add_bot(name="edited")
    desk_emulator.add_entries(bot["id"], 3, statuses=("RECEIVED",))
    env = receiver_env(desk_emulator, otlp_sink.http_endpoint, "http/protobuf", state_path, backfill_days=1)
    assert run_command(env, "run", "--once").returncode == 0
    saved = json.loads(state_path.read_text())
    for field, value in HAND_EDITS:
        document = json.loads(json.dumps(saved))
        app_section(document)["bots"][str(bot["id"])][field] = value
        state_path.write_text(json.dumps(document))
        done = run_command(env, "run", "--once")
        assert done.returncode == 2, (field, done.stderr)
        assert f"bots.{bot['id']}.{field}" in done.stderr and str(state_path) in done.stderr
        assert "Traceback" not in done.stderr
