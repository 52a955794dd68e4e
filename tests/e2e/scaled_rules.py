"""The shipped alert rules with every duration scaled by one factor, written at test time for the proofs on
a real Prometheus (tests/e2e/test_alerts.py); the shipped file stays as operators read it.

Scaled: each rule's ``for:``, every PromQL range window (``[15m]``) and every ``time() - x < N`` constant
(seconds since a timestamp). Not scaled: counts, ratios and thresholds on data (a lag of 900 s is the age of
Desk's entries, which the receiver does not scale): ``DATA_CONSTANTS`` names each with its reason, and
``unscaled_numbers`` finds any other number left as it was, so a new rule cannot slip past unscaled
(tests/e2e/test_scaled_rules.py). Real durations are proven in promtool's virtual time
(examples/alerts/otel-desk-receiver.rules.test.yaml).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.harness.paths import REPO

RULE_FILE = REPO / "examples" / "alerts" / "otel-desk-receiver.rules.yaml"
# 1 minute becomes 3 s: the shortest window (2 minutes, `time() - x < 120`) stays 6 scrapes at 1 s.
FACTOR = 1 / 20

_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "y": 31_536_000}
_DURATION = re.compile(r"(\d+)(ms|[smhdwy])")
_RANGE = re.compile(r"\[(?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?P<step>:[^\]]*)?\]")
_SINCE = re.compile(r"(?P<head>time\(\)\s*-\s*(?:\w+(?:\s+by\s*\([^()]*\))?\s*\([^()]*\)|[\w:]+)\s*<\s*)"
                    r"(?P<seconds>\d+(?:\.\d+)?)")
# Label matchers and strings hold no number the rules compare against.
_NOT_PROMQL_NUMBERS = re.compile(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]|[A-Za-z_:][\w:]*')
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")

# Numbers in the rules that are not durations, by alert, each with why it stays as it is.
DATA_CONSTANTS: dict[str, dict[str, str]] = {
    "DeskBotWebhookFailureRatioHigh": {"0.2": "a ratio of calls", "10": "a number of calls"},
    "DeskBotWebhookTimeoutBurst": {"5": "a number of timeouts"},
    "DeskBotUnreadError": {"0": "the flag's off value"},
    "DeskBotUnreadable": {"0": "no failures"},
    "DeskApiUnreachable": {"0": "no failures"},
    "DeskApiRateLimited": {"0": "no failures", "0.2": "a ratio of requests"},
    "DeskReceiverLagging": {"900": "the age of the newest entry read: Desk's data, not scaled",
                            "0": "no deliveries"},
    "DeskReceiverNotExporting": {"0": "no deliveries, no bots"},
    "DeskReceiverDown": {"0": "no cycles, a target's up, a standby's leader gauge"},
    "DeskReceiverExportFailing": {"0": "no failures"},
}


def duration_s(text: str) -> float:
    """A Prometheus duration (``90s``, ``1h30m``, ``500ms``) in seconds."""
    parts = _DURATION.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Prometheus duration: {text!r}"
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Whole seconds where they are whole, else milliseconds (Prometheus' durations are integers)."""
    millis = round(seconds * 1000)
    assert millis > 0, f"{seconds} s scales to nothing"
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def scale_expr(expr: str, factor: float) -> str:
    expr = _RANGE.sub(lambda m: f"[{format_duration(duration_s(m['duration']) * factor)}{m['step'] or ''}]", expr)
    return _SINCE.sub(lambda m: f"{m['head']}{float(m['seconds']) * factor:g}", expr)


def scaled_rules(factor: float = FACTOR, source: Path = RULE_FILE) -> dict:
    """The rule file's content with its durations scaled by ``factor``."""
    content = yaml.safe_load(source.read_text())
    for group in content["groups"]:
        for rule in group["rules"]:
            rule["expr"] = scale_expr(rule["expr"], factor)
            if "for" in rule:
                rule["for"] = format_duration(duration_s(rule["for"]) * factor)
    return content


def write_scaled_rules(path: Path, factor: float = FACTOR) -> Path:
    path.write_text(f"# {RULE_FILE.name} with every duration scaled by {factor:g} (tests/e2e/scaled_rules.py)\n"
                    + yaml.safe_dump(scaled_rules(factor), sort_keys=False))
    return path


def rules_by_alert(content: dict) -> dict[str, dict]:
    return {rule["alert"]: rule for group in content["groups"] for rule in group["rules"]}


def expression_numbers(expr: str) -> list[str]:
    """The numbers an expression compares against or computes with (not those in label matchers, strings,
    range windows or names)."""
    return _NUMBER.findall(_NOT_PROMQL_NUMBERS.sub(" ", expr))


def unscaled_numbers(original: dict, scaled: dict) -> list[str]:
    """Every number the scaling left as it was and ``DATA_CONSTANTS`` does not explain, and every ``for:`` or
    range window it did not change: what a new rule would bring in unscaled."""
    problems = []
    scaled_rules_ = rules_by_alert(scaled)
    for name, rule in rules_by_alert(original).items():
        new = scaled_rules_[name]
        if "for" in rule and rule["for"] == new["for"]:
            problems.append(f"{name}: for: {rule['for']} not scaled")
        for window in set(_RANGE.findall(rule["expr"])) & set(_RANGE.findall(new["expr"])):
            problems.append(f"{name}: range [{window[0]}] not scaled")
        explained = DATA_CONSTANTS.get(name, {})
        for number in expression_numbers(new["expr"]):
            if number in expression_numbers(rule["expr"]) and number not in explained:
                problems.append(f"{name}: {number} left as it is: scale it (a duration) or say in DATA_CONSTANTS "
                                f"why it is not")
    return problems
