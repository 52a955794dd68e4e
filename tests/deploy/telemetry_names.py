"""The metric and label names backends show for the receiver, derived from otel_desk_receiver.names,
and small parsers that pull the names a PromQL, LogQL or Datadog query uses."""

import re

from otel_desk_receiver import names

HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# Labels every Prometheus series may carry besides the metric's own attributes.
SCRAPE_LABELS = {"job", "instance", "le", "__name__"}
# Series Prometheus writes itself for each scrape target (the rules use `up` to see a receiver it cannot reach).
SCRAPE_SERIES = {"up"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan",
}


def prometheus_series() -> set[str]:
    """Every series name Prometheus can show for the receiver's metrics."""
    series = set()
    for spec in names.METRICS:
        if spec.instrument == "histogram":
            series.update(spec.prometheus_name + suffix for suffix in HISTOGRAM_SERIES)
        else:
            series.add(spec.prometheus_name)
    return series


def collector_series() -> set[str]:
    """Go translators (the Collector's Prometheus exporters, Prometheus' OTLP receiver) add _ratio
    to unit-"1" gauges, which MetricSpec.prometheus_name (the Python exporter's naming) does not."""
    return {s.prometheus_name + "_ratio" for s in names.METRICS if s.instrument == "gauge" and s.unit == "1"}


def prometheus_labels() -> set[str]:
    return {names.prometheus_label(a) for spec in names.METRICS for a in spec.attributes} | SCRAPE_LABELS


def log_labels() -> set[str]:
    """Loki's names for the log record attributes, the entries' and the bot changes' (dots become underscores), plus
    what Loki adds."""
    return {names.prometheus_label(a) for a in names.LOG_ATTRIBUTES + names.BOT_CHANGE_ATTRIBUTES} | {
        "service_name", "severity_text", "detected_level", "event_name",
    }


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*(\"(?:[^\"\\]|\\.)*\")")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w(])(?!\s*\()")


def promql_names(expr: str) -> tuple[set[str], set[str], set[str]]:
    """(metric names, label names, __name__ regexes) a PromQL expression uses."""
    labels, patterns = set(), set()
    for name, value in _MATCHER.findall(expr):
        if name == "__name__":
            patterns.add(value[1:-1])
        labels.add(name)
    for group in _GROUPING.findall(expr):
        labels.update(part.strip() for part in group.split(",") if part.strip())
    rest = _MATCHER.sub(" ", expr)
    rest = _GROUPING.sub(" ", rest)
    rest = _RANGE.sub(" ", _STRING.sub(" ", rest))
    rest = re.sub(r"\{[^}]*\}", " ", rest)
    rest = re.sub(r"\$\{?\w+\}?", " ", rest)  # Grafana variables
    metrics = {m for m in _IDENT.findall(rest) if m.lower() not in PROMQL_WORDS and not re.fullmatch(r"[0-9.e]+", m)}
    return metrics, labels, patterns


def logql_labels(expr: str) -> set[str]:
    """Label and structured-metadata names a LogQL query filters on."""
    return {name for name, _ in _MATCHER.findall(expr)}


_DD_QUERY = re.compile(r"\b(?:sum|avg|max|min|count|p50|p75|p90|p95|p99):([A-Za-z0-9_.]+)\{([^}]*)\}(?:\s*by\s*\{([^}]*)\})?")


def datadog_names(query: str) -> tuple[set[str], set[str]]:
    """(metric names, tag keys) a Datadog metric query uses."""
    metrics, tags = set(), set()
    for metric, scope, group in _DD_QUERY.findall(query):
        metrics.add(metric)
        for item in scope.split(","):
            item = item.strip().lstrip("!")
            if item and item != "*":
                tags.add(item.split(":", 1)[0])
        tags.update(t.strip() for t in group.split(",") if t.strip())
    return metrics, tags


def datadog_metrics() -> set[str]:
    return {spec.name for spec in names.METRICS}


def datadog_tags() -> set[str]:
    """The receiver's attributes, plus the tags Datadog derives from resource attributes."""
    return {a for spec in names.METRICS for a in spec.attributes} | {"service", "env", "host", "version"}


def promql_problems(expr: str) -> list[str]:
    """What in a PromQL expression the receiver does not export (empty when all names are known)."""
    metrics, labels, patterns = promql_names(expr)
    problems = [f"unknown metric {m}" for m in sorted(metrics - prometheus_series() - SCRAPE_SERIES)]
    problems += [f"unknown label {label}" for label in sorted(labels - prometheus_labels())]
    allowed = {re.escape(name.removesuffix("_ratio")) + "(_ratio)?" for name in collector_series()}
    problems += [f"unexpected __name__ pattern {p}" for p in sorted(patterns - allowed)]
    return problems
