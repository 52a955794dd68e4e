"""EmulatorConfig: an empty Desk by default, every problem reported at once, the demo's bot profiles."""

import pytest

from otel_desk_receiver.devkit.emulator.config import BotProfile, EmulatorConfig


def test_the_defaults_are_an_empty_desk():
    config = EmulatorConfig()
    assert (config.bots, config.faq_bots, config.history_per_bot) == (0, 0, 0) and config.bot_profiles() == ()


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValueError) as raised:
        EmulatorConfig(entry_model="batch", error_ratio=1.5, bots=-1, reply_delay_s=0, time_zone="Nowhere/Land")
    message = str(raised.value)
    for part in ("entry_model must be one of in_place, per_status (got 'batch')",
                 "error_ratio must be between 0 and 1 (got 1.5)", "bots must not be negative (got -1)",
                 "reply_delay_s must be positive (got 0)", "time_zone: unknown time zone 'Nowhere/Land'"):
        assert part in message
    assert message.count("; ") == 4


def test_profiles_must_be_one_per_bot():
    with pytest.raises(ValueError, match=r"one profile per bot \(2, got 1\)"):
        EmulatorConfig(bots=2, profiles=(BotProfile(),))


@pytest.mark.parametrize("bots, labels", [
    pytest.param(2, ["healthy", "healthy"], id="fewer-than-3-all-healthy"),
    pytest.param(4, ["healthy", "healthy", "flaky", "slow"], id="last-two-flaky-and-slow"),
])
def test_default_profiles(bots, labels):
    profiles = EmulatorConfig(bots=bots, error_ratio=0.05).bot_profiles()
    assert [profile.label for profile in profiles] == labels
    if bots >= 3:
        flaky, slow = profiles[-2:]
        assert flaky.error_ratio == 0.3 and slow.timeout_seconds == 10 and slow.reply_delay_s == 8.0
    assert profiles[0].error_ratio == 0.05


def test_given_profiles_are_used_as_they_are():
    given = (BotProfile(label="mine"),)
    assert EmulatorConfig(bots=1, profiles=given).bot_profiles() is given
