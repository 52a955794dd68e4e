"""The --config file: YAML read within bounds (size, values once aliases are expanded), a mapping of settings,
each key with the line it stands on, so that a problem names the key and line a user wrote."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from otel_desk_receiver.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a settings file is a few lines
MAX_YAML_VALUES = 10_000  # values once YAML aliases are expanded (bounds an alias bomb)


@dataclass(frozen=True)
class ConfigFile:
    """The settings a --config file holds (``values``) and the line of each key."""

    path: Path
    values: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> str:
        """'line 4 of /etc/receiver.yaml' (or 'in /etc/receiver.yaml' for a key from a YAML merge)."""
        return f"line {self.lines[key]} of {self.path}" if key in self.lines else f"in {self.path}"

    def where(self, key: str) -> str:
        """How a problem names a key of the file: 'page_size at line 4 of /etc/receiver.yaml'."""
        return f"{key} at {self.line_of(key)}" if key in self.lines else f"{key} {self.line_of(key)}"


def read_config_file(config_file: Path) -> dict[str, Any]:
    """The settings in a YAML file, within bounds (see read_config)."""
    return read_config(config_file).values


def read_config(config_file: Path) -> ConfigFile:
    """The settings in a YAML file, within bounds: at most MAX_CONFIG_BYTES, and at most MAX_YAML_VALUES values
    once aliases are expanded (a few hundred bytes of nested aliases, a "billion laughs", expand to hundreds
    of millions of values: gigabytes in memory and in an error line quoting them). ConfigError otherwise, one
    line naming the file, and the line and column where YAML could not be read."""
    text = _read_text(config_file)
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        if _expanded_size(document, {}) > MAX_YAML_VALUES:
            raise ConfigError([f"--config: {config_file} expands YAML aliases beyond {MAX_YAML_VALUES} values; "
                               "write the settings out without anchors and aliases"])
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError([f"--config: {config_file} is not valid YAML{_at(error)}"]) from None
    if data is None:
        return ConfigFile(config_file, {})
    if not isinstance(data, dict):
        raise ConfigError([f"--config: {config_file} must hold a mapping of settings (name: value), "
                           f"not a {type(data).__name__}"])
    return ConfigFile(config_file, data, _key_lines(config_file, document))


def _read_text(config_file: Path) -> str:
    try:
        with open(config_file, "rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"--config: file not found: {config_file}"]) from None
    except OSError as error:
        raise ConfigError([f"--config: {config_file} cannot be read ({error.strerror})"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"--config: {config_file} is larger than 1 MiB; a settings file is a few lines"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError([f"--config: {config_file} is not UTF-8 text (byte {error.start})"]) from None


def _at(error: yaml.YAMLError) -> str:
    """' at line 3, column 1: expected ',' or ']', but got '<stream end>'' from PyYAML's marks (0-based)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None)
    return where + (f": {problem}" if problem else "")


def _key_lines(config_file: Path, document: "yaml.Node") -> dict[str, int]:
    """The line (1-based) of each top-level key and, in a list of mappings (`apps`), of each item and its keys
    ("apps[1]", "apps[1].api_token_file"); a key written twice is refused (YAML keeps the last in silence)."""
    lines: dict[str, int] = {}
    for key, line, value in _mapping_keys(config_file, document, ""):
        lines[key] = line
        for index, item in enumerate(value.value if isinstance(value, yaml.SequenceNode) else []):
            lines[f"{key}[{index}]"] = item.start_mark.line + 1
            if isinstance(item, yaml.MappingNode):
                lines.update((item_key, item_line) for item_key, item_line, _value
                             in _mapping_keys(config_file, item, f"{key}[{index}]."))
    return lines


def _mapping_keys(config_file: Path, node: "yaml.Node", prefix: str) -> list[tuple[str, int, "yaml.Node"]]:
    """Each key of a mapping node written out (merge keys left out), its line and value node; ConfigError for
    a key written twice."""
    found: dict[str, int] = {}
    keys = []
    for key_node, value in node.value if isinstance(node, yaml.MappingNode) else []:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key, line = prefix + key_node.value, key_node.start_mark.line + 1
        if key in found:
            raise ConfigError([f"--config: {config_file}: {key} at line {line} is set twice "
                               f"(first at line {found[key]}); keep one"])
        found[key] = line
        keys.append((key, line, value))
    return keys


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
