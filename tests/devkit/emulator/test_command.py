"""The `emulator` command: options, configuration errors, and a real process serving the API
until SIGTERM, exiting 0."""

import os
import re
import signal
import sys

import pytest
import requests

from otel_desk_receiver.cli import build_parser, main
from otel_desk_receiver.devkit.emulator.command import build_emulator, config_from_args
from tests.harness.process import ServerProcess
from tests.harness.wait import wait_until

OPTIONS = ["--host", "--port", "--token", "--bots", "--faq-bots", "--seed", "--rate", "--error-ratio",
           "--timeout-ratio", "--reply-delay", "--history-days", "--history-per-bot", "--entry-model",
           "--time-zone", "--public-url", "--rate-limit", "--error-rate", "--latency", "--malformed-ratio",
           "--drop-ratio", "--control", "--verbose"]


def test_help_documents_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    missing = [option for option in OPTIONS if option not in text]
    assert missing == []
    assert text.count("(default:") >= len(OPTIONS)


def test_help_cites_only_what_the_repository_holds(capsys):
    with pytest.raises(SystemExit):
        main(["emulator", "--help"])
    text = capsys.readouterr().out
    assert not re.search(r"(?<!docs/)desk-api\.md", text)  # the Desk API notes outside the repository
    assert "README.md" in text and "/platform/v1" in text


def test_options_map_onto_the_config(monkeypatch):
    monkeypatch.setenv("DESK_API_TOKEN", "from-env")
    args = build_parser().parse_args(["emulator", "--bots", "3", "--rate", "1.5", "--entry-model", "per_status",
                                      "--rate-limit", "2", "--error-rate", "0.1", "--time-zone", "+09:00"])
    config = config_from_args(args)
    assert (config.token, config.bots, config.rate_per_s, config.entry_model) == ("from-env", 3, 1.5, "per_status")
    assert (config.rate_limit_rps, config.fault_error_ratio, config.time_zone) == (2, 0.1, "+09:00")
    emulator = build_emulator(args, history_per_bot=0, token="override")
    assert [bot["name"] for bot in emulator.bots()][-3:] == ["flaky", "slow", "faq-bot-1"]
    assert emulator.config.token == "override"


def test_bad_options_exit_2_naming_each_problem(capsys):
    assert main(["emulator", "--port", "0", "--error-ratio", "3", "--time-zone", "Nowhere/City"]) == 2
    err = capsys.readouterr().err
    assert "error_ratio" in err and "Nowhere/City" in err and "Traceback" not in err


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_command_serves_until_stopped_and_exits_0(stop_signal, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DESK_", "OTEL_"))}
    process = ServerProcess("emulator", [sys.executable, "-m", "otel_desk_receiver", "emulator", "--port", "0",
                                         "--token", "t0k", "--bots", "3", "--history-per-bot", "20"],
                            tmp_path / "emulator.log", env=env)
    try:
        line = process.wait_for(lambda: printed_url_line(process.output()), what="printing its URL")  # once it listens
        assert "DESK_API_URL=" in line and "DESK_API_TOKEN=t0k" in line, process.output()
        url = line.split("DESK_API_URL=")[1].split()[0]
        response = poll_until_up(url + "/bots/1/webhook_logs", {"SENDBIRDDESKAPITOKEN": "t0k"})
        assert response.status_code == 200 and response.json()["count"] >= 20
        process.signal(stop_signal)
        assert process.wait(timeout_s=10) == 0
    finally:
        process.kill()


def printed_url_line(output: str) -> str | None:
    """The line the command prints once its socket listens (DESK_API_URL=... DESK_API_TOKEN=...)."""
    return next((line for line in output.splitlines() if "DESK_API_URL=" in line), None)


def poll_until_up(url: str, headers: dict, deadline_s: float = 10.0) -> requests.Response:
    def answer() -> list[requests.Response] | None:
        # In a list: a Response is falsy when its status is an error, and any answer will do here.
        try:
            return [requests.get(url, headers=headers, timeout=2)]
        except requests.ConnectionError:
            return None

    return wait_until(answer, deadline_s, "the emulator to answer")[0]
