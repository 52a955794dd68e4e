"""The bots' SLOs read from their OpenSLO v1 source (examples/slo/bots.openslo.yaml; docs/slo.md).

The source holds one SLI (a ratio of counters: bad calls and all settled calls of a bot) and SLO documents on
it: the default, with no selector, and overrides whose annotation ``otel-desk-receiver/selector`` names an app
(``sendbird_app_id="..."``) or an app and one of its bots (plus ``sendbird_desk_bot_id="..."``). Every SLO
shares the default's time window; an override changes the target only. What the generators may not read
raises SloSourceError with one line naming the document and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from otel_desk_receiver import names
from otel_desk_receiver.desk.models import TERMINAL_STATUSES

API_VERSION = "openslo/v1"
SELECTOR_ANNOTATION = "otel-desk-receiver/selector"
APP_LABEL = names.prometheus_label(names.ATTR_APP_ID)
BOT_LABEL = names.prometheus_label(names.ATTR_BOT_ID)
STATUS_LABEL = names.prometheus_label(names.ATTR_WEBHOOK_LOG_STATUS)
SLI_LABELS = (APP_LABEL, BOT_LABEL)  # one SLI per app and bot: bot ids are unique within an app only
METRIC = names.WEBHOOK_LOGS.prometheus_name

_SELECTOR_QUERY = re.compile(r'(?P<metric>[A-Za-z_:][\w:]*)\{(?P<label>\w+)(?P<op>=~|=)"(?P<value>[^"]*)"\}')
_SELECTOR_ITEM = re.compile(r'\s*(?P<label>\w+)="(?P<value>[^"]*)"\s*')
_DURATION = re.compile(r"(?P<count>[1-9]\d*)(?P<unit>[mhd])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86_400}


class SloSourceError(ValueError):
    """The OpenSLO source cannot be read as the bots' SLOs; the message is one line."""


@dataclass(frozen=True)
class BurnAlert:
    """One multiwindow burn-rate alert (the SRE workbook, "Alerting on SLOs", its recommended parameters):
    fires while both windows burn the error budget faster than ``factor`` times the sustainable rate."""

    severity: str  # "page" or "ticket"
    long: str
    short: str
    factor: Decimal


BURN_ALERTS = (
    BurnAlert("page", "1h", "5m", Decimal("14.4")),
    BurnAlert("page", "6h", "30m", Decimal("6")),
    BurnAlert("ticket", "1d", "2h", Decimal("3")),
    BurnAlert("ticket", "3d", "6h", Decimal("1")),
)


@dataclass(frozen=True)
class Indicator:
    """Which statuses of the webhook log counter are bad, and which count at all (good = total - bad)."""

    name: str
    bad: tuple[str, ...]
    total: tuple[str, ...]

    @property
    def good(self) -> tuple[str, ...]:
        return tuple(status for status in self.total if status not in self.bad)


@dataclass(frozen=True)
class Objective:
    """One SLO document: its target for the bots its selector picks (empty: the default, every bot)."""

    name: str
    display_name: str
    target: Decimal
    selector: tuple[tuple[str, str], ...] = ()

    @property
    def budget(self) -> Decimal:
        """The share of calls allowed to fail."""
        return 1 - self.target

    @property
    def target_percent(self) -> Decimal:
        return (self.target * 100).normalize()


@dataclass(frozen=True)
class SloSource:
    """The indicator, the shared time window, and the objectives, most specific first (the default last)."""

    indicator: Indicator
    window: str
    objectives: tuple[Objective, ...]

    @property
    def default(self) -> Objective:
        return self.objectives[-1]

    @property
    def overrides(self) -> tuple[Objective, ...]:
        return self.objectives[:-1]


