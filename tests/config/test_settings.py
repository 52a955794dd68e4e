"""Settings: every field says what it accepts; DESK_BACKFILL as a duration beside DESK_BACKFILL_DAYS."""

import pytest

from otel_desk_receiver.config import Settings, load_settings
from otel_desk_receiver.config.kinds import accepted
from otel_desk_receiver.errors import ConfigError

BASE = {"DESK_API_TOKEN": "t", "DESK_API_URL": "http://127.0.0.1:9/platform/v1"}

ACCEPTED = [
    ("unset", {}, 0.0),
    ("days, as before", {"DESK_BACKFILL_DAYS": "7"}, 7 * 86400.0),
    ("hours", {"DESK_BACKFILL": "18h"}, 18 * 3600.0),
    ("days", {"DESK_BACKFILL": "7d"}, 7 * 86400.0),
    ("minutes", {"DESK_BACKFILL": "90m"}, 5400.0),
    ("seconds with unit", {"DESK_BACKFILL": "3600s"}, 3600.0),
    ("bare seconds", {"DESK_BACKFILL": "3600"}, 3600.0),
    ("upper case, spaces", {"DESK_BACKFILL": " 12H "}, 12 * 3600.0),
    ("zero", {"DESK_BACKFILL": "0"}, 0.0),
    ("the most", {"DESK_BACKFILL": "30d"}, 30 * 86400.0),
]


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_backfill_accepted(monkeypatch, env, expected):
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().backfill_s == expected


REFUSED = [
    ("weeks", {"DESK_BACKFILL": "2w"}, "DESK_BACKFILL: expected a duration such as 18h, 7d, 90m or 3600s, from 0 to 30d (got '2w')"),
    ("past retention", {"DESK_BACKFILL": "31d"}, "DESK_BACKFILL: expected a duration such as 18h, 7d, 90m or 3600s, from 0 to 30d (got '31d')"),
    ("negative", {"DESK_BACKFILL": "-1h"}, "DESK_BACKFILL: expected a duration such as 18h, 7d, 90m or 3600s, from 0 to 30d (got '-1h')"),
    ("both", {"DESK_BACKFILL": "1d", "DESK_BACKFILL_DAYS": "2"},
     "DESK_BACKFILL, DESK_BACKFILL_DAYS: set one of them (DESK_BACKFILL=7d says DESK_BACKFILL_DAYS=7)"),
]


@pytest.mark.parametrize(("env", "line"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_backfill_refused_with_one_line(monkeypatch, env, line):
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [line]


def test_every_setting_says_what_it_accepts_and_what_it_is_for():
    """The words of an error line and the README's table come from the field itself."""
    for name, field in Settings.model_fields.items():
        assert accepted(field) and field.description, name
