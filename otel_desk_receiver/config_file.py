"""The --config file: YAML read within bounds (size, values once aliases are expanded), a mapping of settings."""

from pathlib import Path
from typing import Any

import yaml

from otel_desk_receiver.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few lines
MAX_YAML_VALUES = 10_000  # values once YAML aliases are expanded (bounds an alias bomb)


def read_config_file(config_file: Path) -> dict[str, Any]:
    """The settings in a YAML file, within bounds: at most MAX_CONFIG_BYTES, and at most MAX_YAML_VALUES values
    once aliases are expanded (a few hundred bytes of nested aliases, a "billion laughs", expand to hundreds
    of millions of values: gigabytes in memory and in an error line quoting them). ConfigError otherwise."""
    with open(config_file, "rb") as file:
        raw = file.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"--config: {config_file} is larger than 1 MiB; a settings file is a few lines"])
    text = raw.decode("utf-8")
    if _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader), {}) > MAX_YAML_VALUES:
        raise ConfigError([f"--config: {config_file} expands YAML aliases beyond {MAX_YAML_VALUES} values; write the "
                           "settings out without anchors and aliases"])
    data = yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"--config: {config_file} must hold a mapping of settings (name: value), "
                           f"not a {type(data).__name__}"])
    return data


def _expanded_size(node: "yaml.Node | None", sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded; an alias is the same node object met
    again, so each node is counted once and its size reused (linear in the file, whatever it expands to)."""
    if node is None:
        return 0
    if id(node) not in sizes:
        sizes[id(node)] = MAX_YAML_VALUES + 1  # a node met again while being counted: a cycle, refused too
        children = node.value if isinstance(node.value, list) else []
        items = [part for child in children for part in (child if isinstance(child, tuple) else (child,))]
        sizes[id(node)] = 1 + sum(_expanded_size(item, sizes) for item in items)
    return sizes[id(node)]
