"""Names that look meant for the receiver but are none of its settings: a typo would be ignored in silence, so
`run` logs a line for each at start and `check` lists them, naming the closest real name."""

import difflib
import os
from collections.abc import Mapping

from otel_desk_receiver.config.rules import APPS
from otel_desk_receiver.config.settings import ENV_PREFIX, Settings, env_name
from otel_desk_receiver.otel_env import otlp_warnings


def unknown_variable_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per DESK_* variable that is no setting (a typo is otherwise ignored in silence), with the
    closest real name; the known names come from the Settings fields, so a new setting is known at once."""
    env = os.environ if environ is None else environ
    known = [env_name(field) for field in Settings.model_fields]
    lines = []
    for name in sorted(env):
        if name == env_name(APPS):
            lines.append(f"{name}: not a setting of this receiver, ignored; apps (several Desk apps) is a list of the "
                         "--config file only")
        elif name.startswith(ENV_PREFIX) and name not in known:
            lines.append(f"{name}: not a setting of this receiver, ignored; {closest_name(name, known, ENV_PREFIX)}")
    return lines


def closest_name(name: str, known: list[str], prefix: str) -> str:
    """'did you mean X?' for the known name closest to ``name``, compared without the prefix they share
    (which would make every name look alike); else the list of known names."""
    suffixes = {known_name.removeprefix(prefix): known_name for known_name in known}
    close = difflib.get_close_matches(name.removeprefix(prefix), list(suffixes), n=1, cutoff=0.6)
    return f"did you mean {suffixes[close[0]]}?" if close else f"known: {', '.join(known)}"


def config_warnings(environ: Mapping[str, str] | None = None, settings: Settings | None = None) -> list[str]:
    """Variables that look meant for the receiver but are ignored (unknown DESK_* names, misspelt
    OTEL_EXPORTER_OTLP_* ones) and, given the settings loaded, each OTEL_* variable the --config file
    overrode. `run` logs each at start, `check` lists them."""
    overridden = list(settings.load_warnings) if settings is not None else []
    return unknown_variable_warnings(environ) + otlp_warnings(environ) + overridden
