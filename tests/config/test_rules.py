"""The rules across settings, each stated once in its own words: the model refuses a Settings breaking one,
load_settings reports every broken one at once."""

import pytest
from pydantic import ValidationError

from otel_desk_receiver.config import Settings, load_settings
from otel_desk_receiver.errors import ConfigError

RULES = [
    ("no app nor url", {"api_token": "t"},
     "DESK_APP_ID: required unless DESK_API_URL is set (the Sendbird application ID)"),
    ("no token", {"app_id": "a"},
     "DESK_API_TOKEN: required (the Desk API token), or DESK_API_TOKEN_FILE (a file holding it)"),
    ("both tokens", {"app_id": "a", "api_token": "t", "api_token_file": "/t"},
     "DESK_API_TOKEN, DESK_API_TOKEN_FILE: both set; set one of them"),
    ("both backfills", {"app_id": "a", "api_token": "t", "backfill": "1d", "backfill_days": 2},
     "DESK_BACKFILL, DESK_BACKFILL_DAYS: set one of them (DESK_BACKFILL=7d says DESK_BACKFILL_DAYS=7)"),
    ("renew deadline past the lease", {"app_id": "a", "api_token": "t", "leader_election_renew_deadline": 20},
     "DESK_LEADER_ELECTION_RENEW_DEADLINE: expected a duration less than DESK_LEADER_ELECTION_LEASE_DURATION (15s) and "
     "more than 1.2 x DESK_LEADER_ELECTION_RETRY_PERIOD (2.4s), client-go's rule (got 20s)"),
]


@pytest.mark.parametrize(("values", "line"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_a_broken_rule_says_so_in_its_own_words_not_a_code(values, line):
    """The model's own error carries the line users read: nothing maps a code back to words."""
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    assert [error["msg"] for error in caught.value.errors()] == [line]


def test_load_reports_every_broken_rule_at_once(monkeypatch):
    monkeypatch.setenv("DESK_BACKFILL", "1d")
    monkeypatch.setenv("DESK_BACKFILL_DAYS", "2")
    monkeypatch.setenv("DESK_LEADER_ELECTION_RETRY_PERIOD", "9s")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [line for _, values, line in RULES if "api_token_file" not in values
                                     and "leader_election_renew_deadline" not in values] + [
        "DESK_LEADER_ELECTION_RENEW_DEADLINE: expected a duration less than DESK_LEADER_ELECTION_LEASE_DURATION (15s) "
        "and more than 1.2 x DESK_LEADER_ELECTION_RETRY_PERIOD (10.8s), client-go's rule (got 10s)"]


def test_a_rule_looks_past_a_value_its_field_refused(monkeypatch):
    """DESK_API_URL set but unusable: its own line says so, not 'DESK_APP_ID: required' as well."""
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_API_URL", "ftp://x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert [line.split(":")[0] for line in caught.value.problems] == ["DESK_API_URL"]
