"""A setting's accepted values in words, its bounds read from the field itself (config/kinds.py)."""

import pytest

from otel_desk_receiver.config import Settings, load_settings
from otel_desk_receiver.config.kinds import Accepts, setting_duration, parse_duration
from otel_desk_receiver.errors import ConfigError


def test_every_bounded_setting_states_its_own_bounds_in_its_line(monkeypatch):
    """Each receiver setting with a bound: a value past its upper bound gives a line with that bound."""
    monkeypatch.setenv("DESK_API_TOKEN", "t")
    monkeypatch.setenv("DESK_APP_ID", "a")
    bounded = {name: field for name, field in Settings.model_fields.items()
               if any(hasattr(item, "le") for item in field.metadata)}
    assert {"page_size", "poll_interval", "backfill", "max_rps", "leader_election_lease_duration"} <= set(bounded)
    for name, field in bounded.items():
        upper = next(item.le for item in field.metadata if hasattr(item, "le"))
        kind = next(item for item in field.metadata if isinstance(item, Accepts))
        monkeypatch.setenv(f"DESK_{name.upper()}", str(upper * 2))
        with pytest.raises(ConfigError) as caught:
            load_settings()
        monkeypatch.delenv(f"DESK_{name.upper()}")
        [line] = [line for line in caught.value.problems if line.startswith(f"DESK_{name.upper()}:")]
        assert kind.bound(upper) in line, line


DURATIONS = [("30s", 30.0), ("10m", 600.0), ("1.5h", 5400.0), ("7d", 604_800.0), ("90", 90.0), (" 12H ", 43_200.0),
             (45, 45), (2.5, 2.5)]


@pytest.mark.parametrize(("given", "seconds"), DURATIONS, ids=[str(d[0]).strip() for d in DURATIONS])
def test_a_duration_is_read_with_its_unit_or_as_seconds(given, seconds):
    assert parse_duration(given) == seconds


@pytest.mark.parametrize(("seconds", "text"), [(0, "0"), (1, "1s"), (90, "90s"), (600, "10m"), (5400, "90m"),
                                               (3600, "1h"), (86_400, "1d"), (2_592_000, "30d"), (0.5, "0.5s")])
def test_a_bound_in_seconds_is_written_as_a_duration(seconds, text):
    assert setting_duration(seconds) == text
