"""The README's reference tables are what the code says: settings from Settings, telemetry from names."""

import re

import pytest

from otel_desk_receiver import names
from otel_desk_receiver.config import Settings, env_name
from otel_desk_receiver.devkit.reference import GENERATED, render, section_pattern
from tests.harness.paths import REPO

README = REPO / "README.md"
CONTRACT_VARIABLES = [
    "DESK_APP_ID", "DESK_API_TOKEN", "DESK_API_TOKEN_FILE", "DESK_API_URL", "DESK_BOT_IDS", "DESK_POLL_INTERVAL", "DESK_BOT_LIST_INTERVAL", "DESK_PAGE_SIZE",
    "DESK_BACKFILL_DAYS", "DESK_BACKFILL", "DESK_SETTLE_GRACE", "DESK_STATE_PATH", "DESK_MAX_RPS",
    "DESK_CONCURRENCY", "DESK_BACKLOG_SHARE", "DESK_EXPORT_MAX_AGE", "DESK_HEALTH_ADDR",
    "DESK_LOG_LEVEL", "DESK_EXPORT_EXTRA_FIELDS",
    # High availability (issue 13)
    "DESK_STATE_BACKEND", "DESK_STATE_CONFIGMAP", "DESK_KUBERNETES_NAMESPACE", "DESK_LEADER_ELECTION",
    "DESK_LEADER_ELECTION_LEASE_NAME", "DESK_LEADER_ELECTION_LEASE_DURATION", "DESK_LEADER_ELECTION_RETRY_PERIOD",
    "DESK_LEADER_ELECTION_RENEW_DEADLINE",
    "DESK_OTLP_HEADERS_FILE",
]


def test_readme_generated_sections_match_the_code():
    text = README.read_text()
    assert render(text) == text, "README drifted: run python -m otel_desk_receiver.devkit.reference README.md"


def test_every_setting_and_metric_is_in_the_readme():
    text = README.read_text()
    sections = {mark: section_pattern(mark).search(text).group(2) for mark in GENERATED}
    for field in Settings.model_fields:
        assert f"`{env_name(field)}`" in sections["settings"]
    for spec in names.METRICS:
        assert f"`{spec.name}`" in sections["metrics"] and f"`{spec.prometheus_name}`" in sections["metrics"]
    for attribute in names.LOG_ATTRIBUTES:
        assert f"`{attribute}`" in sections["log-fields"]


def test_settings_are_exactly_the_contracts_variables():
    assert [env_name(f) for f in Settings.model_fields] == CONTRACT_VARIABLES


def test_readme_commands_exist():
    from otel_desk_receiver.cli import COMMANDS

    documented = set(re.findall(r"^\| `([a-z]+)(?: --once)?` \|", README.read_text(), re.M))
    assert documented == set(COMMANDS)


def test_the_bot_change_record_table_in_docs_is_what_names_says():
    from otel_desk_receiver.devkit.reference import BOT_CHANGES_MARK, GENERATED_IN

    text = (REPO / "docs" / "bot-inventory.md").read_text()
    assert render(text, GENERATED_IN["bot-inventory.md"]) == text, \
        "docs/bot-inventory.md drifted: run python -m otel_desk_receiver.devkit.reference docs/bot-inventory.md"
    section = section_pattern(BOT_CHANGES_MARK).search(text).group(2)
    for attribute in names.BOT_CHANGE_ATTRIBUTES:
        assert f"`{attribute}`" in section
    for kind in names.BOT_CHANGES:
        assert f"`{kind}`" in section


def test_the_command_takes_help_and_says_a_missing_file_in_one_line(tmp_path, capsys):
    """`python -m otel_desk_receiver.devkit.reference --help` read a file named '--help' and died with a
    traceback (FileNotFoundError), as did any mistyped path."""
    from otel_desk_receiver.devkit.reference import main

    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "docs/bot-inventory.md" in capsys.readouterr().out
    missing = tmp_path / "READ.md"
    assert main([str(missing)]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"
    assert not missing.exists()