def duration_s(text: str) -> int:
    """An OpenSLO duration shorthand (``5m``, ``6h``, ``28d``) in seconds."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise SloSourceError(f"not a duration (a whole number of m, h or d): {text!r}")
    return int(match["count"]) * _UNIT_S[match["unit"]]


def load(path: Path) -> SloSource:
    """The SLOs of ``path``; SloSourceError naming the file when they cannot be read."""
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        return read(documents)
    except yaml.YAMLError as error:
        raise SloSourceError(f"{path}: not YAML: {' '.join(str(error).split())}") from None
    except SloSourceError as error:
        raise SloSourceError(f"{path}: {error}") from None


def read(documents: list[dict]) -> SloSource:
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict) or doc.get("apiVersion") != API_VERSION or doc.get("kind") not in ("SLI", "SLO"):
            raise SloSourceError(f"document {index + 1}: not an {API_VERSION} SLI or SLO")
    slis = [doc for doc in documents if doc["kind"] == "SLI"]
    if len(slis) != 1:
        raise SloSourceError(f"one SLI expected, found {len(slis)}")
    indicator = _indicator(slis[0])
    slos = [_slo(doc, indicator.name) for doc in documents if doc["kind"] == "SLO"]
    defaults = [objective.name for _, objective in slos if not objective.selector]
    if len(defaults) != 1:
        raise SloSourceError(f"one SLO without a selector (the default) expected, found {len(defaults)}")
    windows = {window for window, _ in slos}
    if len(windows) != 1:
        raise SloSourceError(f"every SLO shares one time window (an override changes the target only): "
                             f"{sorted(windows)}")
    seen: dict[tuple, str] = {}
    for _, objective in slos:
        if objective.selector in seen:
            raise SloSourceError(f"SLO {objective.name}: selects what SLO {seen[objective.selector]} selects")
        seen[objective.selector] = objective.name
    objectives = sorted((objective for _, objective in slos), key=lambda o: -len(o.selector))  # stable
    return SloSource(indicator, windows.pop(), tuple(objectives))


def _field(doc: dict, path: str):
    node = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise SloSourceError(f"{doc['kind']} {doc.get('metadata', {}).get('name', '?')}: {path} missing")
        node = node[key]
    return node


def _indicator(doc: dict) -> Indicator:
    name = _field(doc, "metadata.name")
    ratio = _field(doc, "spec.ratioMetric")
    if ratio.get("counter") is not True or "good" in ratio:
        raise SloSourceError(f"SLI {name}: spec.ratioMetric: counter: true with bad and total expected")
    statuses = {part: _statuses(name, part, _field(doc, f"spec.ratioMetric.{part}.metricSource"))
                for part in ("bad", "total")}
    if not set(statuses["bad"]) < set(statuses["total"]):
        raise SloSourceError(f"SLI {name}: the bad statuses must be some of the total's")
    return Indicator(name, statuses["bad"], statuses["total"])


def _statuses(sli: str, part: str, source: dict) -> tuple[str, ...]:
    query = source.get("spec", {}).get("query", "") if source.get("type") == "Prometheus" else ""
    match = _SELECTOR_QUERY.fullmatch(query.strip())
    where = f"SLI {sli}: spec.ratioMetric.{part}"
    if not match or match["metric"] != METRIC or match["label"] != STATUS_LABEL:
        raise SloSourceError(f'{where}: a Prometheus query {METRIC}{{{STATUS_LABEL}=~"..."}} expected, got {query!r}')
    statuses = tuple(match["value"].split("|")) if match["op"] == "=~" else (match["value"],)
    unknown = [status for status in statuses if status not in TERMINAL_STATUSES]
    if unknown:
        raise SloSourceError(f"{where}: {unknown} not terminal statuses (settled calls end in "
                             f"{'|'.join(sorted(TERMINAL_STATUSES))})")
    return statuses


def _slo(doc: dict, indicator: str) -> tuple[str, Objective]:
    """(its time window, its objective)."""
    name = _field(doc, "metadata.name")
    if _field(doc, "spec.indicatorRef") != indicator:
        raise SloSourceError(f"SLO {name}: spec.indicatorRef must be {indicator}")
    if doc["spec"].get("budgetingMethod") != "Occurrences":
        raise SloSourceError(f"SLO {name}: spec.budgetingMethod must be Occurrences (calls are counted)")
    windows = _field(doc, "spec.timeWindow")
    if not (isinstance(windows, list) and len(windows) == 1 and windows[0].get("isRolling") is True):
        raise SloSourceError(f"SLO {name}: spec.timeWindow: one rolling window expected")
    window = str(windows[0].get("duration"))
    duration_s(window)
    objectives = _field(doc, "spec.objectives")
    if not (isinstance(objectives, list) and len(objectives) == 1 and "target" in objectives[0]):
        raise SloSourceError(f"SLO {name}: spec.objectives: one objective with a target expected")
    target = Decimal(str(objectives[0]["target"]))
    if not Decimal(0) < target < Decimal(1):
        raise SloSourceError(f"SLO {name}: target must be between 0 and 1 (exclusive), got {target}")
    selector = _selector(name, doc.get("metadata", {}).get("annotations", {}).get(SELECTOR_ANNOTATION))
    display = doc["metadata"].get("displayName", name)
    return window, Objective(name, display, target, selector)


def _selector(slo: str, text: str | None) -> tuple[tuple[str, str], ...]:
    if text is None:
        return ()
    items = [_SELECTOR_ITEM.fullmatch(part) for part in text.split(",")]
    pairs = {item["label"]: item["value"] for item in items if item}
    if None in items or len(pairs) != len(items) or set(pairs) not in ({APP_LABEL}, {APP_LABEL, BOT_LABEL}) \
            or not all(pairs.values()):
        raise SloSourceError(f'SLO {slo}: {SELECTOR_ANNOTATION}: {APP_LABEL}="..." or {APP_LABEL}="...",'
                             f'{BOT_LABEL}="..." expected, got {text!r}')
    if BOT_LABEL in pairs and not pairs[BOT_LABEL].isdigit():
        raise SloSourceError(f"SLO {slo}: {SELECTOR_ANNOTATION}: a bot id is a whole number, got {pairs[BOT_LABEL]!r}")
    return tuple((label, pairs[label]) for label in SLI_LABELS if label in pairs)
