"""read_config_file: --config's YAML as a mapping of settings, read within bounds, ConfigError with one line."""

import pytest

from otel_desk_receiver.config_file import MAX_CONFIG_BYTES, read_config, read_config_file
from otel_desk_receiver.errors import ConfigError
from tests.harness.yaml_bomb import alias_bomb


def config(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def refusal(path) -> str:
    with pytest.raises(ConfigError) as raised:
        read_config_file(path)
    [line] = raised.value.problems
    return line


def test_a_mapping_of_settings_is_read_with_its_aliases(tmp_path):
    text = "poll_interval: &every 30s\nbot_list_interval: *every\nbot_ids: [1, 2]\n"
    assert read_config_file(config(tmp_path, text)) == {"poll_interval": "30s", "bot_list_interval": "30s", "bot_ids": [1, 2]}


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_file_is_no_settings(tmp_path, text):
    assert read_config_file(config(tmp_path, text)) == {}


def test_a_list_is_not_settings(tmp_path):
    path = config(tmp_path, "- poll_interval\n")
    assert refusal(path) == f"--config: {path} must hold a mapping of settings (name: value), not a list"


def test_a_file_past_1_mib_is_refused_without_being_parsed(tmp_path):
    path = config(tmp_path, "a: [" + "1," * (MAX_CONFIG_BYTES // 2) + "]\n")
    assert refusal(path) == f"--config: {path} is larger than 1 MiB; a settings file is a few lines"


@pytest.mark.parametrize("text", [
    pytest.param(alias_bomb(9), id="billion-laughs"),
    pytest.param("loop: &loop [1, *loop]\n", id="self-reference"),
])
def test_aliases_expanding_past_the_bound_are_refused(tmp_path, text):
    path = config(tmp_path, text)
    assert refusal(path).startswith(f"--config: {path} expands YAML aliases beyond 10000 values")


def test_many_aliases_of_a_small_anchor_stay_within_the_bound(tmp_path):
    text = "base: &b [1, 2]\n" + "".join(f"k{i}: *b\n" for i in range(1000))  # 3,000 values expanded
    assert len(read_config_file(config(tmp_path, text))) == 1001


def test_the_keys_of_each_app_have_their_lines(tmp_path):
    """An error about an app names the item and key a user wrote: apps[1].api_token_file at line 7."""
    path = config(tmp_path, "poll_interval: 30s\napps:\n  - app_id: eu\n    api_token_file: /eu\n"
                            "    bot_ids: [12, 14]\n  - app_id: us\n    api_token_file: /us\n")
    found = read_config(path)
    assert [found.where(key) for key in ("apps", "apps[0]", "apps[0].bot_ids", "apps[1].api_token_file")] == [
        f"apps at line 2 of {path}", f"apps[0] at line 3 of {path}", f"apps[0].bot_ids at line 5 of {path}",
        f"apps[1].api_token_file at line 7 of {path}"]


def test_a_key_set_twice_in_one_app_is_refused(tmp_path):
    path = config(tmp_path, "apps:\n  - app_id: eu\n    max_rps: 1\n    max_rps: 3\n")
    assert refusal(path) == f"--config: {path}: apps[0].max_rps at line 4 is set twice (first at line 3); keep one"
